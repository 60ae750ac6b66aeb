"""The running app in a real browser: Debian's chromium, headless, driven by playwright (never its own browser
download). Every page is loaded as a person would, the data waited for, what is on screen checked (symbols,
numbers, no error box, no traceback) and a screenshot saved under test-output/screenshots/."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import polars as pl
import pytest

from tests.webapp.conftest import DAY
from vntrack.commands.app import free_port

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
SHOTS = REPO / "test-output" / "screenshots"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TIMEOUT_MS = 90_000

pytestmark = pytest.mark.skipif(not CHROMIUM.is_file(), reason="Debian's chromium is not installed: run make setup")


@pytest.fixture(name="served", scope="module")
def fixture_served(live_lake: Path):
    """``vntrack app --port P`` as a real process on the live lake; stopped at the end."""
    port = free_port()
    env = {**os.environ, "VNTRACK_LAKE": str(live_lake)}
    env.pop("PREFECT_API_URL", None)
    proc = subprocess.Popen([sys.executable, "-m", "vntrack.cli", "app", "--port", str(port)], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    before = lake_listing(live_lake)
    try:
        assert f"{url}/" in proc.stdout.readline()  # `vntrack app` prints its URL first
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(f"{url}/_stcore/health", timeout=2).text == "ok":
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the app did not become healthy: {proc.stdout.read() if proc.poll() else ''}")
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
    assert lake_listing(live_lake) == before, "the app wrote to the lake"


def lake_listing(lake: Path) -> list[tuple[str, int, int]]:
    return sorted((str(p.relative_to(lake)), p.stat().st_size, p.stat().st_mtime_ns) for p in lake.rglob("*"))


@pytest.fixture(name="browser_page", scope="module")
def fixture_browser_page(served, tmp_path_factory):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        ctx = pw.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=str(CHROMIUM), headless=True,
            args=FLAGS, viewport={"width": 1600, "height": 1000})
        try:
            yield ctx.new_page()
        finally:
            ctx.close()


def settle(page, *texts: str) -> str:
    """Wait for every text to be on screen and for the app to stop running; return the page's text."""
    for text in texts:
        page.get_by_text(text, exact=False).first.wait_for(timeout=TIMEOUT_MS)
    page.wait_for_function("!document.querySelector('[data-testid=\"stStatusWidget\"] button')", timeout=TIMEOUT_MS)
    time.sleep(1.5)  # let the charts and grids paint
    return page.inner_text("body")


def check_no_error(page, body: str, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    assert page.locator('[data-testid="stException"]').count() == 0, f"{name}: an exception box is shown"
    assert page.locator('[data-testid="stAlertContentError"]').count() == 0, f"{name}: an error box is shown"
    assert "Traceback" not in body


def cells(page) -> list[str]:
    return page.locator("[role=gridcell]").all_inner_texts()


def grid_shows(page, text: str, timeout_s: float = 30) -> bool:
    """True once a table cell contains ``text`` (tables re-render with every refresh of a live page)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if any(text in c for c in cells(page)):
            return True
        time.sleep(0.5)
    return False


def test_board(browser_page, served, live_lake):
    page = browser_page
    page.goto(served + "/")
    body = settle(page, "Symbols (mã)", "Live snapshot")
    assert grid_shows(page, "FPT")
    grid = cells(page)
    assert {"FPT", "VCB", "HPG"} <= set(grid)
    board = pl.read_parquet(live_lake / "live" / f"date={DAY}" / "snapshot" / "v000000000042" / "board.parquet")
    fpt = board.filter(pl.col("symbol") == "FPT").row(0, named=True)
    assert f"{fpt['last_price']:.0f}" in grid and f"{fpt['volume']}" in grid  # the grid's cells hold the values
    assert "30" in body and "version 42" in body
    check_no_error(page, body, "board")


@pytest.mark.parametrize(("path", "texts", "grid_has"), [
    ("foreign", ["Top 10 net buy", "Net value (giá trị ròng)"], "Banks"),
    ("volume", ["Per symbol", "Agreement with SSI"], "FPT"),
    ("derivatives", ["VN30F2608", "Days to expiry"], "VN30F2609"),
    ("indices", ["VNINDEX", "Advances (tăng)"], None),
    ("alerts", ["Shown / all"], "VOLUME_SPIKE"),
    ("health", ["Capture state", "running", "Quarantined frames"], "gap"),
])
def test_live_and_health_pages(browser_page, served, path, texts, grid_has):
    page = browser_page
    page.goto(f"{served}/{path}")
    body = settle(page, *texts)
    if grid_has:
        assert grid_shows(page, grid_has), f"{path}: {grid_has} not in the tables"
    if path != "health":
        assert page.locator('[data-testid="stPlotlyChart"], [data-testid="stDataFrame"]').count() >= 1
    assert re.search(r"\d", body)
    check_no_error(page, body, path)


def test_history(browser_page, served):
    page = browser_page
    page.goto(f"{served}/history")
    body = settle(page, "Trading date (ngày giao dịch)", "candles of 1 minute · open")
    assert "2026-07-22" in body
    assert page.locator('[data-testid="stPlotlyChart"]').count() >= 1
    assert page.locator(".js-plotly-plot .candlestick, .js-plotly-plot g.trace").count() >= 1
    check_no_error(page, body, "history")
    page.get_by_text("1 hour", exact=True).first.click()  # the interval picker: hourly candles of the same day
    body = settle(page, "candles of 1 hour · open")
    check_no_error(page, body, "history-1h")


def test_replay_drives_the_live_pages(browser_page, served):
    page = browser_page
    page.goto(f"{served}/replay")
    settle(page, "No replay running")
    page.get_by_role("button", name=re.compile("Start replay")).click()
    body = settle(page, "playing at 60x", "Trades so far")
    check_no_error(page, body, "replay")
    page.get_by_role("link", name=re.compile("Price board")).first.click()  # in-app navigation keeps the session
    body = settle(page, "Replay (phát lại) of 2026-07-22")
    assert grid_shows(page, "FPT")
    check_no_error(page, body, "board-replay")
