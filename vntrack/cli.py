"""The ``vntrack`` command line: one Typer root, one module per command group (vntrack/commands/)."""

from __future__ import annotations

import sys

import typer

from vntrack.commands.app import app_command
from vntrack.commands.capture import capture_command
from vntrack.commands.demo import demo_command
from vntrack.commands.feed import feed_command
from vntrack.commands.flows import backfill_command, rebuild_command, reconcile_command, serve_command
from vntrack.commands.lake import import_command
from vntrack.commands.replay import compare_command, replay_command
from vntrack.commands.simulate import simulate_command
from vntrack.commands.tail import tail_command
from vntrack.commands.warehouse import db_app

app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                  pretty_exceptions_show_locals=False, help="VN Stock Tracker: record and replay the SSI feed.")
app.command("import")(import_command)
app.command("replay")(replay_command)
app.command("compare")(compare_command)
app.command("simulate")(simulate_command)
app.command("feed")(feed_command)
app.command("capture")(capture_command)
app.command("tail")(tail_command)
app.add_typer(db_app, name="db")  # flows, issue 6: warehouse and Prefect flows
app.command("rebuild")(rebuild_command)
app.command("backfill")(backfill_command)
app.command("reconcile")(reconcile_command)
app.command("serve")(serve_command)
app.command("app")(app_command)
app.command("demo")(demo_command)



def main() -> None:
    """The ``vntrack`` entry point: :data:`app` under the rules of ``vntrack.guard`` (one-line redacted errors,
    no process of ours left behind however the command ends)."""
    from vntrack.guard import report_error, start_reaper

    start_reaper()
    try:
        app()
    except SystemExit:
        raise
    except BaseException as exc:  # noqa: BLE001 - the top of the program: say it in one line, exit non-zero
        sys.exit(report_error(exc))


if __name__ == "__main__":  # pragma: no cover
    main()
