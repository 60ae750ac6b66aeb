"""How the CLI ends, tried with real processes: no secret printed or stored, no process of ours left behind
(issue 11 points 8 and 9; rules in docs/reliability.md)."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from tests.flows.conftest import SIM_DAY

ROOT = Path(__file__).resolve().parents[2]


def _env(extra: dict) -> dict:
    return {k: v for k, v in os.environ.items() if not k.startswith(("VNTRACK_", "SSI_"))} | extra


def _vntrack(*args: str, env: dict, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vntrack.cli", *args], cwd=ROOT, env=_env(env), capture_output=True,
                          text=True, timeout=timeout)


def _files_holding(root: Path, needle: bytes) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and needle in p.read_bytes()]


def test_kill_9_of_a_rebuild_leaves_no_process_of_ours(small_lake: Path, tmp_path: Path):
    log = tmp_path / "rebuild.log"
    with log.open("wb") as fh:
        proc = subprocess.Popen([sys.executable, "-m", "vntrack.cli", "rebuild", "--date", SIM_DAY.isoformat()],
                                cwd=ROOT, env=_env({"VNTRACK_LAKE": str(small_lake)}), stdout=fh, stderr=fh)
    cli = psutil.Process(proc.pid)
    deadline = time.monotonic() + 240
    server = None
    while server is None and time.monotonic() < deadline and proc.poll() is None:
        kids = cli.children(recursive=True)
        server = next((k for k in kids if "uvicorn" in " ".join(k.cmdline())), None)
        time.sleep(0.2)
    assert server is not None, f"Prefect's temporary API server never started:\n{log.read_text()}"
    time.sleep(1.0)  # the watcher polls every 0.2 s
    ours = [k for k in cli.children(recursive=True)]
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    gone, alive = psutil.wait_procs(ours, timeout=30)
    for p in alive:  # do not leak them from the test either
        p.kill()
    assert not alive, f"left behind after kill -9: {[' '.join(p.cmdline()) for p in alive]}"
    assert server.pid in {p.pid for p in gone}


def test_no_command_prints_or_stores_a_password_or_token(small_lake: Path, pg_factory, tmp_path: Path):
    pw, ssi_secret, feed_secret = (f"{tag}-{secrets.token_hex(8)}" for tag in ("pw", "ssi", "feed"))
    common = {"SSI_CONSUMER_ID": "me", "SSI_CONSUMER_SECRET": ssi_secret, "VNTRACK_FEED_CONSUMER_SECRET": feed_secret}
    outputs: list[str] = []
    # URLs psycopg cannot parse, or another database: one line, exit 2, no traceback, no password
    for url in (f"mysql://u:{pw}@host/x", f"postgresql://u:{pw}@[::1/x", f"u:{pw}@host"):
        for args in (("db", "status"), ("db", "migrate")):
            r = _vntrack(*args, env=common | {"VNTRACK_DATABASE_URL": url, "VNTRACK_LAKE": str(tmp_path / "l1")})
            assert r.returncode == 2, (url, args, r.stdout, r.stderr)
            assert "VNTRACK_DATABASE_URL" in r.stdout and "Traceback" not in r.stdout + r.stderr
            outputs.append(r.stdout + r.stderr)
        r = _vntrack("rebuild", "--date", SIM_DAY.isoformat(),
                     env=common | {"VNTRACK_DATABASE_URL": url, "VNTRACK_LAKE": str(tmp_path / "l1")})
        assert r.returncode != 0 and "VNTRACK_DATABASE_URL" in r.stderr
        outputs.append(r.stdout + r.stderr)
    refused = _vntrack("db", "status", env=common | {"VNTRACK_DATABASE_URL": f"postgresql://u:{pw}@127.0.0.1:1/x"})
    assert refused.returncode == 1 and "cannot read postgresql://u@127.0.0.1:1/x" in refused.stdout
    outputs.append(refused.stdout + refused.stderr)
    # a server that answers, reached through a URL holding a password (the test server trusts any password)
    url = pg_factory().replace("postgres@", f"postgres:{pw}@", 1)
    status = _vntrack("db", "status", env=common | {"VNTRACK_DATABASE_URL": url})
    assert status.returncode == 0 and "warehouse: postgresql://postgres@127.0.0.1:5432/" in status.stdout
    outputs.append(status.stdout + status.stderr)
    # every step of a day, SSI and feed secrets in the environment, the DuckDB warehouse in the lake
    lake = tmp_path / "lake"
    shutil.copytree(small_lake, lake)
    env = common | {"VNTRACK_LAKE": str(lake)}
    for args in (("db", "migrate"), ("rebuild", "--date", SIM_DAY.isoformat()), ("db", "status"),
                 ("replay", "--date", SIM_DAY.isoformat()), ("replay", "--date", "2020-01-01")):
        r = _vntrack(*args, env=env)
        assert r.returncode == (1 if "2020-01-01" in args else 0), (args, r.stdout[-2000:], r.stderr[-2000:])
        outputs.append(r.stdout + r.stderr)
    assert (lake / "warehouse.duckdb").is_file()
    for secret in (pw, ssi_secret, feed_secret):
        assert not [o for o in outputs if secret in o]
        assert not _files_holding(lake, secret.encode()), "a secret was written into the lake or the warehouse"
        assert not _files_holding(Path(os.environ["PREFECT_HOME"]), secret.encode()), "a secret is in Prefect's db"


@pytest.mark.parametrize("text, shown", [
    ("postgresql://u:s3cr3t@[::1/x", "postgresql://u:***@[::1/x"),
    ('missing "=" after "mysql://bob:p@ss:w0rd@h/x"', 'missing "=" after "mysql://bob:***@h/x"'),
    ("host=h password='a b\\'c' user=u", "host=h password=*** user=u"),
    ("postgresql://user@host/db", "postgresql://user@host/db"),
])
def test_redact_hides_url_and_conninfo_passwords(text: str, shown: str):
    from vntrack.guard import redact

    assert redact(text, environ={}) == shown


def test_redact_hides_secret_named_settings():
    from vntrack.guard import redact

    env = {"SSI_CONSUMER_SECRET": "abcd-1234", "VNTRACK_FEED_TOKEN_SECRET": "zz-top-99", "VNTRACK_LAKE": "lake"}
    assert redact("got abcd-1234 and zz-top-99 in lake", environ=env) == "got *** and *** in lake"
