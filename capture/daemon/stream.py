"""The network reader: connect, subscribe, read every frame, reconnect on silence or loss (asyncio).

One :class:`Streamer` keeps one hub connection alive for the whole run:

* token (:class:`TokenKeeper`: fetched once, refreshed before expiry, invalidated on a 401, a hub
  ``Error`` about the token or a close with code 1008) -> negotiate -> connect -> ``SwitchChannels``;
* every frame goes to the :class:`~capture.daemon.recorder.Recorder` (Broadcast arguments verbatim; a frame that
  is not a JSON object is kept whole), every hub ``Error`` becomes a ``server_error`` event;
* a watchdog aborts the socket after ``silence_timeout_s`` (or the negotiated ``KeepAliveTimeout``) without any
  frame or keep-alive (``heartbeat_timeout`` event);
* after a loss: ``disconnect`` event, a gap opened (closed by the first frame after the resubscription), capped
  exponential backoff with jitter, ``connect``, ``subscribe``, ``reconnect`` events;
* refused credentials (:class:`~ssi.rest.AuthRefused`) and a refused subscription
  (:class:`SubscriptionRefused`) end the run: no retry storm.

References: docs/ssi-wire.md §1.2 (handshake, frames), §1.4 (channels); issue "capture daemon" (liveness).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time

import httpx
import orjson
from pydantic import SecretStr

from capture.daemon.client import HUB, HubSocket, Unauthorized, negotiate, open_hub, switch_channels
from capture.daemon.recorder import Recorder, Stats
from capture.daemon.settings import CaptureSettings
from ssi.rest import AccessToken, AuthRefused, TransientError, fetch_token

log = logging.getLogger("vntrack.capture")
_TICK_S = 0.05
_loads, _DecodeError = orjson.loads, orjson.JSONDecodeError
# a data frame as SSI writes it (docs/ssi-wire.md §1.2): HEAD <cursor> MID <argument as a JSON string> TAIL
_DATA_HEAD = '{"C":"'
_DATA_HEAD_LEN = len(_DATA_HEAD)
_BROADCAST_MID = f'","M":[{{"H":"{HUB}","M":"Broadcast","A":['
_BROADCAST_MID_LEN = len(_BROADCAST_MID)
_DATA_TAIL = "]}]}"
_DATA_TAIL_LEN = len(_DATA_TAIL)


class SubscriptionRefused(RuntimeError):
    """The hub answered ``SwitchChannels`` with an error: the channel string is wrong (fatal)."""


def backoff_delay(attempt: int, initial_s: float, max_s: float, rng: random.Random) -> float:
    """``min(max_s, initial_s * 2**attempt)`` times a random factor in [0.5, 1] ("equal jitter")."""
    return min(max_s, initial_s * 2 ** min(attempt, 30)) * rng.uniform(0.5, 1.0)


class TokenKeeper:
    """The current access token: fetched lazily, refreshed before expiry, dropped when refused."""

    def __init__(self, http: httpx.AsyncClient, settings: CaptureSettings, consumer_id: SecretStr,
                 consumer_secret: SecretStr) -> None:
        self.http, self.settings = http, settings
        self._id, self._secret = consumer_id, consumer_secret
        self._token: AccessToken | None = None

    async def get(self, *, fresh: bool = False) -> AccessToken:
        """The token; a new one when asked, when none is held or when it is close to expiry.

        Raises
        ------
        AuthRefused, TransientError : from :func:`ssi.rest.fetch_token`.
        """
        token = self._token
        if fresh or token is None or token.needs_refresh(time.time(), self.settings.token_refresh_margin_s):
            token = self._token = await fetch_token(self.http, self.settings.rest_url, self._id, self._secret)
            log.info("access token issued", extra={"fields": {"expires_in_s": None if token.exp_s is None else
                                                               round(token.exp_s - time.time())}})
        return token

    def invalidate(self, token: AccessToken | None = None) -> None:
        """Forget the token (refused by the server): the next :meth:`get` fetches one. With ``token``, only when
        it is still the one held (a token refreshed since then is kept)."""
        if token is None or token is self._token:
            self._token = None

    def refresh_in_s(self, now_s: float) -> float:
        """Seconds until the held token should be refreshed (60 s when there is none or its exp is unknown)."""
        token = self._token
        if token is None:
            return 1.0
        if token.exp_s is None:
            return 60.0
        lifetime = max(token.exp_s - token.fetched_s, 0.0)
        return max(token.exp_s - min(self.settings.token_refresh_margin_s, lifetime / 2) - now_s, 0.0)

    async def keep_fresh(self) -> None:
        """Refresh the token ahead of its expiry so a reconnect never waits for it (runs until cancelled)."""
        while True:
            await asyncio.sleep(max(self.refresh_in_s(time.time()), 1.0))
            token = self._token
            if token is not None and token.needs_refresh(time.time(), self.settings.token_refresh_margin_s):
                try:
                    await self.get(fresh=True)
                except TransientError as exc:
                    log.warning("token refresh failed; retrying", extra={"fields": {"error": str(exc)}})
                except AuthRefused as exc:  # the next connect meets the same refusal and ends the daemon
                    log.error("token refresh refused", extra={"fields": {"error": str(exc)}})
                    return


class Streamer:
    """Keeps the hub connection alive and feeds the recorder (see module docstring)."""

    def __init__(self, settings: CaptureSettings, recorder: Recorder, stats: Stats, tokens: TokenKeeper,
                 http: httpx.AsyncClient, rng: random.Random | None = None) -> None:
        self.settings, self.recorder, self.stats, self.tokens, self.http = settings, recorder, stats, tokens, http
        self.rng = rng or random.Random()
        self._ws = None
        self._timeout_s = settings.silence_timeout_s or 20.0
        self._silent = False
        self._invocation = 0
        self._awaiting: str | None = None
        self._sub_error: str | None = None
        self._subscribed = False
        self._close_reason = ""
        self._token_used: AccessToken | None = None

    # ------------------------------------------------------------------------------------------- run

    async def run(self) -> None:
        """Connect and reconnect until cancelled.

        Raises
        ------
        AuthRefused, SubscriptionRefused : fatal refusals.
        """
        ticker = asyncio.create_task(self._tick())
        keeper = asyncio.create_task(self.tokens.keep_fresh())
        attempt = 0
        lost_at: int | None = None
        failures = 0
        try:
            while True:
                delivered_before = self.stats.accepted
                connected = False
                try:
                    connected = await self._connect()
                    if lost_at is not None:
                        self.stats.reconnects += 1
                        self.recorder.event("reconnect", {"attempts": failures + 1,
                                                          "down_s": round((time.time_ns() - lost_at) / 1e9, 3)})
                        lost_at, failures = None, 0
                    await self._read()
                    reason = self._close_reason or "connection closed"
                except (AuthRefused, SubscriptionRefused):
                    raise
                except (TransientError, OSError) as exc:
                    reason = f"{type(exc).__name__}: {exc}"
                finally:
                    ws, self._ws = self._ws, None
                    if ws is not None:
                        ws.abort()
                now = time.time_ns()
                self.stats.state = "reconnecting"
                if connected:
                    self.recorder.event("disconnect", {"reason": reason}, wall_ns=now)
                    self.recorder.open_gap(reason)
                    log.warning("disconnected", extra={"fields": {"reason": reason}})
                else:
                    failures += 1
                    log.warning("connection attempt failed", extra={"fields": {"reason": reason}})
                if lost_at is None:
                    lost_at = now
                attempt = 0 if self.stats.accepted > delivered_before else attempt + 1
                delay = backoff_delay(attempt, self.settings.backoff_initial_s, self.settings.backoff_max_s,
                                      self.rng)
                log.info("reconnecting", extra={"fields": {"in_s": round(delay, 3), "attempt": attempt}})
                await asyncio.sleep(delay)
        finally:
            ticker.cancel()
            keeper.cancel()

    async def close(self) -> None:
        """Close the socket (clean stop)."""
        ws = self._ws
        if ws is not None:
            try:
                await ws.close()
            except OSError:
                ws.abort()

    # ------------------------------------------------------------------------------------------- connect

    async def _connect(self) -> bool:
        """Token, negotiate, connect, wait for the init frame, send SwitchChannels. True once the socket is open."""
        try:
            negotiation = await self._open(fresh=False)
        except Unauthorized:  # the cached token expired: one more try with a token issued now
            try:
                negotiation = await self._open(fresh=True)
            except Unauthorized as exc:
                raise AuthRefused(f"SSI refused an access token it had just issued ({exc}); check that the "
                                  "consumer is entitled to FastConnect Data streaming") from None
        self._timeout_s = self.settings.silence_timeout_s or negotiation.keepalive_timeout_s
        self.stats.last_message_ns = time.time_ns()
        self._silent, self._close_reason, self._subscribed = False, "", False
        self.stats.state = "connected"
        self.recorder.event("connect", {"connection_id": negotiation.connection_id,
                                        "keepalive_timeout_s": negotiation.keepalive_timeout_s,
                                        "silence_timeout_s": self._timeout_s})
        log.info("connected", extra={"fields": {"connection_id": negotiation.connection_id,
                                                "silence_timeout_s": self._timeout_s}})
        self._awaiting, self._sub_error = str(self._invocation), None
        self._ws.send(switch_channels(self.settings.channels, self._invocation))
        self._invocation += 1
        return True

    async def _open(self, *, fresh: bool):
        """Negotiate and open the hub socket with a token (a new one when ``fresh``); returns the negotiation.

        Raises
        ------
        Unauthorized : SSI refused the token (HTTP 401 on negotiate or on the socket's upgrade).
        """
        token = self._token_used = await self.tokens.get(fresh=fresh)
        negotiation = await negotiate(self.http, self.settings.stream_url, token)
        self._ws = await open_hub(self.settings.stream_url, negotiation, token, self.settings.connect_timeout_s,
                                  self._on_message)
        return negotiation

    # ------------------------------------------------------------------------------------------- read

    async def _read(self) -> None:
        """Wait until the socket closes; :meth:`_on_message` records every message meanwhile (picows calls it
        from the socket's read callback). Re-raises what :meth:`_on_message` raised (a refused subscription)."""
        hub = self._ws
        await hub.wait_closed()
        self._closed(hub)

    def _on_message(self, text: str, now: int) -> None:
        """One SignalR message (hot path, called by :class:`~capture.daemon.client.HubSocket`).

        A data frame of the exact shape SSI sends, ``{"C":"<cursor>","M":[{"H":"FcMarketDataV2Hub","M":"Broadcast",
        "A":["<argument>"]}]}``, is cut at fixed places: only the argument's JSON string is decoded (the cursor
        has no escape). Anything else (several invocations or arguments, other key order, spaces, escapes in
        the cursor, a hub error, a result, a frame cut short) goes through one full JSON parse
        (:meth:`_general`), which also keeps a frame that is not a JSON object whole as a malformed row.
        """
        self.stats.last_message_ns = now
        if text.startswith(_DATA_HEAD):
            end = text.find('"', _DATA_HEAD_LEN)
            if end > 0 and text.startswith(_BROADCAST_MID, end) and text.endswith(_DATA_TAIL):
                cursor = text[_DATA_HEAD_LEN:end]
                if "\\" not in cursor and cursor.isprintable():
                    try:
                        argument = _loads(text[end + _BROADCAST_MID_LEN:-_DATA_TAIL_LEN])
                    except _DecodeError:
                        argument = None
                    if type(argument) is str:
                        self.recorder.broadcast(argument, cursor, now)
                        return
        elif text == "{}":
            return
        self._general(text, now)

    def _general(self, text: str, now: int) -> None:
        """Any SignalR message: one full JSON parse (see :meth:`_on_message`)."""
        rec = self.recorder
        try:
            obj = _loads(text)
        except _DecodeError:
            rec.malformed(text, now)
            return
        if type(obj) is not dict:
            rec.malformed(text, now)
            return
        messages = obj.get("M")
        if messages:
            c = obj.get("C")
            for m in messages:
                if type(m) is dict and m.get("M") == "Broadcast":
                    for argument in m.get("A") or ():
                        rec.broadcast(argument, c, now)
                else:
                    self._hub_message(m, c)
        elif "I" in obj:
            self._result(obj)
        elif "E" in obj:
            self._server_error(str(obj.get("E")), None)

    def _closed(self, ws: HubSocket) -> None:
        if self._silent:
            self._close_reason = f"no frame for {self._timeout_s:g} s (heartbeat timeout)"
            return
        code, why = ws.close_code, ws.close_reason
        if code is None or code == 1006:
            self._close_reason = "connection lost without a close frame"
        else:
            self._close_reason = f"server closed the socket (code {code}{' ' + why if why else ''})"
            if code == 1008:  # policy violation: the token was refused
                self.tokens.invalidate(self._token_used)

    def _hub_message(self, m, cursor) -> None:
        if type(m) is dict and str(m.get("M", "")).lower() == "error":
            args = m.get("A") or [""]
            self._server_error(str(args[0]), cursor)
        else:
            log.info("unexpected hub message ignored", extra={"fields": {"method": str(m.get("M"))[:40]
                                                                         if type(m) is dict else "?"}})

    def _server_error(self, message: str, cursor) -> None:
        self.stats.server_errors += 1
        self.recorder.event("server_error", {"message": message[:500], "cursor": cursor})
        log.warning("server error", extra={"fields": {"message": message[:200]}})
        if "token" in message.lower():
            self.tokens.invalidate(self._token_used)
        if self._awaiting is not None:
            self._sub_error = message

    def _result(self, obj: dict) -> None:
        inv = obj.get("I")
        if self._awaiting is None or str(inv) != self._awaiting:
            return
        self._awaiting = None
        error = obj.get("E") or self._sub_error
        if error:
            raise SubscriptionRefused(f"the hub refused SwitchChannels {self.settings.channels!r}: {error}; "
                                      "fix VNTRACK_CAPTURE_CHANNELS / --channels (e.g. X-TRADE:ALL,MI:VN30)")
        self._subscribed = True
        self.stats.state = "streaming"
        self.recorder.event("subscribe", {"channels": self.settings.channels, "invocation": inv})
        log.info("subscribed", extra={"fields": {"channels": self.settings.channels}})

    # ------------------------------------------------------------------------------------------- watchdog

    async def _tick(self) -> None:
        """Hand chunks over every 50 ms; abort a socket that has been silent too long."""
        while True:
            await asyncio.sleep(_TICK_S)
            self.recorder.handoff()
            ws = self._ws
            if ws is not None and not self._silent:
                silent_s = (time.time_ns() - self.stats.last_message_ns) / 1e9
                if silent_s > self._timeout_s:
                    self._silent = True
                    self.recorder.event("heartbeat_timeout", {"silent_s": round(silent_s, 3),
                                                              "timeout_s": self._timeout_s})
                    log.warning("heartbeat timeout", extra={"fields": {"silent_s": round(silent_s, 3)}})
                    ws.abort()
