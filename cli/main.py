"""``custody`` — the platform's command line (typer + rich)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from shared.settings import DEV_ADMIN_CLIENT_ID, DEV_ADMIN_CLIENT_SECRET, Settings

app = typer.Typer(help="安全生产托管平台命令行 / custody platform CLI", no_args_is_help=True)
console = Console()


@app.command()
def up(wait: float = typer.Option(90.0, help="Seconds to wait for every /readyz")) -> None:
    """Start NATS (embedded unless CUSTODY_NATS_URL is set), every service and the gateway."""
    from cli.supervisor import Supervisor

    extra: dict[str, str] = {}
    settings = Settings()
    if not settings.is_production and not (settings.admin_client_id and settings.admin_client_secret):
        extra = {"CUSTODY_ADMIN_CLIENT_ID": DEV_ADMIN_CLIENT_ID, "CUSTODY_ADMIN_CLIENT_SECRET": DEV_ADMIN_CLIENT_SECRET}
        os.environ.update(extra)
        settings = Settings()
    supervisor = Supervisor(settings=settings, log_dir=settings.data_dir / "logs", extra_env=extra)
    stopping = {"flag": False}

    def _stop(_signum, _frame) -> None:  # noqa: ANN001
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
        raise typer.Exit(1)
    finally:
        console.print("stopping…")
        supervisor.stop()
        console.print("stopped.")


def _print_urls(settings: Settings, supervisor, took: float) -> None:  # noqa: ANN001
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
        console.print(f"admin client (client_credentials): id=[bold]{settings.admin_client_id}[/bold] "
                      f"secret=[bold]{settings.admin_client_secret}[/bold]")
    console.print("Ctrl-C stops everything.")


if __name__ == "__main__":
    app()
