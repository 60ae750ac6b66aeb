"""SSI FastConnect Data REST: the access token every other call needs, fetched one way for capture and flows.

``POST {rest_url}api/v2/Market/AccessToken`` with body ``{"consumerID", "consumerSecret"}`` answers
``{"status": 200, "message": "Success", "data": {"accessToken": "<JWT>"}}``; any other status, in the body or the
HTTP code, is a refusal of the credentials (docs/ssi-wire.md §4). The token, and the consumer secret, never
appear in a repr, a log line or an exception message.
"""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass, field

import httpx
from pydantic import SecretStr

TOKEN_PATH = "api/v2/Market/AccessToken"


class AuthRefused(RuntimeError):
    """SSI refused the credentials, or refused a token it had just issued: fatal, never retried."""


class TransientError(RuntimeError):
    """Network failure or server error (5xx, unexpected answer): worth retrying with backoff."""


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


def _credentials(consumer_id: SecretStr | str, consumer_secret: SecretStr | str) -> dict[str, str]:
    def plain(v: SecretStr | str) -> str:
        return v.get_secret_value() if isinstance(v, SecretStr) else v
    return {"consumerID": plain(consumer_id), "consumerSecret": plain(consumer_secret)}


def response_message(response: httpx.Response) -> str:
    """The ``message`` of a JSON answer (or the start of a non-JSON body), at most 200 characters."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(body, dict):
        return str(body.get("message") or body.get("Message") or "")[:200]
    return ""


def token_from_response(response: httpx.Response) -> AccessToken:
    """The token of an AccessToken answer.

    Raises
    ------
    AuthRefused : the server answered but did not issue a token (wrong credentials); the message names the
        variables to check, never their values.
    TransientError : 5xx, or an answer that is not JSON.
    """
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
            f"{response_message(response) or 'no message'}); check SSI_CONSUMER_ID and SSI_CONSUMER_SECRET"
        )
    return AccessToken(token, jwt_exp(token), time.time())


async def fetch_token(http: httpx.AsyncClient, rest_url: str, consumer_id: SecretStr | str,
                      consumer_secret: SecretStr | str) -> AccessToken:
    """``POST {rest_url}api/v2/Market/AccessToken`` (asyncio; the capture daemon).

    Raises
    ------
    AuthRefused : wrong credentials (see :func:`token_from_response`).
    TransientError : network error, 5xx, or an answer that is not JSON.
    """
    try:
        response = await http.post(rest_url + TOKEN_PATH, json=_credentials(consumer_id, consumer_secret))
    except httpx.HTTPError as exc:
        raise TransientError(f"AccessToken request failed: {type(exc).__name__}: {exc}") from None
    return token_from_response(response)


def fetch_token_sync(http: httpx.Client, rest_url: str, consumer_id: SecretStr | str,
                     consumer_secret: SecretStr | str) -> AccessToken:
    """``POST {rest_url}api/v2/Market/AccessToken`` (blocking; the flows' REST calls). Raises as
    :func:`fetch_token`."""
    try:
        response = http.post(rest_url + TOKEN_PATH, json=_credentials(consumer_id, consumer_secret))
    except httpx.HTTPError as exc:
        raise TransientError(f"AccessToken request failed: {type(exc).__name__}: {exc}") from None
    return token_from_response(response)
