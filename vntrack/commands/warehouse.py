"""``vntrack db``: migrate the warehouse and report its state (warehouse/)."""

from __future__ import annotations

import typer
from rich.console import Console

from storage.settings import get_settings

console = Console()
db_app = typer.Typer(no_args_is_help=True, add_completion=False,
                     help="The warehouse: DuckDB file by default, PostgreSQL / TimescaleDB with VNTRACK_DATABASE_URL.")


@db_app.command("migrate")
def migrate_command() -> None:
    """Apply pending migrations (detects TimescaleDB on PostgreSQL at the first migration)."""
    from warehouse.migrate import apply_retention, flavor, migrate
    from warehouse.target import redact_url

    settings = get_settings()
    target = _target(settings)
    try:
        applied = migrate(target)
        apply_retention(target, retention_days=settings.warehouse_retention_days)
    except Exception as e:  # connection refused, bad URL, file locked: say so, exit 1
        console.print(f"[red]error:[/red] cannot migrate {target.describe()}: {redact_url(str(e))}")
        raise typer.Exit(1) from e
    print(f"{target.describe()}: flavour {flavor(target)}; applied {', '.join(applied) or 'nothing (up to date)'}")


@db_app.command("status")
def status_command() -> None:
    """Where the warehouse is, its flavour (duckdb | postgres | timescaledb), migrations, loaded days."""
    from warehouse.migrate import status
    from warehouse.target import redact_url

    settings = get_settings()
    target = _target(settings)
    try:
        st = status(target)
    except Exception as e:
        console.print(f"[red]error:[/red] cannot read {target.describe()}: {redact_url(str(e))}")
        raise typer.Exit(1) from e
    flavour = st.flavor or "not migrated (run `vntrack db migrate`)"
    if st.flavor == "postgres":
        flavour += " (plain PostgreSQL: daily range partitions, materialized views for 5m/1h candles)"
    elif st.flavor == "timescaledb":
        flavour += " (hypertables, continuous aggregates, compression and retention policies)"
    print(f"warehouse: {st.target}")
    print(f"flavour:   {flavour}")
    if st.timescale_available is not None:
        usable = st.timescale_available and st.timescale_preloaded
        print(f"timescaledb extension installed: {'yes' if st.timescale_available else 'no'}; preloaded by the "
              f"server: {'yes' if st.timescale_preloaded else 'no'}"
              + ("" if usable or not st.timescale_available else
                 " (add shared_preload_libraries = 'timescaledb' and restart it to use TimescaleDB)"))
    print(f"migrations applied: {', '.join(st.applied) or 'none'}; pending: {', '.join(st.pending) or 'none'}")
    print(f"trading dates loaded: {st.days}")


def _target(settings):
    """The configured warehouse; a setting it cannot use is a one-line error, exit 2."""
    from warehouse.target import target_from_settings

    try:
        return target_from_settings(settings)
    except ValueError as e:
        console.print(f"[red]error:[/red] {e}")
        raise typer.Exit(2) from None
