"""Benchmark: frames per second the capture daemon records from the feed at ``--speed max``.

Simulates the VN30 day 2026-07-22 (``vntrack simulate``, ~426k frames) into a temporary lake, starts
``vntrack feed --speed max --clock connection`` on a free port (each connection replays the whole day), then,
in the same run:

1. **baseline**: a raw classic-SignalR client on ``websockets`` (asyncio) that only counts Broadcast frames
   (what the feed and the socket can deliver on this machine);
2. **picows baseline**: the same counting client on ``picows``, the WebSocket library the daemon reads with
   (the most a client can get from this feed on this machine: the daemon's own cost is the gap to it);
3. **daemon**: ``vntrack capture`` as a real process into a fresh lake, until every frame is journaled.

Figures: frames/s (first to last frame received, from recv_ns; and first frame to all frames in the journal),
the ratio to the baseline, CPU seconds per million frames of the daemon and of the feed while it streamed
(/proc), bytes on disk per frame (sealed zstd segments) and journal bytes per frame.

    python bench/capture.py [--repeat 2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import httpx
from pydantic import SecretStr

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.feed import count_broadcasts  # noqa: E402
from storage import lake as lake_io  # noqa: E402
from capture.daemon.client import negotiate, open_hub, open_socket, switch_channels  # noqa: E402
from ssi.channels import DEFAULT_SUBSCRIPTION  # noqa: E402
from ssi.rest import fetch_token  # noqa: E402
from tests.capture_procs import CONSUMER_ID, CONSUMER_SECRET, start_capture, start_feed, status  # noqa: E402

DAY = date(2026, 7, 22)
TICK = os.sysconf("SC_CLK_TCK")


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


async def baseline(base: str, expected: int) -> tuple[float, int]:
    """(seconds first -> last Broadcast, frames) for a client that only counts."""
    async with httpx.AsyncClient() as http:
        token = await fetch_token(http, base, SecretStr(CONSUMER_ID), SecretStr(CONSUMER_SECRET))
        negotiation = await negotiate(http, base, token)
    async with await open_socket(base, negotiation, token, timeout_s=30) as ws:
        await ws.recv()
        await ws.send(switch_channels(DEFAULT_SUBSCRIPTION, 0))
        seconds, frames, _ = await count_broadcasts(ws, expected)
        return seconds, frames


async def picows_baseline(base: str, expected: int) -> tuple[float, int, float]:
    """(seconds first -> last Broadcast, frames, client CPU seconds) for a picows client that only counts."""
    async with httpx.AsyncClient() as http:
        token = await fetch_token(http, base, SecretStr(CONSUMER_ID), SecretStr(CONSUMER_SECRET))
        negotiation = await negotiate(http, base, token)
    seen = [0, 0.0, 0.0]
    done = asyncio.get_running_loop().create_future()

    def count(text: str, _recv_ns: int) -> None:
        if '"M":"Broadcast"' in text:
            if seen[0] == 0:
                seen[1] = time.perf_counter()
            seen[0] += 1
            if seen[0] == expected:
                seen[2] = time.perf_counter()
                done.set_result(None)

    cpu0 = time.process_time()
    hub = await open_hub(base, negotiation, token, 30, count)
    hub.send(switch_channels(DEFAULT_SUBSCRIPTION, 0))
    await done
    cpu = time.process_time() - cpu0
    hub.abort()
    return seen[2] - seen[1], seen[0], cpu


def run_daemon(feed, work: Path, n: int, k: int) -> dict:
    lake = work / f"cap{k}"
    cap = start_capture(lake, work, feed.base, feed.base, "--date", DAY.isoformat())
    try:
        while (status(lake) or {}).get("state") != "streaming":
            time.sleep(0.01)
        cpu0, feed0 = cpu_s(cap.proc.pid), cpu_s(feed.proc.pid)
        while (status(lake) or {}).get("frames_written", 0) < n:
            if not cap.alive():
                raise RuntimeError(cap.log())
            time.sleep(0.05)
        done_ns = time.time_ns()
        cpu1, feed1 = cpu_s(cap.proc.pid), cpu_s(feed.proc.pid)
    finally:
        rc = cap.stop(signal.SIGINT)
    assert rc == 0, cap.log()
    raw = lake_io.read_raw(lake, DAY)
    assert raw.height == n, (raw.height, n)
    seq = raw["seq"]
    lost = n - seq.filter((seq >= 1) & (seq <= n)).n_unique()  # frames of the day missing from seq 1..n
    first, last = raw["recv_ns"].min(), raw["recv_ns"].max()
    segments = sum(p.stat().st_size for p in lake_io.raw_segments(lake, DAY))
    journal = json.loads((lake / "capture" / "status.json").read_text())["bytes_written"] - segments
    return {"recv_fps": n / ((last - first) / 1e9), "journaled_fps": n / ((done_ns - first) / 1e9),
            "cpu_per_m": (cpu1 - cpu0) / n * 1e6, "feed_cpu_per_m": (feed1 - feed0) / n * 1e6,
            "disk_bytes_per_frame": segments / n, "journal_bytes_per_frame": journal / n,
            "payload_bytes_per_frame": raw["payload"].str.len_bytes().sum() / n, "lost": lost}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-capture-") as tmp:
        work = Path(tmp)
        served = work / "served"
        env = {k: v for k, v in os.environ.items() if not k.startswith("VNTRACK_")} | {"VNTRACK_LAKE": str(served)}
        subprocess.run([sys.executable, "-m", "vntrack.commands.simulate", "--date", DAY.isoformat()], cwd=ROOT,
                       env=env, check=True, capture_output=True)
        n = lake_io.read_raw(served, DAY).height
        feed = start_feed(served, work, DAY, "--speed", "max", "--clock", "connection")
        try:
            base_runs, pw_runs, daemon_runs = [], [], []
            for k in range(args.repeat):
                seconds, frames = asyncio.run(baseline(feed.base, n))
                base_runs.append(frames / seconds)
                seconds, frames, cpu = asyncio.run(picows_baseline(feed.base, n))
                pw_runs.append((frames / seconds, cpu / frames * 1e6))
                daemon_runs.append(run_daemon(feed, work, n, k))
                print(f"run {k + 1}: baseline {base_runs[-1]:,.0f} frames/s, picows baseline {pw_runs[-1][0]:,.0f} "
                      f"frames/s, daemon {daemon_runs[-1]['recv_fps']:,.0f} frames/s (lost "
                      f"{daemon_runs[-1]['lost']}), load {os.getloadavg()[0]:.1f}", flush=True)
        finally:
            feed.stop()
    best = max(daemon_runs, key=lambda r: r["recv_fps"])
    b = max(base_runs)
    pw = max(pw_runs)
    print(f"\n{date.today()} {platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"{n:,} frames of the simulated VN30 day {DAY}, feed on the same box (best of {args.repeat}); "
          f"load average {os.getloadavg()[0]:.1f}")
    print("| measure | value |\n|---|---:|")
    print(f"| baseline: raw websocket client that only counts | {b:,.0f} frames/s |")
    print(f"| picows baseline: raw picows client that only counts | {pw[0]:,.0f} frames/s |")
    print(f"| daemon: frames/s received (recv_ns first -> last) | {best['recv_fps']:,.0f} frames/s |")
    print(f"| daemon: frames/s first frame -> all journaled | {best['journaled_fps']:,.0f} frames/s |")
    print(f"| ratio daemon / baseline | {best['recv_fps'] / b:.2f} |")
    print(f"| ratio daemon / picows baseline | {best['recv_fps'] / pw[0]:.2f} |")
    print(f"| frames lost by the daemon (raw rows = frames sent, seq 1..N) | {best['lost']} |")
    print(f"| picows counting client CPU per million frames | {pw[1]:.1f} s |")
    print(f"| daemon CPU per million frames | {best['cpu_per_m']:.1f} s |")
    print(f"| feed CPU per million frames (same interval) | {best['feed_cpu_per_m']:.1f} s |")
    print(f"| bytes on disk per frame (sealed zstd Parquet) | {best['disk_bytes_per_frame']:.1f} |")
    print(f"| journal bytes per frame (Arrow IPC, transient) | {best['journal_bytes_per_frame']:.1f} |")
    print(f"| payload bytes per frame (as received) | {best['payload_bytes_per_frame']:.1f} |")


if __name__ == "__main__":
    main()
