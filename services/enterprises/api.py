"""HTTP API of the enterprises service (SPEC §8): parse, call one use case, declare the response."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from starlette.responses import Response as RawResponse

from services.enterprises import service
from services.enterprises.models import Enterprise, MinimalEnterprise
from services.enterprises.repository import ListFilters
from services.enterprises.schemas import (
    EnterpriseCreate,
    EnterpriseMinimalRead,
    EnterprisePage,
    EnterpriseRead,
    EnterpriseUpdate,
    ImportReport,
    RiskInputsReview,
    RiskRead,
)
from services.enterprises.service.import_template import Format, Lang
from services.enterprises.service.risk_inputs import review_risk_inputs
from shared import exports
from shared.app import UoW
from shared.auth import CurrentPrincipal, PendingOrgPrincipal
from shared.errors import UnsupportedMediaType
from shared.http import IfMatch, with_etag
from shared.i18n import text
from shared.pagination import PageParams, page_params
from shared.reference import Industry, RiskLevel

router = APIRouter(prefix="/api/v1/enterprises", tags=["enterprises"])
IMPORT_PATH = r"^/api/v1/enterprises/import$"
MAX_IMPORT_BYTES = 256 * 1024 * 1024  # streamed, never held whole; ~1.4 million rows
CSV_TYPES = {"text/csv", "application/csv", "text/plain", "application/vnd.ms-excel"}
XLSX_TYPE = exports.XLSX_MEDIA_TYPE
IMPORT_DESCRIPTION = """\
CSV（`text/csv`；UTF-8、带 BOM 的 UTF-8、GBK 或 GB18030，自动识别）或 XLSX（读取第一个工作表）。
表头可用英文字段名或中文（统一社会信用代码、企业名称、行业、所在区县、镇街、村居、地址、从业人数、
重大危险源、危险特征、联系人、联系电话）；取值可用代码或中文名称（行业“机械”、重大危险源“是/否”、
区县与镇街的名称）。表头上方的标题行与末尾空行将被跳过；报告中的 `row` 为表格自身的行号（第一行为 1）。
`dry_run=true`：只校验并给出同样的报告（`accepted`、`updated` 为将写入的数目），不写入任何数据。

CSV (`text/csv`; UTF-8 with or without BOM, GBK or GB18030, detected) or XLSX (its first sheet).
Headers: the English field names or their Chinese labels; values: codes or their Chinese labels.
A title row above the header and trailing empty rows are skipped; `row` is the spreadsheet's own
row number (its first line is 1). `dry_run=true` validates and reports the same way (`accepted`,
`updated` counting what would be written) without writing anything."""

BY_USCC_DESCRIPTION = """\
按统一社会信用代码查询企业。管理员、市局、企业所在区县的安监部门和企业本身得到完整记录。
中介机构（为起草托管协议查询潜在客户）只有在与该企业存在**未终结**的托管协议（非 expired、
terminated、cancelled、rejected）且企业参与了该协议（由企业起草，或企业已签署）时才得到完整
记录；否则只得到最小视图：`id, uscc, name, industry, district_code, town, risk_level`
（不含联系人、电话、地址、风险标识和托管机构，也不带 ETag）。仅由机构起草、企业尚未签署的
协议不解锁完整记录。

Look an enterprise up by USCC. Admin, the city bureau, the bureau of its district and the
enterprise itself get the full record. An agency (looking up a prospective client) gets the full
record only while it is a party of a **non-terminal** contract with the enterprise (not expired,
terminated, cancelled or rejected) that the enterprise took part in (drafted it, or signed it);
otherwise the minimal view: `id, uscc, name, industry, district_code, town, risk_level` (no
contact, phone, address, hazard flags or custodian, and no ETag). A contract drafted by the
agency alone and not signed by the enterprise does not unlock the full record (SPEC §14)."""


@router.post("", status_code=201, response_model=EnterpriseRead, summary="登记企业 / register an enterprise")
async def create(body: EnterpriseCreate, principal: PendingOrgPrincipal, uow: UoW, response: Response) -> Enterprise:
    enterprise = await service.create_enterprise(uow, data=body)
    response.headers["Location"] = f"/api/v1/enterprises/{enterprise.id}"
    return with_etag(response, enterprise)


@router.get("", response_model=EnterprisePage, summary="企业列表 / list enterprises")
async def list_(
    principal: CurrentPrincipal,
    uow: UoW,
    page: Annotated[PageParams, Depends(page_params)],
    district: Annotated[str | None, Query(max_length=12, description="区县代码（市代码 = 全市）")] = None,
    town: Annotated[str | None, Query(max_length=12, description="镇街代码（SPEC §22）")] = None,
    industry: Annotated[Industry | None, Query()] = None,
    risk_level: Annotated[RiskLevel | None, Query()] = None,
    has_custodian: Annotated[bool | None, Query(description="是否已托管")] = None,
    risk_inputs_pending: Annotated[bool | None, Query(description="是否有待审核的企业自报变更")] = None,
    q: Annotated[str | None, Query(min_length=1, max_length=100, description="名称或统一社会信用代码片段")] = None,
) -> EnterprisePage:
    filters = ListFilters(
        district=district,
        town=town,
        industry=industry,
        risk_level=risk_level,
        has_custodian=has_custodian,
        risk_inputs_pending=risk_inputs_pending,
        q=q,
    )
    items, cursor = await service.list_enterprises(uow, filters=filters, page=page)
    return EnterprisePage.model_validate({"items": items, "next_cursor": cursor})


IMPORT_EXAMPLE = (
    "uscc,name,industry,district_code,town,address,employees,major_hazard_source,contact_name,contact_phone\n"
    "91440703MA4W5678YH,江门市蓬江区示例化工有限公司,hazardous_chemicals,440703,440703001,"
    "江门市蓬江区环市街道工业路 8 号,120,false,王芳,13800138000\n"
)


@router.get(
    "/import/template",
    summary="导入模板（公开）/ the import template (public)",
    response_class=RawResponse,
    responses={200: {"content": {"text/csv": {}, XLSX_TYPE: {}}}},
)
async def import_template(lang: Lang = "zh-CN", format: Format = "csv") -> RawResponse:
    template = service.import_template(lang, format)
    if format == "xlsx":
        return await exports.xlsx_response(template.sheet_title, template.header, [], filename=template.filename)
    return exports.csv_response(template.header, [], filename=template.filename)


@router.post(
    "/import",
    response_model=ImportReport,
    max_body_size=MAX_IMPORT_BYTES,
    summary="批量导入（CSV、XLSX）/ bulk import (CSV, XLSX)",
    description=IMPORT_DESCRIPTION,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "text/csv": {"schema": {"type": "string"}, "example": IMPORT_EXAMPLE},
                XLSX_TYPE: {
                    "schema": {"type": "string", "format": "binary"},
                    # a workbook has no JSON example: the empty template is one, to fill in
                    "examples": {
                        "template": {
                            "summary": "导入模板 / the import template",
                            "externalValue": "/api/v1/enterprises/import/template?format=xlsx",
                        }
                    },
                },
            },
        }
    },
)
async def import_(
    request: Request,
    principal: CurrentPrincipal,
    uow: UoW,
    dry_run: Annotated[bool, Query(description="只校验不写入 / validate only, write nothing")] = False,
) -> service.ImportReport:
    media, _, params = request.headers.get("content-type", "").partition(";")
    media = media.strip().lower()
    reader: service.CsvReader | service.XlsxReader
    if media == XLSX_TYPE:
        reader = service.XlsxReader(request.stream(), max_bytes=MAX_IMPORT_BYTES)
    elif media in CSV_TYPES:
        charset = None
        for param in params.split(";"):
            key, _, value = param.partition("=")
            if key.strip().lower() == "charset":
                charset = value.strip().strip('"') or None
        reader = service.CsvReader(request.stream(), charset=charset)
    else:
        raise UnsupportedMediaType(
            text(
                "请以 text/csv 上传 CSV 文件，或以 XLSX 类型上传工作簿",
                f"Send a CSV file as text/csv or a workbook as {XLSX_TYPE}",
            )
        )
    return await service.import_records(uow, reader=reader, dry_run=dry_run)


@router.get(
    "/by-uscc/{uscc}",
    response_model=EnterpriseRead | EnterpriseMinimalRead,
    summary="按统一社会信用代码查询 / look up by USCC",
    description=BY_USCC_DESCRIPTION,
)
async def by_uscc(
    uscc: Annotated[str, Path(max_length=40)], principal: CurrentPrincipal, uow: UoW, response: Response
) -> Enterprise | MinimalEnterprise:
    found = await service.get_by_uscc(uow, uscc=uscc)
    # The minimal view carries no version: it would tell when the private record changes.
    return with_etag(response, found) if isinstance(found, Enterprise) else found


@router.get("/{enterprise_id}", response_model=EnterpriseRead, summary="企业详情 / an enterprise")
async def get(enterprise_id: uuid.UUID, principal: CurrentPrincipal, uow: UoW, response: Response) -> Enterprise:
    return with_etag(response, await service.get_enterprise(uow, enterprise_id=enterprise_id))


@router.patch("/{enterprise_id}", response_model=EnterpriseRead, summary="修改企业信息 / update an enterprise")
async def patch(
    enterprise_id: uuid.UUID,
    body: EnterpriseUpdate,
    principal: CurrentPrincipal,
    uow: UoW,
    if_match: IfMatch,
    response: Response,
) -> Enterprise:
    enterprise = await service.update_enterprise(uow, enterprise_id=enterprise_id, patch=body, if_match=if_match)
    return with_etag(response, enterprise)


@router.get("/{enterprise_id}/risk", response_model=RiskRead, summary="风险等级及其因素 / risk level and its factors")
async def risk(enterprise_id: uuid.UUID, principal: CurrentPrincipal, uow: UoW) -> service.RiskExplanation:
    return await service.explain_risk(uow, enterprise_id=enterprise_id)


@router.post(
    "/{enterprise_id}/risk-inputs/review",
    response_model=EnterpriseRead,
    summary="审核企业自报的迁址或风险信息变更 / review an enterprise's own move or risk-input change",
)
async def review_pending(
    enterprise_id: uuid.UUID, body: RiskInputsReview, principal: CurrentPrincipal, uow: UoW, response: Response
) -> Enterprise:
    enterprise = await review_risk_inputs(
        uow, enterprise_id=enterprise_id, decision=body.decision, comments=body.comments
    )
    return with_etag(response, enterprise)
