"""SSI FastConnect Data v2 streaming, the client side: access token, classic SignalR 1.5 negotiate + connect.

What the official clients do (docs/ssi-wire.md §1.1-1.2), without their
gaps (the SDK prints the bearer token and never reconnects):

1. ``POST {rest_url}api/v2/Market/AccessToken`` body ``{"consumerID","consumerSecret"}`` ->
   ``{"status":200,"message":"Success","data":{"accessToken":"<JWT>"}}``; any other status (in the body or the
   HTTP code) is a refusal of the credentials (:class:`AuthRefused`, never retried).
2. ``POST {stream_url}v2.0/signalr/negotiate?clientProtocol=1.5&connectionData=[{"name":"FcMarketDataV2Hub"}]``
   with ``Authorization: Bearer <JWT>`` -> ``ConnectionToken``, ``KeepAliveTimeout``, ``ProtocolVersion``...
3. WebSocket ``ws(s)://…/v2.0/signalr/connect?transport=webSockets&connectionToken=…&connectionData=…&
   clientProtocol=…`` with the same header. The daemon reads it with ``picows`` (:func:`open_hub`,
   :class:`HubSocket`: every complete message is handed to a callback synchronously, as it is parsed from the
   socket buffer, with no future or queue per message: about half the CPU per frame of the ``websockets``
   asyncio client, docs/capture.md "Throughput"); :func:`open_socket` is the ``websockets`` client the
   benchmarks' counting baselines use. No compression, no protocol pings (SignalR's ``{}`` keep-alive is the
   liveness signal); a server ping is answered.
4. ``{"H":"FcMarketDataV2Hub","M":"SwitchChannels","A":["<channels>"],"I":<n>}`` (:func:`switch_channels`).

Secrets: the token, the connection token and the consumer secret never appear in a repr, a log line or an
exception message (:class:`AccessToken` and :class:`Negotiation` hide them).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit, urlunsplit

import httpx
import picows
from picows import WSCloseCode, WSMsgType

from ssi.rest import AccessToken, TransientError, response_message
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus, WebSocketException

HUB = "FcMarketDataV2Hub"
CLIENT_PROTOCOL = "1.5"
CONNECTION_DATA = json.dumps([{"name": HUB}], separators=(",", ":"))
HUB_PATH = "v2.0/signalr"
DEFAULT_KEEPALIVE_TIMEOUT_S = 20.0  # classic SignalR's default when negotiate does not say


class Unauthorized(RuntimeError):
    """HTTP 401 on negotiate / connect: the token is no longer accepted (expired, revoked)."""


@dataclass(frozen=True)
class Negotiation:
    """What ``negotiate`` announced; the connection token never shows in ``repr``."""

    connection_token: str = field(repr=False)
    connection_id: str
    protocol_version: str
    keepalive_timeout_s: float


def _hub_url(stream_url: str, endpoint: str) -> str:
    return f"{stream_url}{HUB_PATH}/{endpoint}"


async def negotiate(http: httpx.AsyncClient, stream_url: str, token: AccessToken) -> Negotiation:
    """``POST {stream_url}v2.0/signalr/negotiate`` (the Python SDK's verb) with the bearer header.

    Raises
    ------
    Unauthorized : HTTP 401 (the token is refused).
    TransientError : network error, another status, or an answer without ``ConnectionToken``.
    """
    query = urlencode({"clientProtocol": CLIENT_PROTOCOL, "connectionData": CONNECTION_DATA})
    try:
        response = await http.post(f"{_hub_url(stream_url, 'negotiate')}?{query}",
                                   headers={"Authorization": f"Bearer {token.value}"})
    except httpx.HTTPError as exc:
        raise TransientError(f"negotiate failed: {type(exc).__name__}: {exc}") from None
    if response.status_code == 401:
        raise Unauthorized("negotiate: HTTP 401 (access token refused)")
    if response.status_code != 200:
        raise TransientError(f"negotiate: HTTP {response.status_code} {response_message(response)}")
    try:
        body = response.json()
        connection_token = body["ConnectionToken"]
    except (ValueError, KeyError, TypeError):
        raise TransientError("negotiate: the answer has no ConnectionToken") from None
    try:
        keepalive = float(body.get("KeepAliveTimeout") or DEFAULT_KEEPALIVE_TIMEOUT_S)
    except (TypeError, ValueError):
        keepalive = DEFAULT_KEEPALIVE_TIMEOUT_S
    return Negotiation(str(connection_token), str(body.get("ConnectionId", "")),
                       str(body.get("ProtocolVersion") or CLIENT_PROTOCOL), keepalive)


def connect_url(stream_url: str, negotiation: Negotiation) -> str:
    """The WebSocket URL of ``connect`` (``http`` -> ``ws``, ``https`` -> ``wss``). Holds the connection token:
    never log it."""
    query = urlencode({"transport": "webSockets", "connectionToken": negotiation.connection_token,
                       "connectionData": CONNECTION_DATA, "clientProtocol": negotiation.protocol_version})
    parts = urlsplit(_hub_url(stream_url, "connect"))
    scheme = "wss" if parts.scheme == "https" else "ws"
    return urlunsplit((scheme, parts.netloc, parts.path, query, ""))


async def open_socket(stream_url: str, negotiation: Negotiation, token: AccessToken,
                      timeout_s: float) -> ClientConnection:
    """Open the hub WebSocket.

    Raises
    ------
    Unauthorized : the upgrade was refused with HTTP 401.
    TransientError : any other refusal or network error.
    """
    try:
        return await connect(connect_url(stream_url, negotiation),
                             additional_headers={"Authorization": f"Bearer {token.value}"},
                             max_size=None, max_queue=4096, open_timeout=timeout_s, close_timeout=2,
                             ping_interval=None, compression=None)
    except InvalidStatus as exc:
        status = exc.response.status_code
        if status == 401:
            raise Unauthorized("connect: HTTP 401 (access token refused)") from None
        raise TransientError(f"connect: HTTP {status}") from None
    except (OSError, TimeoutError, WebSocketException) as exc:
        raise TransientError(f"connect failed: {type(exc).__name__}: {exc}") from None


def switch_channels(channels: str, invocation: int) -> str:
    """The ``SwitchChannels`` invocation frame (docs/ssi-wire.md §1.2)."""
    return json.dumps({"H": HUB, "M": "SwitchChannels", "A": [channels], "I": invocation}, separators=(",", ":"))


# ----------------------------------------------------------------------------------------------- picows


_TEXT, _BINARY, _CONTINUATION, _CLOSE = WSMsgType.TEXT, WSMsgType.BINARY, WSMsgType.CONTINUATION, WSMsgType.CLOSE
_time_ns = time.time_ns


class HubSocket(picows.WSListener):
    """One hub WebSocket read with ``picows``: every complete message goes to ``on_message(text, recv_ns)``.

    ``on_message`` runs synchronously inside the socket's read callback, once per message, in arrival order;
    ``recv_ns`` is ``time.time_ns()`` at that moment. A text message that is not valid UTF-8, and a binary
    message, are decoded with replacement characters (kept for quarantine, never fatal). A fragmented message is
    reassembled first. An exception raised by ``on_message`` is kept in :attr:`error`, the socket is aborted, and
    :meth:`wait_closed` raises it. A server close frame is answered and the socket closed; its code and reason are
    :attr:`close_code` / :attr:`close_reason` (None / "" when the connection ended without one).
    """

    def __init__(self, on_message: Callable[[str, int], None]) -> None:
        super().__init__()
        self.on_message = on_message
        self.transport: picows.WSTransport | None = None
        self.close_code: int | None = None
        self.close_reason = ""
        self.error: BaseException | None = None
        self._parts: list[bytes] | None = None
        self._closed = asyncio.get_running_loop().create_future()

    # picows callbacks ------------------------------------------------------------------------------------

    def on_ws_connected(self, transport: picows.WSTransport) -> None:
        self.transport = transport

    def on_ws_frame(self, transport: picows.WSTransport, frame: picows.WSFrame) -> None:
        kind = frame.msg_type
        if kind is _TEXT and frame.fin:  # the hot path: one whole text message
            now = _time_ns()
            try:
                text = frame.get_payload_as_utf8_text()
            except UnicodeDecodeError:
                text = frame.get_payload_as_bytes().decode("utf-8", errors="replace")
            self._deliver(text, now)
        elif kind is _TEXT or kind is _BINARY or kind is _CONTINUATION:
            if kind is not _CONTINUATION:
                self._parts = []
            elif self._parts is None:  # a continuation of nothing: protocol noise, dropped
                return
            self._parts.append(frame.get_payload_as_bytes())
            if frame.fin:
                now = _time_ns()
                parts, self._parts = self._parts, None
                self._deliver(b"".join(parts).decode("utf-8", errors="replace"), now)
        elif kind is _CLOSE:
            self.close_code = int(frame.get_close_code())
            try:
                self.close_reason = frame.get_close_reason() or ""
            except UnicodeDecodeError:
                self.close_reason = ""
            transport.send_close(frame.get_close_code())
            transport.disconnect()

    def on_ws_disconnected(self, transport: picows.WSTransport) -> None:
        if not self._closed.done():
            self._closed.set_result(None)

    def _deliver(self, text: str, now: int) -> None:
        """Hand one whole message to ``on_message``; what it raises ends the connection (``wait_closed`` re-raises
        it) instead of escaping into picows' reader."""
        try:
            self.on_message(text, now)
        except BaseException as exc:  # noqa: BLE001 - handed to wait_closed(), which re-raises it
            self._fail(exc)

    def _fail(self, exc: BaseException) -> None:
        if self.error is None:
            self.error = exc
        self.abort()

    # use ------------------------------------------------------------------------------------------------------

    def send(self, text: str) -> None:
        """Send one text message (buffered by the transport; never blocks)."""
        if self.transport is not None:
            self.transport.send(WSMsgType.TEXT, text.encode("utf-8"))

    def abort(self) -> None:
        """Close the socket at once, without a close handshake."""
        if self.transport is not None:
            self.transport.disconnect(graceful=False)

    async def close(self) -> None:
        """Send a normal close frame and disconnect (waits at most 2 s for the socket to go)."""
        if self.transport is None or self._closed.done():
            return
        self.transport.send_close(WSCloseCode.OK)
        self.transport.disconnect()
        try:
            await asyncio.wait_for(asyncio.shield(self._closed), 2)
        except TimeoutError:
            self.abort()

    async def wait_closed(self) -> None:
        """Return when the socket is closed.

        Raises
        ------
        BaseException : what ``on_message`` raised (the socket was aborted because of it).
        """
        await self._closed
        if self.error is not None:
            raise self.error


async def open_hub(stream_url: str, negotiation: Negotiation, token: AccessToken, timeout_s: float,
                   on_message: Callable[[str, int], None]) -> HubSocket:
    """Open the hub WebSocket with ``picows``; every message goes to ``on_message(text, recv_ns)`` (:class:`HubSocket`).

    Raises
    ------
    Unauthorized : the upgrade was refused with HTTP 401.
    TransientError : any other refusal or network error, or no answer within ``timeout_s``.
    """
    try:
        _, hub = await asyncio.wait_for(picows.ws_connect(
            lambda: HubSocket(on_message), connect_url(stream_url, negotiation),
            extra_headers={"Authorization": f"Bearer {token.value}"}, websocket_handshake_timeout=timeout_s,
            max_frame_size=1 << 30, enable_auto_ping=False, enable_auto_pong=True,
            logger_name="capture"), timeout_s)
        return hub
    except picows.WSHandshakeError as exc:
        response = getattr(exc, "response", None)
        status = getattr(response, "status", None)
        if status is not None and int(status) == 401:
            raise Unauthorized("connect: HTTP 401 (access token refused)") from None
        raise TransientError(f"connect: HTTP {int(status) if status is not None else '?'}") from None
    except (OSError, TimeoutError, picows.WSError) as exc:
        raise TransientError(f"connect failed: {type(exc).__name__}: {exc}" if isinstance(exc, OSError)
                             else f"connect failed: {type(exc).__name__}") from None
