"""Benchmark: render time of every page of the Streamlit app with a full simulated VN30 day.

Builds a temporary lake (``vntrack simulate`` + ``replay`` of 2026-07-22: 426,507 frames, 130,857 trades), adds a
live snapshot of the same day at 11:00 laid out exactly as contract C3, and times script runs of every page with
``streamlit.testing.v1.AppTest`` (the whole page: data access, shaping, charts, element serialisation):

* **warm**: best of ``--repeat`` reruns of the page, what each 1-second refresh of a live page costs (caches hit);
* **cold**: the page's first run after every Streamlit cache was cleared (a newly rebuilt day, a new version).

The baseline, measured in the same run, is an AppTest page that only writes one line of text: the fixed cost of
a script run. Ratios against it are what compare across machines. Aim: every page < 1 s.

    python bench/app.py [--repeat K]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

from app.data.replay import load_replay_day, snapshot_at  # noqa: E402
from app.data.snapshot import exch_datetime  # noqa: E402
from testbed.simulate import simulate_day  # noqa: E402
from tests.webapp.live_snapshot import health, publish  # noqa: E402
from replay.day import replay_day  # noqa: E402
from storage.settings import Settings  # noqa: E402

DAY = date(2026, 7, 22)
MAIN = str(ROOT / "app" / "main.py")
PAGES = ["board", "foreign", "volume", "derivatives", "indices", "alerts", "history", "replay", "health"]
BASELINE = "import streamlit as st\nst.write('baseline')\n"


def build_lake(root: Path, *, live: bool) -> Path:
    lake = root / ("live" if live else "curated") / "lake"
    simulate_day(lake, DAY)
    replay_day(Settings(lake=lake), DAY)
    if live:
        cut = snapshot_at(load_replay_day(lake, DAY), exch_datetime(DAY, "11:00:00"))
        publish(lake, DAY, dict(cut.tables), 1, health(200_000))
    return lake


def time_page(lake: Path, page: str, repeat: int) -> tuple[float, float]:
    """(cold, warm best-of) seconds of one page's script run."""
    os.environ["VNTRACK_LAKE"] = str(lake)
    at = AppTest.from_file(MAIN, default_timeout=300)
    at.run()
    target = f"pages/{page}.py"
    st.cache_data.clear()
    st.cache_resource.clear()
    started = time.perf_counter()
    at.switch_page(target).run()
    cold = time.perf_counter() - started
    assert not at.exception, [e.value for e in at.exception]
    warm = []
    for _ in range(repeat):
        started = time.perf_counter()
        at.run()
        warm.append(time.perf_counter() - started)
    return cold, min(warm)


def time_replay_board(lake: Path, repeat: int) -> tuple[float, float]:
    """The board while a replay runs: every refresh cuts the day at a new cursor (no cache hit)."""
    os.environ["VNTRACK_LAKE"] = str(lake)
    at = AppTest.from_file(MAIN, default_timeout=300)
    at.run()
    at.switch_page("pages/replay.py").run()
    at.select_slider(key="replay_speed").set_value(1200)
    started = time.perf_counter()
    at.button(key="replay_go").click().run()
    cold = time.perf_counter() - started
    at.switch_page("pages/board.py").run()
    warm = []
    for _ in range(repeat):
        time.sleep(0.05)  # 60 s of exchange time at 1200x: a new cursor each run
        started = time.perf_counter()
        at.run()
        warm.append(time.perf_counter() - started)
    assert not at.exception
    return cold, min(warm)


def time_baseline(repeat: int) -> float:
    at = AppTest.from_string(BASELINE, default_timeout=60)
    at.run()
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        at.run()
        runs.append(time.perf_counter() - started)
    return min(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="warm reruns per page (best is reported)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        curated, live = build_lake(Path(tmp), live=False), build_lake(Path(tmp), live=True)
        baseline = time_baseline(args.repeat)
        rows = [(f"{p} (finished day)", *time_page(curated, p, args.repeat)) for p in PAGES]
        rows += [(f"{p} (live snapshot C3)", *time_page(live, p, args.repeat))
                 for p in ("board", "foreign", "volume", "derivatives", "indices", "alerts", "health")]
        rows.append(("board during a replay (start = load day)", *time_replay_board(curated, args.repeat)))
    print(f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"streamlit {st.__version__}; {DAY}: full simulated VN30 day")
    print(f"baseline (one st.write): {baseline * 1000:.1f} ms\n")
    print("| page | warm ms | x baseline | cold ms |\n|---|---:|---:|---:|")
    for name, cold, warm in rows:
        print(f"| {name} | {warm * 1000:.0f} | {warm / baseline:.0f}x | {cold * 1000:.0f} |")
    worst = max(rows, key=lambda r: r[2])
    print(f"\nslowest warm page: {worst[0]} {worst[2] * 1000:.0f} ms ({'under' if worst[2] < 1 else 'OVER'} 1 s)")


if __name__ == "__main__":
    main()
