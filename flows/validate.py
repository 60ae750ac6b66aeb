"""Data validation of a day's curated tables with Great Expectations 1.x, run as checkpoints in rebuild_day.

One expectation suite per curated table (plus three derived check tables, below), each with its validation
definition, in one ephemeral GX context (nothing written to disk by GX, no network) built once per process and
reused by every day validated in it (:func:`_gx`). GX 1.x hands a dataframe asset its frame through the run's
batch parameters, which a checkpoint passes unchanged to every definition, so each table's definition is run
with its own frame (``ValidationDefinition.run``; a checkpoint per table per day used to add its store writes
and freshness checks, ~20% of the time). GX is imported lazily (it takes ~4-7 s): only :func:`validate_day`.

What is checked (issue 6 "Validation"):

* keys non-null and unique — trades / foreign_flow / basis (session, seq), indices (session, seq, index_id),
  candles_1m (symbol, minute), session_stats (symbol, phase), foreign_summary and board (symbol);
* prices within floor and ceiling — trades.price, board.last_price (rows without limits are skipped);
* positive volumes — trades.volume >= 1, candles_1m.volume >= 1; candles low <= open, close <= high;
* phases sum to totals — ``session_stats_sums``: per symbol and measure, the sum over ato/continuous/atc/pt
  equals the ``total`` row, and buy + sell + neutral = volume on every row;
* cumulative fields non-decreasing — ``foreign_flow_steps``: BuyVol/SellVol/BuyVal/SellVal step between
  consecutive R frames of a symbol (arrival order) >= 0 except on rows flagged ``correction``;
  ``indices_steps``: TotalQtty step per index >= 0; the emitted flow deltas are >= 0;
* exchange times inside the session — trades, indices, candles: 08:45:00 <= time of day <= 15:00:00
  (docs/market.md §2: VN30F ATO opens 08:45, put-through ends 15:00).

Results become rows of the warehouse table ``dq_results`` (one per expectation).
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
from dataclasses import dataclass
from datetime import date, datetime, timezone

import polars as pl

from transforms.schemas import DQ_RESULTS, PHASES

log = logging.getLogger("vntrack.flows.validate")
SESSION_OPEN_S = 8 * 3600 + 45 * 60
SESSION_CLOSE_S = 15 * 3600
DQ_COLUMNS = dict(DQ_RESULTS)  # transforms.schemas.DQ_RESULTS, declared once
_MEASURES = ("trade_count", "volume", "value_vnd", "buy_volume", "sell_volume", "neutral_volume",
             "buy_value_vnd", "sell_value_vnd", "neutral_value_vnd")


@dataclass(frozen=True)
class Validation:
    """Outcome of a day's validation: the ``dq_results`` rows and the counts."""

    results: pl.DataFrame
    failed: int
    total: int

    @property
    def ok(self) -> bool:
        return self.failed == 0


# ------------------------------------------------------------------------------------------ derived tables


def _seconds_of_day(col: str) -> pl.Expr:
    t = pl.col(col)
    return (t.dt.hour().cast(pl.Int64) * 3600 + t.dt.minute().cast(pl.Int64) * 60 + t.dt.second().cast(pl.Int64))


def session_stats_sums(stats: pl.DataFrame) -> pl.DataFrame:
    """Per symbol: for each measure, the sum over the phases (``<m>_phases``) beside the total row (``<m>_total``).

    Parameters: session_stats (``transforms.schemas.SESSION_STATS``). Returns: symbol str, ``<m>_phases`` i64,
    ``<m>_total`` i64 for m in trade_count, volume, value_vnd, buy/sell/neutral volume and value.
    """
    phases = stats.filter(pl.col("phase").is_in(PHASES)).group_by("symbol").agg(
        [pl.col(m).sum().alias(f"{m}_phases") for m in _MEASURES])
    totals = stats.filter(pl.col("phase") == "total").select(
        "symbol", *[pl.col(m).alias(f"{m}_total") for m in _MEASURES])
    return totals.join(phases, on="symbol", how="full", coalesce=True).fill_null(0).sort("symbol")


def cumulative_steps(frame: pl.DataFrame, by: str, columns: list[str], *, skip: str | None = None) -> pl.DataFrame:
    """Step of each cumulative column between consecutive rows of the same ``by`` in arrival order.

    Returns ``<c>_step`` (i64 / f64, null on a key's first row) per column; rows flagged ``skip`` are dropped
    (foreign corrections are flagged by the analytics, never emitted as negative flow).
    """
    ordered = frame.sort("session", "seq", maintain_order=True)
    out = ordered.select(by, *(skip and [skip] or []),
                         *[(pl.col(c) - pl.col(c).shift(1).over(by)).alias(f"{c}_step") for c in columns])
    if skip:
        out = out.filter(~pl.col(skip).fill_null(False)).drop(skip)
    return out


# -------------------------------------------------------------------------------------------------- suites


def _suites(tables: dict[str, pl.DataFrame]) -> dict[str, tuple[pl.DataFrame, list]]:
    import great_expectations as gx

    E = gx.expectations
    nn = lambda *cols: [E.ExpectColumnValuesToNotBeNull(column=c) for c in cols]  # noqa: E731
    unique = lambda *cols: (E.ExpectCompoundColumnsToBeUnique(column_list=list(cols)) if len(cols) > 1  # noqa: E731
                            else E.ExpectColumnValuesToBeUnique(column=cols[0]))
    ge = lambda a, b: E.ExpectColumnPairValuesAToBeGreaterThanB(  # noqa: E731
        column_A=a, column_B=b, or_equal=True, ignore_row_if="either_value_is_missing")
    in_session = lambda: E.ExpectColumnValuesToBeBetween(  # noqa: E731
        column="exch_seconds", min_value=SESSION_OPEN_S, max_value=SESSION_CLOSE_S)
    at_least = lambda c, v: E.ExpectColumnValuesToBeBetween(column=c, min_value=v)  # noqa: E731
    with_seconds = lambda df, col: df.with_columns(_seconds_of_day(col).alias("exch_seconds"))  # noqa: E731

    t = tables
    suites: dict[str, tuple[pl.DataFrame, list]] = {
        "trades": (with_seconds(t["trades"], "exch_time"), [
            *nn("session", "seq", "trading_date", "exch_time", "symbol", "price", "volume", "aggressor_side",
                "phase", "rule"),
            unique("session", "seq"), at_least("volume", 1), at_least("price", 0),
            ge("ceiling", "price"), ge("price", "floor"), in_session(),
            E.ExpectColumnValuesToBeInSet(column="aggressor_side", value_set=["buy", "sell", "neutral"]),
            E.ExpectColumnValuesToBeInSet(column="phase", value_set=list(PHASES)),
        ]),
        "session_stats": (t["session_stats"], [
            *nn("trading_date", "symbol", "phase"), unique("symbol", "phase"), at_least("volume", 0),
            E.ExpectColumnValuesToBeInSet(column="phase", value_set=[*PHASES, "total"]),
        ]),
        "session_stats_sums": (session_stats_sums(t["session_stats"]), [
            E.ExpectColumnPairValuesToBeEqual(column_A=f"{m}_phases", column_B=f"{m}_total") for m in _MEASURES
        ]),
        "session_stats_sides": (t["session_stats"].with_columns(
            (pl.col("buy_volume") + pl.col("sell_volume") + pl.col("neutral_volume")).alias("sides_volume")), [
            E.ExpectColumnPairValuesToBeEqual(column_A="sides_volume", column_B="volume")]),
        "candles_1m": (with_seconds(t["candles_1m"], "minute"), [
            *nn("trading_date", "symbol", "minute", "open", "close"), unique("symbol", "minute"),
            at_least("volume", 1), ge("high", "open"), ge("high", "close"), ge("open", "low"), ge("close", "low"),
            in_session(),
        ]),
        "foreign_flow": (t["foreign_flow"], [
            *nn("session", "seq", "trading_date", "symbol"), unique("session", "seq"),
            *[at_least(c, 0) for c in ("d_buy_vol", "d_sell_vol", "d_buy_val_vnd", "d_sell_val_vnd")],
            E.ExpectColumnValuesToBeBetween(column="room_used", min_value=0, max_value=1),
        ]),
        "foreign_flow_steps": (cumulative_steps(
            t["foreign_flow"], "symbol", ["buy_vol", "sell_vol", "buy_val_vnd", "sell_val_vnd"], skip="correction"),
            [at_least(f"{c}_step", 0) for c in ("buy_vol", "sell_vol", "buy_val_vnd", "sell_val_vnd")]),
        "foreign_summary": (t["foreign_summary"], [*nn("trading_date", "symbol"), unique("symbol"),
                                                    at_least("buy_vol", 0), at_least("sell_vol", 0)]),
        "indices": (with_seconds(t["indices"], "exch_time"), [
            *nn("session", "seq", "trading_date", "index_id", "value"), unique("session", "seq", "index_id"),
            at_least("value", 0), in_session(),
        ]),
        "indices_steps": (cumulative_steps(t["indices"], "index_id", ["total_qtty"]), [
            at_least("total_qtty_step", 0)]),
        "basis": (t["basis"], [*nn("session", "seq", "symbol", "futures_price"), unique("session", "seq"),
                               at_least("spot", 0)]),
        "alerts": (t["alerts"], [
            *nn("session", "seq", "alert_type", "severity", "symbol"),
            E.ExpectColumnValuesToBeInSet(column="alert_type", value_set=[
                "VOLUME_SPIKE", "PRICE_BREAKOUT", "FOREIGN_ACCELERATION", "BASIS_FLIP"]),
            E.ExpectColumnValuesToBeInSet(column="severity", value_set=["WARNING", "CRITICAL"]),
        ]),
        "board": (t["board"], [*nn("trading_date", "symbol"), unique("symbol"), ge("ceiling", "last_price"),
                               ge("last_price", "floor")]),
    }
    return suites


def _column_name(kwargs: dict) -> str:
    if "column" in kwargs:
        return kwargs["column"]
    if "column_A" in kwargs:
        return f"{kwargs['column_A']},{kwargs['column_B']}"
    return ",".join(kwargs.get("column_list", []))


def _observed(result: dict) -> str:
    keep = {k: result[k] for k in ("observed_value", "partial_unexpected_list") if result.get(k) not in (None, [])}
    if "partial_unexpected_list" in keep:
        keep["partial_unexpected_list"] = keep["partial_unexpected_list"][:5]
    return json.dumps(keep, default=str)


_GX_LOCK = threading.Lock()  # one context per process; a backfill's days validate one at a time in it
_GX: dict[str, object] = {}


def _gx(suites: dict[str, tuple[pl.DataFrame, list]]) -> dict[str, object]:
    """The process's GX validation definitions by suite name (built on first use, under ``_GX_LOCK``)."""
    if _GX:
        return _GX
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    source = context.data_sources.add_pandas("vntrack")
    for name, (_, expectations) in suites.items():
        batch = source.add_dataframe_asset(name=name).add_batch_definition_whole_dataframe("day")
        suite = context.suites.add(gx.ExpectationSuite(name=name, expectations=expectations))
        _GX[name] = context.validation_definitions.add(gx.ValidationDefinition(data=batch, suite=suite, name=name))
    return _GX


def validate_day(day: date, tables: dict[str, pl.DataFrame]) -> Validation:
    """Run every suite over the day's curated tables (GX validation definitions of the process's context).

    Parameters
    ----------
    day : trading date.
    tables : the curated tables of ``transforms.schemas.CURATED`` (at least trades, session_stats, candles_1m,
        foreign_flow, foreign_summary, indices, basis, alerts, board), with their schemas.

    Returns
    -------
    Validation : ``results`` with columns :data:`DQ_COLUMNS` (one row per expectation; ``column_name`` the
        column, ``A,B`` for pairs, ``a,b`` for compound keys; ``observed`` JSON with up to 5 unexpected values),
        ``failed`` / ``total`` expectation counts.
    """
    run_id = f"{day:%Y%m%d}-{secrets.token_hex(4)}"
    checked_at = datetime.now(timezone.utc)
    rows = []
    suites = _suites(tables)
    with _GX_LOCK:
        definitions = _gx(suites)
        for name, (frame, _) in suites.items():
            outcome = definitions[name].run(batch_parameters={"dataframe": frame.to_pandas()})
            for r in outcome.results:
                kwargs = dict(r.expectation_config.kwargs)
                rows.append({
                    "trading_date": day, "run_id": run_id, "table_name": name,
                    "expectation": r.expectation_config.type, "column_name": _column_name(kwargs),
                    "success": bool(r.success), "element_count": r.result.get("element_count"),
                    "unexpected_count": r.result.get("unexpected_count"), "observed": _observed(r.result),
                    "checked_at": checked_at,
                })
    results = pl.DataFrame(rows, schema=DQ_COLUMNS) if rows else pl.DataFrame(schema=DQ_COLUMNS)
    failed = int((~results["success"]).sum())
    if failed:
        log.warning("%s: %d of %d expectations failed", day, failed, results.height)
    return Validation(results.sort("table_name", "expectation", "column_name"), failed, results.height)
