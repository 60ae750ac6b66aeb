"""``vntrack capture``: the daemon against ``vntrack feed``, both real processes on real sockets.

Lakes: the feed serves a read-only lake (the real SSI B + MI day 2026-07-20, or the simulated VN30 day
2026-07-22); each daemon writes its own lake, so "captured" and "served" never mix. Served payload at cursor
``d-<yyyymmdd>-<k>`` = the k-th frame of ``testbed.feed.day.load_day`` (the feed's own order).
"""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from datetime import time as dtime
from pathlib import Path

import httpx
import polars as pl
import pyarrow.parquet as pq
import pytest

from storage import lake as lake_io
from capture.daemon.client import switch_channels
from ssi.rest import AccessToken, jwt_exp
from capture.daemon.daemon import first_trading_date, following_trading_date, next_roll
from capture.daemon.recorder import Recorder, Stats, outer_data_type, session_id
from capture.daemon.settings import CaptureSettings
from capture.daemon.stream import Streamer, backoff_delay
from capture.daemon.writer import SegmentWriter
from storage.events import read_events
from market.clock import ICT
from testbed.feed.day import load_day
from testbed.feed.signalr import broadcast_frame
from storage.journal import open_dir, open_journals, read_journal
from tests.capture_procs import (
    CONSUMER_SECRET,
    ROOT,
    start_capture,
    start_feed,
    status,
    wait_for,
    wait_quiet,
)
from tests.conftest import REAL_DAY

SIM_DAY = date(2026, 7, 22)
SESSION_RE = re.compile(r"^cap-\d{8}-\d{12}-[0-9a-f]{4}$")
CURSOR_RE = re.compile(r"^d-\d{8}-(\d+)$")


# ----------------------------------------------------------------------------------------------------- helpers


@pytest.fixture(name="sim_lake", scope="module")
def fixture_sim_lake(tmp_path_factory) -> Path:
    """The simulated VN30 day 2026-07-22 (``vntrack simulate``, ~426k frames), served read-only."""
    lake = tmp_path_factory.mktemp("sim") / "lake"
    env = {k: v for k, v in os.environ.items() if not k.startswith("VNTRACK_")} | {"VNTRACK_LAKE": str(lake)}
    subprocess.run([sys.executable, "-m", "vntrack.commands.simulate", "--date", SIM_DAY.isoformat()], cwd=ROOT,
                   env=env, check=True, capture_output=True, timeout=300)
    return lake


def captured(lake: Path, day: date) -> pl.DataFrame:
    raw = lake_io.read_raw(lake, day)
    assert raw["session"].str.starts_with("cap-").all()
    return raw


def read_every_parquet(lake: Path) -> int:
    """Open every Parquet file of the lake (raw and events); a corrupt one raises. Returns the file count."""
    files = sorted(lake.rglob("*.parquet"))
    for p in files:
        pq.read_table(p)
    assert not list(lake.rglob("*.tmp")), "temp files left behind"
    return len(files)


def position(cursor: str | None) -> int | None:
    m = CURSOR_RE.match(cursor or "")
    return int(m[1]) if m else None


def events(lake: Path, day: date, kind: str | None = None) -> list[dict]:
    ev = read_events(lake, day)
    rows = ev.to_dicts()
    return [r | {"d": json.loads(r["detail"] or "{}")} for r in rows if kind is None or r["kind"] == kind]


def assert_verbatim_and_gaps(raw: pl.DataFrame, served: list[str], lake: Path, day: date) -> None:
    """Each frame with a cursor is the served payload at that position, and every jump of the cursor sequence
    within a session (other than a repeat) is the before/after of a recorded gap event."""
    gaps = {(g["d"].get("before_cursor"), g["d"].get("after_cursor")) for g in events(lake, day, "gap")}
    for session, frame in raw.filter(pl.col("cursor").is_not_null()).group_by("session", maintain_order=True):
        prev = None
        for cur, payload, dt in frame.select("cursor", "payload", "data_type").iter_rows():
            k = position(cur)
            if payload == served[k - 1]:
                assert dt == json.loads(payload)["DataType"]
            else:  # a malformed argument: the served one cut in half, kept verbatim
                assert payload == served[k - 1][: len(served[k - 1]) // 2] and dt is None, (cur, payload[:80])
            if prev is not None and k not in (position(prev), position(prev) + 1):
                assert (prev, cur) in gaps, f"cursor jump {prev} -> {cur} in {session} without a gap event"
            prev = cur


@pytest.fixture(name="replay_feed", scope="module")
def fixture_replay_feed(lake_real_day: Path, tmp_path_factory):
    """The real day at --speed max, each connection replaying it whole (for the runs that never reconnect)."""
    feed = start_feed(lake_real_day, tmp_path_factory.mktemp("replay_feed"), REAL_DAY, "--speed", "max",
                      "--clock", "connection")
    yield feed
    feed.stop()


def run_faulty(tmp_path: Path, lake_real_day: Path, spec: str | None, *, keepalive_s: float = 10.0,
               capture_env: dict | None = None, feed=None):
    """Serve the real day with ``spec`` as the stream URL's fault prefix; capture it; stop the daemon cleanly.

    ``feed``: a running per-connection-clock feed to use (else a shared-clock feed of its own is started, which
    a daemon reconnecting after a fault continues without a gap or a repeat).
    """
    own = feed is None
    if own:
        feed = start_feed(lake_real_day, tmp_path, REAL_DAY, "--speed", "max", keepalive_s=keepalive_s)
    lake = tmp_path / "cap"
    ends = feed.log().count("end of the day's frames")
    try:
        stream_url = f"{feed.base}fault/{spec}/" if spec else feed.base
        cap = start_capture(lake, tmp_path, feed.base, stream_url, "--date", REAL_DAY.isoformat(), env=capture_env)
        try:
            wait_for(lambda: feed.log().count("end of the day's frames") > ends, 90, "the feed to send the day", cap)
            wait_quiet(lake, cap, at_least=1, quiet_s=1.5)
            assert cap.alive()
        finally:
            rc = cap.stop()
        assert rc == 0, cap.log()
    finally:
        if own:
            feed.stop()
    return lake, cap, feed


# ----------------------------------------------------------------------------------------------------- units


def test_outer_data_type_without_parsing_content():
    assert outer_data_type('{"DataType":"X-TRADE","Content":"{\\"a\\":1}"}') == "X-TRADE"
    assert outer_data_type('{"DataType":"X-TRADE","Content":"{\\"a') is None  # cut short: not parseable
    assert outer_data_type('{"Content":"{}","DataType":"MI"}') == "MI"  # other key order: parsed once
    assert outer_data_type("not json") is None
    assert outer_data_type('{"DataType":7}') is None


def test_data_frames_cut_at_fixed_places_record_what_a_full_parse_records(lake_real_day: Path):
    """The reader's shortcut (docs/capture.md "Throughput"): a data frame of SSI's exact shape is cut at fixed
    places and only its argument decoded. Every frame below must give the very rows (payload, data_type, cursor)
    and malformed count that the full JSON parse gives, and the shortcut must be the path SSI-shaped frames take."""
    payloads = lake_io.read_raw(lake_real_day, REAL_DAY)["payload"].to_list()[:200]
    odd = ['{"DataType":"X-TRADE","Content":"{\\"a\\":\\"]}]}\\"}"}', "caf\u00e9 \u0001 \\ \"", '{"DataType":"MI","Conte',
           '{"Content":"{}","DataType":"MI"}', ""]
    shaped = [broadcast_frame(f"d-20260722-{i}", p) for i, p in enumerate(payloads + odd)]
    other = [
        shaped[0][: len(shaped[0]) // 2],                                     # cut in half: malformed
        shaped[1][:-1],                                                       # tail missing
        shaped[2].replace('"A":[', '"A":["first",', 1),                       # two arguments
        shaped[3][:-2] + ',{"H":"FcMarketDataV2Hub","M":"Broadcast","A":["second"]}]}',  # two invocations
        shaped[4].replace('{"C":"', '{ "C":"', 1),                           # a space: other shape
        '{"C":"d-\\"x","M":[{"H":"FcMarketDataV2Hub","M":"Broadcast","A":["esc cursor"]}]}',
        '{"C":"d-1","M":[{"H":"FcMarketDataV2Hub","M":"Broadcast","A":[{"DataType":"B","Content":"{}"}]}]}',
        '{"C":"d-1","M":[{"H":"FcMarketDataV2Hub","M":"Broadcast","A":["x"]}]} ',  # trailing space
        '{"C":"d-1","M":[{"H":"FcMarketDataV2Hub","M":"Broadcast","A":["x"+"y"]}]}',  # not JSON
        '{"C":"d-1","S":1,"M":[]}', "{}", "[1,2]", "not json at all", "",
        broadcast_frame("d-1", "\ud800 lone surrogate"),                 # orjson refuses it: malformed, as before
    ]

    class Counting(Streamer):
        general = 0

        def _general(self, text, now):
            self.general += 1
            super()._general(text, now)

    def record(frames, full: bool):
        items: queue.SimpleQueue = queue.SimpleQueue()
        stats = Stats()
        rec = Recorder("cap-20260722-000000000000-abcd", REAL_DAY, "feed", items, stats, queue_frames=10_000)
        streamer = Counting(CaptureSettings(), rec, stats, tokens=None, http=None)
        for k, text in enumerate(frames):
            (streamer._general if full else streamer._on_message)(text, 1_000 + k)
        rec.handoff()
        rows = []
        while not items.empty():
            c = items.get()
            rows += list(zip(range(c.first_seq, c.first_seq + len(c)), c.recv_ns, c.data_type, c.payload, c.cursor))
        return rows, stats.malformed_frames, streamer.general

    fast_rows, fast_bad, general_calls = record(shaped, full=False)
    assert general_calls == 0  # every SSI-shaped data frame took the shortcut
    full_rows, full_bad, _ = record(shaped, full=True)
    assert fast_rows == full_rows and fast_bad == full_bad == 0
    assert [r[3] for r in fast_rows] == payloads + odd  # the argument exactly as sent
    fast_rows, fast_bad, general_calls = record(other, full=False)
    full_rows, full_bad, _ = record(other, full=True)
    assert fast_rows == full_rows and fast_bad == full_bad == 7  # half, tail, "x"+"y", [1,2], text, "", surrogate
    assert general_calls == len(other) - 1  # all but the keep-alive, which is skipped on both paths


def test_session_ids_follow_c1_and_sort_chronologically():
    a = session_id(SIM_DAY, datetime(2026, 7, 22, 8, 59, 59, 999999, ICT))
    b = session_id(SIM_DAY, datetime(2026, 7, 22, 9, 0, 0, 1, ICT))
    assert SESSION_RE.match(a) and a.startswith("cap-20260722-085959999999-") and a < b
    utc = datetime(2026, 7, 21, 18, 0, tzinfo=timezone.utc)  # = 01:00 on the 22nd in Asia/Ho_Chi_Minh
    assert session_id(SIM_DAY, utc).startswith("cap-20260722-010000000000-")


def test_backoff_is_capped_exponential_with_jitter():
    import random
    rng = random.Random(1)
    for attempt in range(12):
        d = backoff_delay(attempt, 0.5, 30, rng)
        full = min(30, 0.5 * 2 ** attempt)
        assert full / 2 <= d <= full
    assert backoff_delay(1000, 0.5, 30, rng) <= 30


def test_token_expiry_and_refresh_margin():
    import base64
    body = base64.urlsafe_b64encode(json.dumps({"exp": 2_000_000_000}).encode()).rstrip(b"=").decode()
    assert jwt_exp(f"h.{body}.s") == 2_000_000_000 and jwt_exp("garbage") is None
    token = AccessToken("secret-value", exp_s=1000 + 8 * 3600, fetched_s=1000)
    assert "secret-value" not in repr(token)
    assert not token.needs_refresh(1000 + 6 * 3600, 3600) and token.needs_refresh(1000 + 7.5 * 3600, 3600)
    short = AccessToken("x", exp_s=1060, fetched_s=1000)  # a 60 s token refreshes after half its life
    assert not short.needs_refresh(1020, 3600) and short.needs_refresh(1031, 3600)
    assert json.loads(switch_channels("X:ALL", 3)) == {"H": "FcMarketDataV2Hub", "M": "SwitchChannels",
                                                       "A": ["X:ALL"], "I": 3}


def test_settings_source_dates_and_roll():
    assert CaptureSettings().resolved_source == "ssi"  # defaults: the real SSI servers
    assert CaptureSettings(stream_url="http://127.0.0.1:1/").resolved_source == "feed"
    assert CaptureSettings(stream_url="http://127.0.0.1:1", source="ssi").stream_url.endswith("/")
    with pytest.raises(ValueError, match="HH:MM"):
        CaptureSettings(date_roll="25:99")
    s = CaptureSettings(date_roll="15:30")
    friday_evening = datetime(2026, 7, 24, 16, 0, tzinfo=ICT)
    assert first_trading_date(s, friday_evening) == date(2026, 7, 27)  # after the roll: next trading date
    assert first_trading_date(s, friday_evening.replace(hour=10)) == date(2026, 7, 24)
    assert first_trading_date(CaptureSettings(trading_date="2026-07-22"), friday_evening) == SIM_DAY
    assert next_roll(dtime(15, 30), friday_evening) == datetime(2026, 7, 25, 15, 30, tzinfo=ICT)
    assert following_trading_date(date(2026, 7, 24)) == date(2026, 7, 27)


# ----------------------------------------------------------------------------------------------------- queue full


def test_queue_full_records_exactly_what_was_lost(lake_real_day: Path, lake: Path):
    """Policy: the reader never waits on the disk. Past ``queue_frames`` unwritten frames it keeps reading, gives
    each frame its seq but does not keep it, and once frames are accepted again one gap event names the lost seq
    range. Here the disk writer is not running yet (a stuck disk) while 5,000 frames arrive."""
    payloads = lake_io.read_raw(lake_real_day, REAL_DAY)["payload"].to_list()
    items: queue.SimpleQueue = queue.SimpleQueue()
    stats = Stats()
    session = session_id(REAL_DAY)
    rec = Recorder(session, REAL_DAY, "feed", items, stats, queue_frames=1000, chunk_frames=256)
    for k in range(5000):
        rec.broadcast(payloads[k % len(payloads)], f"d-20260720-{k + 1}", 1_000 + k)
    assert stats.accepted == 1000 and stats.lost == 4000 and stats.queue_depth == 1000
    writer = SegmentWriter(lake, items, stats, session, REAL_DAY, "feed", seal_frames=700)
    writer.start()
    wait_for(lambda: stats.queue_depth == 0, 30, "the writer to drain the queue")
    for k in range(5000, 5100):  # the disk is back: frames are kept again; the gap is recorded once
        rec.broadcast(payloads[k % len(payloads)], f"d-20260720-{k + 1}", 1_000 + k)
    rec.stop("test")
    writer.join(30)
    assert not writer.is_alive() and writer.error is None
    raw = lake_io.read_raw(lake, REAL_DAY)
    assert raw["seq"].to_list() == list(range(1, 1001)) + list(range(5001, 5101))
    assert raw["payload"].to_list() == [payloads[k % len(payloads)] for k in [*range(1000), *range(5000, 5100)]]
    (gap,) = events(lake, REAL_DAY, "gap")
    assert gap["seq"] == 1000
    assert {k: gap["d"][k] for k in ("reason", "first_seq", "last_seq", "frames", "first_cursor", "last_cursor")} \
        == {"reason": "queue_full", "first_seq": 1001, "last_seq": 5000, "frames": 4000,
            "first_cursor": "d-20260720-1001", "last_cursor": "d-20260720-5000"}
    assert gap["d"]["start_ns"] == 1_000 + 1000 and gap["d"]["end_ns"] == 1_000 + 4999
    assert not open_journals(lake)  # clean stop: sealed, journal deleted (C1)


def test_queue_full_in_a_running_daemon_partitions_seq_exactly(lake_real_day: Path, tmp_path: Path, replay_feed):
    """The same policy end to end: a 40-frame queue against a feed at --speed max overflows again and again; the
    kept seqs and the seq ranges of the queue_full gap events partition 1..last exactly, and so do the cursors."""
    lake, cap, _ = run_faulty(tmp_path, lake_real_day, None, capture_env={"VNTRACK_CAPTURE_QUEUE_FRAMES": "40"},
                              feed=replay_feed)
    served = load_day(lake_real_day, REAL_DAY).payloads
    raw = captured(lake, REAL_DAY)
    gaps = [g["d"] for g in events(lake, REAL_DAY, "gap") if g["d"]["reason"] == "queue_full"]
    assert gaps, "the queue never filled"
    kept = raw["seq"].to_list()
    lost = [q for g in gaps for q in range(g["first_seq"], g["last_seq"] + 1)]
    assert sum(g["frames"] for g in gaps) == len(lost) == status(lake)["frames_lost"]
    assert sorted(kept + lost) == list(range(1, len(served) + 1))  # every frame received: kept or named lost
    lost_cursors = [k for g in gaps for k in range(position(g["first_cursor"]), position(g["last_cursor"]) + 1)]
    assert sorted([position(c) for c in raw["cursor"]] + lost_cursors) == list(range(1, len(served) + 1))
    for cur, payload in raw.select("cursor", "payload").iter_rows():
        assert payload == served[position(cur) - 1]


# ----------------------------------------------------------------------------------------------------- full day


def test_full_simulated_day_captured_verbatim(sim_lake: Path, tmp_path: Path):
    """The whole simulated VN30 day at --speed max: the captured multiset of payloads equals the served one."""
    served = lake_io.read_raw(sim_lake, SIM_DAY)
    feed = start_feed(sim_lake, tmp_path, SIM_DAY, "--speed", "max")
    lake = tmp_path / "cap"
    try:
        cap = start_capture(lake, tmp_path, feed.base, feed.base, "--date", SIM_DAY.isoformat())
        try:
            s = wait_for(lambda: (st := status(lake)) and st["state"] == "streaming" and st, 60, "streaming", cap)
            assert SESSION_RE.match(s["session"]) and s["trading_date"] == "2026-07-22"
            metrics = httpx.get(s["metrics_url"], timeout=10).text
            for name in ("vntrack_capture_frames_total", "vntrack_capture_queue_depth",
                         "vntrack_capture_last_frame_age_seconds", "vntrack_capture_reconnects_total",
                         "vntrack_capture_bytes_written_total", "vntrack_capture_frames_per_second"):
                assert name in metrics
            health = subprocess.run([sys.executable, "-m", "vntrack.commands.capture", "--status", "--json"],
                                    cwd=ROOT, env={**os.environ, "VNTRACK_LAKE": str(lake)}, capture_output=True,
                                    text=True, timeout=60)
            assert health.returncode == 0, health.stdout + health.stderr
            assert json.loads(health.stdout)["healthy"] is True
            second = start_capture(lake, tmp_path, feed.base, feed.base)  # one daemon per lake
            assert second.proc.wait(60) == 4 and "another capture daemon" in second.log()
            n = wait_quiet(lake, cap, at_least=served.height, timeout=240)
            assert n == served.height
            assert 'vntrack_capture_frames_total{channel="X-TRADE"}' in httpx.get(s["metrics_url"]).text
        finally:
            rc = cap.stop(signal.SIGINT)
        assert rc == 0, cap.log()
    finally:
        feed.stop()
    raw = captured(lake, SIM_DAY)
    assert Counter(raw["payload"].to_list()) == Counter(served["payload"].to_list())
    assert raw["seq"].to_list() == list(range(1, served.height + 1))
    assert raw["source"].unique().to_list() == ["feed"]
    assert raw["data_type"].to_list() == [json.loads(p)["DataType"] for p in raw["payload"].to_list()]
    assert not open_journals(lake)
    assert read_every_parquet(lake) > 1
    kinds = [e["kind"] for e in events(lake, SIM_DAY)]
    assert kinds == ["connect", "subscribe", "disconnect"]
    after = subprocess.run([sys.executable, "-m", "vntrack.commands.capture", "--status"], cwd=ROOT,
                           env={**os.environ, "VNTRACK_LAKE": str(lake)}, capture_output=True, text=True, timeout=60)
    assert after.returncode == 1 and "stopped" in after.stdout
    log = cap.log()
    assert CONSUMER_SECRET not in log and "eyJ" not in log and "connectionToken" not in log


# ----------------------------------------------------------------------------------------------------- kill -9


def test_kill_9_mid_day_then_restart_loses_nothing_flushed(sim_lake: Path, tmp_path: Path):
    served = load_day(sim_lake, SIM_DAY, dtime(13, 0)).payloads
    # each connection replays from 13:00: the restarted daemon has the whole afternoon to record, however far
    # the killed one got (on a loaded machine it may have reached the end of the day)
    feed = start_feed(sim_lake, tmp_path, SIM_DAY, "--speed", "max", "--from", "13:00", "--clock", "connection")
    lake = tmp_path / "cap"
    try:
        first = start_capture(lake, tmp_path, feed.base, feed.base, "--date", SIM_DAY.isoformat())
        try:
            wait_for(lambda: (st := status(lake) or {}).get("segments_sealed", 0) >= 1
                     and st.get("frames_written", 0) >= 20_000, 120, "frames to be written", first, interval=0.02)
        finally:
            first.stop(signal.SIGKILL)
        # what was flushed before the kill: the sealed segments + the complete batches of the journal
        (journal,) = open_journals(lake)
        crashed = journal.name.removesuffix(".arrows")
        flushed = read_journal(journal)
        sealed = [pq.read_table(p) for p in lake_io.raw_segments(lake, SIM_DAY, crashed)]
        before = {}
        for t in [*sealed, flushed.table]:
            before.update(zip(t.column("seq").to_pylist(), t.column("payload").to_pylist()))
        # a kill right after a seal restarted the journal can find it without its schema yet: nothing in it
        assert flushed.trading_date == SIM_DAY or (flushed.torn and flushed.batches == 0)
        assert len(before) >= 20_000
        second = start_capture(lake, tmp_path, feed.base, feed.base, "--date", SIM_DAY.isoformat())
        try:
            ends = feed.log().count("end of the day's frames")
            wait_for(lambda: feed.log().count("end of the day's frames") > ends, 120, "the afternoon again", second)
            wait_quiet(lake, second, at_least=1)
        finally:
            rc = second.stop()
        assert rc == 0, second.log()
    finally:
        feed.stop()
    read_every_parquet(lake)
    raw = captured(lake, SIM_DAY)
    old = raw.filter(pl.col("session") == crashed)
    assert old["seq"].is_unique().all()
    assert dict(zip(old["seq"].to_list(), old["payload"].to_list())) == before  # exactly once, nothing more
    (gap,) = [g for g in events(lake, SIM_DAY, "gap") if g["session"] == crashed]
    assert "recovered" in gap["d"]["reason"] and gap["d"]["start_ns"] <= gap["d"]["end_ns"]
    assert gap["seq"] == max(before)
    new = raw.filter(pl.col("session") != crashed)
    assert new["session"].n_unique() == 1 and new.height > 0 and new["seq"][0] == 1  # capture continued
    assert [position(c) for c in new["cursor"]] == list(range(1, len(served) + 1))
    for cur, payload in raw.select("cursor", "payload").iter_rows():
        assert payload == served[position(cur) - 1]
    assert not open_journals(lake)


# ----------------------------------------------------------------------------------------------------- faults


def test_server_drops_connection(lake_real_day: Path, tmp_path: Path):
    lake, cap, _ = run_faulty(tmp_path, lake_real_day, "drop-after=400")
    served = load_day(lake_real_day, REAL_DAY).payloads
    raw = captured(lake, REAL_DAY)
    assert_verbatim_and_gaps(raw, served, lake, REAL_DAY)
    kinds = Counter(e["kind"] for e in events(lake, REAL_DAY))
    assert kinds["disconnect"] >= 5 and kinds["reconnect"] >= 4 and kinds["subscribe"] >= 5 and kinds["gap"] >= 4
    reasons = [e["d"]["reason"] for e in events(lake, REAL_DAY, "disconnect")]
    assert reasons[:-1] and all(r == "connection lost without a close frame" for r in reasons[:-1])
    assert reasons[-1] == "signal SIGTERM"
    assert position(raw["cursor"][-1]) == len(served)  # reached the end of the day
    assert raw["session"].n_unique() == 1 and raw["seq"].to_list() == list(range(1, raw.height + 1))


def test_server_stalls_past_keepalive(lake_real_day: Path, tmp_path: Path):
    lake, cap, _ = run_faulty(tmp_path, lake_real_day, "stall-after=300,stall-for=4", keepalive_s=0.5)
    raw = captured(lake, REAL_DAY)
    assert_verbatim_and_gaps(raw, load_day(lake_real_day, REAL_DAY).payloads, lake, REAL_DAY)
    timeouts = events(lake, REAL_DAY, "heartbeat_timeout")
    assert timeouts and all(t["d"]["timeout_s"] == 1.0 for t in timeouts)  # negotiated KeepAliveTimeout
    kinds = Counter(e["kind"] for e in events(lake, REAL_DAY))
    assert kinds["reconnect"] >= 1 and kinds["subscribe"] >= 2
    assert position(raw["cursor"][-1]) == len(load_day(lake_real_day, REAL_DAY).payloads)


@pytest.mark.parametrize("variant", ["payload", "text"])
def test_malformed_frames_kept_verbatim(lake_real_day: Path, tmp_path: Path, replay_feed, variant: str):
    lake, cap, _ = run_faulty(tmp_path, lake_real_day, f"malformed-every=100,malformed={variant}", feed=replay_feed)
    served = load_day(lake_real_day, REAL_DAY).payloads
    raw = captured(lake, REAL_DAY)
    bad = raw.filter(pl.col("data_type").is_null())
    assert bad.height == len(served) // 100
    if variant == "payload":
        assert_verbatim_and_gaps(raw, served, lake, REAL_DAY)
    else:  # the SignalR frame itself cut in half: kept whole as the payload, no cursor
        assert bad["cursor"].null_count() == bad.height
        for text in bad["payload"]:
            k = int(re.match(r'\{"C":"d-\d{8}-(\d+)"', text)[1])
            full = broadcast_frame(f"d-20260720-{k}", served[k - 1])
            assert text == full[: len(full) // 2]
        assert_verbatim_and_gaps(raw.filter(pl.col("cursor").is_not_null()), served, lake, REAL_DAY)
    assert raw.height == len(served) + bad.height  # nothing else lost or added
    assert '"malformed_frames":' in json.dumps(status(lake))


def test_repeated_frames_kept_as_received(lake_real_day: Path, tmp_path: Path, replay_feed):
    lake, cap, _ = run_faulty(tmp_path, lake_real_day, "repeat-every=50", feed=replay_feed)
    served = load_day(lake_real_day, REAL_DAY).payloads
    raw = captured(lake, REAL_DAY)
    assert_verbatim_and_gaps(raw, served, lake, REAL_DAY)
    counts = Counter(raw["cursor"].to_list())
    assert sum(n - 1 for n in counts.values()) == len(served) // 50 and set(counts.values()) == {1, 2}
    assert raw.height == len(served) + len(served) // 50


def test_token_expiry_fetches_a_new_token_and_resubscribes(lake_real_day: Path, tmp_path: Path):
    lake, cap, feed = run_faulty(tmp_path, lake_real_day, "expire-after=700")
    served = load_day(lake_real_day, REAL_DAY).payloads
    raw = captured(lake, REAL_DAY)
    assert_verbatim_and_gaps(raw, served, lake, REAL_DAY)
    errors = events(lake, REAL_DAY, "server_error")
    assert len(errors) >= 2 and all(e["d"]["message"] == "Access token expired" for e in errors)
    kinds = Counter(e["kind"] for e in events(lake, REAL_DAY))
    assert kinds["reconnect"] >= 2 and kinds["subscribe"] >= 3
    assert any("code 1008" in e["d"]["reason"] for e in events(lake, REAL_DAY, "disconnect"))
    assert feed.log().count("AccessToken issued") >= 3  # a fresh token after each expiry
    assert position(raw["cursor"][-1]) == len(served)
    log = cap.log()
    assert CONSUMER_SECRET not in log and "eyJ" not in log and "connectionToken" not in log


def test_token_lifetime_refreshed_ahead_and_expiry_survived(sim_lake: Path, tmp_path: Path):
    """Tokens live 4 s: the daemon refreshes each one after half its life, the feed ends sockets at exp, the
    daemon reconnects with the token it already holds; every interruption is a recorded gap."""
    feed = start_feed(sim_lake, tmp_path, SIM_DAY, "--speed", "30", "--from", "10:00",
                      env={"VNTRACK_FEED_TOKEN_TTL_SECONDS": "4"})
    lake = tmp_path / "cap"
    try:
        cap = start_capture(lake, tmp_path, feed.base, feed.base, "--date", SIM_DAY.isoformat())
        try:
            wait_for(lambda: (status(lake) or {}).get("reconnects", 0) >= 2, 90, "two expiries survived", cap)
        finally:
            rc = cap.stop()
        assert rc == 0, cap.log()
    finally:
        feed.stop()
    issued = cap.log().count("access token issued")
    assert issued >= 3 and feed.log().count("AccessToken issued") == issued
    lines = [json.loads(line)["msg"] for line in cap.log().splitlines() if line.startswith("{")]
    state = [m for m in lines if m in ("subscribed", "disconnected", "access token issued")]
    assert any(a == "subscribed" and b == "access token issued" for a, b in zip(state, state[1:])), state
    raw = captured(lake, SIM_DAY)
    assert_verbatim_and_gaps(raw, load_day(sim_lake, SIM_DAY, dtime(10, 0)).payloads, lake, SIM_DAY)
    assert Counter(e["kind"] for e in events(lake, SIM_DAY))["reconnect"] >= 2


def test_wrong_credentials_clear_error_no_retry_storm(tmp_path: Path, replay_feed):
    refused = replay_feed.log().count("AccessToken refused")
    cap = start_capture(tmp_path / "cap", tmp_path, replay_feed.base, replay_feed.base, secret="wrong-secret")
    rc = cap.proc.wait(60)
    assert rc == 3
    log = cap.log()
    assert "refused the credentials" in log and "SSI_CONSUMER_SECRET" in log and "wrong-secret" not in log
    time.sleep(1)
    assert replay_feed.log().count("AccessToken refused") == refused + 1  # asked once, never again
    missing = subprocess.run([sys.executable, "-m", "vntrack.commands.capture"], cwd=ROOT, capture_output=True,
                             text=True, timeout=60,
                             env={k: v for k, v in os.environ.items() if not k.startswith(("SSI_", "VNTRACK_"))}
                             | {"VNTRACK_LAKE": str(tmp_path / "none")})
    assert missing.returncode == 2 and "SSI_CONSUMER_ID" in missing.stderr


def test_bad_channel_string_is_refused_before_connecting(tmp_path: Path):
    bad = subprocess.run([sys.executable, "-m", "vntrack.commands.capture", "--channels", "FOO:ALL"], cwd=ROOT,
                         capture_output=True, text=True, timeout=60,
                         env={**os.environ, "VNTRACK_LAKE": str(tmp_path / "l")})
    assert bad.returncode == 2 and "--channels" in bad.stderr


# ----------------------------------------------------------------------------------------------------- date roll


def test_date_roll_seals_and_starts_next_trading_date(sim_lake: Path, tmp_path: Path):
    feed = start_feed(sim_lake, tmp_path, SIM_DAY, "--speed", "20", "--from", "10:00")
    lake = tmp_path / "cap"
    try:
        roll = (datetime.now(ICT) + timedelta(seconds=20)).strftime("%H:%M:%S")  # time to start under load (~5 s of imports quiet, 11 s seen at load 5)
        cap = start_capture(lake, tmp_path, feed.base, feed.base, "--date", SIM_DAY.isoformat(), "--date-roll",
                            roll)
        try:
            wait_for(lambda: (status(lake) or {}).get("state") == "streaming", 60, "streaming", cap)
            assert status(lake)["trading_date"] == "2026-07-22", "started after the roll time: machine too slow"
            wait_for(lambda: (status(lake) or {}).get("trading_date") == "2026-07-23", 60, "the date roll", cap)
            wait_for(lambda: list(open_dir(lake).glob("cap-20260723-*.arrows")), 30, "the new session's journal", cap)
            assert not list(open_dir(lake).glob("cap-20260722-*.arrows"))  # the old one: sealed and deleted
            wait_for(lambda: lake_io.raw_segments(lake, date(2026, 7, 23)) or any(
                read_journal(p).table.num_rows for p in open_dir(lake).glob("cap-20260723-*.arrows")), 30,
                "frames in the new session", cap)
        finally:
            rc = cap.stop()
        assert rc == 0, cap.log()
    finally:
        feed.stop()
    before, after = captured(lake, SIM_DAY), captured(lake, date(2026, 7, 23))
    assert before["session"].n_unique() == 1 and after["session"].n_unique() == 1
    assert after["session"][0].startswith("cap-20260723-") and after["seq"][0] == 1
    assert position(after["cursor"][0]) == position(before["cursor"][-1]) + 1  # same connection, nothing lost
    assert [e["kind"] for e in events(lake, SIM_DAY)][-1] == "disconnect"
    opened = events(lake, date(2026, 7, 23))[0]
    assert opened["kind"] == "subscribe" and opened["d"]["continued_from"] == before["session"][0]
    assert not open_journals(lake)
