"""SSI channel strings (the argument of ``SwitchChannels``) and matching frames against them.

Syntax (docs/ssi-wire.md §1.4): a comma-separated list of ``<TYPE>:<symbols>``, where ``<symbols>`` is ``ALL`` or
symbols joined with ``-`` (``X-TRADE:SSI-VIC,MI:VN30``). Types: ``F, X, X-QUOTE, X-TRADE, R, MI, B, OL``. Types,
symbols and ``ALL`` are case-insensitive (the doc tables write ``X-Quote``; the wire's ``DataType`` is upper
case). A frame matches when its ``DataType`` (upper-cased) is subscribed with ``ALL`` or with its symbol
(``Symbol``; ``IndexId`` for MI). Each ``SwitchChannels`` call *replaces* the subscription (design decision,
docs/ssi-wire.md §1.4: "each call replaces the previous subscription").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

CHANNEL_TYPES: tuple[str, ...] = ("X-TRADE", "X-QUOTE", "X", "R", "MI", "B", "F", "OL")
"""Every channel (``DataType``) SSI FastConnect Data v2 streams (docs/ssi-wire.md §1.4)."""
ANALYTICS_CHANNELS: tuple[str, ...] = ("X-TRADE", "X-QUOTE", "B", "R", "MI", "F")
"""The channels the analytics read: capture subscribes to them by default and the simulator writes them (X, the
combined snapshot, only on request: it repeats X-TRADE and X-QUOTE; OL, odd lots, is not analysed)."""
DEFAULT_SUBSCRIPTION = ",".join(f"{t}:ALL" for t in ANALYTICS_CHANNELS)
"""``X-TRADE:ALL,X-QUOTE:ALL,B:ALL,R:ALL,MI:ALL,F:ALL``: the capture daemon's default ``SwitchChannels`` string."""
_SYMBOL = re.compile(r"^[A-Z0-9_.]{1,32}$")


class ChannelError(ValueError):
    """A channel string the server refuses; the message is what the hub's ``Error`` method sends."""


@dataclass(frozen=True)
class Subscription:
    """A parsed channel string.

    Attributes
    ----------
    text : the string as the client sent it.
    all_types : types subscribed with ``ALL``.
    symbols : type -> symbols subscribed (upper case), for types not in ``all_types``.
    """

    text: str = ""
    all_types: frozenset[str] = frozenset()
    symbols: dict[str, frozenset[str]] = field(default_factory=dict)

    def matches(self, data_type: str | None, symbol: str | None) -> bool:
        """Whether a frame of ``data_type`` (upper case) for ``symbol`` (upper case or None) is delivered.

        A frame whose ``DataType`` could not be read (``data_type`` None) goes to every non-empty subscription:
        it was on the wire and the lake cannot say on which channel. A frame without a symbol only matches
        ``<TYPE>:ALL``.
        """
        if data_type is None:
            return bool(self.all_types or self.symbols)
        if data_type in self.all_types:
            return True
        wanted = self.symbols.get(data_type)
        return wanted is not None and symbol is not None and symbol in wanted

    @property
    def empty(self) -> bool:
        return not (self.all_types or self.symbols)


NOTHING = Subscription()


def parse_channels(text: object) -> Subscription:
    """Parse a ``SwitchChannels`` argument.

    Parameters
    ----------
    text : e.g. ``"X-TRADE:ALL,MI:VN30"`` or ``"B:VCB-TCB-HPG"``. Blanks around items are ignored.

    Returns
    -------
    Subscription : repeated types are merged (``ALL`` wins).

    Raises
    ------
    ChannelError : not a string, empty, an item without ``:``, an unknown type, an empty symbol list or a symbol
        that is not 1-32 of ``A-Z 0-9 _ .``; the message names the item and the valid types.
    """
    if not isinstance(text, str):
        raise ChannelError(f"channel must be a string such as 'X-TRADE:ALL,MI:VN30', got {type(text).__name__}")
    if not text.strip():
        raise ChannelError("empty channel: expected '<TYPE>:<SYMBOLS>|ALL', e.g. 'X-TRADE:ALL,MI:VN30'")
    all_types: set[str] = set()
    symbols: dict[str, set[str]] = {}
    for raw_item in text.split(","):
        item = raw_item.strip()
        kind, sep, rest = item.partition(":")
        kind, rest = kind.strip().upper(), rest.strip().upper()
        if not sep:
            raise ChannelError(f"invalid channel '{item}': expected '<TYPE>:<SYMBOLS>|ALL', e.g. 'X-TRADE:ALL'")
        if kind not in CHANNEL_TYPES:
            raise ChannelError(f"invalid channel '{item}': unknown type '{kind}' (one of {', '.join(CHANNEL_TYPES)})")
        if rest == "ALL":
            all_types.add(kind)
            continue
        names = [s.strip() for s in rest.split("-")]
        bad = [s for s in names if not _SYMBOL.match(s)]
        if not rest or bad:
            raise ChannelError(f"invalid channel '{item}': bad symbol list '{rest}' (symbols joined by '-', or ALL)")
        symbols.setdefault(kind, set()).update(names)
    return Subscription(
        text=text,
        all_types=frozenset(all_types),
        symbols={k: frozenset(v) for k, v in symbols.items() if k not in all_types},
    )
