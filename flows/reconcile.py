"""``reconcile_day``: how complete is the capture? Captured per-symbol totals vs SSI's REST DailyStockPrice.

Compared per symbol (docs/ssi-wire.md §4; field names as testbed/feed/totals.py and SSI's Java client spell them):

==========================  =====================================================  ==========================
measure                     captured (curated tables of the date)                 REST (DailyStockPrice)
==========================  =====================================================  ==========================
matched volume (shares)     session_stats, phase ``total``, ``volume``             ``TotalMatchVol``
foreign buy volume          foreign_summary ``buy_vol``                            ``ForeignBuyVolTotal``
foreign sell volume         foreign_summary ``sell_vol``                           ``ForeignSellVolTotal``
==========================  =====================================================  ==========================

Per measure the agreement is ``min(captured, rest) / max(captured, rest)`` (1 when both are 0): missing frames
and duplicated frames both lower it. A symbol's ``score`` is its worst measure (0..1). Symbols only on one
side score 0. Stored in the warehouse table ``completeness`` (replacing the date's previous reconciliation).
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path

import polars as pl
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NONE

from storage import lake as lake_io
from flows.common import flow_settings, non_trading_reason, today_vn
from market.clock import TZ
from ssi.rest import AuthRefused, fetch_token_sync
from warehouse.load import replace_day
from warehouse.migrate import migrate
from warehouse.target import target_from_settings

PAGE_SIZE = 1000
_MEASURES = (("volume", "TotalMatchVol"), ("foreign_buy_vol", "ForeignBuyVolTotal"),
             ("foreign_sell_vol", "ForeignSellVolTotal"))


class ReconcileError(RuntimeError):
    """The REST service refused or answered something unusable (the message says what)."""


def fetch_daily_stock_price(base_url: str, consumer_id: str, consumer_secret: str, day: date,
                            *, timeout_s: float = 30.0) -> pl.DataFrame:
    """Every symbol's DailyStockPrice record of ``day`` (all pages).

    Parameters
    ----------
    base_url : SSI FastConnect Data REST root, e.g. ``https://fc-data.ssi.com.vn/`` (or a local ``vntrack feed``).
    consumer_id, consumer_secret : credentials for ``api/v2/Market/AccessToken`` (never logged).
    day : trading date.

    Returns
    -------
    pl.DataFrame : symbol str, rest_volume i64, rest_foreign_buy_vol i64, rest_foreign_sell_vol i64 (shares).

    Raises
    ------
    ReconcileError : refused credentials, an ``Error`` status, or a malformed reply.
    httpx.HTTPError : the service is unreachable (the task retries).
    """
    import httpx

    base = base_url if base_url.endswith("/") else base_url + "/"
    with httpx.Client(base_url=base, timeout=timeout_s) as client:
        try:
            token = fetch_token_sync(client, "", consumer_id, consumer_secret)
        except AuthRefused as e:
            raise ReconcileError(str(e)) from None
        headers = {"Authorization": f"Bearer {token.value}"}
        records, page = [], 1
        while True:
            r = client.get("api/v2/Market/DailyStockPrice", headers=headers, params={
                "symbol": "", "fromDate": f"{day:%d/%m/%Y}", "toDate": f"{day:%d/%m/%Y}", "pageIndex": page,
                "pageSize": PAGE_SIZE, "market": ""})
            r.raise_for_status()
            body = r.json()
            if body.get("status") != "Success" or body.get("data") is None:
                raise ReconcileError(f"DailyStockPrice for {day}: {body.get('message')!r}")
            records.extend(body["data"])
            if len(records) >= int(body.get("totalRecord") or 0) or not body["data"]:
                break
            page += 1

    return daily_stock_price_frame(records, day)


def daily_stock_price_frame(records: list[dict], day: date) -> pl.DataFrame:
    """The reconcile measures of DailyStockPrice records, keys read case-insensitively.

    SSI's .NET service serialises its models in PascalCase (``TotalMatchVol``) while its published field list
    spells some keys otherwise (``Totalmatchvol``, ``Foreignbuyvoltotal``; docs/ssi-wire.md §4):
    both read the same here. An empty value is 0 shares (no trade that day).

    Parameters
    ----------
    records : the ``data`` items of the DailyStockPrice pages (dicts of JSON scalars).
    day : the trading date asked for (for the error message).

    Returns
    -------
    pl.DataFrame : symbol str, rest_volume i64, rest_foreign_buy_vol i64, rest_foreign_sell_vol i64 (shares).

    Raises
    ------
    ReconcileError : a record lacks the symbol or one of ``TotalMatchVol``, ``ForeignBuyVolTotal``,
        ``ForeignSellVolTotal`` in any spelling (the message names the record and the keys it has), or a value
        is not a number.
    """
    wanted = {"symbol": "Symbol", "rest_volume": "TotalMatchVol", "rest_foreign_buy_vol": "ForeignBuyVolTotal",
              "rest_foreign_sell_vol": "ForeignSellVolTotal"}
    columns: dict[str, list] = {name: [] for name in wanted}
    for i, rec in enumerate(records):
        lower = {str(k).lower(): v for k, v in rec.items()}
        for name, key in wanted.items():
            if key.lower() not in lower:
                raise ReconcileError(f"DailyStockPrice for {day}: record {i} ({lower.get('symbol', '?')}) has no "
                                     f"{key} in any spelling; its keys: {', '.join(sorted(map(str, rec)))}")
            v = lower[key.lower()]
            if name == "symbol":
                columns[name].append(str(v))
                continue
            try:
                columns[name].append(int(float(v)) if v not in (None, "") else 0)
            except (TypeError, ValueError):
                raise ReconcileError(f"DailyStockPrice for {day}: {lower.get('symbol', '?')} {key} = {v!r} is "
                                     "not a number of shares") from None
    return pl.DataFrame(columns, schema={"symbol": pl.String, "rest_volume": pl.Int64,
                                         "rest_foreign_buy_vol": pl.Int64, "rest_foreign_sell_vol": pl.Int64})


def captured_totals(lake: Path, day: date) -> pl.DataFrame:
    """Per-symbol captured totals from the date's curated tables (see the module docstring).

    Returns: symbol str, captured_volume i64, captured_foreign_buy_vol i64, captured_foreign_sell_vol i64.
    """
    stats = lake_io.read_curated(lake, day, "session_stats").filter(pl.col("phase") == "total").select(
        "symbol", pl.col("volume").alias("captured_volume"))
    foreign = lake_io.read_curated(lake, day, "foreign_summary").select(
        "symbol", pl.col("buy_vol").alias("captured_foreign_buy_vol"),
        pl.col("sell_vol").alias("captured_foreign_sell_vol"))
    return stats.join(foreign, on="symbol", how="full", coalesce=True).fill_null(0)


def completeness(captured: pl.DataFrame, rest: pl.DataFrame, day: date) -> pl.DataFrame:
    """Completeness score per symbol (module docstring), columns of the warehouse table ``completeness``."""
    both = captured.join(rest, on="symbol", how="full", coalesce=True).fill_null(0)

    def agree(m: str) -> pl.Expr:
        c, r = pl.col(f"captured_{m}").cast(pl.Float64), pl.col(f"rest_{m}").cast(pl.Float64)
        return pl.when((c == 0) & (r == 0)).then(1.0).otherwise(pl.min_horizontal(c, r) / pl.max_horizontal(c, r))

    return both.select(
        pl.lit(day).alias("trading_date"), "symbol",
        "captured_volume", "rest_volume", "captured_foreign_buy_vol", "rest_foreign_buy_vol",
        "captured_foreign_sell_vol", "rest_foreign_sell_vol",
        pl.min_horizontal(*[agree(m) for m, _ in _MEASURES]).alias("score"),
        pl.lit(datetime.now(timezone.utc)).dt.convert_time_zone(TZ).alias("checked_at"),
    ).sort("symbol")


@task(retries=3, retry_delay_seconds=[2, 10, 30], cache_policy=NONE)
def fetch_rest(trading_date: date) -> pl.DataFrame:
    """DailyStockPrice of the date from the configured REST service (``VNTRACK_SSI_REST_URL``)."""
    s = flow_settings()
    if s.ssi_consumer_id is None or s.ssi_consumer_secret is None:
        raise ReconcileError("reconcile needs SSI_CONSUMER_ID and SSI_CONSUMER_SECRET (the REST credentials)")
    return fetch_daily_stock_price(s.ssi_rest_url, s.ssi_consumer_id.get_secret_value(),
                                   s.ssi_consumer_secret.get_secret_value(), trading_date)


@task(retries=3, retry_delay_seconds=[2, 5, 15], cache_policy=NONE)
def store_completeness(trading_date: date, scores: pl.DataFrame) -> int:
    """Replace the date's rows of ``completeness`` in the warehouse."""
    target = target_from_settings(flow_settings())
    migrate(target)
    return replace_day(target, trading_date, {"completeness": scores}).rows["completeness"]


@flow(name="reconcile-day", flow_run_name="reconcile-{trading_date}", log_prints=True)
def reconcile_day(trading_date: date | None = None) -> dict:
    """Score how completely the date was captured, per symbol, against SSI's REST totals; store the scores.

    Parameters
    ----------
    trading_date : the date (its curated tables must exist: rebuild it first); None = today in Vietnam.

    Returns
    -------
    dict : symbols, complete (score == 1), mean_score, worst (up to 5 symbols with their scores), rows stored;
        ``skipped`` on a non-trading day.
    """
    day = trading_date or today_vn()
    if reason := non_trading_reason(day):
        get_run_logger().info("skipped: %s", reason)
        return {"trading_date": day.isoformat(), "skipped": reason}
    captured = captured_totals(Path(flow_settings().lake), day)
    scores = completeness(captured, fetch_rest(day), day)
    stored = store_completeness(day, scores)
    worst = scores.sort("score", "symbol").head(5)
    result = {"trading_date": day.isoformat(), "symbols": scores.height,
              "complete": int((scores["score"] == 1.0).sum()),
              "mean_score": round(float(scores["score"].mean() or 0.0), 6),
              "worst": dict(zip(worst["symbol"], [round(x, 6) for x in worst["score"]])), "stored": stored}
    get_run_logger().info("reconciled %s: %s", day, result)
    return result
