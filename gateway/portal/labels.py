"""Every word the portal shows, zh-CN first and English second, and the names of codes
(districts, industries, statuses) in the reader's language."""

from __future__ import annotations

from shared.reference import INDUSTRY_NAMES, RISK_NAMES, SERVICE_ITEM_NAMES, load_jurisdiction

LANGUAGES = ("zh-CN", "en")

MESSAGES: dict[str, tuple[str, str]] = {
    "site_title": ("江门市安全生产托管平台", "Jiangmen Safety-Custody Platform"),
    "directory_title": ("已备案安全中介机构公示名单", "Filed safety agencies (public list)"),
    "directory_intro": ("以下机构已通过安全生产监管部门备案，企业可自主选择并签订安全生产托管协议。",
                        "These agencies are filed with the work-safety bureau; enterprises may choose one freely "
                        "and sign a safety-custody contract."),
    "policy": ("实施方案", "Policy"),
    "policy_title": ("企业安全生产委托管理实施方案", "Enterprise safety-custody implementation plan"),
    "policy_json": ("机器可读版本（JSON）", "Machine-readable version (JSON)"),
    "dashboard": ("监管看板", "Dashboard"),
    "events_doc": ("事件文档", "Event documentation"),
    "login": ("监管部门登录", "Bureau login"),
    "logout": ("退出登录", "Log out"),
    "signed_in_as": ("当前用户", "Signed in as"),
    "language_switch": ("English", "中文"),
    "search": ("搜索", "Search"),
    "keyword": ("关键词（名称或备案号）", "Keyword (name or filing no.)"),
    "district": ("区县", "District"),
    "industry": ("行业", "Industry"),
    "grade": ("诚信等级", "Credit grade"),
    "all": ("全部", "All"),
    "reset": ("重置", "Reset"),
    "filing_no": ("备案编号", "Filing no."),
    "agency_name": ("机构名称", "Agency"),
    "valid_until": ("有效期至", "Valid until"),
    "service_areas": ("服务区域", "Service areas"),
    "service_industries": ("服务行业", "Service industries"),
    "active_contracts": ("在管企业数", "Active contracts"),
    "remaining_capacity": ("剩余托管容量", "Remaining capacity"),
    "registered_engineers": ("注册安全工程师", "Registered safety engineers"),
    "credit_score": ("信用分", "Credit score"),
    "no_results": ("没有符合条件的机构。", "No agencies match these filters."),
    "next_page": ("下一页", "Next page"),
    "first_page": ("第一页", "First page"),
    "results_count": ("本页 {n} 家机构", "{n} agencies on this page"),
    "export": ("导出", "Export"),
    "exports": ("数据导出", "Exports"),
    "export_csv": ("导出 CSV", "Export CSV"),
    "export_xlsx": ("导出 Excel", "Export Excel"),
    "unavailable": ("服务暂时不可用，请稍后再试。", "The service is temporarily unavailable; please try again later."),
    "partial_unavailable": ("部分数据暂时无法获取：{what}", "Some data is temporarily unavailable: {what}"),
    "bad_filter": ("筛选条件无效，已忽略：{what}", "Invalid filter ignored: {what}"),
    "bad_request": ("请求无效。", "Invalid request."),
    "not_found": ("页面不存在。", "Page not found."),
    "back_home": ("返回公示名单", "Back to the public list"),
    "login_failed": ("登录未完成，请重试。", "Login did not complete; please try again."),
    "session_expired": ("登录已过期，请重新登录。", "Your session has expired; please log in again."),
    "bureau_only": ("看板仅供安全生产监管部门使用。", "The dashboard is for work-safety bureaus only."),
    "forbidden": ("无权访问。", "Access denied."),
    "scope_city": ("全市（各区县对比）", "Whole city (districts compared)"),
    "scope_district": ("辖区：{name}", "Jurisdiction: {name}"),
    "agencies_by_status": ("中介机构（按状态）", "Agencies by status"),
    "agencies_by_grade": ("已备案机构（按诚信等级）", "Filed agencies by credit grade"),
    "contracts_by_status": ("托管协议（按状态）", "Contracts by status"),
    "hazards_open_overdue": ("隐患（未整改 / 逾期）", "Hazards (open / overdue)"),
    "complaints_by_state": ("投诉（按状态）", "Complaints by state"),
    "missed_visits": ("漏检（缺失的服务次数）", "Missed visits"),
    "queues": ("待办事项", "Queues"),
    "queue_filings": ("待审核的机构备案", "Agency filings to review"),
    "queue_contracts": ("待备案的托管协议", "Contracts to file"),
    "queue_complaints": ("待通报的投诉", "Complaints to forward"),
    "queue_empty": ("暂无待办。", "Nothing waiting."),
    "truncated": ("数据较多，仅统计前 {n} 条。", "Large data set: only the first {n} records are counted."),
    "total": ("合计", "Total"),
    "count": ("数量", "Count"),
    "name": ("名称", "Name"),
    "status": ("状态", "Status"),
    "submitted_at": ("提交时间", "Submitted"),
    "enterprise": ("企业", "Enterprise"),
    "agency": ("中介机构", "Agency"),
    "term": ("托管期限", "Term"),
    "category": ("类别", "Category"),
    "received_on": ("收到日期", "Received"),
    "description": ("内容", "Description"),
    "level": ("等级", "Level"),
    "deadline": ("整改期限", "Deadline"),
    "location": ("位置", "Location"),
    "start_date": ("开始日期", "Start"),
    "end_date": ("结束日期", "End"),
    "fee_yuan": ("费用（元）", "Fee (yuan)"),
    "engineer": ("负责工程师", "Engineer"),
    "uscc": ("统一社会信用代码", "USCC"),
    "overdue": ("逾期", "Overdue"),
    "yes": ("是", "Yes"),
    "no": ("否", "No"),
    "open": ("未整改", "Open"),
    "contract": ("协议", "Contract"),
    "response_due": ("答复期限", "Response due"),
    "export_filters": ("按条件导出（与列表相同的筛选条件）", "Export with filters (the same as the lists)"),
    "dataset": ("数据集", "Data set"),
    "directory": ("公示名单", "Public list"),
    "contracts": ("托管协议", "Contracts"),
    "hazards": ("隐患", "Hazards"),
    "complaints": ("投诉", "Complaints"),
    "format": ("格式", "Format"),
    "download": ("下载", "Download"),
    "policy_key": ("项目", "Item"),
    "policy_value": ("规定", "Rule"),
    "asyncapi_title": ("平台事件（AsyncAPI）", "Platform events (AsyncAPI)"),
    "asyncapi_intro": ("各服务通过 NATS JetStream 发布以下事件（CloudEvents 1.0 信封）。机器可读文档：",
                       "The services publish these events on NATS JetStream (CloudEvents 1.0 envelopes). "
                       "Machine-readable document:"),
    "event_type": ("事件类型", "Event type"),
    "subject": ("主题", "Subject"),
    "source": ("来源", "Source"),
    "payload_fields": ("数据字段", "Data fields"),
    "required": ("必填", "required"),
    "field_type": ("类型", "Type"),
    "footer": ("江门市应急管理局 · 安全生产托管平台", "Jiangmen Emergency Management Bureau · Safety-custody platform"),
    "skip": ("跳到正文", "Skip to content"),
    "role_not_bureau": ("当前账户不是监管部门账户（{role}）。", "This account is not a bureau account ({role})."),
    "updated_at": ("数据时间", "Data as of"),
    "none": ("—", "—"),
    "tile_approved": ("已备案机构", "Filed agencies"),
    "tile_active": ("履行中协议", "Active contracts"),
    "tile_open_hazards": ("未整改隐患", "Open hazards"),
    "tile_overdue_hazards": ("逾期隐患", "Overdue hazards"),
}

AGENCY_STATUS = {
    "draft": ("草稿", "Draft"), "submitted": ("待审核", "Submitted"), "approved": ("已备案", "Approved"),
    "rejected": ("已驳回", "Rejected"), "needs_more_info": ("需补充材料", "Needs more info"),
    "suspended": ("已暂停", "Suspended"), "revoked": ("已撤销", "Revoked"), "expired": ("已过期", "Expired"),
}
CONTRACT_STATUS = {
    "draft": ("草稿", "Draft"), "signed": ("已签署", "Signed"), "filing": ("备案中", "Filing"),
    "filed": ("已备案", "Filed"), "active": ("履行中", "Active"), "expired": ("已到期", "Expired"),
    "terminated": ("已终止", "Terminated"), "rejected": ("备案驳回", "Rejected"), "cancelled": ("已取消", "Cancelled"),
    "suspended": ("已暂停", "Suspended"),
}
HAZARD_STATUS = {"open": ("未整改", "Open"), "rectified": ("已整改待核查", "Rectified"),
                 "verified": ("已核查", "Verified"), "overdue": ("逾期", "Overdue")}
HAZARD_LEVEL = {"general": ("一般隐患", "General"), "major": ("重大隐患", "Major")}
COMPLAINT_STATUS = {"received": ("已受理", "Received"), "forwarded": ("已通报", "Forwarded"),
                    "responded": ("已答复", "Responded"), "closed": ("已办结", "Closed")}
COMPLAINT_CATEGORY = {"service_quality": ("服务质量", "Service quality"), "missed_visit": ("未按约服务", "Missed visit"),
                      "fraud": ("弄虚作假", "Fraud"), "fee": ("收费", "Fee"), "other": ("其他", "Other")}
GRADES = ("A", "B", "C", "D")
GRADE_NAMES = {"A": ("A 级", "Grade A"), "B": ("B 级", "Grade B"), "C": ("C 级", "Grade C"), "D": ("D 级", "Grade D")}

VOCABULARIES = {
    "agency_status": AGENCY_STATUS, "contract_status": CONTRACT_STATUS, "hazard_status": HAZARD_STATUS,
    "hazard_level": HAZARD_LEVEL, "complaint_status": COMPLAINT_STATUS, "complaint_category": COMPLAINT_CATEGORY,
    "industry": INDUSTRY_NAMES, "risk": RISK_NAMES, "item": SERVICE_ITEM_NAMES, "grade": GRADE_NAMES,
}


def is_en(lang: str) -> bool:
    return lang.startswith("en")


def message(key: str, lang: str, **params: object) -> str:
    zh, en = MESSAGES.get(key, (key, key))
    value = en if is_en(lang) else zh
    return value.format(**params) if params else value


def name(vocabulary: str, code: str | None, lang: str) -> str:
    """The display name of a code; an unknown code is shown as it is."""
    if code is None or code == "":
        return "—"
    pair = VOCABULARIES[vocabulary].get(str(code))
    if pair is None:
        return str(code)
    return pair[1] if is_en(lang) else pair[0]


def district_name(code: str | None, lang: str) -> str:
    if not code:
        return "—"
    return load_jurisdiction().name_of(str(code), lang)


def short_district_name(code: str | None, lang: str) -> str:
    """For chart axes: "Pengjiang" rather than "Pengjiang District"."""
    full = district_name(code, lang)
    return full.removesuffix(" District") if is_en(lang) else full


def districts(lang: str) -> list[tuple[str, str]]:
    return [(area.code, district_name(area.code, lang)) for area in load_jurisdiction().districts]


def choices(vocabulary: str, lang: str) -> list[tuple[str, str]]:
    return [(code, name(vocabulary, code, lang)) for code in VOCABULARIES[vocabulary]]
