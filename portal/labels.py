"""Every word the portal shows, zh-CN first and English second, and the names of codes
(districts, industries, statuses) in the reader's language."""

from __future__ import annotations

from shared.reference import INDUSTRY_NAMES, RISK_NAMES, SERVICE_ITEM_NAMES, load_jurisdiction

LANGUAGES = ("zh-CN", "en")

MESSAGES: dict[str, tuple[str, str]] = {
    "site_title": ("江门市安全生产托管平台", "Jiangmen Safety-Custody Platform"),
    "directory_title": ("已备案安全中介机构公示名单", "Filed safety agencies (public list)"),
    "directory_intro": (
        "以下机构已通过安全生产监管部门备案，企业可自主选择并签订安全生产托管协议。",
        "These agencies are filed with the work-safety bureau; enterprises may choose one freely "
        "and sign a safety-custody contract.",
    ),
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
    "asyncapi_intro": (
        "各服务通过 NATS JetStream 发布以下事件（CloudEvents 1.0 信封）。机器可读文档：",
        "The services publish these events on NATS JetStream (CloudEvents 1.0 envelopes). Machine-readable document:",
    ),
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
    "draft": ("草稿", "Draft"),
    "submitted": ("待审核", "Submitted"),
    "approved": ("已备案", "Approved"),
    "rejected": ("已驳回", "Rejected"),
    "needs_more_info": ("需补充材料", "Needs more info"),
    "suspended": ("已暂停", "Suspended"),
    "revoked": ("已撤销", "Revoked"),
    "expired": ("已过期", "Expired"),
}
CONTRACT_STATUS = {
    "draft": ("草稿", "Draft"),
    "signed": ("已签署", "Signed"),
    "filing": ("备案中", "Filing"),
    "filed": ("已备案", "Filed"),
    "active": ("履行中", "Active"),
    "expired": ("已到期", "Expired"),
    "terminated": ("已终止", "Terminated"),
    "rejected": ("备案驳回", "Rejected"),
    "cancelled": ("已取消", "Cancelled"),
    "suspended": ("已暂停", "Suspended"),
}
HAZARD_STATUS = {
    "open": ("未整改", "Open"),
    "rectified": ("已整改待核查", "Rectified"),
    "verified": ("已核查", "Verified"),
    "overdue": ("逾期", "Overdue"),
}
HAZARD_LEVEL = {"general": ("一般隐患", "General"), "major": ("重大隐患", "Major")}
COMPLAINT_STATUS = {
    "received": ("已受理", "Received"),
    "forwarded": ("已通报", "Forwarded"),
    "responded": ("已答复", "Responded"),
    "closed": ("已办结", "Closed"),
}
COMPLAINT_CATEGORY = {
    "service_quality": ("服务质量", "Service quality"),
    "missed_visit": ("未按约服务", "Missed visit"),
    "fraud": ("弄虚作假", "Fraud"),
    "fee": ("收费", "Fee"),
    "other": ("其他", "Other"),
}
GRADES = ("A", "B", "C", "D")
GRADE_NAMES = {"A": ("A 级", "Grade A"), "B": ("B 级", "Grade B"), "C": ("C 级", "Grade C"), "D": ("D 级", "Grade D")}

VOCABULARIES = {
    "agency_status": AGENCY_STATUS,
    "contract_status": CONTRACT_STATUS,
    "hazard_status": HAZARD_STATUS,
    "hazard_level": HAZARD_LEVEL,
    "complaint_status": COMPLAINT_STATUS,
    "complaint_category": COMPLAINT_CATEGORY,
    "industry": INDUSTRY_NAMES,
    "risk": RISK_NAMES,
    "item": SERVICE_ITEM_NAMES,
    "grade": GRADE_NAMES,
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


# --- the work portal (SPEC §21), phase 1 -----------------------------------------------------------
MESSAGES.update(
    {
        "site_title": ("江门市安全生产托管平台", "Jiangmen Safety-Custody Platform"),
        "login": ("登录", "Log in"),
        "menu": ("主菜单", "Main menu"),
        "home": ("我的工作台", "My desk"),
        "pages": ("翻页", "Pages"),
        "signup": ("注册账号", "Sign up"),
        "complain": ("投诉", "Complain"),
        "track_complaint": ("投诉进度查询", "Track a complaint"),
        "my_filing": ("机构备案", "My filing"),
        "filings": ("机构备案审核", "Agency filings"),
        "enterprises": ("企业台账", "Enterprises"),
        "visits": ("服务记录", "Visits"),
        "audits": ("质量抽查", "Quality audits"),
        "find_agency": ("选择中介机构", "Find an agency"),
        "choose_this_agency": ("选择该机构签约", "Choose this agency"),
        "error_title": ("无法完成请求", "The request could not be completed"),
        "internal_error": (
            "服务器内部错误，已记录。请稍后再试。",
            "Internal error; it was logged. Please try again later.",
        ),
        "csrf_failed": (
            "页面已过期，请返回刷新后重新提交。",
            "This page has expired; go back, reload it and submit again.",
        ),
        "role_forbidden": ("当前账户（{role}）不能使用此页面。", "This page is not for your account ({role})."),
        "action_failed": ("操作未完成。", "The action did not complete."),
        "nothing_here": ("暂无记录。", "Nothing here yet."),
        "form_has_errors": ("请修改以下内容后重新提交：", "Please correct the following and submit again:"),
        "choose": ("请选择", "Choose"),
        "choose_one": ("请选择一项", "Choose one"),
        "none_selected": ("（不选）", "(none)"),
        "save": ("保存", "Save"),
        "stale_version": (
            "记录已被他人修改，页面显示的是最新内容，请核对后重新提交。",
            "Someone changed this record meanwhile; the page now shows the latest version — check it and submit again.",
        ),
        "stale_terms": (
            "协议条款已变更，签署未生效。请阅读最新条款后再签署。",
            "The terms changed; nothing was signed. Read the current terms and sign again.",
        ),
        "form_already_sent": (
            "此表单已提交过（内容不同）。请刷新页面重新填写。",
            "This form was already sent with other content; reload the page and fill it in again.",
        ),
        "logged_out": ("已退出登录。", "You are logged out."),
        "ok_logged_out": ("已退出登录。", "You are logged out."),
        "ok_saved": ("已保存。", "Saved."),
        "ok_uploaded": ("材料已上传。", "The document was uploaded."),
        "ok_submitted": ("已提交备案，等待监管部门审核。", "Submitted; the bureau will review it."),
        "ok_agency_review": ("审核意见已提交。", "The review was recorded."),
        "ok_agency_suspend": ("已暂停该机构备案。", "The filing is suspended."),
        "ok_agency_reinstate": ("已恢复该机构备案。", "The filing is reinstated."),
        "ok_agency_revoke": ("已撤销该机构备案。", "The filing is revoked."),
        "ok_drafted": ("协议草稿已创建。请核对条款后签署。", "The draft is created; check the terms and sign."),
        "ok_contract_sign": ("已签署。", "Signed."),
        "ok_contract_file": ("已提交备案。", "Submitted for filing."),
        "ok_contract_cancel": ("草稿已撤销。", "The draft is cancelled."),
        "ok_contract_terminate": ("协议已终止。", "The contract is terminated."),
        "ok_contract_review": ("备案审查已完成。", "The filing review is recorded."),
        "ok_visit_recorded": ("服务记录已保存。", "The visit is recorded."),
        "ok_visit_confirmed": ("已确认该次服务。", "The visit is confirmed."),
        "ok_hazard_rectify": (
            "整改情况已提交，等待机构验收。",
            "The rectification is submitted; the agency will verify it.",
        ),
        "ok_hazard_verify": ("已验收整改。", "The rectification is verified."),
        "ok_complaint_sent": ("投诉已提交。", "The complaint is submitted."),
        "ok_complaint_forward": ("已通报机构。", "Forwarded to the agency."),
        "ok_complaint_respond": ("答复已发送。", "The response is sent."),
        "ok_complaint_resolve": ("投诉已办结。", "The complaint is resolved."),
        "ok_audit_recorded": ("审计结果已登记。", "The audit result is recorded."),
        # sign-up and the organisation
        "signup_intro": (
            "中介机构和企业在此注册账号。注册后登录，机构提交备案材料，企业登记企业信息。",
            "Agencies and enterprises sign up here; then log in — an agency files its materials, an enterprise registers its record.",
        ),
        "signup_as": ("注册类型", "I am"),
        "role_agency_long": ("安全中介机构（提供托管服务）", "A safety agency (provides custody services)"),
        "role_enterprise_long": ("企业（委托安全生产管理）", "An enterprise (buys custody services)"),
        "uscc_help": (
            "18 位统一社会信用代码（营业执照上）",
            "The 18-character unified social credit code on the business licence",
        ),
        "org_name": ("单位名称", "Organisation name"),
        "username": ("用户名", "Username"),
        "username_help": ("3–64 个字母、数字或 _ . @ -", "3–64 letters, digits or _ . @ -"),
        "password": ("密码", "Password"),
        "password_help": ("至少 8 个字符", "At least 8 characters"),
        "password_again": ("再次输入密码", "Password again"),
        "passwords_differ": ("两次输入的密码不一致", "The passwords differ"),
        "have_account": ("已有账号？", "Have an account?"),
        "signed_up": ("注册成功", "You are signed up"),
        "signed_up_as": ("账号 {username}（{role}）已创建。", "The account {username} ({role}) is created."),
        "signed_up_next_agency": (
            "下一步：登录并填写机构备案材料（人员、资质、证明文件），然后提交审核。",
            "Next: log in and fill in your filing (staff, qualifications, documents), then submit it for review.",
        ),
        "signed_up_next_enterprise": (
            "下一步：登录并登记企业信息，然后在公示名单中选择中介机构签订托管协议。",
            "Next: log in and register your enterprise, then choose an agency from the public list.",
        ),
        "login_now": ("现在登录", "Log in now"),
        "org_status_is": ("单位状态：{status}。", "Organisation status: {status}."),
        "org_pending": (
            "您的单位尚待监管部门核验（{status}）。核验前只能办理备案或企业登记。",
            "Your organisation awaits the bureau's verification ({status}); until then you may only file or register.",
        ),
        "agency_welcome": ("欢迎，中介机构", "Welcome, agency"),
        "enterprise_welcome": ("欢迎，企业", "Welcome, enterprise"),
        # agency filing
        "agency_next_none": (
            "您还没有备案。请填写机构基本信息、人员和资质，保存后上传证明文件并提交审核。",
            "You have no filing yet: fill in your details, staff and qualifications, save, upload the documents and submit.",
        ),
        "agency_next_draft": ("草稿：补充材料后提交审核。", "Draft: complete it and submit it for review."),
        "agency_next_submitted": ("已提交，等待监管部门审核。", "Submitted: the bureau is reviewing it."),
        "agency_next_needs_more_info": (
            "监管部门要求补充材料：请按审核意见修改后重新提交。",
            "The bureau asks for more information: change the filing as the comments say and submit again.",
        ),
        "agency_next_approved": (
            "已备案，已列入公示名单。企业可选择您签订托管协议。",
            "Filed and listed: enterprises can choose you for a custody contract.",
        ),
        "agency_next_rejected": ("备案未通过。", "The filing was rejected."),
        "agency_next_suspended": (
            "备案已暂停，暂停期间不在公示名单中。",
            "Suspended: not on the public list meanwhile.",
        ),
        "agency_next_revoked": ("备案已撤销。", "The filing is revoked."),
        "agency_next_expired": ("备案已过期，请提交续期。", "The filing expired: submit a renewal."),
        "agency_basics": ("机构基本信息", "The agency"),
        "field_legal_representative": ("法定代表人", "Legal representative"),
        "field_contact_phone": ("联系电话", "Contact phone"),
        "field_address": ("地址", "Address"),
        "field_district_code": ("所在区县", "District"),
        "field_name": ("姓名", "Name"),
        "field_role": ("岗位", "Role"),
        "field_certificate_no": ("证书编号", "Certificate no."),
        "field_certificate_valid_until": ("证书有效期至", "Certificate valid until"),
        "field_full_time": ("专职", "Full time"),
        "field_type": ("资质类型", "Type"),
        "field_number": ("证书编号", "Number"),
        "field_issuer": ("发证机关", "Issuer"),
        "field_valid_from": ("有效期自", "Valid from"),
        "field_valid_until": ("有效期至", "Valid until"),
        "field_kind": ("材料类型", "Kind"),
        "field_staff": ("人员", "Staff"),
        "field_qualifications": ("资质", "Qualification"),
        "field_service_districts": ("服务区域", "Service areas"),
        "field_service_industries": ("服务行业", "Service industries"),
        "field_uscc": ("统一社会信用代码", "USCC"),
        "field_org_uscc": ("统一社会信用代码", "USCC"),
        "field_username": ("用户名", "Username"),
        "field_password": ("密码", "Password"),
        "field_password2": ("再次输入密码", "Password again"),
        "field_display_name": ("单位名称", "Organisation name"),
        "field_description": ("隐患描述", "Description"),
        "field_hazards": ("隐患", "Hazard"),
        "field_level": ("等级", "Level"),
        "field_location": ("位置", "Location"),
        "field_deadline": ("整改期限", "Deadline"),
        "field_contract_id": ("协议", "Contract"),
        "field_visit_date": ("服务日期", "Visit date"),
        "field_engineer_name": ("负责工程师", "Engineer"),
        "field_items": ("服务项目", "Services"),
        "field_summary": ("服务内容", "Summary"),
        "field_services": ("服务项目", "Services"),
        "field_times_per_year": ("每年次数", "Times per year"),
        "field_start_date": ("开始日期", "Start"),
        "field_end_date": ("结束日期", "End"),
        "field_fee_yuan": ("费用（元）", "Fee (yuan)"),
        "field_enterprise_uscc": ("企业统一社会信用代码", "Enterprise USCC"),
        "field_agency_id": ("中介机构", "Agency"),
        "field_category": ("类别", "Category"),
        "field_note": ("说明", "Note"),
        "field_response": ("答复", "Response"),
        "field_outcome": ("办结结果", "Outcome"),
        "field_notes": ("办结说明", "Notes"),
        "field_decision": ("审核决定", "Decision"),
        "field_comments": ("审核意见", "Comments"),
        "field_reason": ("理由", "Reason"),
        "field_town": ("镇街", "Town"),
        "field_village": ("村居（可选）", "Village (optional)"),
        "field_employees": ("从业人数", "Employees"),
        "field_contact_name": ("联系人", "Contact person"),
        "field_major_hazard_source": ("有重大危险源", "Has a major hazard source"),
        "field_hazard_flags": ("危险特征", "Hazard characteristics"),
        "field_industry": ("行业", "Industry"),
        "field_file": ("文件", "File"),
        "field_period": ("抽查期间", "Period"),
        "field_seed": ("随机种子", "Seed"),
        "field_rate": ("抽查比例", "Rate"),
        "field_scores": ("评分", "Scores"),
        "field_criterion": ("评分项", "Criterion"),
        "field_score": ("得分", "Score"),
        "field_findings": ("发现的问题", "Findings"),
        "field_tracking_code": ("查询码", "Tracking code"),
        "field_id": ("投诉编号", "Complaint number"),
        "staff_roster": ("人员名单", "Staff roster"),
        "staff_help": (
            "至少 {engineers} 名注册安全工程师、{staff} 名专职人员；注册安全工程师须填写证书编号和有效期。空行不会保存。",
            "At least {engineers} registered safety engineers and {staff} full-time staff; engineers need their certificate number and expiry. Empty rows are not saved.",
        ),
        "staff_member": ("人员 {n}", "Staff member {n}"),
        "add_staff": ("再加一行人员", "Add a staff row"),
        "qualifications": ("资质证书", "Qualifications"),
        "qualification_n": ("资质 {n}", "Qualification {n}"),
        "add_qualification": ("再加一项资质", "Add a qualification"),
        "save_draft": ("保存修改", "Save changes"),
        "create_filing": ("创建备案", "Create the filing"),
        "documents": ("证明材料", "Documents"),
        "no_documents": ("尚未上传材料。", "No documents yet."),
        "file_name": ("文件", "File"),
        "size": ("大小", "Size"),
        "document_file": ("选择文件或拍照", "Choose a file or take a photo"),
        "document_help": (
            "PDF、PNG 或 JPEG，不超过 10 MiB。手机上可直接拍照。",
            "PDF, PNG or JPEG, at most 10 MiB; on a phone you can take a photo.",
        ),
        "upload": ("上传", "Upload"),
        "file_required": ("请选择文件", "Choose a file"),
        "file_too_large": ("文件超过 10 MiB", "The file is larger than 10 MiB"),
        "checks": ("自动检查结果", "Automatic checks"),
        "passed": ("通过", "passed"),
        "failed": ("未通过", "failed"),
        "submit_filing": ("提交审核", "Submit for review"),
        "submit_help": (
            "提交后系统自动检查人员和资质，监管部门审核通过后列入公示名单。提交后不能修改，除非被要求补充材料。",
            "On submission the platform checks staff and qualifications; once the bureau approves, you are listed. "
            "A submitted filing cannot be changed unless the bureau asks for more information.",
        ),
        "renew_filing": ("提交续期", "Submit a renewal"),
        "renew_help": (
            "续期按当前材料重新审核，审核期间备案仍然有效。",
            "A renewal is reviewed on the current materials; the filing stays valid meanwhile.",
        ),
        "my_public_profile": ("机构页面与诚信档案", "My agency page and credit file"),
        "my_credit_file": ("诚信档案", "My credit file"),
        "review_comments": ("审核意见", "Review comments"),
        "review_comments_help": (
            "驳回、要求补充或在自动检查未通过时批准，须写明意见。",
            "Needed to reject, to ask for changes, or to approve over a failed check.",
        ),
        "reason": ("理由", "Reason"),
        "review_filing": ("审核备案", "Review the filing"),
        "decision": ("审核决定", "Decision"),
        "decision_approve": ("准予备案", "Approve"),
        "decision_request_changes": ("要求补充材料", "Ask for changes"),
        "decision_reject": ("不予备案", "Reject"),
        "decision_accept": ("予以备案", "Accept"),
        "submit_review": ("提交审核意见", "Submit the review"),
        "agency_suspend": ("暂停备案", "Suspend the filing"),
        "agency_reinstate": ("恢复备案", "Reinstate the filing"),
        "agency_revoke": ("撤销备案", "Revoke the filing"),
        "credit_file": ("诚信档案", "Credit file"),
        "no_credit_records": ("暂无加减分记录。", "No credit records yet."),
        "date": ("日期", "Date"),
        "kind": ("类别", "Kind"),
        "delta": ("分值变化", "Change"),
        "draft_with_agency": ("与该机构起草托管协议", "Draft a contract with this agency"),
        # contracts
        "draft_contract": ("起草托管协议", "Draft a custody contract"),
        "draft_intro": (
            "填写协议条款。创建后双方分别签署（签署时确认条款的哈希值），再提交监管部门备案。",
            "Fill in the terms. Then each party signs (confirming the terms' hash) and the contract is filed with the bureau.",
        ),
        "parties": ("签约双方", "Parties"),
        "terms": ("协议条款", "Terms"),
        "enterprise_uscc": ("企业统一社会信用代码", "Enterprise USCC"),
        "enterprise_uscc_help": ("企业须已在平台登记", "The enterprise must be registered on the platform"),
        "agency_choose_help": (
            "从公示名单中选择；选定后可点“显示工程师”选择负责工程师。",
            "From the public list; then “Show engineers” lists its engineers.",
        ),
        "agency_unknown": ("找不到该机构，请从列表中选择", "Unknown agency; choose one from the list"),
        "show_engineers": ("显示该机构的工程师", "Show engineers"),
        "engineer_help": ("须为该机构的注册安全工程师", "One of the agency's registered safety engineers"),
        "term_help": ("期限 {min}–{max} 个月", "A term of {min}–{max} months"),
        "services": ("服务项目", "Services"),
        "services_help": ("勾选约定的服务项目并填写每年次数。", "Tick the services agreed and how many times a year."),
        "min_visits": ("隐患排查每年最少次数", "Minimum inspections a year"),
        "times_per_year": ("每年次数", "Times a year"),
        "create_draft": ("创建协议草稿", "Create the draft"),
        "terms_hash": (
            "条款哈希（SHA-256，签署即确认此内容）",
            "Terms hash (SHA-256: a signature confirms exactly this)",
        ),
        "canonical_terms": ("签署内容（规范化 JSON）", "What is signed (canonical JSON)"),
        "signatures": ("签署情况", "Signatures"),
        "signed_at": ("已签署于", "Signed at"),
        "not_signed": ("未签署", "Not signed"),
        "what_next": ("办理", "Actions"),
        "sign_explain": (
            "我已阅读上述条款，签署即确认哈希值为以下内容的条款：",
            "I have read the terms above; signing confirms the terms whose hash is",
        ),
        "sign_as": ("以{party}身份签署", "Sign as the {party}"),
        "waiting_other_party": ("您已签署，等待对方签署。", "You signed; waiting for the other party."),
        "waiting_bureau": ("等待监管部门备案审查。", "Waiting for the bureau's filing review."),
        "submit_for_filing": ("提交备案", "Submit for filing"),
        "cancel_draft": ("撤销草稿", "Cancel the draft"),
        "filing_decision": ("备案审查决定", "Filing decision"),
        "terminate": ("终止协议", "Terminate the contract"),
        "risk_flagged": ("排查频次低于风险等级要求", "Inspection frequency below the risk level's minimum"),
        "visits_of_contract": ("本协议的服务记录", "Visits of this contract"),
        "hazards_of_contract": ("本协议的隐患", "Hazards of this contract"),
        "compliance": ("履约情况", "Compliance"),
        "as_of": ("截至", "as of"),
        "required_so_far": ("应完成", "Required so far"),
        "recorded": ("已完成", "Recorded"),
        "missed": ("缺失", "Missed"),
        "history": ("协议历程", "History"),
        "open_contract": ("查看协议", "Open the contract"),
        "open_agency": ("查看机构", "Open the agency"),
        "open_visit": ("查看服务记录", "Open the visit"),
        # visits and hazards
        "record_visit": ("填报服务记录", "Record a visit"),
        "visit_intro": (
            "现场无信号时也可提交：记录会保存在手机上，联网后自动发送一次。",
            "Works without signal: the record is kept on the phone and sent once the connection returns.",
        ),
        "offline_ready": ("已支持离线填报。", "Offline recording is ready."),
        "visit": ("服务记录", "Visit"),
        "visit_date": ("服务日期", "Visit date"),
        "services_done": ("本次服务项目", "Services delivered"),
        "summary": ("服务内容", "Summary"),
        "hazards_found": ("发现的隐患", "Hazards found"),
        "hazards_help": (
            "没有隐患时留空。一般隐患整改期限不超过 {general} 天，重大隐患不超过 {major} 天；重大隐患会立即报告监管部门。",
            "Leave empty when none. Deadlines: general ≤ {general} days, major ≤ {major} days; a major hazard is reported to the bureau at once.",
        ),
        "hazard_n": ("隐患 {n}", "Hazard {n}"),
        "add_hazard": ("再加一条隐患", "Add a hazard"),
        "save_visit": ("保存服务记录", "Save the visit"),
        "confirmed": ("企业确认", "Confirmed"),
        "confirmed_at": ("已确认于", "Confirmed at"),
        "not_confirmed": ("待企业确认", "Awaiting the enterprise"),
        "recorded_at": ("填报时间", "Recorded at"),
        "no_hazards": ("本次未发现隐患。", "No hazards found."),
        "confirm_visit": ("确认本次服务", "Confirm this visit"),
        "confirm_help": ("确认工程师已按记录到场服务。", "Confirm the engineer came and did what is recorded."),
        "hazard": ("隐患", "Hazard"),
        "reported_at": ("发现时间", "Reported at"),
        "rectify": ("提交整改", "Rectify"),
        "rectify_note": ("整改情况", "Rectification"),
        "rectify_help": ("写明采取的措施和完成时间。", "What was done, and when."),
        "rectify_evidence": ("整改证据（照片或 PDF）", "Evidence (a photo or PDF)"),
        "rectify_evidence_help": (
            "JPEG、PNG 或 PDF，不超过 10 MiB；重大隐患的整改必须附证据。",
            "JPEG, PNG or PDF, at most 10 MiB; a major hazard's rectification needs one.",
        ),
        "rectified_at": ("整改时间", "Rectified at"),
        "submit_rectification": ("提交整改情况", "Submit the rectification"),
        "verify": ("验收整改", "Verify"),
        "verify_note": ("验收意见（可选）", "Verification note (optional)"),
        "verify_rectification": ("验收通过", "Verify the rectification"),
        "verified_at": ("验收时间", "Verified at"),
        "verified_late": ("逾期后验收", "Verified after the deadline"),
        # complaints
        "complaint": ("投诉", "Complaint"),
        "complaint_intro": (
            "对中介机构的服务质量、漏检、弄虚作假、收费等问题可在此投诉。监管部门受理后通报机构并跟踪办结。匿名投诉须留联系电话。",
            "Complain about an agency's service, missed visits, fraud or fees. The bureau forwards it to the agency and follows it to the end. "
            "Anonymous complaints need a contact phone.",
        ),
        "contract_optional": ("相关协议（可选）", "Contract concerned (optional)"),
        "contact_phone_help": ("匿名投诉必填，仅监管部门可见。", "Required when anonymous; only the bureau sees it."),
        "send_complaint": ("提交投诉", "Send the complaint"),
        "complaint_received": ("投诉已受理", "Complaint received"),
        "complaint_received_help": ("监管部门将在规定期限内处理。", "The bureau will handle it within the set time."),
        "complaint_id": ("投诉编号", "Complaint number"),
        "tracking_code": ("查询码", "Tracking code"),
        "keep_tracking_code": (
            "请记下投诉编号和查询码，凭此查询办理进度（查询码只显示这一次）。",
            "Note the number and the tracking code: you need both to follow it (the code is shown this once).",
        ),
        "track": ("查询", "Track"),
        "track_not_found": ("编号或查询码不正确。", "Unknown number or tracking code."),
        "progress": ("办理进度", "Progress"),
        "resolve_due": ("办结期限", "Resolve by"),
        "agency_response": ("机构答复", "Agency's response"),
        "resolution_notes": ("办结说明", "Resolution notes"),
        "forward": ("通报机构", "Forward to the agency"),
        "forward_help": ("通报后机构须在规定期限内答复。", "The agency must respond within the set time."),
        "note_to_agency": ("通报意见（可选）", "Note to the agency (optional)"),
        "respond": ("答复投诉", "Respond"),
        "send_response": ("发送答复", "Send the response"),
        "resolve": ("办结投诉", "Resolve"),
        "outcome": ("办结结果", "Outcome"),
        "timeline": ("办理过程", "Timeline"),
        "overdue_only": ("只看逾期", "Overdue only"),
        # enterprise
        "enterprise_next_none": (
            "请先登记企业信息，平台据此评定风险等级，并用于签订托管协议。",
            "Register your enterprise first: its risk level is rated from it, and contracts need it.",
        ),
        "register_enterprise": ("登记企业信息", "Register the enterprise"),
        "enterprise_record": ("企业信息", "Enterprise record"),
        "enterprise_name": ("企业名称", "Enterprise"),
        "edit_record": ("修改企业信息", "Edit the record"),
        "risk_level": ("风险等级", "Risk level"),
        "risk_why": ("风险等级的依据", "Why this risk level"),
        "custodian": ("托管机构", "Custodian"),
        "has_custodian": ("已托管", "In custody"),
        "no_custodian": ("尚未托管", "No custodian"),
        "until": ("至", "until"),
        "queue_to_sign": ("待签署 / 待提交备案的协议", "Contracts to sign or file"),
        "queue_active_contracts": ("履行中的协议", "Active contracts"),
        "queue_to_verify": ("待验收的整改", "Rectifications to verify"),
        "queue_to_respond": ("待答复的投诉", "Complaints to respond to"),
        "queue_to_confirm": ("待确认的服务记录", "Visits to confirm"),
        "queue_to_rectify": ("待整改的隐患", "Hazards to rectify"),
        # bureau
        "keyword_enterprise": ("关键词（企业名称）", "Keyword (name)"),
        "import_enterprises": ("导入企业台账", "Import enterprises"),
        "import_intro": (
            "上传 CSV（列名与 API 字段或中文表头一致），按统一社会信用代码新增或更新。",
            "Upload a CSV (API field names or the Chinese headers); rows are added or updated by USCC.",
        ),
        "csv_file": ("CSV 文件", "CSV file"),
        "import_help": (
            "UTF-8 或 GBK，不超过 10 MiB；更大的文件请用 API 导入。",
            "UTF-8 or GBK, at most 10 MiB; use the API for larger files.",
        ),
        "import_too_large": ("文件超过 10 MiB，请用 API 导入", "Larger than 10 MiB: use the API"),
        "import": ("导入", "Import"),
        "import_report": ("导入结果", "Import report"),
        "rows": ("行数", "Rows"),
        "accepted": ("新增", "Added"),
        "updated": ("更新", "Updated"),
        "rejected": ("未导入", "Rejected"),
        "row": ("行号", "Row"),
        "problems": ("问题", "Problems"),
        "draw_sample": ("抽取审计样本", "Draw an audit sample"),
        "period": ("抽查期间", "Period"),
        "period_help": ("如 2026、2026-Q3、2026-H1、2026-07", "e.g. 2026, 2026-Q3, 2026-H1, 2026-07"),
        "rate_percent": ("抽查比例（%，可选）", "Rate (%, optional)"),
        "rate_help": ("不填则按实施方案", "Empty: the policy's rate"),
        "seed": ("随机种子", "Seed"),
        "seed_help": ("同一种子可复现抽样结果", "The same seed reproduces the draw"),
        "whole_jurisdiction": ("全部辖区", "The whole jurisdiction"),
        "sample_drawn": (
            "已为 {period} 抽取 {n} 份协议（总体 {size} 份）。",
            "{n} contracts drawn for {period} (of {size}).",
        ),
        "population_hash": ("总体摘要", "Population digest"),
        "audit_tasks": ("审计任务", "Audit tasks"),
        "audit": ("质量审计", "Quality audit"),
        "total_score": ("总分", "Total"),
        "sample_reason": ("抽中原因", "Why drawn"),
        "record_result": ("登记审计结果", "Record the result"),
        "criterion_n": ("评分项 {n}", "Criterion {n}"),
        "score": ("得分（0–100）", "Score (0–100)"),
        "findings": ("发现的问题", "Findings"),
        "fraud_found": ("发现弄虚作假", "Fraud found"),
        "fraud_help": ("诚信分 −30", "Credit −30"),
        "criterion_0": ("隐患排查质量", "Quality of inspections"),
        "criterion_1": ("服务频次与记录", "Visits and records"),
        "criterion_2": ("整改跟踪", "Rectification follow-up"),
        "criterion_3": ("培训与应急预案", "Training and emergency plans"),
        "chart_numbers": ("图表数据", "The numbers"),
        "api_docs": ("接口文档（OpenAPI）", "API documentation (OpenAPI)"),
        "api_docs_intro": (
            "平台所有服务的合并接口文档。机器可读：",
            "The merged API of every service. Machine-readable:",
        ),
        "api_docs_noscript": (
            "交互式文档需要 JavaScript；接口定义见 /openapi.json。",
            "The interactive view needs JavaScript; the definition is at /openapi.json.",
        ),
        "export_interrupted": (
            "导出中断：数据服务暂不可用，文件不完整。",
            "Export interrupted: a service became unavailable; the file is incomplete.",
        ),
        "field_risk_level": ("风险等级", "Risk level"),
    }
)

ROLE = {
    "agency": ("中介机构", "agency"),
    "enterprise": ("企业", "enterprise"),
    "bureau": ("监管部门", "bureau"),
    "admin": ("平台管理员", "administrator"),
}
ORG_STATUS = {
    "pending": ("待核验", "pending"),
    "verified": ("已核验", "verified"),
    "rejected": ("未通过核验", "rejected"),
    "suspended": ("已暂停", "suspended"),
}
STAFF_ROLE = {
    "registered_safety_engineer": ("注册安全工程师", "Registered safety engineer"),
    "safety_officer": ("专职安全员", "Safety officer"),
    "other": ("其他", "Other"),
}
DOCUMENT_KIND = {
    "business_license": ("营业执照", "Business licence"),
    "qualification_certificate": ("资质证书", "Qualification certificate"),
    "engineer_certificate": ("注册安全工程师证书", "Engineer certificate"),
    "staff_contract": ("劳动合同 / 社保证明", "Employment contract / social insurance"),
    "office_lease": ("办公场所证明", "Office lease"),
    "other": ("其他材料", "Other"),
}
CHECK = {
    "uscc.valid": ("统一社会信用代码有效", "USCC valid"),
    "staff.registered_engineers_min": ("注册安全工程师人数", "Registered safety engineers"),
    "staff.full_time_min": ("专职人员人数", "Full-time staff"),
    "staff.certificates_valid": ("工程师证书在有效期内", "Engineer certificates valid"),
    "qualifications.valid": ("资质在有效期内", "Qualifications valid"),
}
CREDIT_KIND = {
    "complaint_upheld": ("投诉属实", "Complaint upheld"),
    "audit_below_60": ("审计低于 60 分", "Audit below 60"),
    "audit_at_least_90": ("审计 90 分以上", "Audit 90 or more"),
    "missed_visit": ("漏检", "Missed visit"),
    "hazard_verified_late": ("隐患逾期验收", "Hazard verified late"),
    "fraud_finding": ("弄虚作假", "Fraud"),
    "violation": ("违规行为（监管部门记录）", "Violation (recorded by a bureau)"),
    "commendation": ("表彰（监管部门记录）", "Commendation (recorded by a bureau)"),
}
PARTY = {"agency": ("中介机构", "agency"), "enterprise": ("企业", "enterprise")}
OUTCOME = {"upheld": ("投诉属实", "Upheld"), "dismissed": ("投诉不成立", "Dismissed")}
COMPLAINT_ACTION = {
    "received": ("受理", "Received"),
    "forwarded": ("通报机构", "Forwarded"),
    "responded": ("机构答复", "Responded"),
    "closed:upheld": ("办结：属实", "Closed: upheld"),
    "closed:dismissed": ("办结：不成立", "Closed: dismissed"),
}
HAZARD_FLAG = {
    "dust_explosion": ("粉尘涉爆", "Combustible dust"),
    "confined_space": ("有限空间", "Confined space"),
    "ammonia_refrigeration": ("涉氨制冷", "Ammonia refrigeration"),
    "hazardous_chemicals_use": ("使用危险化学品", "Uses hazardous chemicals"),
    "special_equipment": ("特种设备", "Special equipment"),
    "metal_melting": ("金属熔融", "Metal melting"),
}
AUDIT_STATUS = {"pending": ("待审计", "Pending"), "completed": ("已完成", "Completed")}
RISK = RISK_NAMES
VOCABULARIES.update(
    {
        "role": ROLE,
        "org_status": ORG_STATUS,
        "staff_role": STAFF_ROLE,
        "document_kind": DOCUMENT_KIND,
        "check": CHECK,
        "credit_kind": CREDIT_KIND,
        "party": PARTY,
        "outcome": OUTCOME,
        "complaint_action": COMPLAINT_ACTION,
        "hazard_flag": HAZARD_FLAG,
        "audit_status": AUDIT_STATUS,
    }
)
MESSAGES.update(
    {
        "tile_expiring": ("30 天内到期的协议", "Contracts ending within 30 days"),
        "tile_major_open": ("未闭环的重大隐患", "Major hazards not closed"),
        "tile_complaints_overdue": ("逾期投诉", "Overdue complaints"),
    }
)
MESSAGES.update(
    {
        "amend_terms": ("修改协议条款", "Amend the terms"),
        "amend_intro": (
            "修改后已有的签名作废，双方须按新条款重新签署。",
            "Amending voids the signatures: both parties sign the new terms again.",
        ),
        "save_terms": ("保存条款", "Save the terms"),
        "not_amendable": (
            "只有草稿或备案被退回的协议可由签约方修改。",
            "Only a draft or a contract whose filing was rejected can be amended, by a party.",
        ),
        "ok_amended": ("条款已修改，请双方重新签署。", "The terms are amended; both parties sign again."),
        "register_enterprise_bureau": ("登记企业", "Register an enterprise"),
    }
)

# --- evidence, disputes, the hazard loop, supervision (SPEC §16, §17) -------------------------------
SERVICE_LOG_STATUS = {
    "recorded": ("待确认", "Recorded"),
    "confirmed": ("已确认", "Confirmed"),
    "disputed": ("有异议", "Disputed"),
    "void": ("已作废", "Void"),
}
SUPERVISION_STATUS = {
    "reported": ("待确认督办", "Reported"),
    "acknowledged": ("已确认督办", "Acknowledged"),
    "listed": ("挂牌督办中", "Listed"),
    "closed": ("已摘牌销号", "Closed"),
}
DISPUTE_DECISION = {"uphold": ("维持记录", "Upheld"), "void": ("记录作废", "Voided")}
VOCABULARIES.update(
    {
        "service_log_status": SERVICE_LOG_STATUS,
        "supervision_status": SUPERVISION_STATUS,
        "dispute_decision": DISPUTE_DECISION,
    }
)
MESSAGES.update(
    {
        "attachment_n": ("附件 {n}", "Attachment {n}"),
        "visit_photos": ("现场照片", "Photos of the visit"),
        "visit_photos_help": (
            "照片或 PDF，每个不超过 10 MB，可选多个。",
            "Photos or PDFs, up to 10 MB each; you may choose several.",
        ),
        "hazard_photos": ("隐患照片", "Photos of the hazard"),
        "dispute": ("异议", "Dispute"),
        "disputes": ("服务记录异议", "Disputed visits"),
        "disputes_intro": (
            "企业对以下服务记录提出了异议，请核实后裁决。",
            "The enterprises disputed these visits: check and resolve each.",
        ),
        "no_disputes": ("没有待裁决的异议。", "No dispute waits for a decision."),
        "dispute_reason": ("异议理由", "Reason for the dispute"),
        "disputed_at": ("提出异议时间", "Disputed at"),
        "dispute_visit": ("对该记录提出异议", "Dispute this visit"),
        "dispute_help": (
            "如该次服务未实际发生或内容不实，请说明理由，由监管部门裁决。",
            "If the visit did not happen or the record is wrong, say why; the bureau decides.",
        ),
        "resolve_dispute": ("裁决异议", "Resolve the dispute"),
        "resolution": ("裁决结果", "Resolution"),
        "decision_uphold": ("维持记录（异议不成立）", "Uphold the visit (the dispute fails)"),
        "decision_void": ("记录作废（异议成立）", "Void the visit (the dispute stands)"),
        "ok_visit_dispute": ("已提出异议，等待监管部门裁决。", "The dispute is sent to the bureau."),
        "ok_visit_resolve": ("异议已裁决。", "The dispute is resolved."),
        "reject_rectification": ("驳回整改", "Reject the rectification"),
        "reject_reason": ("驳回理由", "Why it is rejected"),
        "rectification_rejected": ("整改被驳回", "Rectification rejected"),
        "ok_hazard_rejected": ("已驳回整改，企业须重新整改。", "Rejected: the enterprise rectifies again."),
        "bureau_verify": ("监管部门验收重大隐患", "The bureau verifies the major hazard"),
        "supervision": ("重大隐患督办", "Major-hazard supervision"),
        "case": ("督办案件", "Supervision case"),
        "clock": ("时限", "Clock"),
        "opened_at": ("立案时间", "Opened"),
        "ack_due_at": ("确认时限", "Acknowledge by"),
        "acknowledged_at": ("确认时间", "Acknowledged"),
        "closed_at": ("销号时间", "Closed"),
        "escalated": ("已超时升级", "Escalated"),
        "open_hazard": ("查看隐患", "Open the hazard"),
        "clock_ack_left": ("距确认时限还有 {hours} 小时", "{hours} h left to acknowledge"),
        "clock_ack_overdue": ("确认已超时 {hours} 小时", "Acknowledgement {hours} h overdue"),
        "clock_deadline_left": ("距整改期限还有 {days} 天", "{days} days to the deadline"),
        "clock_deadline_overdue": ("已超过整改期限 {days} 天", "{days} days past the deadline"),
        "acknowledge_case": ("确认督办", "Acknowledge"),
        "list_case": ("挂牌督办", "List the case (挂牌)"),
        "close_case": ("摘牌销号", "Close the case"),
        "field_measures": ("整改措施", "Measures"),
        "field_responsible": ("责任人", "Responsible person"),
        "ok_case_acknowledge": ("已确认督办。", "The case is acknowledged."),
        "ok_case_list": ("已挂牌督办。", "The case is listed."),
        "ok_case_close": ("已摘牌销号。", "The case is closed."),
        "dispute_notes": ("裁决说明", "Notes on the decision"),
        "field_attachments": ("附件", "Attachments"),
        "field_photos": ("照片", "Photos"),
    }
)

MESSAGES.update(
    {
        "inbox": ("消息", "Inbox"),
        "inbox_unread_n": ("{n} 条未读", "{n} unread"),
        "inbox_count_label": ("{unread} 条未读，其中 {urgent} 条紧急", "{unread} unread, {urgent} urgent"),
        "inbox_unread_only": ("只看未读", "Unread only"),
        "inbox_kind": ("类型", "Kind"),
        "inbox_read_all": ("全部标为已读", "Mark all read"),
        "inbox_mark_read": ("标为已读", "Mark read"),
        "inbox_read_open": ("查看并标为已读", "Open and mark read"),
        "inbox_urgent": ("紧急", "Urgent"),
        "inbox_new": ("未读", "New"),
        "inbox_due": ("截止", "Due"),
        "inbox_empty": ("没有消息。", "No messages."),
        "ok_inbox_read": ("已标为已读。", "Marked read."),
        "ok_inbox_read_all": ("已全部标为已读。", "All marked read."),
    }
)
WEBHOOK_STATUS = {"active": ("正常", "Active"), "failing": ("投递失败", "Failing")}
VOCABULARIES.update({"webhook_status": WEBHOOK_STATUS})
MESSAGES.update(
    {
        "webhooks": ("回调订阅", "Webhooks"),
        "webhook": ("回调订阅", "Webhook"),
        "webhooks_intro": (
            "平台在事件发生时向您的系统推送通知（Standard Webhooks 签名，失败自动重试 24 小时）。"
            "只推送本账号会收到的消息。",
            "The platform posts events to your system as they happen (Standard Webhooks signatures, "
            "retried for 24 hours). You receive only what this account would be told.",
        ),
        "webhooks_none": ("尚无回调订阅。", "No webhooks yet."),
        "webhook_url": ("接收地址（URL）", "Endpoint URL"),
        "webhook_url_help": (
            "须为 https 地址，且不能指向内网或本机。",
            "Must be https and must not point to a private or loopback address.",
        ),
        "webhook_events": ("事件类型", "Event types"),
        "webhook_events_help": (
            "一个或多个事件类型，以空格、逗号或换行分隔，例如 agency.approved contract.filed（见“事件文档”）。",
            "One or more event types separated by spaces, commas or new lines, e.g. agency.approved "
            "contract.filed (see the event documentation).",
        ),
        "webhook_description": ("说明", "Description"),
        "webhook_actions": ("操作", "Actions"),
        "webhook_subscribe": ("新建订阅", "Subscribe"),
        "webhook_delete": ("删除", "Delete"),
        "webhook_delete_confirm": ("确定删除此回调订阅？", "Delete this webhook?"),
        "webhook_created": ("回调订阅已创建", "Webhook created"),
        "webhook_secret": ("签名密钥", "Signing secret"),
        "webhook_secret_once": (
            "请立即复制并妥善保存签名密钥：它只显示这一次。",
            "Copy the signing secret now and keep it safe: it is shown only this once.",
        ),
        "webhook_open": ("查看订阅与投递记录", "Open the webhook and its deliveries"),
        "webhook_deliveries": ("投递记录（每次尝试一条）", "Deliveries (one row per attempt)"),
        "webhook_no_deliveries": ("尚无投递记录。", "No deliveries yet."),
        "webhook_at": ("时间", "At"),
        "webhook_event": ("事件", "Event"),
        "webhook_attempt": ("第几次", "Attempt"),
        "webhook_answer": ("对方应答", "Answer"),
        "webhook_next": ("下次重试", "Next attempt"),
        "webhook_retry": ("重新投递", "Retry"),
        "field_url": ("接收地址（URL）", "Endpoint URL"),
        "field_events": ("事件类型", "Event types"),
        "ok_webhook_deleted": ("回调订阅已删除。", "The webhook is deleted."),
        "ok_webhook_retry": ("已重新排队投递。", "The delivery is queued again."),
    }
)
MESSAGES.update(
    {
        "organisations": ("组织核验", "Organisations"),
        "organisations_intro": (
            "新注册的机构和企业须经核验后方可办理业务；核验前只能办理本机构的备案或本企业的登记。",
            "A newly registered agency or enterprise acts only once verified; until then it may only "
            "prepare its own filing or record.",
        ),
        "org_verify": ("核验通过", "Verify"),
        "org_reject": ("不予通过", "Reject"),
        "org_decide": ("提交核验决定", "Record the decision"),
        "ok_org_verified": ("组织已核验。", "The organisation is verified."),
        "ok_org_rejected": ("已驳回该组织。", "The organisation is rejected."),
        "my_organisation": ("我的组织", "My organisation"),
        "org_pending_help": (
            "组织待监管部门核验：核验前只能办理本机构的备案或本企业的登记。",
            "The bureau has yet to verify the organisation: until then only its own filing or record can be prepared.",
        ),
        "members": ("成员", "Members"),
        "member_username": ("用户名", "Username"),
        "member_name": ("姓名", "Name"),
        "member_admin": ("管理员", "Admin"),
        "member_remove": ("移除", "Remove"),
        "member_remove_confirm": (
            "确定移除该成员？其登录将立即失效。",
            "Remove this member? Their sessions end at once.",
        ),
        "ok_member_removed": ("成员已移除。", "The member is removed."),
        "invite_colleague": ("邀请同事", "Invite a colleague"),
        "invitation_once": (
            "请把邀请码交给同事，注册时填写；它只显示这一次，且只能使用一次。",
            "Give this code to your colleague to enter at sign-up; it is shown only this once and works once.",
        ),
        "invitation_expires": ("有效期至", "Valid until"),
    }
)


# --- credit, the dishonesty list, accidents (SPEC §19, §20; portal/pages/credit.py, accidents.py) ---
LISTING_STATUS = {
    "noticed": ("已告知（异议期内）", "Noticed (objection period)"),
    "objected": ("已提出异议", "Objected"),
    "listed": ("已列入", "Listed"),
    "repairable": ("可申请修复", "Repairable"),
    "repair_requested": ("已申请修复", "Repair requested"),
    "repaired": ("已修复", "Repaired"),
    "withdrawn": ("已撤销", "Withdrawn"),
    "expired": ("已届满移出", "Expired"),
}
LISTING_DECISION = {
    "list": ("列入名单", "List"),
    "withdraw": ("撤销（不予列入）", "Withdraw"),
    "repair": ("准予修复", "Repair"),
    "refuse": ("不予修复", "Refuse repair"),
}
BUREAU_CREDIT_KIND = {"violation": CREDIT_KIND["violation"], "commendation": CREDIT_KIND["commendation"]}
ACCIDENT_SEVERITY = {
    "general": ("一般事故", "General"),
    "larger": ("较大事故", "Larger"),
    "major": ("重大事故", "Major"),
    "especially_major": ("特别重大事故", "Especially major"),
}
VOCABULARIES.update(
    {
        "listing_status": LISTING_STATUS,
        "listing_decision": LISTING_DECISION,
        "bureau_credit_kind": BUREAU_CREDIT_KIND,
        "org_kind": PARTY,
        "accident_severity": ACCIDENT_SEVERITY,
        "visit_state": {
            "recorded": ("已记录（未确认）", "Recorded (not confirmed)"),
            "confirmed": ("企业已确认", "Confirmed"),
            "disputed": ("企业有异议", "Disputed"),
        },
    }
)
MESSAGES.update(
    {
        "credit": ("诚信", "Credit"),
        "cr_agency_file": ("机构诚信档案", "Agency credit file"),
        "cr_enterprise_file": ("企业诚信档案", "Enterprise credit file"),
        "cr_record_fact": ("登记诚信记录", "Record a credit fact"),
        "cr_record_help": (
            "违规为负分，表彰为正分（绝对值不超过 100）。",
            "A violation is negative, a commendation positive (at most 100 either way).",
        ),
        "cr_recorded_by": ("记录人", "Recorded by"),
        "field_delta": ("分值变化", "Change"),
        "field_ref": ("文书编号", "Document no."),
        "ok_credit_recorded": ("诚信记录已登记。", "The credit fact is recorded."),
        "cr_listings": ("严重失信名单", "Serious-dishonesty list"),
        "cr_public_title": ("严重失信主体名单（公示）", "Serious-dishonesty list (public)"),
        "cr_public_intro": (
            "依法列入严重失信名单的安全中介机构和企业，列入期间不得承接新的托管协议。",
            "Agencies and enterprises on the serious-dishonesty list by law; while listed, an agency "
            "takes no new custody contracts.",
        ),
        "cr_listed_at": ("列入日期", "Listed on"),
        "cr_until": ("列入期限至", "Listed until"),
        "cr_name": ("名称", "Name"),
        "cr_no_listed": ("目前名单为空。", "Nobody is on the list."),
        "cr_new_listing": ("拟列入严重失信名单", "Start a listing"),
        "cr_new_listing_help": (
            "提交后告知当事组织，其可在异议期内提出异议。",
            "The organisation is told and may object within the objection period.",
        ),
        "field_org_kind": ("主体类型", "Kind of organisation"),
        "field_legal_basis": ("法律依据", "Legal basis"),
        "field_statement": ("陈述", "Statement"),
        "field_reasons": ("决定理由", "Reasons"),
        "cr_listing": ("失信名单记录", "Listing"),
        "cr_noticed_on": ("告知日期", "Noticed on"),
        "cr_objection_until": ("异议期至", "Objection until"),
        "cr_objection": ("异议", "Objection"),
        "cr_repair_statement": ("修复申请", "Repair request"),
        "cr_decision": ("决定", "Decision"),
        "cr_object": ("提出异议", "Object"),
        "cr_request_repair": ("申请信用修复", "Request repair"),
        "cr_decide": ("作出决定", "Decide"),
        "ok_listing_noticed": ("已告知当事组织。", "The organisation has been told."),
        "ok_listing_objection": ("异议已提交，等待监管部门决定。", "Objection sent; the bureau decides."),
        "ok_listing_repair": ("修复申请已提交。", "Repair request sent."),
        "ok_listing_decide": ("决定已作出。", "The decision is recorded."),
        "cr_org_kind": ("主体类型", "Kind"),
        "accidents": ("事故", "Accidents"),
        "ac_title": ("生产安全事故（一案双查）", "Accidents (back-tracing)"),
        "ac_new": ("登记事故", "Record an accident"),
        "field_occurred_at": ("发生时间", "Occurred at"),
        "field_severity": ("事故等级", "Severity"),
        "field_deaths": ("死亡人数", "Deaths"),
        "field_injuries": ("受伤人数", "Injuries"),
        "field_agency_at_fault": ("托管机构负有责任（记失信）", "The custodian agency is at fault (a fraud record)"),
        "ac_dossier": ("事故发生时的托管档案", "The custody record as of the accident"),
        "ac_download": ("下载档案（Excel）", "Download the dossier (Excel)"),
        "ac_contracts": ("在履行的托管协议", "Contracts in force"),
        "ac_visits": ("事故前 12 个月的服务记录", "Visits in the 12 months before"),
        "ac_hazards": ("隐患及其当时状态", "Hazards and their state then"),
        "ac_audits": ("质量审计", "Audits"),
        "ac_credit": ("诚信记录", "Credit records"),
        "ac_standing": ("机构当时的诚信等级", "Agencies' standing then"),
        "ac_state": ("当时状态", "State then"),
        "ac_record_findings": ("登记调查结论", "Record the findings"),
        "ok_accident_recorded": ("事故已登记。", "The accident is recorded."),
        "ok_findings_recorded": ("调查结论已登记。", "The findings are recorded."),
        "ac_none": ("暂无事故记录。", "No accidents recorded."),
        "ac_at_fault": ("机构有责", "Agency at fault"),
        "ac_not_at_fault": ("机构无责", "Agency not at fault"),
    }
)

# --- change filing and the risk-input review (SPEC §18, §8; portal/pages/filings.py) ---------------
VOCABULARIES.update(
    {
        "change_status": {
            "submitted": ("待审核", "Submitted"),
            "approved": ("已批准并生效", "Approved"),
            "rejected": ("未批准", "Rejected"),
            "applied": ("已直接生效", "Applied"),
        }
    }
)
MESSAGES.update(
    {
        "ch_title": ("变更备案", "Change filing"),
        "ch_file": ("申请变更备案", "File a change"),
        "ch_intro": (
            "只提交与现备案不同的内容；联系电话和地址的变更即时生效，其他变更经监管部门审核后生效。",
            "Only what differs from the filing is sent; a new phone or address applies at once, "
            "anything else once the bureau approves it.",
        ),
        "ch_reason": ("变更理由", "Reason for the change"),
        "ch_history": ("变更记录", "Change requests"),
        "ch_none": ("暂无变更记录。", "No change requests."),
        "ch_no_filing": ("尚未备案。", "There is no filing yet."),
        "ch_only_approved": ("备案通过后方可申请变更备案。", "A change can be filed once the filing is approved."),
        "ch_fields": ("变更事项", "What changes"),
        "ch_new_value": ("变更后", "New value"),
        "ch_field_staff": ("人员名单", "Staff roster"),
        "ch_field_qualifications": ("资质", "Qualifications"),
        "ch_field_service_districts": ("服务区域", "Service areas"),
        "ch_field_service_industries": ("服务行业", "Service industries"),
        "ch_field_contact_phone": ("联系电话", "Contact phone"),
        "ch_field_address": ("地址", "Address"),
        "ch_review": ("提交审核意见", "Send the review"),
        "ch_approve": ("批准", "Approve"),
        "ch_reject": ("不予批准", "Reject"),
        "comments": ("意见", "Comments"),
        "ok_change_filed": ("变更备案已提交。", "The change is filed."),
        "ok_change_reviewed": ("审核意见已提交。", "The review is recorded."),
        "ri_title": ("企业自报变更审核", "Enterprises' own changes to review"),
        "ri_intro": (
            "企业自行提交的迁址或降低风险因素的变更，审核通过前仍按原信息计算风险等级。",
            "An enterprise's own district move or lowering of its risk inputs; until accepted, "
            "the old values set its risk level.",
        ),
        "ri_submitted": ("提交于", "Submitted"),
        "ri_now": ("现登记", "Now"),
        "ri_review": ("提交审核", "Send the review"),
        "ri_accept": ("同意", "Accept"),
        "ri_reject": ("不同意", "Reject"),
        "ri_none": ("没有待审核的企业变更。", "Nothing waits for review."),
        "ri_waiting": (
            "您提交的变更正在等待所在区县监管部门审核，审核通过前仍按原信息管理。",
            "Your change waits for the district bureau; until then the old values apply.",
        ),
        "ok_risk_inputs_reviewed": ("审核意见已提交。", "The review is recorded."),
    }
)

# --- the dashboard's watch lists; sign-up with an invitation and the organisation's status (#19) ------
MESSAGES.update(
    {
        "dash_cases_open": ("未销号的重大隐患督办", "Open supervision cases"),
        "dash_cases_late": ("逾期未确认的督办", "Cases not acknowledged in time"),
        "dash_cases_by_status": ("重大隐患督办（按状态）", "Supervision cases by status"),
        "dash_cases_waiting": ("待确认的重大隐患督办", "Supervision cases to acknowledge"),
        "dash_noncompliant": ("人员配备不达标的机构", "Agencies below the staffing minimums"),
        "dash_filings_expiring": ("30 天内到期的机构备案", "Filings ending within 30 days"),
        "invitation_code": ("邀请码（加入已注册的单位）", "Invitation code (to join a registered organisation)"),
        "invitation_code_help": (
            "单位已有账号时，请向单位管理员索取邀请码；第一个注册的账号无需填写。",
            "If your organisation already has an account, ask its administrator for a code; "
            "the first account of an organisation leaves this empty.",
        ),
        "invitation_needed": (
            "该单位已注册：请填写单位管理员提供的邀请码。",
            "This organisation is registered: enter the invitation code its administrator gave you.",
        ),
        "signed_up_joined": ("您已加入该单位。", "You joined the organisation."),
        "org_pending_may": (
            "核验前可以：机构填写、补充并提交备案材料；企业登记并查看本企业信息。",
            "Until then you may: as an agency, fill in, document and submit your filing; "
            "as an enterprise, register and read your own record.",
        ),
        "org_pending_waits": (
            "等待：所在区县监管部门核验单位（机构的首次备案通过即完成核验）。核验后可签订托管协议等。",
            "Waiting for: the district bureau to verify the organisation (an agency's first approved filing "
            "verifies it). Once verified you may sign contracts and the rest.",
        ),
        "org_not_active": (
            "单位当前不可办理业务（{status}），请联系所在区县监管部门。",
            "The organisation may not work now ({status}); contact the district bureau.",
        ),
    }
)

# --- the dashboard's monthly trends (SPEC §22) ---------------------------------------------------
MESSAGES.update(
    {
        "dash_trends": ("近十二个月的考核指标（%）", "The plan's rates over twelve months (%)"),
        "month": ("月份", "Month"),
        "trend_custody_coverage": ("托管覆盖率", "Custody coverage"),
        "trend_visits_delivered": ("服务频次完成率", "Visits delivered"),
        "trend_hazards_closed_on_time": ("隐患按期整改率", "Hazards closed on time"),
        "trend_major_hazards_acknowledged_in_time": ("重大隐患按时确认率", "Major hazards acknowledged in time"),
        "trend_complaints_answered_on_time": ("投诉按期答复率", "Complaints answered on time"),
    }
)

# --- the policy's versions (SPEC §22) -------------------------------------------------------------
MESSAGES.update(
    {
        "policy_versions": ("实施方案版本", "Policy versions"),
        "pv_title": ("实施方案历次版本", "Versions of the implementation plan"),
        "pv_version": ("版本", "Version"),
        "pv_document": ("文件", "Document"),
        "pv_effective_from": ("施行日期", "In force from"),
        "pv_published_at": ("发布日期", "Published"),
        "pv_from_the_beginning": ("自始施行", "From the beginning"),
        "pv_shipped": ("默认参数", "Shipped default"),
        "pv_in_force": ("现行", "In force"),
        "pv_none": ("暂无版本。", "No versions."),
    }
)

# --- the dashboard's drill-down city → district → town (SPEC §22, D57) ----------------
MESSAGES.update(
    {
        "town": ("镇街", "Town"),
        "dash_trail": ("辖区层级", "Area levels"),
        "dash_by_district": ("各区县情况（点击查看区县）", "By district (open a district)"),
        "dash_by_town": ("各镇街情况（点击查看镇街）", "By town (open a town)"),
        "dash_outside_scope": ("该辖区不在您的管辖范围内。", "That area is outside your jurisdiction."),
        "dash_town_summary": (
            "隐患、投诉和漏检次数按区县统计，请在所属区县的看板查看。",
            "Hazards, complaints and missed visits are counted by district: see the district's view.",
        ),
    }
)
MESSAGES.update(
    {
        "dash_by_town_unsupported": (
            "部分服务尚不能按镇街统计，表中以“—”表示。",
            "Some services cannot count by town yet: those figures show as “—”.",
        ),
    }
)

# --- conflicts of interest: the agency's declared engagements (SPEC §20, D57) --------
ENGAGEMENT_KIND = {
    "safety_evaluation": ("安全评价", "Safety evaluation"),
    "testing": ("检测检验", "Testing"),
    "consulting": ("安全咨询", "Consulting"),
    "training": ("安全培训", "Training"),
}
VOCABULARIES.update({"engagement_kind": ENGAGEMENT_KIND})
MESSAGES.update(
    {
        "eg_title": ("业务往来申报", "Declared engagements"),
        "eg_intro": (
            "托管之外为企业提供的安全评价、检测、咨询、培训等业务须如实申报。"
            "为企业做过安全评价的机构，在规定年限内不得与其签订托管协议（利益冲突）。",
            "Declare the other work you do for an enterprise besides custody: safety evaluation, testing, "
            "consulting, training. An agency that evaluated an enterprise's safety may not hold its custody "
            "contract for the years the policy sets (conflict of interest).",
        ),
        "eg_no_filing": ("请先填写本机构的备案，再申报业务往来。", "File your agency first, then declare engagements."),
        "eg_list": ("已申报的业务往来", "Declared engagements"),
        "eg_none": ("尚无申报。", "Nothing declared yet."),
        "eg_declare": ("申报业务往来", "Declare an engagement"),
        "eg_period": ("起止日期", "Period"),
        "eg_declared_at": ("申报日期", "Declared on"),
        "eg_kind_help": (
            "安全评价会限制与该企业签订托管协议；其他类别不受限制。",
            "A safety evaluation bars a custody contract with that enterprise; the other kinds do not.",
        ),
        "eg_to_help": (
            "可申报计划中的业务；结束日期不早于开始日期。",
            "Planned work may be declared; the end is not before the start.",
        ),
        "field_engagement_kind": ("业务类别", "Kind of work"),
        "field_eg_from": ("开始日期", "From"),
        "field_eg_to": ("结束日期", "To"),
        "ok_engagement_declared": ("已申报。", "Declared."),
    }
)
MESSAGES.update(
    {
        "dash_town_unsupported": (
            "以下数据尚不能按镇街筛选，暂不显示：{what}",
            "Not shown, as it cannot be kept to a town yet: {what}",
        ),
    }
)
