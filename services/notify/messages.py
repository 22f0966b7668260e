"""What a notice says, in both languages: the title and body of each event type and reminder,
the API path (``link``) of the entity it is about, and when something is due.

Texts are filled from the event's data; a missing field reads as "—" rather than failing (events
may come from producers older than the catalog entry).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

from services.notify.rules import ReminderKind
from shared.events.catalog import EventType
from shared.i18n import Text, text

E = EventType
R = ReminderKind

# kind -> (title, body); {placeholders} are the event's data fields.
TEXTS: dict[str, tuple[Text, Text]] = {
    E.ORGANISATION_REGISTERED: (
        text("新机构待核验：{name}", "Organisation awaiting verification: {name}"),
        text("统一社会信用代码 {uscc}，请核验其身份。", "USCC {uscc}: please verify it."),
    ),
    E.ORGANISATION_VERIFIED: (
        text("机构已通过核验", "Your organisation was verified"),
        text("{name} 已通过监管部门核验。", "{name} was verified by the bureau."),
    ),
    E.ORGANISATION_REJECTED: (
        text("机构核验未通过", "Your organisation was not verified"),
        text("{name}：{reason}", "{name}: {reason}"),
    ),
    E.ORGANISATION_SUSPENDED: (
        text("机构已被暂停", "Your organisation was suspended"),
        text("{name}：{reason}", "{name}: {reason}"),
    ),
    E.AGENCY_SUBMITTED: (
        text("备案待审核：{name}", "Filing awaiting review: {name}"),
        text("中介机构 {name} 提交了备案，请审核。", "The agency {name} submitted its filing for review."),
    ),
    E.AGENCY_APPROVED: (
        text("备案已通过", "Filing approved"),
        text("备案编号 {filing_no}，有效期至 {valid_until}。", "Filing {filing_no}, valid until {valid_until}."),
    ),
    E.AGENCY_REJECTED: (text("备案未通过", "Filing rejected"), text("原因：{reason}", "Reason: {reason}")),
    E.AGENCY_NEEDS_MORE_INFO: (
        text("备案需补充材料", "Your filing needs more information"),
        text("监管部门意见：{reason}", "The bureau says: {reason}"),
    ),
    E.AGENCY_SUSPENDED: (text("机构备案已暂停", "Filing suspended"), text("原因：{reason}", "Reason: {reason}")),
    E.AGENCY_REINSTATED: (
        text("机构备案已恢复", "Filing reinstated"),
        text("{name} 已恢复，重新列入公示名单。", "{name} is reinstated and listed again."),
    ),
    E.AGENCY_REVOKED: (text("机构备案已撤销", "Filing revoked"), text("原因：{reason}", "Reason: {reason}")),
    E.AGENCY_EXPIRED: (
        text("机构备案已过期", "Filing expired"),
        text(
            "备案 {filing_no} 已于 {valid_until} 到期，请办理延续。",
            "Filing {filing_no} expired on {valid_until}; renew it.",
        ),
    ),
    E.AGENCY_CHANGED: (
        text("变更备案已生效", "Change filing applied"),
        text("{name} 的变更备案已生效。", "The change filing of {name} was applied."),
    ),
    f"{E.AGENCY_CHANGED}:noncompliant": (
        text("机构人员不再符合备案条件", "Your staff no longer meet the filing minimums"),
        text(
            "{name}：{reason}。在册人员已低于备案要求，请及时办理变更备案。",
            "{name}: {reason}. The staff counted are below the filing minimums; file a change.",
        ),
    ),
    E.AGENCY_CREDIT_CHANGED: (
        text("信用分变动：{score} 分（{grade}）", "Credit score changed: {score} ({grade})"),
        text("变动 {delta} 分，原因：{cause}", "Change {delta}; cause: {cause}"),
    ),
    E.CONTRACT_DRAFTED: (
        text("新的托管协议待签署", "A custody contract awaits your signature"),
        text(
            "{enterprise_name} 与 {agency_name}，期限 {start_date} 至 {end_date}。",
            "{enterprise_name} and {agency_name}, {start_date} to {end_date}.",
        ),
    ),
    E.CONTRACT_SIGNED: (
        text("托管协议已签署", "Custody contract signed"),
        text(
            "{enterprise_name} 与 {agency_name} 双方已签署，可提交备案。",
            "{enterprise_name} and {agency_name} both signed; it may be filed.",
        ),
    ),
    E.CONTRACT_FILING_SUBMITTED: (
        text("托管协议待备案审核", "Custody contract awaiting filing review"),
        text(
            "{enterprise_name} 与 {agency_name}，期限 {start_date} 至 {end_date}。",
            "{enterprise_name} and {agency_name}, {start_date} to {end_date}.",
        ),
    ),
    E.CONTRACT_FILED: (
        text("托管协议已备案", "Custody contract filed"),
        text("备案编号 {filing_no}。", "Filing number {filing_no}."),
    ),
    E.CONTRACT_REJECTED: (
        text("托管协议备案被退回", "Custody contract filing rejected"),
        text("原因：{reason}", "Reason: {reason}"),
    ),
    E.CONTRACT_ACTIVATED: (
        text("托管协议已生效", "Custody contract in force"),
        text("期限 {start_date} 至 {end_date}。", "From {start_date} to {end_date}."),
    ),
    E.CONTRACT_SUSPENDED: (
        text("托管协议已暂停", "Custody contract suspended"),
        text("原因：{reason}", "Reason: {reason}"),
    ),
    E.CONTRACT_TERMINATED: (
        text("托管协议已终止", "Custody contract terminated"),
        text("原因：{reason}", "Reason: {reason}"),
    ),
    E.CONTRACT_EXPIRED: (
        text("托管协议已到期", "Custody contract expired"),
        text("协议已于 {end_date} 到期。", "The contract ended on {end_date}."),
    ),
    E.CONTRACT_EXPIRING: (
        text("托管协议即将到期", "Custody contract expiring"),
        text("协议将于 {end_date} 到期，请及时续签。", "The contract ends on {end_date}; renew it in time."),
    ),
    E.SERVICELOG_RECORDED: (
        text("新的服务记录待确认", "A service visit awaits your confirmation"),
        text("服务日期 {visit_date}，请确认或提出异议。", "Visit of {visit_date}: confirm it or dispute it."),
    ),
    E.SERVICELOG_DISPUTED: (
        text("服务记录被提出异议", "A service visit was disputed"),
        text("服务日期 {visit_date}：{dispute_reason}", "Visit of {visit_date}: {dispute_reason}"),
    ),
    E.HAZARD_REPORTED: (
        text("发现隐患，请整改", "A hazard was found: rectify it"),
        text("整改期限 {deadline}。", "Rectify by {deadline}."),
    ),
    f"{E.HAZARD_REPORTED}:major": (
        text("发现重大隐患", "Major hazard found"),
        text(
            "重大事故隐患，整改期限 {deadline}，请立即处置。",
            "A major accident hazard; rectify by {deadline}, act at once.",
        ),
    ),
    E.HAZARD_RECTIFIED: (
        text("隐患已整改，待复核", "Hazard rectified: verify it"),
        text("企业已整改隐患，请复核。", "The enterprise rectified the hazard; verify it."),
    ),
    E.HAZARD_OVERDUE: (
        text("隐患整改已逾期", "Hazard rectification overdue"),
        text("整改期限 {deadline} 已过。", "The deadline {deadline} has passed."),
    ),
    E.VISIT_MISSED: (
        text("服务漏检", "Service visit missed"),
        text("服务项目 {item}：累计漏检 {missed} 次。", "Service {item}: {missed} visit(s) missed."),
    ),
    E.SUPERVISION_ESCALATED: (
        text("重大隐患督办超时未确认", "Major-hazard case not acknowledged in time"),
        text(
            "区县监管部门未在时限内确认重大隐患督办，已升级至市局。",
            "The district bureau did not acknowledge the case in time; escalated to the city.",
        ),
    ),
    E.COMPLAINT_RECEIVED: (
        text("收到新投诉", "New complaint"),
        text("投诉类别：{category}，请处理。", "Category: {category}; please handle it."),
    ),
    E.COMPLAINT_FORWARDED: (
        text("收到转办投诉，请答复", "A complaint was forwarded to you: respond"),
        text("请于 {response_due} 前答复。", "Respond by {response_due}."),
    ),
    E.COMPLAINT_RESPONDED: (
        text("投诉已答复", "Complaint answered"),
        text("被投诉机构已答复，待监管部门处理。", "The agency responded; the bureau will resolve it."),
    ),
    E.COMPLAINT_CLOSED: (text("投诉已办结", "Complaint closed"), text("处理结果：{outcome}", "Outcome: {outcome}")),
    E.REPORT_RECEIVED: (
        text("收到群众举报：{enterprise_name}", "Public report received: {enterprise_name}"),
        text("举报类别：{category}，请核查处理。", "Category: {category}; please look into it."),
    ),
    E.CREDIT_NOTICED: (
        text("严重失信名单告知", "Notice of serious-dishonesty listing"),
        text(
            "原因：{reason}。可于 {objection_until} 前提出异议。",
            "Reason: {reason}. You may object until {objection_until}.",
        ),
    ),
    E.CREDIT_LISTED: (
        text("已列入严重失信名单", "Listed as seriously dishonest"),
        text("原因：{reason}", "Reason: {reason}"),
    ),
    # reminders
    R.COMPLAINT_RESPONSE_DUE: (
        text("投诉答复即将到期", "Complaint response due soon"),
        text("请于 {due} 前答复投诉。", "Respond to the complaint by {due}."),
    ),
    R.HAZARD_DEADLINE: (
        text("隐患整改期限将至", "Hazard deadline approaching"),
        text("请于 {due} 前完成整改。", "Rectify the hazard by {due}."),
    ),
    R.FILING_EXPIRY_90: (
        text("备案将于 90 天内到期", "Filing expires within 90 days"),
        text("备案有效期至 {due}，请准备延续。", "Your filing is valid until {due}; prepare the renewal."),
    ),
    R.FILING_EXPIRY_30: (
        text("备案将于 30 天内到期", "Filing expires within 30 days"),
        text("备案有效期至 {due}，请尽快办理延续。", "Your filing is valid until {due}; renew it now."),
    ),
    R.CERTIFICATE_EXPIRY: (
        text("工程师证书即将到期：{name}", "Engineer's certificate expiring: {name}"),
        text("证书 {certificate_no} 有效期至 {due}。", "Certificate {certificate_no} is valid until {due}."),
    ),
}

LINKS: dict[str, str] = {
    "organisation": "/api/v1/organisations/{id}",
    "agency": "/api/v1/agencies/{id}",
    "contract": "/api/v1/contracts/{id}",
    "servicelog": "/api/v1/service-logs/{id}",
    "hazard": "/api/v1/hazards/{id}",
    "visit": "/api/v1/compliance/contracts/{contract_id}",
    "supervision": "/api/v1/supervision/{id}",
    "complaint": "/api/v1/complaints/{id}",
    "report": "/api/v1/reports/{id}",
    "credit": "/api/v1/credit/listings/{id}",
}
SPECIAL_LINKS: dict[str, str] = {E.AGENCY_CREDIT_CHANGED: "/api/v1/credit/agencies/{id}"}
# The data field an event is due by, per type.
DUE_FIELDS: dict[str, str] = {
    E.HAZARD_REPORTED: "deadline",
    E.HAZARD_RECTIFIED: "deadline",
    E.COMPLAINT_FORWARDED: "response_due",
    E.CONTRACT_EXPIRING: "end_date",
    E.CREDIT_NOTICED: "objection_until",
}


class _Facts(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "—"


def facts(data: dict[str, Any]) -> _Facts:
    return _Facts({k: ("—" if v is None else v) for k, v in data.items()})


def render(kind: str, data: dict[str, Any]) -> tuple[Text, Text]:
    title, body = TEXTS[kind]
    values = facts(data)
    return (
        Text(title.zh.format_map(values), title.en.format_map(values)),
        Text(body.zh.format_map(values), body.en.format_map(values)),
    )


def link_of(event_type: str, data: dict[str, Any]) -> str | None:
    template = SPECIAL_LINKS.get(event_type) or LINKS.get(event_type.split(".", 1)[0])
    return template.format_map(facts(data)) if template else None


def moment_of(day: date | str | None) -> datetime | None:
    """A due date as the moment it begins (UTC)."""
    if day is None:
        return None
    if isinstance(day, str):
        try:
            day = date.fromisoformat(day)
        except ValueError:
            return None
    return datetime.combine(day, time.min, tzinfo=UTC)


def due_of(event_type: str, data: dict[str, Any]) -> datetime | None:
    name = DUE_FIELDS.get(event_type)
    return moment_of(data.get(name)) if name else None
