"""``vntrack feed``: the local SSI FastConnect Data v2 server, tested with real processes and sockets.

Every server here is a real ``python -m vntrack.commands.feed`` process on a free port; clients are the official
``ssi_fc_data`` SDK (unmodified) and a raw classic-SignalR client on ``websockets``. Lakes: the real SSI B + MI
recordings of 2026-07-20 (imported with ``capture.importers``) and a synthetic 2026-07-21 of X-QUOTE / X-TRADE /
R / MI frames whose totals are known by construction (for DailyStockPrice).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlencode

import httpx
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect as ws_connect

from storage import lake as lake_io
from ssi.channels import ChannelError, parse_channels
from testbed.feed.faults import FaultSpecError, parse_faults
from testbed.feed.tokens import TokenAuthority
from capture.importers import import_paths
from tests.capture_procs import CONSUMER_ID, CONSUMER_SECRET, Feed
from tests.capture_procs import start_feed as _start_feed
from tests.conftest import REAL_DAY, SSI_B, SSI_MI
from tests.frames import raw_frames, wire

ROOT = Path(__file__).resolve().parents[1]
SYNTH_DAY = date(2026, 7, 21)
HUB = "FcMarketDataV2Hub"
CONN_DATA = json.dumps([{"name": HUB}])


# ----------------------------------------------------------------------------------------------------- lakes


def _synthetic_day() -> tuple[list[str], dict]:
    """Payloads of a small synthetic day and the truth about it (trades per symbol with their side, last R)."""
    rng = random.Random(20260721)
    day = SYNTH_DAY.strftime("%d/%m/%Y")
    instruments = {  # symbol: (exchange, ref price, tick)
        "HPG": ("HOSE", 21750.0, 50.0), "SSI": ("HOSE", 32400.0, 50.0), "VN30F2608": ("DERIVATIVES", 1283.9, 0.1),
    }
    truth: dict = {"trades": {s: [] for s in instruments}, "r": {}, "limits": {}}
    payloads: list[str] = []
    total = {s: [0, 0.0] for s in instruments}
    foreign = {s: [0, 0, 0.0, 0.0] for s in ("HPG", "SSI")}
    for k in range(240):  # 09:20:00 .. 09:59:50, one event every 10 s
        secs = 9 * 3600 + 20 * 60 + k * 10
        hms = f"{secs // 3600:02d}:{secs % 3600 // 60:02d}:{secs % 60:02d}"
        sym = list(instruments)[k % 3]
        exch, ref, tick = instruments[sym]
        ceiling, floor = round(ref * 1.07, 1), round(ref * 0.93, 1)
        bid = round(ref + tick * rng.randint(-5, 5), 1)
        ask = round(bid + tick, 1)
        payloads.append(wire("X-QUOTE", {
            "TradingDate": day, "Time": hms, "Exchange": exch, "Symbol": sym, "RType": "X-QUOTE",
            "AskPrice1": ask, "AskVol1": 1000.0, "BidPrice1": bid, "BidVol1": 1000.0, "TradingSession": "LO"}))
        side = rng.choice(["buy", "sell"])
        price = ask if side == "buy" else bid
        vol = float(rng.randint(1, 50) * (1 if exch == "DERIVATIVES" else 100))
        mult = 100_000 if exch == "DERIVATIVES" else 1
        total[sym][0] += int(vol)
        total[sym][1] += price * vol * mult
        truth["trades"][sym].append((price, int(vol), side, mult))
        truth["limits"][sym] = (ref, ceiling, floor)
        payloads.append(wire("X-TRADE", {
            "RType": "X-TRADE", "TradingDate": day, "Time": hms, "Isin": sym, "Symbol": sym, "Ceiling": ceiling,
            "Floor": floor, "RefPrice": ref, "AvgPrice": total[sym][1] / total[sym][0], "PriorVal": ref,
            "LastPrice": price, "LastVol": vol, "TotalVal": total[sym][1], "TotalVol": float(total[sym][0]),
            "MarketId": exch, "Exchange": exch, "TradingSession": "LO", "TradingStatus": "N",
            "Change": round(price - ref, 1), "RatioChange": round((price - ref) / ref * 100, 2),
            "EstMatchedPrice": price, "Highest": price, "Lowest": price, "Side": "BU" if side == "buy" else "SD"}))
        if sym in foreign and k % 2 == 0:
            f = foreign[sym]
            f[0] += rng.randint(0, 20) * 100
            f[1] += rng.randint(0, 20) * 100
            f[2], f[3] = f[0] * price, f[1] * price
            truth["r"][sym] = (f[0], f[1], f[2], f[3], 1_000_000.0 - f[0])
            payloads.append(wire("R", {
                "RType": "R", "TradingDate": day, "Time": hms, "Isin": sym, "Symbol": sym, "TotalRoom": 1_000_000.0,
                "CurrentRoom": 1_000_000.0 - f[0], "BuyVol": float(f[0]), "SellVol": float(f[1]), "BuyVal": f[2],
                "SellVal": f[3], "MarketId": "HOSE", "Exchange": "HOSE"}))
        if secs % 30 == 0:
            payloads.append(wire("MI", {
                "IndexId": "VN30", "IndexValue": 1284.46 + k / 10, "PriorIndexValue": 1291.3, "TradingDate": day,
                "Time": hms, "TotalTrade": 0.0, "IndexName": "VN30", "Exchange": "HOSE", "RType": "MI"}))
    return payloads, truth


@dataclass(frozen=True)
class FeedLake:
    root: Path
    real_payloads: list[str]  # the real day, in lake arrival order
    synth_payloads: list[str]
    truth: dict


@pytest.fixture(name="feed_lake", scope="module")
def fixture_feed_lake(tmp_path_factory: pytest.TempPathFactory) -> FeedLake:
    """The real B + MI day (2026-07-20) and the synthetic 2026-07-21, in one lake."""
    root = tmp_path_factory.mktemp("feed") / "lake"
    import_paths(root, [SSI_B, SSI_MI])
    payloads, truth = _synthetic_day()
    table = lake_io.raw_table_from_polars(raw_frames(payloads, session="synthetic"))
    lake_io.write_raw_segment(root, SYNTH_DAY, "synthetic", 0, table)
    real = lake_io.read_raw(root, REAL_DAY).get_column("payload").to_list()
    return FeedLake(root, real, payloads, truth)


# ----------------------------------------------------------------------------------------------------- processes


def start_feed(lake: Path, log_dir: Path, day: date, *args: str, env: dict | None = None) -> Feed:
    """``vntrack feed --date day --port 0 ARGS`` (tests.capture_procs) with a 0.3 s keep-alive; waits for ready."""
    return _start_feed(lake, log_dir, day, *args, keepalive_s=0.3,
                       env={"VNTRACK_FEED_SHUTDOWN_GRACE_SECONDS": "3", **(env or {})})


@contextlib.contextmanager
def running_feed(feed_lake: FeedLake, tmp_path: Path, day: date, *args: str, env: dict | None = None):
    feed = start_feed(feed_lake.root, tmp_path, day, *args, env=env)
    try:
        yield feed
    finally:
        feed.stop()


@pytest.fixture(name="feed_max", scope="module")
def fixture_feed_max(feed_lake: FeedLake, tmp_path_factory: pytest.TempPathFactory):
    """The real day at --speed max, each connection replaying it from the start (faults go by URL prefix)."""
    with running_feed(feed_lake, tmp_path_factory.mktemp("feed_max"), REAL_DAY, "--speed", "max",
                      "--clock", "connection") as feed:
        yield feed


@pytest.fixture(name="feed_synth", scope="module")
def fixture_feed_synth(feed_lake: FeedLake, tmp_path_factory: pytest.TempPathFactory):
    with running_feed(feed_lake, tmp_path_factory.mktemp("feed_synth"), SYNTH_DAY, "--speed", "max",
                      "--clock", "connection") as feed:
        yield feed


# ----------------------------------------------------------------------------------------------------- clients


def access_token(base: str, cid: str = CONSUMER_ID, secret: str = CONSUMER_SECRET) -> str:
    r = httpx.post(base + "api/v2/Market/AccessToken", json={"consumerID": cid, "consumerSecret": secret})
    assert r.status_code == 200, r.text
    return r.json()["data"]["accessToken"]


def negotiate(base: str, token: str | None, prefix: str = "", method: str = "POST") -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    query = urlencode({"clientProtocol": "1.5", "connectionData": CONN_DATA})
    return httpx.request(method, f"{base}{prefix}v2.0/signalr/negotiate?{query}", headers=headers)


@dataclass
class Message:
    """One server frame as received: raw text, parsed JSON (None if not JSON) and when."""

    text: str
    obj: object
    at: float

    @property
    def broadcasts(self) -> list[str]:
        if not isinstance(self.obj, dict):
            return []
        return [m["A"][0] for m in self.obj.get("M", []) if m.get("M") == "Broadcast"]

    @property
    def errors(self) -> list[str]:
        if not isinstance(self.obj, dict):
            return []
        return [m["A"][0] for m in self.obj.get("M", []) if m.get("M") == "Error"]


@dataclass
class RawClient:
    """A classic SignalR 1.5 client on ``websockets`` that records every frame."""

    ws: object
    token: str
    connection_token: str
    messages: list[Message] = field(default_factory=list)
    closed: ConnectionClosed | None = None
    calls: int = 0

    @classmethod
    def open(cls, base: str, prefix: str = "", token: str | None = None) -> RawClient:
        token = token or access_token(base)
        neg = negotiate(base, token, prefix)
        assert neg.status_code == 200, neg.text
        query = urlencode({"transport": "webSockets", "connectionToken": neg.json()["ConnectionToken"],
                           "connectionData": CONN_DATA, "clientProtocol": "1.5"})
        url = f"ws://{base.removeprefix('http://')}{prefix}v2.0/signalr/connect?{query}"
        ws = ws_connect(url, additional_headers={"Authorization": f"Bearer {token}"}, max_size=None,
                        open_timeout=10, close_timeout=2)
        client = cls(ws, token, neg.json()["ConnectionToken"])
        first = client.recv(5)
        assert first is not None and first.obj.get("S") == 1 and first.obj.get("M") == [], first
        return client

    def switch(self, channels: str, hub: str = HUB, method: str = "SwitchChannels") -> str:
        invocation = str(self.calls)
        self.ws.send(json.dumps({"H": hub, "M": method, "A": [channels], "I": self.calls}))
        self.calls += 1
        return invocation

    def recv(self, timeout: float) -> Message | None:
        if self.closed:
            return None
        try:
            text = self.ws.recv(timeout=timeout)
        except TimeoutError:
            return None
        except ConnectionClosed as exc:
            self.closed = exc
            return None
        try:
            obj = json.loads(text)
        except ValueError:
            obj = None
        message = Message(text, obj, time.monotonic())
        self.messages.append(message)
        return message

    def until(self, done, timeout: float = 20) -> None:
        """Receive until ``done(self)`` or the socket closes; fail after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while not done(self) and not self.closed:
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out with {len(self.broadcasts())} broadcasts")
            self.recv(0.5)

    def broadcasts(self) -> list[str]:
        return [b for m in self.messages for b in m.broadcasts]

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.ws.close()


def _types(payloads: list[str]) -> list[tuple[str, str]]:
    out = []
    for p in payloads:
        env = json.loads(p)
        content = json.loads(env["Content"])
        out.append((env["DataType"], content.get("Symbol") or content.get("IndexId")))
    return out


def _seconds(payload: str) -> int:
    content = json.loads(json.loads(payload)["Content"])
    h, m, s = map(int, content["Time"].split(":"))
    return h * 3600 + m * 60 + s


# ----------------------------------------------------------------------------------------------------- units


def test_channel_strings_parse_and_match():
    sub = parse_channels("x-trade:ALL, MI:VN30-vnindex,B:HPG")
    assert sub.matches("X-TRADE", "ANY") and sub.matches("MI", "VNINDEX") and sub.matches("B", "HPG")
    assert not sub.matches("B", "VCB") and not sub.matches("R", "HPG") and not sub.matches("MI", None)
    for bad in ["", "X-TRADE", "FOO:ALL", "B:", "B:HPG--VCB", 7]:
        with pytest.raises(ChannelError):
            parse_channels(bad)


def test_frame_keys_agree_with_a_full_json_parse(feed_lake: FeedLake):
    """The regexes that route and pace frames read what ``json`` reads, on every real and doc frame."""
    from testbed.feed.day import _fallback, frame_keys
    from tests.frames import single_frame_payloads, single_frames

    payloads = feed_lake.real_payloads + feed_lake.synth_payloads + single_frame_payloads(single_frames())
    keys = frame_keys(raw_frames(payloads), REAL_DAY)
    checked = 0
    for payload, (dt, sym, t) in zip(payloads, keys.select("data_type", "symbol", "t").iter_rows(), strict=True):
        want_dt, want_sym, want_date, want_time = _fallback(payload)
        if want_dt is None or want_time is None:
            continue  # not parseable as JSON: the regexes may still read it; nothing to compare with
        when = datetime.strptime(f"{want_date or '20/07/2026'} {want_time}", "%d/%m/%Y %H:%M:%S")
        assert (dt, sym, t) == (want_dt.upper(), want_sym.upper() if want_sym else None,
                                int((when - datetime(1970, 1, 1)).total_seconds())), payload
        checked += 1
    assert checked >= len(payloads) - 3
    assert keys.get_column("t").null_count() == 0


def test_fault_specs_parse():
    spec = parse_faults("drop-after=5;stall-at=10:30,stall-for=2.5,malformed=text,malformed-every=3")
    assert (spec.drop_after, spec.stall_at.hour, spec.stall_for, spec.malformed) == (5, 10, 2.5, "text")
    assert parse_faults("repeat-every=2", spec).drop_after == 5  # layered on a base spec
    for bad in ["drop-after=0", "nope=1", "drop-at=25:00", "malformed=zzz", "stall-for"]:
        with pytest.raises(FaultSpecError):
            parse_faults(bad)


def test_token_payload_decodes_the_way_the_sdk_decodes_it():
    from ssi_fc_data.model.access_token import AccessTokenModel
    from ssi_fc_data.model.model import AccessToken

    authority = TokenAuthority(b"k" * 32, ttl_seconds=7200)
    for i in range(300):  # different iat/jti/sub: the standard-base64 property must hold for all
        token = authority.issue(f"consumer-{i}")
        model = AccessTokenModel(AccessToken(token))  # what MarketDataClient does with the reply
        assert abs((model._token_expire_at - datetime.now()).total_seconds() - 7200) < 5
        assert authority.verify(token).exp > time.time()
    revoked = authority.verify(token).jti
    authority.revoke(revoked)
    with pytest.raises(ValueError, match="revoked"):
        authority.verify(token)
    with pytest.raises(ValueError, match="signature"):
        TokenAuthority(b"other" * 8, 60).verify(authority.issue("x"))


# ----------------------------------------------------------------------------------------------------- the SDK


def test_official_sdk_client_receives_every_frame_verbatim(feed_max: Feed, feed_lake: FeedLake):
    from ssi_fc_data.fc_md_client import MarketDataClient
    from ssi_fc_data.fc_md_stream import MarketDataStream

    raw_args: list[str] = []

    class RecordingStream(MarketDataStream):
        """The SDK's stream, unmodified; only records the string its hub hands to ``_on_message``."""

        def _on_message(self, _message):
            raw_args.append(_message)
            return super()._on_message(_message)

    config = SimpleNamespace(auth_type="Bearer", consumerID=CONSUMER_ID, consumerSecret=CONSUMER_SECRET,
                             url=feed_max.base, stream_url=feed_max.base)
    client = MarketDataClient(config)  # AccessToken + the SDK's own JWT decoding
    assert client._access_token.is_expired() is False
    received, errors = [], []
    stream = RecordingStream(config, client)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):  # the SDK's _negotiate prints the bearer header (docs/operations.md §9)
        stream.start(received.append, errors.append, "B:ALL,MI:ALL")
    assert "Bearer" in printed.getvalue()
    expected = feed_lake.real_payloads
    deadline = time.monotonic() + 20
    while len(received) < len(expected) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # nothing more may come
    with contextlib.suppress(Exception):  # connection.close() is broken in the SDK (AttributeError)
        stream.connection._Connection__transport._ws.close()
    assert errors == []
    assert raw_args == expected  # byte for byte, in lake order
    assert received == [json.loads(p) for p in expected]  # what on_message gets: the SDK's json.loads of it


@pytest.mark.parametrize(("fault", "errors_seen"), [("drop-after=50", []),
                                                  ("expire-after=50", ["Access token expired"])])
def test_official_sdk_client_sees_faults_through_a_url_prefix(feed_max: Feed, feed_lake: FeedLake, fault: str,
                                                              errors_seen: list[str]):
    from ssi_fc_data.fc_md_client import MarketDataClient
    from ssi_fc_data.fc_md_stream import MarketDataStream

    stream_url = f"{feed_max.base}fault/{fault}/"  # the unmodified SDK only appends v2.0/signalr/... to it
    config = SimpleNamespace(auth_type="Bearer", consumerID=CONSUMER_ID, consumerSecret=CONSUMER_SECRET,
                             url=feed_max.base, stream_url=stream_url)
    received, errors, closed = [], [], threading.Event()
    stream = MarketDataStream(config, MarketDataClient(config), on_close=closed.set)
    with contextlib.redirect_stdout(io.StringIO()):
        stream.start(received.append, errors.append, "B:ALL,MI:ALL")
    assert closed.wait(10), "the SDK never noticed the end of the connection"
    assert received == [json.loads(p) for p in feed_lake.real_payloads[:50]]
    assert errors == errors_seen


def test_sdk_rest_calls_and_wrong_credentials(feed_max: Feed):
    from ssi_fc_data.fc_md_client import MarketDataClient
    from ssi_fc_data.model import model

    config = SimpleNamespace(auth_type="Bearer", consumerID=CONSUMER_ID, consumerSecret=CONSUMER_SECRET,
                             url=feed_max.base, stream_url=feed_max.base)
    client = MarketDataClient(config)
    vn30 = client.index_components(None, model.index_components("VN30"))
    from market.reference_data import vn30_members

    assert vn30["status"] == "Success" and vn30["totalRecord"] == 1
    assert [c["StockSymbol"] for c in vn30["data"][0]["IndexComponent"]] == vn30_members()
    assert vn30["data"][0]["TotalSymbolNo"] == str(len(vn30_members()))
    with pytest.raises(NameError, match="Invalid consumerID"):
        MarketDataClient(SimpleNamespace(**{**vars(config), "consumerSecret": "wrong"}))

    ok = httpx.post(feed_max.base + "api/v2/Market/AccessToken",
                    json={"consumerID": CONSUMER_ID, "consumerSecret": CONSUMER_SECRET})
    assert list(ok.json()) == ["status", "message", "data"] and ok.json()["status"] == 200
    assert list(ok.json()["data"]) == ["accessToken"]
    for body in ({"consumerID": CONSUMER_ID, "consumerSecret": "nope"}, {"consumerID": CONSUMER_ID}, {}):
        bad = httpx.post(feed_max.base + "api/v2/Market/AccessToken", json=body)
        assert bad.status_code == 400
        assert bad.json() == {"status": 400, "message": "Invalid consumerID or consumerSecret", "data": None}
    assert CONSUMER_SECRET not in feed_max.log() and ok.json()["data"]["accessToken"] not in feed_max.log()


def _raw_http(port: int, head: str, body_chunks, timeout: float = 10) -> tuple[int, float]:
    """Send a hand-made HTTP request over a socket; (status, seconds to the answer). Stops sending once answered."""
    import socket

    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(head.encode())
        sock.setblocking(False)
        answer = b""
        for chunk in body_chunks:
            try:
                answer += sock.recv(4096)
            except BlockingIOError:
                pass
            if answer:
                break
            try:
                sock.sendall(chunk)
            except BlockingIOError:
                time.sleep(0.01)
            except OSError:  # the server answered and closed
                break
        sock.setblocking(True)
        while b"\r\n" not in answer:
            more = sock.recv(4096)
            if not more:
                break
            answer += more
    return int(answer.split(b" ", 2)[1]), time.monotonic() - started


def test_request_bodies_are_bounded_before_credentials_are_read(feed_max: Feed):
    import psutil

    from testbed.feed.app import MAX_BODY_BYTES

    rss_before = psutil.Process(feed_max.proc.pid).memory_info().rss
    url = "POST /api/v2/Market/AccessToken HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    # a declared 300 MB body: answered 413 before a byte of it is read
    status, _ = _raw_http(feed_max.port, url + "Content-Length: 300000000\r\n\r\n", [b"{" * 1024] * 10)
    assert status == 413
    # a chunked body with no length: counted as it arrives, 413 once past the bound (32 MB offered)
    chunk = b"%x\r\n%s\r\n" % (65536, b" " * 65536)
    status, _ = _raw_http(feed_max.port, url + "Transfer-Encoding: chunked\r\n\r\n", [chunk] * 512)
    assert status == 413
    grown = psutil.Process(feed_max.proc.pid).memory_info().rss - rss_before
    assert grown < 20 * 2**20, f"the feed grew by {grown / 2**20:.0f} MB reading refused bodies"
    # within the bound, bodies and query strings nested too deep for the JSON parser are a 400, never a 500
    deep = "[" * 30_000 + "]" * 30_000
    assert len(deep) < MAX_BODY_BYTES
    r = httpx.post(feed_max.base + "api/v2/Market/AccessToken", content=deep,
                   headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["message"] == "Invalid consumerID or consumerSecret"
    token = access_token(feed_max.base)
    query = urlencode({"clientProtocol": "1.5", "connectionData": "[" * 3000 + "]" * 3000})
    r = httpx.post(f"{feed_max.base}v2.0/signalr/negotiate?{query}", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 400 and r.text == "Invalid connection data."
    assert feed_max.alive() and "Traceback" not in feed_max.log()
    assert httpx.get(feed_max.base + "health").status_code == 200


# ----------------------------------------------------------------------------------------------------- auth


def test_bearer_required_on_negotiate_connect_and_rest(feed_max: Feed):
    base = feed_max.base
    token = access_token(base)
    for method in ("POST", "GET"):
        assert negotiate(base, None, method=method).status_code == 401
        assert negotiate(base, "not.a.token", method=method).status_code == 401
        assert negotiate(base, token[:-3] + "AAA", method=method).status_code == 401  # bad signature
        reply = negotiate(base, token, method=method)
        assert reply.status_code == 200
        body = reply.json()
        assert body["ProtocolVersion"] == "1.5" and body["TryWebSockets"] is True
        assert set(body) == {"Url", "ConnectionToken", "ConnectionId", "KeepAliveTimeout", "DisconnectTimeout",
                             "ConnectionTimeout", "TryWebSockets", "ProtocolVersion", "TransportConnectTimeout",
                             "LongPollDelay"}
    assert negotiate(base, None).json() == {"Message": "Authorization has been denied for this request."}
    conn_token = negotiate(base, token).json()["ConnectionToken"]
    query = urlencode({"transport": "webSockets", "connectionToken": conn_token, "connectionData": CONN_DATA,
                       "clientProtocol": "1.5"})
    url = f"ws://127.0.0.1:{feed_max.port}/v2.0/signalr/connect?{query}"
    for headers, status in (({}, 401), ({"Authorization": "Bearer junk"}, 401)):
        with pytest.raises(InvalidStatus) as refused:
            ws_connect(url, additional_headers=headers, open_timeout=5)
        assert refused.value.response.status_code == status
    with pytest.raises(InvalidStatus) as unknown:
        ws_connect(url.replace(conn_token, "never-negotiated"), additional_headers={"Authorization": f"Bearer {token}"})
    assert unknown.value.response.status_code == 400
    start = httpx.get(f"{base}v2.0/signalr/start?{query}", headers={"Authorization": f"Bearer {token}"})
    assert start.json() == {"Response": "started"}
    assert httpx.get(f"{base}v2.0/signalr/start?{query}").status_code == 401
    for path in ("IndexComponents?indexCode=VN30",
                 "DailyStockPrice?symbol=HPG&fromDate=20/07/2026&toDate=20/07/2026&pageIndex=1&pageSize=10"):
        assert httpx.get(f"{base}api/v2/Market/{path}").status_code == 401
        assert httpx.get(f"{base}api/v2/Market/{path}", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_abort_closes_the_connection_and_forgets_its_token(feed_max: Feed):
    client = RawClient.open(feed_max.base)
    query = urlencode({"transport": "webSockets", "connectionToken": client.connection_token,
                       "connectionData": CONN_DATA, "clientProtocol": "1.5"})
    assert httpx.post(f"{feed_max.base}v2.0/signalr/abort?{query}").status_code == 401
    aborted = httpx.post(f"{feed_max.base}v2.0/signalr/abort?{query}",
                         headers={"Authorization": f"Bearer {client.token}"})
    assert aborted.status_code == 200
    client.until(lambda c: False, timeout=5)
    assert client.closed.rcvd is not None and client.closed.rcvd.code == 1000
    with pytest.raises(InvalidStatus) as again:
        ws_connect(f"ws://127.0.0.1:{feed_max.port}/v2.0/signalr/connect?{query}",
                   additional_headers={"Authorization": f"Bearer {client.token}"})
    assert again.value.response.status_code == 400


# ----------------------------------------------------------------------------------------------------- channels


def test_switch_channels_replaces_the_subscription(feed_max: Feed):
    # stall-after=1: after the first frame the server goes silent for 1 s, so the switch lands mid-day for sure
    client = RawClient.open(feed_max.base, prefix="fault/stall-after=1,stall-for=1/")
    try:
        client.switch("B:HPG")
        client.until(lambda c: len(c.broadcasts()) >= 1)
        second = client.switch("MI:ALL")
        client.until(lambda c: sum(t == "MI" for t, _ in _types(c.broadcasts())) >= 26)
        kinds = _types(client.broadcasts())
        assert kinds[0] == ("B", "HPG")
        first_mi = next(i for i, (t, _) in enumerate(kinds) if t == "MI")
        assert set(kinds[:first_mi]) == {("B", "HPG")} and set(kinds[first_mi:]) == {("MI", "VNINDEX")}
        results = [i for i, m in enumerate(client.messages) if isinstance(m.obj, dict) and m.obj.get("I") == second]
        assert results and all(t == "MI" for m in client.messages[results[0]:] for t, _ in _types(m.broadcasts))
        assert len(kinds) - first_mi == 26  # every MI frame of the day came after the switch
    finally:
        client.close()


def test_bad_channel_gets_error_and_result_and_hub_name_is_case_insensitive(feed_max: Feed):
    client = RawClient.open(feed_max.base)
    try:
        for bad in ("FOO:ALL", "X-TRADE", ""):
            inv = client.switch(bad, hub="fcmarketdatav2hub", method="switchchannels")
            client.until(lambda c, inv=inv: any(isinstance(m.obj, dict) and m.obj.get("I") == inv for m in c.messages))
        errors = [e for m in client.messages for e in m.errors]
        assert len(errors) == 3 and "FOO" in errors[0] and "X-TRADE" in errors[1]
        error_frame = next(m.obj for m in client.messages if m.errors)
        assert error_frame["M"][0]["H"] == HUB and "C" in error_frame
        results = [m.obj for m in client.messages if isinstance(m.obj, dict) and "I" in m.obj]
        assert results == [{"I": "0"}, {"I": "1"}, {"I": "2"}]
        assert client.broadcasts() == []  # nothing subscribed yet: nothing sent
        unknown = client.switch("B:ALL", hub="OtherHub")
        client.until(lambda c: any(isinstance(m.obj, dict) and m.obj.get("I") == unknown for m in c.messages))
        reply = next(m.obj for m in client.messages if isinstance(m.obj, dict) and m.obj.get("I") == unknown)
        assert "Hub could not be resolved" in reply["E"]
        client.switch("MI:VNINDEX")  # a good call after the bad ones works
        client.until(lambda c: len(c.broadcasts()) == 26)
    finally:
        client.close()


# ----------------------------------------------------------------------------------------------------- faults


def test_fault_drop_after_closes_without_close_frame(feed_max: Feed, feed_lake: FeedLake):
    client = RawClient.open(feed_max.base, prefix="fault/drop-after=5/")
    client.switch("B:ALL,MI:ALL")
    client.until(lambda c: False, timeout=10)
    assert client.broadcasts() == feed_lake.real_payloads[:5]
    assert client.closed is not None and client.closed.rcvd is None  # dropped: no close frame


def test_fault_drop_at_exchange_time(feed_max: Feed, feed_lake: FeedLake):
    client = RawClient.open(feed_max.base, prefix="fault/drop-at=13:33:00/")
    client.switch("B:ALL,MI:ALL")
    client.until(lambda c: False, timeout=10)
    expected, seen_max = [], 0
    for p in feed_lake.real_payloads:
        seen_max = max(seen_max, _seconds(p))
        if seen_max >= 13 * 3600 + 33 * 60:
            break
        expected.append(p)
    assert 0 < len(expected) < len(feed_lake.real_payloads)
    assert client.broadcasts() == expected and client.closed.rcvd is None


def test_fault_stall_silences_frames_and_keepalives(feed_max: Feed, feed_lake: FeedLake):
    client = RawClient.open(feed_max.base, prefix="fault/stall-after=3,stall-for=1.5/")
    try:
        client.switch("B:ALL,MI:ALL")
        client.until(lambda c: len(c.broadcasts()) == len(feed_lake.real_payloads))
        data = [m for m in client.messages if m.broadcasts]
        gap = data[3].at - data[2].at
        assert 1.2 < gap < 5, gap  # keep-alive is every 0.3 s here: nothing at all came during the stall
        between = [m for m in client.messages if data[2].at < m.at < data[3].at]
        assert between == []
        client.until(lambda c: any(m.text == "{}" for m in c.messages[-3:]), timeout=5)  # keep-alives resume
        assert client.broadcasts() == feed_lake.real_payloads
    finally:
        client.close()


@pytest.mark.parametrize("kind", ["payload", "text"])
def test_fault_malformed_frames(feed_max: Feed, feed_lake: FeedLake, kind: str):
    client = RawClient.open(feed_max.base, prefix=f"fault/malformed-every=100,malformed={kind}/")
    try:
        client.switch("B:ALL,MI:ALL")
        expected = feed_lake.real_payloads
        n_bad = len(expected) // 100
        if kind == "payload":
            client.until(lambda c: len(c.broadcasts()) == len(expected) + n_bad)
            args = client.broadcasts()
            bad = [i for i, a in enumerate(args) if not _is_json(a)]
            assert bad == [100 * k + (k - 1) for k in range(1, n_bad + 1)]
            assert all(args[i] == args[i - 1][: len(args[i - 1]) // 2] for i in bad)
            assert [a for i, a in enumerate(args) if i not in set(bad)] == expected
        else:
            client.until(lambda c: len(c.broadcasts()) == len(expected))
            not_json = [m.text for m in client.messages if m.obj is None]
            assert len(not_json) == n_bad and all(t.startswith('{"C":"d-20260720-') for t in not_json)
            assert client.broadcasts() == expected
    finally:
        client.close()


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def test_fault_repeat_sends_the_same_frame_twice(feed_max: Feed, feed_lake: FeedLake):
    client = RawClient.open(feed_max.base, prefix="fault/repeat-every=50/")
    try:
        client.switch("B:ALL,MI:ALL")
        expected = feed_lake.real_payloads
        client.until(lambda c: len(c.broadcasts()) == len(expected) + len(expected) // 50)
        data = [m for m in client.messages if m.broadcasts]
        repeats = [i for i in range(1, len(data)) if data[i].text == data[i - 1].text]
        assert len(repeats) == len(expected) // 50
        assert [d.broadcasts[0] for i, d in enumerate(data) if i not in set(repeats)] == expected
        cursors = [d.obj["C"] for d in data]
        assert cursors[:3] == ["d-20260720-1", "d-20260720-2", "d-20260720-3"]
    finally:
        client.close()


def test_fault_expire_revokes_the_token(feed_max: Feed):
    client = RawClient.open(feed_max.base, prefix="fault/expire-after=10/")
    client.switch("B:ALL,MI:ALL")
    client.until(lambda c: False, timeout=10)
    assert len(client.broadcasts()) == 10
    assert [e for m in client.messages for e in m.errors] == ["Access token expired"]
    assert client.closed is not None and client.closed.rcvd is not None and client.closed.rcvd.code == 1008
    assert negotiate(feed_max.base, client.token).status_code == 401
    rest = httpx.get(feed_max.base + "api/v2/Market/IndexComponents?indexCode=VN30",
                     headers={"Authorization": f"Bearer {client.token}"})
    assert rest.status_code == 401
    assert negotiate(feed_max.base, access_token(feed_max.base)).status_code == 200  # a new token is fine


def test_token_lifetime_closes_the_socket_and_refuses_the_token(feed_lake: FeedLake, tmp_path: Path):
    with running_feed(feed_lake, tmp_path, REAL_DAY, "--speed", "max",
                      env={"VNTRACK_FEED_TOKEN_TTL_SECONDS": "2"}) as feed:
        client = RawClient.open(feed.base)
        opened = time.monotonic()
        client.until(lambda c: False, timeout=10)
        assert 0.5 < time.monotonic() - opened < 6
        assert client.closed.rcvd.code == 1008 and client.messages[-1].errors == ["Access token expired"]
        assert negotiate(feed.base, client.token).status_code == 401


# ----------------------------------------------------------------------------------------------------- pacing


def test_from_and_pacing_at_a_speed(feed_lake: FeedLake, tmp_path: Path):
    speed, start = 40, 13 * 3600 + 36 * 60
    kept = [p for p in feed_lake.real_payloads if _seconds(p) >= start]
    teff, running = [], 0
    for p in kept:
        running = max(running, _seconds(p))
        teff.append(running)
    expected_s = (teff[-1] - teff[0]) / speed  # 95 s of exchange time: 2.4 s
    with running_feed(feed_lake, tmp_path, REAL_DAY, "--speed", str(speed), "--from", "13:36") as feed:
        client = RawClient.open(feed.base)
        try:
            client.switch("B:ALL,MI:ALL")
            client.until(lambda c: len(c.broadcasts()) == len(kept), timeout=30)
            data = [m for m in client.messages if m.broadcasts]
            elapsed = data[-1].at - data[0].at
            assert client.broadcasts() == kept  # --from skips earlier frames; lake order kept
            assert 0.6 * expected_s - 0.2 < elapsed < 1.5 * expected_s + 1.5, (elapsed, expected_s)
            # a frame is never early: its arrival is at least its exchange offset / speed after the first
            early = [(i, d.at - data[0].at, (teff[i] - teff[0]) / speed) for i, d in enumerate(data)
                     if d.at - data[0].at < (teff[i] - teff[0]) / speed - 0.25]
            assert early == []
        finally:
            client.close()


def test_shared_clock_resumes_at_the_high_water_mark(feed_lake: FeedLake, tmp_path: Path):
    with running_feed(feed_lake, tmp_path, REAL_DAY, "--speed", "max") as feed:
        first = RawClient.open(feed.base, prefix="fault/drop-after=100/")
        first.switch("B:ALL,MI:ALL")
        first.until(lambda c: False, timeout=10)
        assert len(first.broadcasts()) == 100
        second = RawClient.open(feed.base)  # a reconnecting client: the day goes on where it was
        try:
            second.switch("B:ALL,MI:ALL")
            second.until(lambda c: len(c.broadcasts()) == len(feed_lake.real_payloads) - 100)
            assert first.broadcasts() + second.broadcasts() == feed_lake.real_payloads
            first_data = next(m for m in second.messages if m.broadcasts)
            assert first_data.obj["C"] == "d-20260720-101"
        finally:
            second.close()


# ----------------------------------------------------------------------------------------------------- REST


def _get(feed: Feed, path: str, **params) -> dict:
    token = access_token(feed.base)
    r = httpx.get(feed.base + "api/v2/Market/" + path, params=params, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    return r.json()


def _text(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:.6f}".rstrip("0").rstrip(".")


def test_daily_stock_price_totals_equal_the_frames(feed_synth: Feed, feed_lake: FeedLake):
    reply = _get(feed_synth, "DailyStockPrice", symbol="", fromDate="21/07/2026", toDate="21/07/2026",
                 pageIndex=1, pageSize=10)
    assert reply["status"] == "Success" and reply["totalRecord"] == 3
    rows = {r["Symbol"]: r for r in reply["data"]}
    assert list(rows) == ["HPG", "SSI", "VN30F2608"]
    truth = feed_lake.truth
    for sym, trades in truth["trades"].items():
        row = rows[sym]
        prices = [t[0] for t in trades]
        vol = sum(t[1] for t in trades)
        val = sum(int(t[0] * t[1] * t[3] + 0.5) for t in trades)
        ref, ceiling, floor = truth["limits"][sym]
        unknown = {"Time"} | (set() if sym in truth["r"] else {"ForeignCurrentRoom"})  # no R frame: room unknown
        assert all(isinstance(v, str) for k, v in row.items() if k not in unknown)
        assert all(row[k] is None for k in unknown)
        assert row["TradingDate"] == "21/07/2026"
        assert (row["TotalMatchVol"], row["TotalMatchVal"]) == (str(vol), str(val))
        assert (row["TotalTradedVol"], row["TotalTradedValue"]) == (str(vol), str(val))
        assert [row[k] for k in ("OpenPrice", "HighestPrice", "LowestPrice", "ClosePrice")] == \
            [_text(prices[0]), _text(max(prices)), _text(min(prices)), _text(prices[-1])]
        assert [row[k] for k in ("RefPrice", "CeilingPrice", "FloorPrice")] == [_text(x) for x in (ref, ceiling, floor)]
        assert row["PriceChange"] == _text(round(prices[-1] - ref, 6))
        assert row["TotalBuyTrade"] == str(sum(t[2] == "buy" for t in trades))
        assert row["TotalSellTradeVol"] == str(sum(t[1] for t in trades if t[2] == "sell"))
        if sym in truth["r"]:
            buy, sell, buy_val, sell_val, room = truth["r"][sym]
            assert [row[k] for k in ("ForeignBuyVolTotal", "ForeignSellVolTotal", "ForeignBuyValTotal",
                                     "ForeignSellValTotal", "ForeignCurrentRoom", "NetBuySellVol")] == \
                [str(buy), str(sell), _text(buy_val), _text(sell_val), _text(room), str(buy - sell)]
    assert list(rows["HPG"]) == [
        "TradingDate", "PriceChange", "PerPriceChange", "CeilingPrice", "FloorPrice", "RefPrice", "OpenPrice",
        "HighestPrice", "LowestPrice", "ClosePrice", "AveragePrice", "ClosePriceAdjusted", "TotalMatchVol",
        "TotalMatchVal", "TotalDealVal", "TotalDealVol", "ForeignBuyVolTotal", "ForeignCurrentRoom",
        "ForeignSellVolTotal", "ForeignBuyValTotal", "ForeignSellValTotal", "TotalBuyTrade", "TotalBuyTradeVol",
        "TotalSellTrade", "TotalSellTradeVol", "NetBuySellVol", "NetBuySellVal", "TotalTradedVol",
        "TotalTradedValue", "Symbol", "Time"]
    one = _get(feed_synth, "DailyStockPrice", symbol="ssi", fromDate="01/07/2026", toDate="30/07/2026",
               pageIndex=1, pageSize=10)
    assert [r["Symbol"] for r in one["data"]] == ["SSI"] and one["data"][0] == rows["SSI"]
    der = _get(feed_synth, "DailyStockPrice", **{"lookupRequest.market": "DER", "lookupRequest.fromDate": "21/07/2026",
                                                 "lookupRequest.toDate": "21/07/2026"})
    assert [r["Symbol"] for r in der["data"]] == ["VN30F2608"]
    page2 = _get(feed_synth, "DailyStockPrice", fromDate="21/07/2026", toDate="21/07/2026", pageIndex=2, pageSize=10)
    assert page2["data"] == [] and page2["totalRecord"] == 3
    other_day = _get(feed_synth, "DailyStockPrice", fromDate="01/06/2026", toDate="30/06/2026", pageSize=10)
    assert other_day == {"data": [], "message": "Success", "status": "Success", "totalRecord": 0}


def test_daily_stock_price_of_the_real_day_matches_its_b_frames(feed_max: Feed, feed_lake: FeedLake):
    reply = _get(feed_max, "DailyStockPrice", symbol="HPG", fromDate="20/07/2026", toDate="20/07/2026",
                 pageIndex=1, pageSize=10)
    bars = [json.loads(json.loads(p)["Content"]) for p in feed_lake.real_payloads]
    hpg = [b for b in bars if b.get("Symbol") == "HPG" and b["Volume"] > 0 and b["Close"] > 0]
    row = reply["data"][0]
    assert row["TotalMatchVol"] == str(int(sum(b["Volume"] for b in hpg)))
    assert row["TotalMatchVal"] == str(sum(int(b["Close"] * b["Volume"] + 0.5) for b in hpg))
    assert (row["OpenPrice"], row["ClosePrice"]) == (_text(hpg[0]["Close"]), _text(hpg[-1]["Close"]))
    assert row["RefPrice"] is None and row["ForeignBuyVolTotal"] == "0"  # B frames carry neither


@pytest.mark.parametrize("params, message", [
    ({"fromDate": "21/06/2026", "toDate": "22/07/2026"}, "max range 30 days"),  # 31 days
    ({"fromDate": "22/07/2026", "toDate": "21/07/2026"}, "max range 30 days"),  # from > to
    ({"fromDate": "2026-07-21", "toDate": "21/07/2026"}, "max range 30 days"),  # format
    ({"fromDate": "21/07/2026", "toDate": "21/07/2099"}, "max range 30 days"),  # to >= now
    ({"fromDate": "21/07/2026", "toDate": "21/07/2026", "pageSize": 7}, "PageSize must be one of"),
    ({"fromDate": "21/07/2026", "toDate": "21/07/2026", "pageIndex": 0}, "PageIndex"),
])
def test_daily_stock_price_constraints(feed_synth: Feed, params: dict, message: str):
    reply = _get(feed_synth, "DailyStockPrice", symbol="HPG", **{"pageIndex": 1, "pageSize": 10, **params})
    assert reply["status"] == "Error" and reply["data"] is None and message in reply["message"]
    assert set(reply) == {"data", "message", "status"}


def test_index_components_other_codes_are_empty(feed_max: Feed):
    assert _get(feed_max, "IndexComponents", indexCode="HNX30") == \
        {"data": [], "message": "Success", "status": "Success", "totalRecord": 0}
    assert _get(feed_max, "IndexComponents", indexCode="vn30")["data"][0]["IndexCode"] == "VN30"


# ----------------------------------------------------------------------------------------------------- process


def test_sigterm_closes_sockets_and_exits_cleanly(feed_lake: FeedLake, tmp_path: Path):
    feed = start_feed(feed_lake.root, tmp_path, REAL_DAY, "--speed", "1")
    try:
        client = RawClient.open(feed.base)
        client.switch("B:ALL")
        client.until(lambda c: len(c.broadcasts()) > 0)
        t0 = time.monotonic()
        code = feed.stop(signal.SIGTERM)
        assert code == 0 and time.monotonic() - t0 < 8
        client.until(lambda c: False, timeout=5)
        assert client.closed is not None and client.closed.rcvd is not None and client.closed.rcvd.code == 1012
        log = feed.log()
        assert "SIGTERM received" in log and "stopped by SIGTERM" in log and "Traceback" not in log
        assert "subscribes 'B:ALL'" in log
        assert client.token not in log and CONSUMER_SECRET not in log
    finally:
        feed.stop(signal.SIGKILL)


def test_cli_refuses_missing_credentials_and_unknown_days(feed_lake: FeedLake):
    env = {k: v for k, v in os.environ.items() if not k.startswith("VNTRACK_")}
    env["VNTRACK_LAKE"] = str(feed_lake.root)
    cmd = [sys.executable, "-m", "vntrack.commands.feed", "--port", "0"]

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([*cmd, *args], check=False, env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)

    no_creds = run("--date", "2026-07-20")
    assert no_creds.returncode == 1 and "VNTRACK_FEED_CONSUMER_SECRET" in " ".join(no_creds.stderr.split())
    env.update({"VNTRACK_FEED_CONSUMER_ID": "a", "VNTRACK_FEED_CONSUMER_SECRET": "b"})
    no_day = run("--date", "2026-07-22")
    message = " ".join(no_day.stderr.split())
    assert no_day.returncode == 1 and "2026-07-20" in message and "2026-07-21" in message
    late = run("--date", "2026-07-20", "--from", "16:00")
    assert late.returncode == 1 and "choose an earlier --from" in " ".join(late.stderr.split())
    bad_speed = run("--date", "2026-07-20", "--speed", "fast")
    assert bad_speed.returncode == 2 and "speed" in bad_speed.stderr
