"""Benchmark: frames per second the feed server sends at ``--speed max`` to one client.

Builds a synthetic day in a temporary lake (wire-exact frames in the proportions of a VN30 day: X-QUOTE books
with 10 levels, X-TRADE prints, R foreign-room updates, MI index frames), starts ``python -m
vntrack.commands.feed --speed max`` on a free port, connects one raw classic-SignalR client (``websockets``,
asyncio) subscribed to everything, and counts Broadcast frames until the day is through. The client only counts
(a substring test per frame), so the figure is the server's rate on this machine, client included.

Baseline, measured in the same run: a bare ``websockets`` server process that sends the very same SignalR frame
texts back to back (no auth, no hub, no pacing, no channel matching) to the same counting client. The ratio
feed / baseline is the share of the raw socket rate the SignalR feed keeps.

    python bench/feed.py [--frames 200000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import httpx
from pydantic import SecretStr
import polars as pl
from websockets.asyncio.client import connect

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from storage import lake as lake_io
from capture.daemon.client import negotiate, open_socket, switch_channels
from ssi.rest import fetch_token
from storage.schemas import RAW_FRAME_PL
from market.reference_data import vn30_members

DAY = date(2026, 7, 20)


def _wire(data_type: str, content: dict) -> str:
    return json.dumps({"DataType": data_type, "Content": json.dumps(content, separators=(",", ":"))},
                      separators=(",", ":"))


def build_day(n_frames: int, seed: int = 7) -> list[str]:
    """``n_frames`` payloads over 09:15-14:45: 55% X-QUOTE, 30% X-TRADE, 10% R, 5% MI."""
    rng = random.Random(seed)
    symbols = vn30_members()
    day = DAY.strftime("%d/%m/%Y")
    start, span = 9 * 3600 + 15 * 60, 5 * 3600 + 30 * 60
    out = []
    for i in range(n_frames):
        secs = start + span * i // n_frames
        hms = f"{secs // 3600:02d}:{secs % 3600 // 60:02d}:{secs % 60:02d}"
        sym = symbols[i % len(symbols)]
        price = 20000.0 + 50 * rng.randint(0, 400)
        r = rng.random()
        if r < 0.55:
            book = {}
            for side, sign in (("Ask", 1), ("Bid", -1)):
                for lvl in range(1, 11):
                    book[f"{side}Price{lvl}"] = price + sign * 50 * lvl
                    book[f"{side}Vol{lvl}"] = float(rng.randint(1, 500) * 100)
            out.append(_wire("X-QUOTE", {"TradingDate": day, "Time": hms, "Exchange": "HOSE", "Symbol": sym,
                                         "RType": "X-QUOTE", **book, "TradingSession": "LO"}))
        elif r < 0.85:
            out.append(_wire("X-TRADE", {
                "RType": "X-TRADE", "TradingDate": day, "Time": hms, "Isin": sym, "Symbol": sym, "Ceiling": 99999.0,
                "Floor": 1.0, "RefPrice": 30000.0, "AvgPrice": price, "PriorVal": 30000.0, "LastPrice": price,
                "LastVol": 100.0, "TotalVal": price * 100 * i, "TotalVol": 100.0 * i, "MarketId": "HOSE",
                "Exchange": "HOSE", "TradingSession": "LO", "TradingStatus": "N", "Change": 0.0, "RatioChange": 0.0,
                "EstMatchedPrice": price, "Highest": price, "Lowest": price, "Side": "BU"}))
        elif r < 0.95:
            out.append(_wire("R", {"RType": "R", "TradingDate": day, "Time": hms, "Isin": sym, "Symbol": sym,
                                   "TotalRoom": 1.5e9, "CurrentRoom": 8e8, "BuyVol": 1000.0 * i, "SellVol": 900.0 * i,
                                   "BuyVal": 1e7 * i, "SellVal": 9e6 * i, "MarketId": "HOSE", "Exchange": "HOSE"}))
        else:
            out.append(_wire("MI", {"IndexId": "VN30", "IndexValue": 1284.46, "TradingDate": day, "Time": hms,
                                    "IndexName": "VN30", "Exchange": "HOSE", "RType": "MI"}))
    return out


def write_lake(root: Path, payloads: list[str]) -> None:
    n = len(payloads)
    raw = pl.DataFrame({"session": ["bench"] * n, "seq": list(range(1, n + 1)), "recv_ns": [0] * n,
                        "data_type": [None] * n, "payload": payloads, "cursor": [None] * n, "source": ["bench"] * n},
                       schema=RAW_FRAME_PL)
    lake_io.write_raw_segment(root, DAY, "bench", 0, lake_io.raw_table_from_polars(raw))


async def count_frames(base: str, expected: int) -> tuple[float, int, int]:
    """(seconds from the first to the last Broadcast, Broadcast frames, bytes received)."""
    async with httpx.AsyncClient() as http:
        token = await fetch_token(http, base, SecretStr("bench"), SecretStr("bench"))
        negotiation = await negotiate(http, base, token)
    async with await open_socket(base, negotiation, token, timeout_s=30) as ws:
        await ws.recv()  # init frame
        await ws.send(switch_channels("X-QUOTE:ALL,X-TRADE:ALL,R:ALL,MI:ALL", 0))
        return await count_broadcasts(ws, expected)


async def count_broadcasts(ws, expected: int) -> tuple[float, int, int]:
    """Read until ``expected`` Broadcast frames came: (seconds first -> last, frames, bytes of frame text)."""
    frames = size = 0
    first = 0.0
    while frames < expected:
        text = await ws.recv()
        if '"M":"Broadcast"' in text:
            if frames == 0:
                first = time.perf_counter()
            frames += 1
            size += len(text)
    return time.perf_counter() - first, frames, size


_BARE_SERVER = """
import asyncio, json, sys
from websockets.asyncio.server import serve
frames = [json.dumps({"C": f"d-{i}", "M": [{"H": "FcMarketDataV2Hub", "M": "Broadcast", "A": [p]}]},
                     separators=(",", ":")) for i, p in enumerate(json.load(open(sys.argv[1])))]
async def handler(ws):
    for f in frames:
        await ws.send(f)
    await ws.wait_closed()
async def main():
    async with serve(handler, "127.0.0.1", 0, compression=None, max_size=None) as server:
        print("bare ready:", server.sockets[0].getsockname()[1], flush=True)
        await asyncio.Future()
asyncio.run(main())
"""


def run_bare(payload_file: Path, expected: int) -> tuple[float, int, int]:
    """The baseline: a bare websockets server sending the same frames back to back."""
    proc = subprocess.Popen([sys.executable, "-c", _BARE_SERVER, str(payload_file)], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    try:
        ready = proc.stdout.readline()
        if not ready.startswith("bare ready:"):
            raise SystemExit(f"baseline server did not start: {ready!r}")

        async def go():
            async with connect(f"ws://127.0.0.1:{int(ready.split()[-1])}/", max_size=None, max_queue=None,
                               compression=None) as ws:
                return await count_broadcasts(ws, expected)

        return asyncio.run(go())
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def run_once(lake_root: Path, expected: int) -> tuple[float, int, int]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VNTRACK_")}
    env.update({"VNTRACK_LAKE": str(lake_root), "VNTRACK_FEED_CONSUMER_ID": "bench",
                "VNTRACK_FEED_CONSUMER_SECRET": "bench"})
    proc = subprocess.Popen([sys.executable, "-m", "vntrack.commands.feed", "--date", DAY.isoformat(), "--speed",
                             "max", "--port", "0", "--clock", "connection"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        ready = proc.stdout.readline()
        if not ready.startswith("feed ready:"):
            raise SystemExit(f"feed did not start: {ready!r}")
        port = int(ready.split("http://127.0.0.1:")[1].split("/")[0])
        return asyncio.run(count_frames(f"http://127.0.0.1:{port}/", expected))
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=200_000, help="frames in the synthetic day")
    parser.add_argument("--repeat", type=int, default=3, help="runs (a fresh server each); the best is reported")
    args = parser.parse_args()
    payloads = build_day(args.frames)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "lake"
        write_lake(root, payloads)
        print(f"machine: {platform.machine()} {os.cpu_count()} cpu, Python {platform.python_version()}")
        mean = sum(map(len, payloads)) / len(payloads)
        print(f"day: {len(payloads):,} frames, {mean:.0f} bytes of payload on average")
        payload_file = Path(tmp) / "payloads.json"
        payload_file.write_text(json.dumps(payloads))
        rates, bare = [], []
        for k in range(args.repeat):
            seconds, frames, size = run_once(root, len(payloads))
            rates.append(frames / seconds)
            b_seconds, b_frames, _ = run_bare(payload_file, len(payloads))
            bare.append(b_frames / b_seconds)
            print(f"run {k + 1}: feed {frames:,} frames in {seconds:.2f} s = {frames / seconds:,.0f} frames/s "
                  f"({size / seconds / 1e6:.1f} MB/s of SignalR text); bare websockets {bare[-1]:,.0f} frames/s")
        median = sorted(rates)[len(rates) // 2]
        print(f"feed --speed max to one client: best {max(rates):,.0f} frames/s, median {median:,.0f}")
        print(f"baseline (bare websockets server, same frames): best {max(bare):,.0f} frames/s; "
              f"ratio feed/baseline {max(rates) / max(bare):.2f}")


if __name__ == "__main__":
    main()
