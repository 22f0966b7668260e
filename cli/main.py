"""``custody`` — the platform's command line (typer + rich)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

from shared.settings import DEV_ADMIN_CLIENT_ID, DEV_ADMIN_CLIENT_SECRET, Settings

if TYPE_CHECKING:
    from devtools.supervisor import Supervisor

app = typer.Typer(help="安全生产托管平台命令行 / custody platform CLI", no_args_is_help=True)
console = Console()


@app.command()
def up(wait: float = typer.Option(90.0, help="Seconds to wait for every /readyz")) -> None:
    """Start NATS (embedded unless CUSTODY_NATS_URL is set), every service and the gateway."""
    from devtools.supervisor import Supervisor

    extra: dict[str, str] = {}
    settings = Settings()
    if not settings.is_production and not (settings.admin_client_id and settings.admin_client_secret):
        extra = {"CUSTODY_ADMIN_CLIENT_ID": DEV_ADMIN_CLIENT_ID, "CUSTODY_ADMIN_CLIENT_SECRET": DEV_ADMIN_CLIENT_SECRET}
        os.environ.update(extra)
        settings = Settings()
    supervisor = Supervisor(settings=settings, log_dir=settings.data_dir / "logs", extra_env=extra)
    stopping = {"flag": False}

    def _stop(_signum: int, _frame: object) -> None:
        stopping["flag"] = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    console.print("[bold]安全生产托管平台 / custody platform[/bold] — starting…")
    supervisor.start()
    try:
        took = supervisor.wait_ready(wait)
        _print_urls(settings, supervisor, took)
        while not stopping["flag"]:
            for name in supervisor.check():
                console.print(f"[yellow]restarted {name}[/yellow]")
            time.sleep(1.0)
    except (TimeoutError, RuntimeError) as exc:
        console.print(f"[red]{exc}[/red]  (logs: {settings.data_dir / 'logs'})")
        raise typer.Exit(1) from exc
    finally:
        console.print("stopping…")
        supervisor.stop()
        console.print("stopped.")


def _print_urls(settings: Settings, supervisor: Supervisor, took: float) -> None:
    table = Table(title=f"ready in {took:.1f}s")
    table.add_column("component")
    table.add_column("URL")
    gateway = settings.url_of("gateway")
    table.add_row("portal (公示名单)", f"{gateway}/")
    table.add_row("API docs", f"{gateway}/docs")
    for component in supervisor.components:
        table.add_row(component.name, component.url)
    table.add_row("NATS", ", ".join(settings.nats_servers))
    table.add_row("data", str(Path(settings.data_dir).resolve()))
    console.print(table)
    if settings.admin_client_id:
        console.print(
            f"admin client (client_credentials): id=[bold]{settings.admin_client_id}[/bold] "
            f"secret=[bold]{settings.admin_client_secret}[/bold]"
        )
    console.print("Ctrl-C stops everything.")


# --- the operator's commands (issue #10) -------------------------------------------------------------
def _gateway_default() -> str:
    return Settings().url_of("gateway")


def _admin_credentials(admin_id: str | None, admin_secret: str | None) -> tuple[str, str]:
    settings = Settings()
    admin_id = admin_id or settings.admin_client_id or DEV_ADMIN_CLIENT_ID
    admin_secret = admin_secret or settings.admin_client_secret or DEV_ADMIN_CLIENT_SECRET
    return admin_id, admin_secret


def _fail(message: str) -> None:
    console.print(f"[red]{message}[/red]")
    raise typer.Exit(1)


GatewayOpt = typer.Option(None, "--gateway", help="网关地址 / gateway URL (default: from CUSTODY_* settings)")
AdminIdOpt = typer.Option(
    None, "--admin-id", help="管理员客户端 / admin client id (default: CUSTODY_ADMIN_CLIENT_ID or the dev default)"
)
AdminSecretOpt = typer.Option(None, "--admin-secret", help="管理员客户端密钥 / admin client secret")


@app.command()
def demo(
    gateway: str = GatewayOpt,
    admin_id: str = AdminIdOpt,
    admin_secret: str = AdminSecretOpt,
    small: bool = typer.Option(False, help="A smaller data set (3 agencies, 4 enterprises)"),
    tag: str = typer.Option("", help="Suffix for every name (to seed a second, separate data set)"),
) -> None:
    """Seed a realistic Jiangmen data set through the public API (agencies, enterprises, contracts, visits, hazards, complaints)."""
    import asyncio

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from cli.demo import DemoError, seed, steps

    gateway = (gateway or _gateway_default()).rstrip("/")
    admin_id, admin_secret = _admin_credentials(admin_id, admin_secret)
    names = {
        "bureaus": "监管部门账户 / bureaus",
        "agencies": "中介机构备案 / agency filings",
        "enterprises": "企业登记 / enterprises",
        "contracts": "托管协议 / contracts",
        "service_logs": "服务记录与隐患 / visits and hazards",
        "complaints": "投诉 / complaints",
        "sweep": "每日巡检 / daily sweep",
    }
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    ) as progress:
        task = progress.add_task("江门示范数据 / Jiangmen demo data", total=steps(small))

        def advance(step: str) -> None:
            progress.update(task, advance=1, description=names.get(step, step))

        try:
            result = asyncio.run(
                seed(gateway, admin_id=admin_id, admin_secret=admin_secret, small=small, tag=tag, progress=advance)
            )
        except DemoError as exc:
            _fail(f"demo failed: {exc}")
        except Exception as exc:
            _fail(f"demo failed ({type(exc).__name__}): {exc} — is the platform running (make run)?")
        progress.update(task, completed=steps(small))
    if result.already_seeded:
        console.print("[yellow]示范数据已存在 / the demo data is already there[/yellow]")
    else:
        console.print(
            f"[green]seeded[/green]: {len(result.agencies)} agencies, {len(result.enterprises)} enterprises, "
            f"{len(result.contracts)} contracts, {result.service_logs} visits, {result.hazards} hazards, "
            f"{result.complaints} complaints"
        )
    table = Table(title="打开门户 / open the portal", show_header=False)
    table.add_row("公示名单 / public list", f"{gateway}/")
    table.add_row("监管看板 / dashboard", f"{gateway}/portal/dashboard")
    table.add_row("市局账户 / city bureau", f"{result.bureau_username}  /  {result.bureau_password}")
    for code, username in result.district_bureaus.items():
        table.add_row(f"区县局 {code}", f"{username}  /  {result.bureau_password}")
    console.print(table)


@app.command()
def login(
    gateway: str = GatewayOpt,
    scope: str = typer.Option("custody.read custody.write", help="Scopes to ask for"),
    open_browser: bool = typer.Option(True, "--open-browser/--no-browser", help="Open the login page in a browser"),
    timeout: float = typer.Option(300.0, help="Seconds to wait for the browser"),
) -> None:
    """Log in through the browser (authorization code + PKCE, loopback redirect, public client custody-cli)."""
    import webbrowser

    from cli.auth import LoginError, LoopbackLogin, save

    flow = LoopbackLogin((gateway or _gateway_default()).rstrip("/"), scope=scope)
    console.print("在浏览器中登录 / log in in your browser:")
    console.print(flow.authorize_url, soft_wrap=True)
    if open_browser:
        webbrowser.open(flow.authorize_url)
    try:
        tokens = flow.wait(timeout)
    except LoginError as exc:
        _fail(str(exc))
    path = save(tokens)
    console.print(f"[green]已登录 / logged in[/green] — tokens in {path}")


@app.command()
def token() -> None:
    """Print a valid access token (refreshing it if needed): `curl -H "Authorization: Bearer $(custody token)" …`."""
    import httpx

    from cli.auth import LoginError, valid_access_token

    try:
        value = valid_access_token()
    except (LoginError, httpx.HTTPError) as exc:
        _fail(str(exc))
    print(value)


events_app = typer.Typer(help="事件总线 / the event bus", no_args_is_help=True)
app.add_typer(events_app, name="events")


@events_app.command("tail")
def events_tail(
    type_: str = typer.Option(">", "--type", help="Event type pattern, e.g. contract.* or contract.filed"),
    nats_url: str = typer.Option(None, "--nats", help="NATS URL(s), comma-separated (default: from settings)"),
    count: int = typer.Option(0, help="Stop after this many events (0: until Ctrl-C)"),
    raw: bool = typer.Option(False, "--json", help="Print each envelope as one JSON line"),
) -> None:
    """Watch the bus: print every event envelope as it is published."""
    import asyncio

    from cli.ops import tail

    settings = Settings()
    servers = [s.strip() for s in nats_url.split(",")] if nats_url else settings.nats_servers
    try:
        asyncio.run(tail(servers, f"{settings.subject_prefix}.{type_}", count=count, raw=raw, console=console))
    except KeyboardInterrupt:
        pass
    except Exception as exc:
        _fail(f"cannot watch the bus at {', '.join(servers)}: {exc}")


dlq_app = typer.Typer(help="死信 / dead letters", no_args_is_help=True)
app.add_typer(dlq_app, name="dlq")
ServiceOpt = typer.Option(..., "--service", help="registry | enterprises | contracts | audit | notify")


@dlq_app.command("list")
def dlq_list(
    service: str = ServiceOpt,
    gateway: str = GatewayOpt,
    admin_id: str = AdminIdOpt,
    admin_secret: str = AdminSecretOpt,
    include_replayed: bool = typer.Option(False, "--all"),
) -> None:
    """List a service's dead letters."""
    from cli.ops import OpsError, admin_call

    try:
        body = admin_call(
            (gateway or _gateway_default()),
            *_admin_credentials(admin_id, admin_secret),
            "GET",
            "/api/v1/admin/dlq",
            params={"service": service, "include_replayed": str(include_replayed).lower()},
        )
    except OpsError as exc:
        _fail(str(exc))
    items = body.get("items") or []
    table = Table(title=f"dead letters · {service} · {len(items)}")
    for column in ("id", "event_type", "event_id", "consumer", "attempts", "error", "dead_at", "replayed_at"):
        table.add_column(column, overflow="fold")
    for item in items:
        table.add_row(
            *(
                str(item.get(k, item.get(k.replace("dead_at", "created_at"), "")) or "")
                for k in ("id", "event_type", "event_id", "consumer", "attempts", "error", "dead_at", "replayed_at")
            )
        )
    console.print(table)


@dlq_app.command("replay")
def dlq_replay(
    dead_letter_id: str = typer.Argument(..., help="The dead letter's id (from `custody dlq list`)"),
    service: str = ServiceOpt,
    gateway: str = GatewayOpt,
    admin_id: str = AdminIdOpt,
    admin_secret: str = AdminSecretOpt,
) -> None:
    """Replay one dead letter to its consumer."""
    from cli.ops import OpsError, admin_call

    try:
        body = admin_call(
            (gateway or _gateway_default()),
            *_admin_credentials(admin_id, admin_secret),
            "POST",
            f"/api/v1/admin/dlq/{dead_letter_id}/replay",
            params={"service": service},
        )
    except OpsError as exc:
        _fail(str(exc))
    console.print_json(data=body)


@app.command()
def sweep(
    service: str = typer.Option("all", "--service", help="registry | enterprises | contracts | audit | notify | all"),
    as_of: str = typer.Option(None, "--as-of", help="ISO date (default: today)"),
    gateway: str = GatewayOpt,
    admin_id: str = AdminIdOpt,
    admin_secret: str = AdminSecretOpt,
) -> None:
    """Run the time-based transitions (activation, expiry, overdue, reminders) as of a date."""
    from datetime import date

    from cli.ops import OpsError, admin_call
    from shared.settings import SERVICES

    if as_of:
        try:
            date.fromisoformat(as_of)
        except ValueError:
            _fail("--as-of must be an ISO date such as 2026-12-31")
    services = list(SERVICES) if service == "all" else [service]
    if any(s not in SERVICES for s in services):
        _fail(f"unknown service {service!r}; one of {', '.join(SERVICES)} or all")
    admin = _admin_credentials(admin_id, admin_secret)
    for name in services:
        params = {"service": name, **({"as_of": as_of} if as_of else {})}
        try:
            body = admin_call((gateway or _gateway_default()), *admin, "POST", "/api/v1/admin/sweep", params=params)
        except OpsError as exc:
            _fail(str(exc))
        console.print(f"[bold]{name}[/bold]", body)


# --- notifications (issue #15) ------------------------------------------------------------------
LanguageOpt = typer.Option("zh-CN", "--lang", help="zh-CN | en")


@app.command()
def inbox(
    gateway: str = GatewayOpt,
    kind: str = typer.Option(None, "--kind", help="Only this kind, e.g. hazard.reported"),
    limit: int = typer.Option(50, min=1, max=200),
    language: str = LanguageOpt,
    mark_read: bool = typer.Option(False, "--mark-read", help="Mark what is shown as read"),
) -> None:
    """Your unread notifications (the signed-in person's; `custody login` first)."""
    from cli.api import ApiError
    from cli.notify import mark_read as read
    from cli.notify import unread

    try:
        items, summary = unread(gateway=gateway, language=language, kind=kind, limit=limit)
        if mark_read:
            read([i["id"] for i in items], gateway=gateway)
    except ApiError as exc:
        _fail(str(exc))
    table = Table(title=f"未读 / unread {summary['unread']} · 紧急 / urgent {summary['urgent']}")
    for column in ("", "kind", "title", "body", "due", "link", "id"):
        table.add_column(column, overflow="fold")
    for item in items:
        table.add_row(
            "!" if item["urgent"] else "",
            item["kind"],
            item["title"],
            item["body"],
            (item.get("due_at") or "")[:10],
            item.get("link") or "",
            item["id"],
        )
    console.print(table)


import_app = typer.Typer(help="批量导入 / bulk imports", no_args_is_help=True)
app.add_typer(import_app, name="import")


@import_app.command("enterprises")
def import_enterprises(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True, help=".csv or .xlsx"),
    dry_run: bool = typer.Option(False, "--dry-run", help="只校验不写入 / validate only, write nothing"),
    gateway: str = GatewayOpt,
    language: str = LanguageOpt,
    show: int = typer.Option(50, "--show", min=0, help="rejected rows to list"),
) -> None:
    """Import a district's enterprise ledger (SPEC §22) as the signed-in person (`custody login`)."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeElapsedColumn

    from cli.api import ApiError
    from cli.imports import import_enterprises as send

    with Progress(
        "[progress.description]{task.description}", BarColumn(), DownloadColumn(), TimeElapsedColumn(), console=console
    ) as progress:
        task = progress.add_task("上传 / uploading", total=file.stat().st_size)

        def sent(n: int) -> None:
            progress.advance(task, n)
            if progress.tasks[task].completed >= (progress.tasks[task].total or 0):
                progress.update(task, description="处理中 / processing")

        try:
            report = send(file, gateway=gateway, dry_run=dry_run, language=language, on_sent=sent)
        except ApiError as exc:
            _fail(str(exc))
    title = "试导入（未写入）/ dry run (nothing written)" if report.get("dry_run") else "导入结果 / import report"
    summary = Table(title=title)
    for column in ("rows", "accepted", "updated", "unchanged", "rejected", "encoding", "seconds"):
        summary.add_column(column)
    rejected = report.get("rejected") or []
    summary.add_row(
        *(str(report.get(k, "")) for k in ("rows", "accepted", "updated", "unchanged")),
        str(len(rejected)),
        str(report.get("encoding", "")),
        str(report.get("seconds", "")),
    )
    console.print(summary)
    if rejected and show:
        table = Table(title=f"未通过的行 / rejected rows ({len(rejected)})")
        for column in ("row", "uscc", "errors"):
            table.add_column(column, overflow="fold")
        for row in rejected[:show]:
            errors = "; ".join(f"{e['field']}: {e['message']}" for e in row.get("errors") or [])
            table.add_row(str(row["row"]), row.get("uscc") or "", errors)
        console.print(table)
    if rejected:
        raise typer.Exit(code=1)


webhooks_app = typer.Typer(help="回调订阅 / webhook subscriptions", no_args_is_help=True)
app.add_typer(webhooks_app, name="webhooks")


@webhooks_app.command("list")
def webhooks_list(gateway: str = GatewayOpt) -> None:
    """Your webhook subscriptions (an organisation's: its members'; a bureau account's; admin: all)."""
    from cli.api import ApiError, call

    try:
        items = call("GET", "/api/v1/webhooks", gateway=gateway, params={"limit": 200})["items"]
    except ApiError as exc:
        _fail(str(exc))
    table = Table(title=f"webhooks · {len(items)}")
    for column in ("id", "url", "events", "status", "description"):
        table.add_column(column, overflow="fold")
    for item in items:
        table.add_row(item["id"], item["url"], ", ".join(item["events"]), item["status"], item.get("description") or "")
    console.print(table)


@webhooks_app.command("add")
def webhooks_add(
    url: str = typer.Argument(..., help="https://… (outside development)"),
    events: list[str] = typer.Option(..., "--event", "-e", help="Event type (repeatable), e.g. hazard.reported"),
    description: str = typer.Option(None, "--description"),
    gateway: str = GatewayOpt,
) -> None:
    """Subscribe a webhook; prints its signing secret once (whsec_…)."""
    from cli.api import ApiError, call

    body = {"url": url, "events": events, **({"description": description} if description else {})}
    try:
        made = call("POST", "/api/v1/webhooks", gateway=gateway, json=body)
    except ApiError as exc:
        _fail(str(exc))
    console.print(f"[green]subscribed[/green] {made['id']}")
    console.print(f"secret (shown once / 仅显示一次): [bold]{made['secret']}[/bold]")


@webhooks_app.command("rm")
def webhooks_rm(subscription_id: str = typer.Argument(...), gateway: str = GatewayOpt) -> None:
    """Delete a webhook subscription."""
    from cli.api import ApiError, call

    try:
        call("DELETE", f"/api/v1/webhooks/{subscription_id}", gateway=gateway)
    except ApiError as exc:
        _fail(str(exc))
    console.print(f"deleted {subscription_id}")


if __name__ == "__main__":
    app()
