"""Benchmark: parse + all analytics, vectorized (transforms.pipeline) against the scalar reference, same input.

The input is built deterministically from the real recordings (no simulator yet): the real KBS tick sequences of
HPG and TCB, converted to SSI X-TRADE frames by the project's importer, are replicated across the VN30 members
(and a VN30F contract, rescaled to index points), each trade preceded by an X-QUOTE book around it, with a
cumulative R frame every 10 trades, a VN30 MI frame every 5 s, and the real B and MI recordings appended.
Prints frames/s of both implementations and their ratio (machines here are noisy: only the ratio is comparable).

    python bench/replay.py [--replicas N] [--repeat K] [--no-reference]
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from datetime import date
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from capture.wire import broadcast_argument  # noqa: E402
from capture.import_kbs import dedupe_ticks, order_ticks, read_kbs_ticks, x_trade_contents  # noqa: E402
from transforms.pipeline import run_day  # noqa: E402
from transforms.reference import run_reference  # noqa: E402
from transforms.reference_data import vn30_members  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures"
DAY = date(2026, 7, 20)
DAY_TEXT = "20/07/2026"
RAW_SCHEMA = {"session": pl.String, "seq": pl.UInt64, "recv_ns": pl.Int64, "data_type": pl.String,
              "payload": pl.String, "cursor": pl.String, "source": pl.String}


def _kbs_contents(name: str) -> list[dict]:
    path = FIXTURES / "kbs-ticks" / name
    return x_trade_contents(order_ticks(dedupe_ticks(read_kbs_ticks(path.read_bytes(), name))))


def _seconds(hms: str) -> int:
    h, m, s = map(int, hms.split(":"))
    return h * 3600 + m * 60 + s


def _hms(secs: int) -> str:
    return f"{secs // 3600:02d}:{secs % 3600 // 60:02d}:{secs % 60:02d}"


def build_day(replicas: int) -> pl.DataFrame:
    """A deterministic day of raw frames, ``replicas`` instruments deep (see the module docstring)."""
    sources = [_kbs_contents("HPG.csv"), _kbs_contents("TCB.csv")]
    members = vn30_members()
    events: list[tuple[int, int, str]] = []  # (exchange second, tiebreak, payload)
    order = 0
    for k in range(replicas):
        futures = k == replicas - 1
        symbol = "VN30F2608" if futures else (members[k % len(members)] + ("" if k < len(members) else str(k)))
        trades = sources[k % 2]
        scale = 1300.0 / trades[0]["LastPrice"] if futures else 1.0
        foreign_buy = foreign_sell = 0
        for i, t in enumerate(trades):
            c = dict(t, Symbol=symbol, Isin=symbol, TradingDate=DAY_TEXT)
            if futures:
                for f in ("Ceiling", "Floor", "RefPrice", "LastPrice", "Highest", "Lowest", "EstMatchedPrice"):
                    c[f] = round(c[f] * scale, 1)
                c.update(Exchange="DERIVATIVES", MarketId="DERIVATIVES")
            secs = _seconds(c["Time"])
            price, tick = c["LastPrice"], (0.1 if futures else 50.0)
            ask = price if i % 3 else price + tick
            book = {"TradingDate": DAY_TEXT, "Time": c["Time"], "Exchange": c["Exchange"], "Symbol": symbol,
                    "RType": "X-QUOTE", "AskPrice1": ask, "AskPrice2": ask + tick, "AskPrice3": ask + 2 * tick,
                    "AskVol1": 1000.0 + i % 7 * 100, "AskVol2": 2000.0, "AskVol3": 3000.0,
                    "BidPrice1": round(ask - tick * (1 + i % 2), 1), "BidPrice2": ask - 3 * tick,
                    "BidPrice3": ask - 4 * tick, "BidVol1": 900.0, "BidVol2": 1800.0, "BidVol3": 2700.0,
                    "TradingSession": c["TradingSession"]}
            events.append((secs, order, broadcast_argument("X-QUOTE", book)))
            events.append((secs, order + 1, broadcast_argument("X-TRADE", c)))
            order += 2
            if i % 10 == 0 and not futures:
                foreign_buy += int(c["LastVol"]) * (i % 3)
                foreign_sell += int(c["LastVol"]) * ((i + 1) % 2)
                r = {"RType": "R", "TradingDate": DAY_TEXT, "Time": c["Time"], "Isin": symbol, "Symbol": symbol,
                     "TotalRoom": 1.0e9, "CurrentRoom": 5.0e8 - foreign_buy + foreign_sell, "BuyVol": float(foreign_buy),
                     "SellVol": float(foreign_sell), "BuyVal": float(foreign_buy * price),
                     "SellVal": float(foreign_sell * price), "MarketId": "HOSE", "Exchange": "HOSE"}
                events.append((secs, order, broadcast_argument("R", r)))
                order += 1
    first = min(e[0] for e in events)
    last = max(e[0] for e in events)
    for n, secs in enumerate(range(first, last + 1, 5)):
        mi = {"IndexId": "VN30", "IndexValue": round(1300.0 + 3 * ((n % 40) - 20) / 10, 2), "PriorIndexValue": 1299.0,
              "TradingDate": DAY_TEXT, "Time": _hms(secs), "Advances": 10 + n % 5, "NoChanges": 3, "Declines": 17 - n % 5,
              "Ceilings": 0, "Floors": 0, "TotalQtty": 1.0e6 + n, "TotalValue": 3.0e10 + n, "RType": "MI"}
        events.append((secs, order, broadcast_argument("MI", mi)))
        order += 1
    events.sort()
    payloads = [e[2] for e in events]
    for name in ("ssi_b_messages.jsonl", "ssi_mi_messages.jsonl"):
        lines = (FIXTURES / "ssi" / "quelam96lact_fixtures" / name).read_text().splitlines()
        payloads += [line for line in lines if DAY_TEXT in line]
    n = len(payloads)
    return pl.DataFrame(
        {"session": ["bench"] * n, "seq": range(1, n + 1), "recv_ns": [0] * n,
         "data_type": [None] * n, "payload": payloads, "cursor": [None] * n, "source": ["bench"] * n},
        schema=RAW_SCHEMA,
    )


def _time(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--replicas", type=int, default=31, help="instruments replicated from the real ticks (default 31)")
    ap.add_argument("--repeat", type=int, default=3, help="best of K runs of the vectorized path (default 3)")
    ap.add_argument("--no-reference", action="store_true", help="skip the scalar reference")
    args = ap.parse_args()

    raw = build_day(args.replicas)
    counts = raw.select(pl.col("payload").str.extract(r'"DataType": ?"([^"]+)"').alias("dt")).group_by("dt").len()
    print(f"input: {raw.height:,} frames, {raw.get_column('payload').str.len_bytes().sum() / 1e6:.0f} MB "
          f"({', '.join(f'{d}={n:,}' for d, n in sorted(counts.rows(), key=lambda r: str(r[0])))})")
    print(f"machine: {platform.machine()}, {platform.processor() or platform.system()}, "
          f"python {platform.python_version()}, polars {pl.__version__}")
    vec = _time(lambda: run_day(raw, DAY), args.repeat)
    print(f"vectorized : {raw.height / vec:12,.0f} frames/s  ({vec:.2f} s, best of {args.repeat})")
    if not args.no_reference:
        ref = _time(lambda: run_reference(raw, DAY), 1)
        print(f"reference  : {raw.height / ref:12,.0f} frames/s  ({ref:.2f} s)")
        print(f"ratio      : {ref / vec:12.1f} x  (vectorized / reference, same input, same run)")


if __name__ == "__main__":
    main()
