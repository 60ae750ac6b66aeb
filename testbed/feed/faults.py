"""Fault injection: a small spec language, applied per connection.

A spec is ``key=value`` items separated by ``,`` (or ``;``)::

    drop-after=N         after the N-th Broadcast on the connection, drop it: the TCP connection is closed with
                         no WebSocket close frame (what a network failure looks like to the client)
    drop-at=HH:MM[:SS]   drop when the market clock crosses that exchange time (before the first frame at or
                         after it)
    stall-after=N        after the N-th Broadcast, go silent for ``stall-for`` seconds: no frames, no keep-alive,
                         no invocation results; then carry on where it stopped (the backlog goes out at once)
    stall-at=HH:MM[:SS]  the same when the market clock crosses that time
    stall-for=S          stall length in seconds (default 5)
    malformed-every=N    after every N-th Broadcast, send one malformed frame (not counted as a Broadcast)
    malformed=payload    ...a valid SignalR frame whose Broadcast argument is the current payload cut in half
    malformed=text       ...or the SignalR frame text itself cut in half (not JSON)
    repeat-every=N       every N-th Broadcast is sent twice (same text, same cursor ``C``)
    expire-after=N       after the N-th Broadcast, the connection's access token is revoked: the hub's ``Error``
                         method gets "Access token expired", the socket is closed with code 1008, and the token
                         is refused (401) by negotiate, connect and REST from then on
    expire-at=HH:MM[:SS] the same when the market clock crosses that time

Where a spec comes from (later ones override earlier ones key by key):

1. the server-wide spec: ``vntrack feed --fault SPEC`` (repeatable) or ``VNTRACK_FEED_FAULTS``;
2. a URL prefix ``/fault/<SPEC>/`` in front of any endpoint, e.g. a client configured with
   ``stream_url = "http://127.0.0.1:8765/fault/drop-after=100,repeat-every=7/"`` (works with the unmodified
   ``ssi_fc_data`` client, which only appends ``v2.0/signalr/...`` to ``stream_url``). The prefix used on
   ``negotiate`` applies, and the one on ``connect`` overrides it.

Counts are per connection, so a count fault fires again on every new connection. A time fault fires only on a
connection that joined the market clock before that time: a client reconnecting after ``drop-at`` goes on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields, replace
from datetime import time
from typing import Literal

Malformed = Literal["payload", "text"]
_TIME = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")


class FaultSpecError(ValueError):
    """A fault spec that cannot be parsed; the message names the item and the valid keys."""


@dataclass(frozen=True)
class FaultSpec:
    """Parsed fault spec (module docstring); None = that fault is off."""

    drop_after: int | None = None
    drop_at: time | None = None
    stall_after: int | None = None
    stall_at: time | None = None
    stall_for: float = 5.0
    malformed_every: int | None = None
    malformed: Malformed = "payload"
    repeat_every: int | None = None
    expire_after: int | None = None
    expire_at: time | None = None

    @property
    def active(self) -> bool:
        """Whether any fault is on."""
        return any(getattr(self, f) is not None for f in _OPTIONAL)

    def describe(self) -> str:
        """The spec back as text (only the keys that differ from the defaults), for logs."""
        default = FaultSpec()
        items = []
        for f in fields(self):
            value = getattr(self, f.name)
            if value != getattr(default, f.name):
                if isinstance(value, time):
                    text = value.strftime("%H:%M:%S")
                else:
                    text = f"{value:g}" if isinstance(value, float) else str(value)
                items.append(f"{f.name.replace('_', '-')}={text}")
        return ",".join(items) or "none"


_OPTIONAL = ("drop_after", "drop_at", "stall_after", "stall_at", "malformed_every", "repeat_every", "expire_after",
             "expire_at")
_KEYS = {f.name.replace("_", "-"): f.name for f in fields(FaultSpec)}


def _count(key: str, text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise FaultSpecError(f"fault {key}={text}: expected a whole number >= 1")
    return n


def _time(key: str, text: str) -> time:
    m = _TIME.match(text)
    try:
        if not m:
            raise ValueError
        return time(int(m[1]), int(m[2]), int(m[3] or 0))
    except ValueError:
        raise FaultSpecError(f"fault {key}={text}: expected an exchange time HH:MM or HH:MM:SS") from None


def parse_faults(text: str | None, base: FaultSpec | None = None) -> FaultSpec:
    """Parse a spec, on top of ``base`` (its keys are kept unless ``text`` sets them).

    Raises
    ------
    FaultSpecError : unknown key, missing ``=``, or a bad value.
    """
    spec = base or FaultSpec()
    changes: dict[str, object] = {}
    for item in re.split(r"[,;]", text or ""):
        item = item.strip()
        if not item:
            continue
        key, sep, value = item.partition("=")
        key, value = key.strip().lower(), value.strip()
        if not sep or key not in _KEYS:
            raise FaultSpecError(f"bad fault item {item!r}: expected key=value with key one of {', '.join(_KEYS)}")
        name = _KEYS[key]
        if name.endswith("_at"):
            changes[name] = _time(key, value)
        elif name == "stall_for":
            try:
                seconds = float(value)
            except ValueError:
                seconds = -1.0
            if not 0 <= seconds < 86400:
                raise FaultSpecError(f"fault {key}={value}: expected seconds >= 0")
            changes[name] = seconds
        elif name == "malformed":
            if value not in ("payload", "text"):
                raise FaultSpecError(f"fault malformed={value}: expected 'payload' or 'text'")
            changes[name] = value
        else:
            changes[name] = _count(key, value)
    return replace(spec, **changes)
