"""The carried state of the micro-batch loop, and its serialization to plain tables + a JSON-able dict.

Everything a later frame of the day can still need, and nothing more (docs/analytics.md names each rule's reach):

=============  ===================================================================================================
field          what, and why it stays bounded
=============  ===================================================================================================
sources        symbol -> trade channel (X-TRADE > X > B); ``traded``: symbols that already produced trades
xt_seen        per symbol, X-TRADE repeat keys with ``exch_time`` within ``REPEAT_HORIZON_S`` of its latest (a dict, so
               a batch reads and replaces only its symbols' keys; one table when written); an older frame raises
               :class:`~transforms.incremental.step.Restatement` (never a wrong answer)
x_baseline     per symbol the running max of X ``TotalVol``
books          per symbol the latest book (level 1) for the quote rule
tick           per symbol the last print and its tick reference (<= 2 rows)
trades_win     trades with ``t_eff`` inside the 20-minute VOLUME_SPIKE window, with ``_teff`` (Int64 epoch s)
               when built by ``context.trades_with_context`` (a state without it still loads)
flow_win       R rows inside the 6-minute foreign speed + acceleration reach, plus the latest row before it (the
               5-minute FOREIGN_ACCELERATION level), with their running-max levels ``_cm_*``
spot           the latest VN30 index row (basis spot)
basis_ctx      per contract the last non-zero basis row (BASIS_FLIP) and the row holding its ``t_eff``
cooldown       (alert_type, symbol) -> ``t_eff`` of the last emitted alert
session_stats  the SESSION_STATS rows so far (additive)
candles        candle parts, one row per symbol-minute (the output itself)
board          board parts, one row per symbol
foreign        foreign totals, one row per symbol
=============  ===================================================================================================
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date

import polars as pl

from transforms.params import DEFAULT_PARAMS, AnalyticsParams, params_from_mapping

_FRAMES = ("x_baseline", "books", "tick", "trades_win", "flow_win", "spot", "basis_ctx",
           "session_stats", "candles", "board", "foreign")


@dataclass(frozen=True)
class LiveState:
    """State of the day after the frames consumed so far (immutable; :func:`step` returns a new one).

    Attributes
    ----------
    day : trading date (the lake partition).
    futures_override : front-month VN30F contract override (``VNTRACK_FUTURES_OVERRIDE``) or None.
    params : the analytics parameters (``transforms.params``); the carried context is sized by them.
    sessions : capture sessions seen, sorted (arrival order across sessions).
    last_key : (session, seq) of the last frame consumed; the next batch must come strictly after it.
    frames_total, quarantined_total, batches : counters.
    Other fields: see the module docstring; a frame field is None until the day first needs it.
    """

    day: date
    futures_override: str | None = None
    params: AnalyticsParams = DEFAULT_PARAMS
    sessions: tuple[str, ...] = ()
    last_key: tuple[str, int] | None = None
    sources: dict[str, str] = field(default_factory=dict)
    traded: frozenset[str] = frozenset()
    cooldown: dict[tuple[str, str], int] = field(default_factory=dict)
    frames_total: int = 0
    quarantined_total: int = 0
    batches: int = 0
    xt_seen: dict[str, pl.DataFrame] = field(default_factory=dict)
    x_baseline: pl.DataFrame | None = None
    books: pl.DataFrame | None = None
    tick: pl.DataFrame | None = None
    trades_win: pl.DataFrame | None = None
    flow_win: pl.DataFrame | None = None
    spot: pl.DataFrame | None = None
    basis_ctx: pl.DataFrame | None = None
    session_stats: pl.DataFrame | None = None
    candles: pl.DataFrame | None = None
    board: pl.DataFrame | None = None
    foreign: pl.DataFrame | None = None

    def evolve(self, **changes) -> LiveState:
        """A copy with ``changes`` applied."""
        return replace(self, **changes)

    def context_rows(self) -> dict[str, int]:
        """Rows held per frame field (what the bounded-memory test watches)."""
        rows = {name: (getattr(self, name).height if getattr(self, name) is not None else 0) for name in _FRAMES}
        return {"xt_seen": sum(keys.height for keys in self.xt_seen.values()), **rows}


def initial_state(day: date, futures_override: str | None = None,
                  params: AnalyticsParams = DEFAULT_PARAMS) -> LiveState:
    """The state before the first frame of ``day`` (analytics under ``params``)."""
    return LiveState(day=day, futures_override=futures_override, params=params)


def state_tables(state: LiveState) -> tuple[dict[str, pl.DataFrame], dict]:
    """Split a state into its tables (non-empty frame fields) and a JSON-able dict of the rest."""
    tables = {name: getattr(state, name) for name in _FRAMES if getattr(state, name) is not None}
    if state.xt_seen:
        tables["xt_seen"] = pl.concat([state.xt_seen[s] for s in sorted(state.xt_seen)], how="vertical_relaxed")
    meta = {
        "day": state.day.isoformat(),
        "futures_override": state.futures_override,
        "params": state.params.model_dump(mode="json"),
        "sessions": list(state.sessions),
        "last_key": list(state.last_key) if state.last_key else None,
        "sources": dict(sorted(state.sources.items())),
        "traded": sorted(state.traded),
        "cooldown": [[t, s, v] for (t, s), v in sorted(state.cooldown.items())],
        "frames_total": state.frames_total,
        "quarantined_total": state.quarantined_total,
        "batches": state.batches,
    }
    return tables, meta


def state_from_tables(tables: dict[str, pl.DataFrame], meta: dict) -> LiveState:
    """Inverse of :func:`state_tables`.

    Raises
    ------
    ValueError : ``meta`` lacks a key or names an unknown table.
    """
    unknown = set(tables) - {"xt_seen", *_FRAMES}
    if unknown:
        raise ValueError(f"unknown state tables {sorted(unknown)}; expected some of {['xt_seen', *_FRAMES]}")
    try:
        last = meta["last_key"]
        return LiveState(
            day=date.fromisoformat(meta["day"]),
            futures_override=meta["futures_override"],
            params=params_from_mapping(meta.get("params", {}), "state metadata"),  # older states: the defaults
            sessions=tuple(meta["sessions"]),
            last_key=(last[0], int(last[1])) if last else None,
            sources=dict(meta["sources"]),
            traded=frozenset(meta["traded"]),
            cooldown={(t, s): int(v) for t, s, v in meta["cooldown"]},
            frames_total=int(meta["frames_total"]),
            quarantined_total=int(meta["quarantined_total"]),
            batches=int(meta["batches"]),
            xt_seen=_by_symbol(tables.get("xt_seen")),
            **{name: tables.get(name) for name in _FRAMES},
        )
    except KeyError as e:
        raise ValueError(f"state metadata lacks {e}; was it written by transforms.incremental.state_tables?") from None


def _by_symbol(keys: pl.DataFrame | None) -> dict[str, pl.DataFrame]:
    """The xt_seen table -> per symbol its rows (order kept)."""
    if keys is None:
        return {}
    return {sym: part for (sym,), part in keys.partition_by("symbol", as_dict=True, maintain_order=True).items()}
