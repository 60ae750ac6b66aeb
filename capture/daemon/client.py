"""SSI FastConnect Data v2 streaming, the client side: access token, classic SignalR 1.5 negotiate + connect.

What the official clients do (docs/ssi-wire.md §1.1-1.2), without their
gaps (the SDK prints the bearer token and never reconnects):

1. ``POST {rest_url}api/v2/Market/AccessToken`` body ``{"consumerID","consumerSecret"}`` ->
   ``{"status":200,"message":"Success","data":{"accessToken":"<JWT>"}}``; any other status (in the body or the
   HTTP code) is a refusal of the credentials (:class:`AuthRefused`, never retried).
2. ``POST {stream_url}v2.0/signalr/negotiate?clientProtocol=1.5&connectionData=[{"name":"FcMarketDataV2Hub"}]``
   with ``Authorization: Bearer <JWT>`` -> ``ConnectionToken``, ``KeepAliveTimeout``, ``ProtocolVersion``...
3. WebSocket ``ws(s)://…/v2.0/signalr/connect?transport=webSockets&connectionToken=…&connectionData=…&
   clientProtocol=…`` with the same header (``websockets`` asyncio client, no compression, no protocol pings:
   SignalR's ``{}`` keep-alive is the liveness signal).
4. ``{"H":"FcMarketDataV2Hub","M":"SwitchChannels","A":["<channels>"],"I":<n>}`` (:func:`switch_channels`).

Secrets: the token, the connection token and the consumer secret never appear in a repr, a log line or an
exception message (:class:`AccessToken` and :class:`Negotiation` hide them).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit, urlunsplit

import httpx

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
