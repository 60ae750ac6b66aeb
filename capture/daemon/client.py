"""SSI FastConnect Data v2 streaming, the client side: access token, classic SignalR 1.5 negotiate + connect.

What the official clients do (ssi-wire.md §1.1-1.2, stack-notes.md "SignalR and ssi-fc-data"), without their
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

import base64
import json
import time
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit, urlunsplit

import httpx
from pydantic import SecretStr
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus, WebSocketException

HUB = "FcMarketDataV2Hub"
CLIENT_PROTOCOL = "1.5"
CONNECTION_DATA = json.dumps([{"name": HUB}], separators=(",", ":"))
TOKEN_PATH = "api/v2/Market/AccessToken"
HUB_PATH = "v2.0/signalr"
DEFAULT_KEEPALIVE_TIMEOUT_S = 20.0  # classic SignalR's default when negotiate does not say


class AuthRefused(RuntimeError):
    """SSI refused the credentials, or refused a token it had just issued: fatal, never retried."""


class Unauthorized(RuntimeError):
    """HTTP 401 on negotiate / connect: the token is no longer accepted (expired, revoked)."""


class TransientError(RuntimeError):
    """Network failure or server error (5xx, unexpected answer): retried with backoff."""


@dataclass(frozen=True)
class AccessToken:
    """A bearer token and its expiry; the value never shows in ``repr``.

    Attributes
    ----------
    value : the JWT.
    exp_s : its ``exp`` claim (UTC s), None when the payload cannot be read.
    fetched_s : wall time it was fetched (UTC s).
    """

    value: str = field(repr=False)
    exp_s: float | None
    fetched_s: float

    def needs_refresh(self, now_s: float, margin_s: float) -> bool:
        """True when less than ``min(margin_s, half the lifetime)`` is left (a short-lived token is not
        refreshed all the time)."""
        if self.exp_s is None:
            return False
        lifetime = max(self.exp_s - self.fetched_s, 0.0)
        return self.exp_s - now_s < min(margin_s, lifetime / 2)


def jwt_exp(token: str) -> float | None:
    """The ``exp`` claim of a JWT (payload decoded, signature not checked), None when unreadable."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return float(claims["exp"])
    except (IndexError, ValueError, KeyError, TypeError):
        return None


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(body, dict):
        return str(body.get("message") or body.get("Message") or "")[:200]
    return ""


async def fetch_token(http: httpx.AsyncClient, rest_url: str, consumer_id: SecretStr,
                      consumer_secret: SecretStr) -> AccessToken:
    """``POST api/v2/Market/AccessToken``.

    Raises
    ------
    AuthRefused : the server answered but did not issue a token (wrong credentials); the message names the
        variables to check, never their values.
    TransientError : network error, 5xx, or an answer that is not JSON.
    """
    body = {"consumerID": consumer_id.get_secret_value(), "consumerSecret": consumer_secret.get_secret_value()}
    try:
        response = await http.post(rest_url + TOKEN_PATH, json=body)
    except httpx.HTTPError as exc:
        raise TransientError(f"AccessToken request failed: {type(exc).__name__}: {exc}") from None
    if response.status_code >= 500:
        raise TransientError(f"AccessToken: HTTP {response.status_code}")
    try:
        answer = response.json()
    except ValueError:
        raise TransientError(f"AccessToken: HTTP {response.status_code}, not JSON") from None
    data = answer.get("data") if isinstance(answer, dict) else None
    token = data.get("accessToken") if isinstance(data, dict) else None
    status = answer.get("status") if isinstance(answer, dict) else None
    if response.status_code != 200 or str(status) != "200" or not isinstance(token, str) or not token:
        raise AuthRefused(
            f"SSI refused the credentials (HTTP {response.status_code}, status {status}: "
            f"{_message(response) or 'no message'}); check SSI_CONSUMER_ID and SSI_CONSUMER_SECRET"
        )
    return AccessToken(token, jwt_exp(token), time.time())


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
        raise TransientError(f"negotiate: HTTP {response.status_code} {_message(response)}")
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
    """The ``SwitchChannels`` invocation frame (ssi-wire.md §1.2 step 4)."""
    return json.dumps({"H": HUB, "M": "SwitchChannels", "A": [channels], "I": invocation}, separators=(",", ":"))
