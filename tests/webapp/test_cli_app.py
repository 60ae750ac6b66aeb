"""``vntrack app``: its arguments (the served app itself is exercised by test_browser.py)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from vntrack.cli import app
from vntrack.commands.app import MAIN, streamlit_argv


def vntrack(*args: str):
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})


def test_app_is_a_subcommand_with_its_options():
    result = vntrack("app", "--help")
    assert result.exit_code == 0
    assert "--port" in result.output and "--host" in result.output and "127.0.0.1" in result.output


@pytest.mark.parametrize(("args", "message"), [
    (["app", "--port", "70000"], "less than or equal to 65535"),
    (["app", "--port", "web"], "Input should be a valid integer"),
    (["app", "--host", "no such host..invalid"], "is not an address: e.g. 127.0.0.1"),
])
def test_wrong_arguments_say_what_would_be_right(args, message):
    result = vntrack(*args)
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())


def test_the_streamlit_command_is_headless_on_loopback():
    argv = streamlit_argv(8600)
    assert argv[1:4] == ["-m", "streamlit", "run"] and argv[4] == str(MAIN) and MAIN.is_file()
    flags = dict(zip(argv[5::2], argv[6::2], strict=True))
    assert flags["--server.headless"] == "true" and flags["--server.address"] == "127.0.0.1"
    assert flags["--server.port"] == "8600" and flags["--browser.gatherUsageStats"] == "false"
