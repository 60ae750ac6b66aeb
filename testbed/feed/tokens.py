"""Access tokens: HS256 JWTs the ``ssi_fc_data`` client can read, and their revocation.

The official client decodes the payload segment with **standard** base64 (``base64.b64decode`` after re-padding,
``ssi_fc_data/model/access_token.py``) and reads ``exp``. A JWT segment is base64url; the two alphabets differ only
in ``-``/``_`` (values 62 and 63), which standard ``b64decode`` silently drops, corrupting the JSON. A sextet is 62
or 63 only when the 3rd byte of a 3-byte group is ``>``, ``?``, ``~`` or DEL (ASCII bytes have a 0 top bit, which
rules out the other three sextet positions), so a payload written as compact JSON of claims without those
characters always encodes without ``-``/``_``. :func:`issue` guarantees it (claims are digits, hex and
``[a-z-]``) and a test decodes a token the client's way.

No secret is ever logged: only a token's ``jti`` may appear in logs.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass

ISSUER = "vntrack-feed"
_HEADER = {"alg": "HS256", "typ": "JWT"}
_UNSAFE = set(">?~\x7f")


class TokenError(ValueError):
    """A bearer token that is missing, malformed, badly signed, expired or revoked (-> HTTP 401)."""


@dataclass(frozen=True)
class Claims:
    """The verified claims of an access token: ``sub`` (hash of the consumer id), ``jti``, ``iat``/``exp`` (s)."""

    sub: str
    jti: str
    iat: int
    exp: int


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _compact(obj: dict) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode("ascii")


def subject(consumer_id: str) -> str:
    """``sub`` claim of a consumer: the first 16 hex digits of sha256(consumer id) (the id itself never leaves)."""
    return hashlib.sha256(consumer_id.encode("utf-8")).hexdigest()[:16]


class TokenAuthority:
    """Issues and verifies the feed's access tokens; keeps the set of revoked ``jti``.

    Parameters
    ----------
    key : HS256 key.
    ttl_seconds : lifetime given to new tokens.
    clock : seconds since the epoch (injected so tests can move time).
    """

    def __init__(self, key: bytes, ttl_seconds: float, clock=time.time) -> None:
        self._key = key
        self.ttl_seconds = ttl_seconds
        self._clock = clock
        self._revoked: set[str] = set()

    def issue(self, consumer_id: str) -> str:
        """A new signed token for ``consumer_id``: ``{"iss","sub","jti","iat","exp"}``, ``exp = iat + ttl``."""
        now = int(self._clock())
        claims = {"iss": ISSUER, "sub": subject(consumer_id), "jti": secrets.token_hex(8), "iat": now,
                  "exp": now + max(1, round(self.ttl_seconds))}
        payload = _compact(claims)
        assert not _UNSAFE & set(payload.decode("ascii")), "claims must keep the payload standard-base64 safe"
        signing_input = f"{_b64url(_compact(_HEADER))}.{_b64url(payload)}"
        signature = hmac.new(self._key, signing_input.encode("ascii"), hashlib.sha256).digest()
        return f"{signing_input}.{_b64url(signature)}"

    def verify(self, token: str | None) -> Claims:
        """The claims of a valid, unexpired, unrevoked token.

        Raises
        ------
        TokenError : otherwise (the message says which check failed; it never contains the token).
        """
        if not token:
            raise TokenError("no bearer token")
        parts = token.split(".")
        if len(parts) != 3:
            raise TokenError("malformed token")
        signing_input = f"{parts[0]}.{parts[1]}".encode("ascii", errors="replace")
        expected = hmac.new(self._key, signing_input, hashlib.sha256).digest()
        try:
            given = _b64url_decode(parts[2])
            claims = json.loads(_b64url_decode(parts[1]))
        except (ValueError, UnicodeDecodeError) as exc:
            raise TokenError("malformed token") from exc
        if not hmac.compare_digest(expected, given):
            raise TokenError("bad signature")
        try:
            parsed = Claims(sub=str(claims["sub"]), jti=str(claims["jti"]), iat=int(claims["iat"]),
                            exp=int(claims["exp"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise TokenError("token lacks sub/jti/iat/exp") from exc
        if parsed.exp <= self._clock():
            raise TokenError("token expired")
        if parsed.jti in self._revoked:
            raise TokenError("token revoked")
        return parsed

    def revoke(self, jti: str) -> None:
        """From now on the token with this ``jti`` is refused everywhere (fault ``expire-*``)."""
        self._revoked.add(jti)

    def seconds_left(self, claims: Claims) -> float:
        """Seconds until ``claims`` expire (may be negative)."""
        return claims.exp - self._clock()


def bearer(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header (scheme case-insensitive), else None."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None
