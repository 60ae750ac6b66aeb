"""Classic ASP.NET SignalR 1.5 as SSI's ``FcMarketDataV2Hub`` speaks it: negotiate, connect, start, abort, ping,
``SwitchChannels``, keep-alive, and the per-connection send loop (pacing + faults).

Wire (docs/ssi-wire.md §1.2; the ssi-fc-data client: docs/operations.md §9):

* ``GET|POST {base}/v2.0/signalr/negotiate?clientProtocol=1.5&connectionData=[{"name":"FcMarketDataV2Hub"}]``,
  bearer required (401 ``{"Message":"Authorization has been denied for this request."}`` otherwise), returns
  ``Url, ConnectionToken, ConnectionId, KeepAliveTimeout, DisconnectTimeout, ConnectionTimeout, TryWebSockets,
  ProtocolVersion, TransportConnectTimeout, LongPollDelay``.
* websocket ``{base}/v2.0/signalr/connect?transport=webSockets&connectionToken=…&connectionData=…``
  (``/reconnect`` is the same), bearer required and the connection token must come from ``negotiate`` with a
  token of the same consumer; a refusal is an HTTP answer to the upgrade (401 / 400 / 403), not a socket.
* server frames: init ``{"C":"<cursor>","S":1,"M":[]}``; keep-alive ``{}``; data
  ``{"C":"<cursor>","M":[{"H":"FcMarketDataV2Hub","M":"Broadcast","A":["<payload>"]}]}`` whose ``A[0]`` is the
  lake's ``payload`` exactly; hub error ``{"C":…,"M":[{"H":"FcMarketDataV2Hub","M":"Error","A":["<message>"]}]}``;
  invocation result ``{"I":"<id>"}`` (or with ``"E"`` for an unknown hub or method).
* cursor ``C`` = ``d-<yyyymmdd>-<position>``: the 1-based position of the frame in the served day, the same for
  every connection, so a client can see a gap.
* client -> server ``{"H":"FcMarketDataV2Hub","M":"SwitchChannels","A":["X-TRADE:ALL,MI:VN30"],"I":0}``; hub and
  method names are case-insensitive; each call replaces the subscription; a bad channel string gets the hub's
  ``Error`` message and the invocation result, and the previous subscription stays.
* ``GET /start`` -> ``{"Response":"started"}``, ``GET /ping`` -> ``{"Response":"pong"}``, ``POST /abort`` closes the
  connection (code 1000) and forgets its connection token.

Data flows only after the connection's first ``SwitchChannels`` (that call joins the market clock).
"""

from __future__ import annotations

import asyncio
import json
import secrets
import uuid
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from ssi.channels import NOTHING, ChannelError, Subscription, parse_channels
from testbed.feed.day import json_literal, seconds
from testbed.feed.faults import FaultSpec, FaultSpecError, parse_faults
from testbed.feed.pacing import Pace
from testbed.feed.state import FeedState, Negotiated, log
from testbed.feed.tokens import Claims, TokenError, bearer

HUB = "FcMarketDataV2Hub"
PROTOCOL_VERSION = "1.5"
HUB_PATH = "/v2.0/signalr"
DENIED = {"Message": "Authorization has been denied for this request."}
KEEPALIVE = "{}"
TOKEN_EXPIRED = "Access token expired"
MAX_NEGOTIATED = 10_000  # connection tokens remembered (a client reconnecting all day must not grow memory)
_YIELD_EVERY = 256  # frames scanned between two explicit yields to the event loop at --speed max


# ------------------------------------------------------------------------------------------------ framing


def cursor(day_tag: str, position: int) -> str:
    """The message id ``C`` of the frame at 1-based ``position`` of the served day."""
    return f"d-{day_tag}-{position}"


_json_string = json_literal
_BROADCAST_MID = f'","M":[{{"H":"{HUB}","M":"Broadcast","A":['  # between the cursor and the argument
_BROADCAST_TAIL = "]}]}"


def init_frame(c: str) -> str:
    return f'{{"C":{_json_string(c)},"S":1,"M":[]}}'


def broadcast_frame(c: str, payload: str) -> str:
    """A data frame carrying ``payload`` verbatim as the single argument of ``Broadcast``."""
    return f'{{"C":{_json_string(c)},"M":[{{"H":"{HUB}","M":"Broadcast","A":[{_json_string(payload)}]}}]}}'


def hub_error_frame(c: str, message: str) -> str:
    """The hub calling the client's ``Error(message)``."""
    return f'{{"C":{_json_string(c)},"M":[{{"H":"{HUB}","M":"Error","A":[{_json_string(message)}]}}]}}'


def result_frame(invocation_id: str | None, error: str | None = None) -> str:
    """The result of a client invocation: ``{"I":"<id>"}``, with ``"E"`` on error."""
    body: dict[str, Any] = {"I": invocation_id}
    if error is not None:
        body["E"] = error
    return json.dumps(body, separators=(",", ":"))


# ------------------------------------------------------------------------------------------------ auth helpers


def authorize(state: FeedState, authorization: str | None) -> Claims | None:
    """The claims of the request's bearer token, or None when it is missing or refused (reason logged)."""
    try:
        return state.tokens.verify(bearer(authorization))
    except TokenError as exc:
        log.info("refused bearer: %s", exc)
        return None


def _spec(state: FeedState, *texts: str | None) -> FaultSpec:
    spec = state.faults
    for text in texts:
        spec = parse_faults(text, spec)
    return spec


def _hub_names(connection_data: str | None) -> list[str]:
    if not connection_data:
        return []
    try:
        hubs = json.loads(connection_data)
    except RecursionError:  # nested deeper than the parser goes: not connection data
        raise ValueError("connectionData is nested too deep") from None
    if not isinstance(hubs, list) or not all(isinstance(h, dict) for h in hubs):
        raise ValueError("connectionData must be a JSON list of {\"name\": ...}")
    return [str(h.get("name", "")) for h in hubs]


def _check_hubs(connection_data: str | None) -> str | None:
    """None when ``connectionData`` names only our hub (or is absent), else the error text."""
    try:
        names = _hub_names(connection_data)
    except ValueError:
        return "Invalid connection data."
    for name in names:
        if name.lower() != HUB.lower():
            return f"'{name}' Hub could not be resolved."
    return None


# ------------------------------------------------------------------------------------------------ HTTP endpoints


def _prefix(request: Request) -> str:
    spec = request.path_params.get("spec")
    return f"/fault/{spec}" if spec else ""


async def negotiate(request: Request) -> Response:
    """``GET|POST …/v2.0/signalr/negotiate``: announce a connection (bearer required)."""
    state: FeedState = request.app.state.feed
    claims = authorize(state, request.headers.get("authorization"))
    if claims is None:
        return JSONResponse(DENIED, status_code=401)
    problem = _check_hubs(request.query_params.get("connectionData"))
    if problem:
        return PlainTextResponse(problem, status_code=400)
    try:
        faults = _spec(state, request.path_params.get("spec"))
    except FaultSpecError as exc:
        return PlainTextResponse(str(exc), status_code=400)
    token = secrets.token_urlsafe(32)
    connection_id = str(uuid.uuid4())
    while len(state.negotiated) >= MAX_NEGOTIATED:  # forget the oldest announcements first
        state.negotiated.pop(next(iter(state.negotiated)))
    state.negotiated[token] = Negotiated(connection_id=connection_id, subject=claims.sub, faults=faults)
    keepalive = state.settings.keepalive_seconds
    return JSONResponse(
        {
            "Url": _prefix(request) + HUB_PATH,
            "ConnectionToken": token,
            "ConnectionId": connection_id,
            "KeepAliveTimeout": 2.0 * keepalive,
            "DisconnectTimeout": 3.0 * keepalive,
            "ConnectionTimeout": 110.0,
            "TryWebSockets": True,
            "ProtocolVersion": PROTOCOL_VERSION,
            "TransportConnectTimeout": 5.0,
            "LongPollDelay": 0.0,
        }
    )


def _known(state: FeedState, request: Request) -> tuple[Negotiated | None, Response | None]:
    if authorize(state, request.headers.get("authorization")) is None:
        return None, JSONResponse(DENIED, status_code=401)
    negotiated = state.negotiated.get(request.query_params.get("connectionToken", ""))
    if negotiated is None:
        return None, PlainTextResponse("The ConnectionId is in the incorrect format.", status_code=400)
    return negotiated, None


async def start(request: Request) -> Response:
    """``GET …/start``: ``{"Response":"started"}`` (the Python SDK never calls it; .NET and Node do)."""
    _, refusal = _known(request.app.state.feed, request)
    return refusal or JSONResponse({"Response": "started"})


async def ping(request: Request) -> Response:
    """``GET …/ping``: ``{"Response":"pong"}``."""
    return JSONResponse({"Response": "pong"})


async def abort(request: Request) -> Response:
    """``POST …/abort``: close the connection (code 1000) and forget its connection token."""
    state: FeedState = request.app.state.feed
    negotiated, refusal = _known(state, request)
    if refusal:
        return refusal
    state.negotiated.pop(request.query_params.get("connectionToken", ""), None)
    connection = state.connections.get(negotiated.connection_id)
    if connection is not None:
        connection.close("abort")
    return Response(status_code=200)


# ------------------------------------------------------------------------------------------------ websocket


class ConnectEndpoint:
    """ASGI app of ``…/connect`` and ``…/reconnect``: check the upgrade, then run a :class:`Connection`."""

    async def __call__(self, scope, receive, send) -> None:
        message = await receive()
        if message["type"] != "websocket.connect":  # pragma: no cover - the server always starts with connect
            return
        state: FeedState = scope["app"].state.feed
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        query = {k: v[0] for k, v in parse_qs(scope.get("query_string", b"").decode("latin-1")).items()}
        claims = authorize(state, headers.get("authorization"))
        if claims is None:
            await _deny(scope, send, 401, json.dumps(DENIED), "application/json")
            return
        if query.get("transport", "").lower() != "websockets":
            await _deny(scope, send, 400, "Protocol error: Unknown transport.")
            return
        negotiated = state.negotiated.get(query.get("connectionToken", ""))
        if negotiated is None:
            await _deny(scope, send, 400, "The ConnectionId is in the incorrect format.")
            return
        if negotiated.subject != claims.sub:
            await _deny(scope, send, 403, "Unrecognized user identity. The user identity cannot change during "
                                          "an active SignalR connection.")
            return
        problem = _check_hubs(query.get("connectionData"))
        if problem:
            await _deny(scope, send, 400, problem)
            return
        try:
            faults = parse_faults(scope.get("path_params", {}).get("spec"), negotiated.faults)
        except FaultSpecError as exc:
            await _deny(scope, send, 400, str(exc))
            return
        client = scope.get("client") or ("?", 0)
        connection = Connection(state, negotiated.connection_id, claims, faults, send, f"{client[0]}:{client[1]}")
        await send({"type": "websocket.accept"})
        await connection.run(receive)


async def _deny(scope, send, status: int, body: str, content_type: str = "text/plain; charset=utf-8") -> None:
    """Refuse an upgrade with a plain HTTP answer (WebSocket Denial Response), or 403 where unsupported."""
    if "websocket.http.response" in scope.get("extensions", {}):
        data = body.encode("utf-8")
        headers = [(b"content-type", content_type.encode()), (b"content-length", str(len(data)).encode())]
        await send({"type": "websocket.http.response.start", "status": status, "headers": headers})
        await send({"type": "websocket.http.response.body", "body": data})
    else:  # pragma: no cover - uvicorn supports the extension
        await send({"type": "websocket.close", "code": 1008})
    log.info("refused connect: HTTP %d %s", status, body[:80])


class Connection:
    """One accepted SignalR websocket: reads invocations, sends keep-alives and the paced, filtered day.

    The connection ends when the client goes away, on ``/abort``, on a fault (drop, expire) or when the
    access token expires; :meth:`run` then returns (after a close frame, except for a drop).
    """

    def __init__(self, state: FeedState, connection_id: str, claims: Claims, faults: FaultSpec, send,
                 client: str) -> None:
        self.state = state
        self.id = connection_id
        self.claims = claims
        self.faults = faults
        self.client = client
        self._send_raw = send
        self.subscription: Subscription = NOTHING
        self.sent = 0
        self.position = 0
        self._day_tag = state.day.day.strftime("%Y%m%d")
        self._unmuted = asyncio.Event()
        self._unmuted.set()
        self._writer: asyncio.Task | None = None
        self._closing: asyncio.Future | None = None
        self._close_sent = False
        self._calls: asyncio.Queue[str] = asyncio.Queue()

    # ------------------------------------------------------------------------------------------- lifecycle

    async def run(self, receive) -> None:
        """Serve until the connection ends (class docstring)."""
        loop = asyncio.get_running_loop()
        self._closing = loop.create_future()
        self.state.connections[self.id] = self
        log.info("connect %s from %s (faults: %s)", self.id, self.client, self.faults.describe())
        tasks = [
            asyncio.create_task(self._guard(self._read(receive))),
            asyncio.create_task(self._guard(self._invoke())),
            asyncio.create_task(self._guard(self._keepalive())),
            asyncio.create_task(self._guard(self._watch_token())),
        ]
        try:
            await self._send(init_frame(cursor(self._day_tag, self.position)))
            reason = await self._closing
        finally:
            if self._writer is not None:
                tasks.append(self._writer)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self.state.connections.pop(self.id, None)
        if reason == "abort":
            await self._try_close(1000, "aborted")
        log.info("disconnect %s: %s after %d frames (position %d/%d)", self.id, reason, self.sent, self.position,
                 len(self.state.day))

    def close(self, reason: str) -> None:
        """End the connection (first reason wins): ``client``, ``abort``, ``drop``, ``expired``, ``error: …``."""
        if self._closing is not None and not self._closing.done():
            self._closing.set_result(reason)

    async def _guard(self, coro) -> None:
        try:
            await coro
        except asyncio.CancelledError:
            raise
        except OSError as exc:  # uvicorn's ClientDisconnected, socket errors
            self.close(f"client gone ({type(exc).__name__})")
        except Exception as exc:  # noqa: BLE001 - any bug ends this connection, loudly, not the server
            log.exception("connection %s failed", self.id)
            self.close(f"error: {exc}")

    async def _send(self, text: str) -> None:
        if not self._unmuted.is_set():
            await self._unmuted.wait()
        if self._close_sent:
            raise ConnectionError("the socket is closing")
        await self._send_raw({"type": "websocket.send", "text": text})

    async def _try_close(self, code: int, reason: str) -> None:
        if self._close_sent:
            return
        self._close_sent = True
        try:
            await self._send_raw({"type": "websocket.close", "code": code, "reason": reason})
        except (OSError, RuntimeError):
            pass

    # ------------------------------------------------------------------------------------------- tasks

    async def _read(self, receive) -> None:
        """Read the socket; invocations go to :meth:`_invoke` so a stalled reply never hides a disconnect."""
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                self.close(f"client closed (code {message.get('code')})")
                return
            if message["type"] == "websocket.receive":
                text = message.get("text")
                if text is None:
                    text = (message.get("bytes") or b"").decode("utf-8", errors="replace")
                self._calls.put_nowait(text)

    async def _invoke(self) -> None:
        while True:
            await self._on_invocation(await self._calls.get())

    async def _keepalive(self) -> None:
        interval = self.state.settings.keepalive_seconds
        while True:
            await asyncio.sleep(interval)
            await self._send(KEEPALIVE)

    async def _watch_token(self) -> None:
        await asyncio.sleep(max(0.0, self.state.tokens.seconds_left(self.claims)))
        await self._expire("token expired", revoke=False)

    async def _on_invocation(self, text: str) -> None:
        try:
            call = json.loads(text)
        except (ValueError, RecursionError):
            log.warning("connection %s sent a frame that is not JSON (%d chars); ignored", self.id, len(text))
            return
        if not isinstance(call, dict):
            return
        inv = None if call.get("I") is None else str(call.get("I"))
        hub, method, args = call.get("H"), call.get("M"), call.get("A")
        if not isinstance(hub, str) or hub.lower() != HUB.lower():
            await self._send(result_frame(inv, f"'{hub}' Hub could not be resolved."))
            return
        if not isinstance(method, str) or method.lower() != "switchchannels" or not isinstance(args, list) \
                or len(args) != 1:
            await self._send(result_frame(inv, f"'{method}' method could not be resolved."))
            return
        try:
            subscription = parse_channels(args[0])
        except ChannelError as exc:
            log.info("connection %s: refused channel %r: %s", self.id, args[0], exc)
            await self._send(hub_error_frame(cursor(self._day_tag, self.position), str(exc)))
            await self._send(result_frame(inv))
            return
        self.subscription = subscription
        log.info("connection %s subscribes %r", self.id, subscription.text)
        if self._writer is None:
            pace = self.state.timeline.join()
            self.position = pace.start
            self._writer = asyncio.create_task(self._guard(self._write(pace)))
        await self._send(result_frame(inv))

    # ------------------------------------------------------------------------------------------- the day

    async def _write(self, pace: Pace) -> None:
        """Send the day from ``pace.start``: paced, filtered by the current subscription, with the faults."""
        state, f = self.state, self.faults
        day, timeline = state.day, state.timeline
        payloads, types, symbols, literals = day.payloads, day.data_types, day.symbols, day.literals
        head = f'{{"C":"{cursor(self._day_tag, 0)[:-1]}'  # the cursor without its position (no JSON escape)
        teff = day.teff_list
        n = len(payloads)
        loop = asyncio.get_running_loop()
        at = {name: (seconds(day.day, t) if t is not None else None)
              for name, t in (("drop", f.drop_at), ("stall", f.stall_at), ("expire", f.expire_at))}
        joined_t = teff[pace.start] if pace.start < n else float("inf")
        crossing = {k: v for k, v in at.items() if v is not None and joined_t < v}
        paced = pace.speed is not None
        counting = f.active
        i = pace.start
        while i < n:
            t = teff[i]
            if crossing:
                if crossing.get("drop") is not None and t >= crossing["drop"]:
                    log.info("connection %s: fault drop-at %s", self.id, f.drop_at)
                    self.close("drop (fault drop-at)")
                    return
                if crossing.get("expire") is not None and t >= crossing["expire"]:
                    await self._expire("fault expire-at")
                    return
                if crossing.get("stall") is not None and t >= crossing["stall"]:
                    del crossing["stall"]
                    await self._stall("stall-at")
            if paced:
                delay = pace.due(t) - loop.time()
                if delay > 0.0005:
                    await asyncio.sleep(delay)
            if self.subscription.matches(types[i], symbols[i]):
                text = f"{head}{i + 1}{_BROADCAST_MID}{literals[i]}{_BROADCAST_TAIL}"  # = broadcast_frame()
                await self._send(text)
                self.sent += 1
                self.position = i + 1
                timeline.advance(i + 1)
                if counting and await self._after_broadcast(text, payloads[i], i):
                    return
            else:
                self.position = i + 1
                timeline.advance(i + 1)
            i += 1
            if not i % _YIELD_EVERY:
                await asyncio.sleep(0)
        log.info("connection %s: end of the day's frames (%d sent); keep-alives go on", self.id, self.sent)

    async def _after_broadcast(self, text: str, payload: str, i: int) -> bool:
        """Count faults after a Broadcast; True when the connection must end."""
        f, n = self.faults, self.sent
        if f.repeat_every and n % f.repeat_every == 0:
            await self._send(text)
        if f.malformed_every and n % f.malformed_every == 0:
            if f.malformed == "text":
                bad = text[: len(text) // 2]
            else:
                bad = broadcast_frame(cursor(self._day_tag, i + 1), payload[: len(payload) // 2])
            await self._send(bad)
        if f.drop_after and n >= f.drop_after:
            log.info("connection %s: fault drop-after=%d", self.id, f.drop_after)
            self.close("drop (fault drop-after)")
            return True
        if f.expire_after and n >= f.expire_after:
            await self._expire("fault expire-after")
            return True
        if f.stall_after and n == f.stall_after:
            await self._stall("stall-after")
        return False

    async def _stall(self, why: str) -> None:
        log.info("connection %s: fault %s: silent for %gs", self.id, why, self.faults.stall_for)
        self._unmuted.clear()
        try:
            await asyncio.sleep(self.faults.stall_for)
        finally:
            self._unmuted.set()

    async def _expire(self, why: str, revoke: bool = True) -> None:
        """Revoke the connection's token, tell the client through ``Error``, close with 1008."""
        if revoke:
            self.state.tokens.revoke(self.claims.jti)
        log.info("connection %s: %s: token %s refused from now on", self.id, why, self.claims.jti)
        self._unmuted.set()
        try:
            await self._send(hub_error_frame(cursor(self._day_tag, self.position), TOKEN_EXPIRED))
        except OSError:
            pass
        await self._try_close(1008, "token expired")
        self.close("expired")
