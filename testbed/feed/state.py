"""What one running feed server shares between its endpoints (kept on ``app.state.feed``)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from testbed.feed.day import ServedDay
from testbed.feed.faults import FaultSpec
from testbed.feed.pacing import Timeline
from testbed.feed.settings import FeedSettings
from testbed.feed.tokens import TokenAuthority

if TYPE_CHECKING:
    from testbed.feed.signalr import Connection

log = logging.getLogger("vntrack.feed")


@dataclass
class Negotiated:
    """A connection announced by ``negotiate``: its id, the token's subject, and its fault spec."""

    connection_id: str
    subject: str
    faults: FaultSpec


@dataclass
class FeedState:
    """The served day, its clock, the token authority and the live connections.

    Attributes
    ----------
    lake : lake root (the REST totals re-read the day's raw frames from it).
    day : the frames served.
    timeline : the market clock (``testbed.feed.pacing``).
    tokens : issues / verifies access tokens.
    consumer : the (consumer id, consumer secret) accepted by ``AccessToken``.
    settings : feed settings.
    faults : server-wide fault spec.
    start : ``--from`` (None = the whole day).
    negotiated : SignalR connection token -> :class:`Negotiated`.
    connections : connection id -> live :class:`testbed.feed.signalr.Connection`.
    cache : lazily computed REST data (DailyStockPrice rows).
    """

    lake: Path
    day: ServedDay
    timeline: Timeline
    tokens: TokenAuthority
    consumer: tuple[str, str]
    settings: FeedSettings
    faults: FaultSpec = field(default_factory=FaultSpec)
    start: time | None = None
    negotiated: dict[str, Negotiated] = field(default_factory=dict)
    connections: dict[str, Connection] = field(default_factory=dict)
    cache: dict[str, Any] = field(default_factory=dict)
