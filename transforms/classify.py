"""Trade-classification algorithms (who was the aggressor?) and their accuracy ledger against vendor labels.

Every per-trade rule is one vectorised Polars expression over the columns the trade builder attaches
(transforms/trades.py): ``price``; ``_bid``/``_ask`` (level-1 prices of the latest book that arrived strictly
before the trade, null or <= 0 = no quote); ``_has_book``; ``_tick_ref`` (the most recent earlier price of the
symbol that differs from this one, phase != pt: the tick test's reference, so zero ticks inherit the last
non-zero tick). Bulk volume classification works on bars, not trades (:func:`bvc_buy_fraction`).

The rules and their published definitions (the papers are summarised in docs/analysis.md "Classification"):

* ``tick``: Lee and Ready (1991), section on the tick test: a trade above the last different price is a buy,
  below it a sell (uptick / zero-uptick -> buy, downtick / zero-downtick -> sell).
* ``quote``: the quote rule of Lee and Ready (1991): above the quote midpoint -> buy, below -> sell, at the
  midpoint unclassified.
* ``lee_ready``: Lee, C. M. C. and Ready, M. J. (1991), "Inferring Trade Direction from Intraday Data", Journal
  of Finance 46(2), 733-746: the quote rule, and the tick test for trades at the midpoint (and without quotes).
  Their 5-second quote delay corrected a NYSE reporting lag; here the book is the one that arrived before the
  trade on the same feed, so no delay is applied.
* ``emo``: Ellis, K., Michaely, R. and O'Hara, M. (2000), "The Accuracy of Trade Classification Rules: Evidence
  from Nasdaq", Journal of Financial and Quantitative Analysis 35(4), 529-551: a trade at the ask is a buy, at
  the bid a sell; every other trade (inside or outside the quotes) by the tick test.
* ``clnv``: Chakrabarty, B., Li, B., Nguyen, V. and Van Ness, R. A. (2007), "Trade classification algorithms
  for electronic communications network trades", Journal of Banking & Finance 31(12), 3806-3821: a trade in the
  top 30 % of the spread up to the ask is a buy, in the bottom 30 % down to the bid a sell; trades in the middle
  40 % and outside the quotes by the tick test (``ClassificationParams.clnv_band``).
* ``quote_tick``: this project's rule (docs/analytics.md §3): at or through the ask -> buy, at or through the bid
  -> sell, inside the spread neutral; the tick test only without a usable book. One-sided books count.
* ``bvc``: Easley, D., López de Prado, M. and O'Hara, M. (2012), "Flow Toxicity and Liquidity in a
  High-Frequency World", Review of Financial Studies 25(5), 1457-1493: the buy share of a bar's volume is
  ``Z(dP / sigma_dP)``, Z the standard normal CDF, dP the bar's price change and sigma_dP the standard deviation
  of the bar price changes. Here bars are time bars per symbol (``bar_s``, default 60 s), as in Chakrabarty,
  Pascual and Shkilko (2015).

A rule that uses quotes needs a two-sided book (bid > 0 and ask > bid) for the midpoint and the spread;
``quote_tick`` and ``emo``'s at-the-quote tests also take one side.
"""

from __future__ import annotations

from statistics import NormalDist

import numpy as np
import polars as pl

from transforms.params import ClassificationParams

ALGORITHMS = ("tick", "quote", "lee_ready", "emo", "clnv", "quote_tick", "bvc")
"""Every algorithm of the ledger, per-trade rules first."""
BUY_LABELS = ("BU", "B", "BUY")
SELL_LABELS = ("SD", "S", "SELL")
"""Vendor aggressor labels: SSI ``Side`` (BU / SD) and KBS ``match_type`` as imported (buy -> BU, sell -> SD)."""
SIZE_EDGES = (1_000, 10_000)
"""Trade-size buckets of the ledger, shares: < 1,000 (small), < 10,000 (medium), else large."""

LEDGER_TABLE = "classification_ledger"
"""The ledger's curated table name (``lake/curated/date=D/classification_ledger.parquet``, written by replay)."""
LEDGER = pl.Schema({
    "trading_date": pl.Date,
    "algorithm": pl.String,     # ALGORITHMS
    "split": pl.String,         # all | phase | tick | size | bars
    "bucket": pl.String,        # all; ato/continuous/atc; uptick/downtick/zero/first; small/medium/large; <n>s
    "trades": pl.Int64,         # vendor-labelled trades (buy or sell) in the bucket
    "classified": pl.Int64,     # of them, given buy or sell by the algorithm (bvc: all)
    "correct": pl.Float64,      # trades whose side matches the label (bvc: expected matches, sum of shares)
    "accuracy": pl.Float64,     # correct / trades (unclassified count as wrong)
    "accuracy_classified": pl.Float64,  # correct / classified
    "volume": pl.Int64,         # shares of the labelled trades
    "volume_accuracy": pl.Float64,      # correctly classified shares / volume
})
"""The classification-accuracy ledger: one row per (trading_date, algorithm, split, bucket)."""


def _quotes() -> tuple[pl.Expr, pl.Expr]:
    has = pl.col("_has_book").fill_null(False)
    bid = pl.when(has & (pl.col("_bid") > 0)).then(pl.col("_bid"))
    ask = pl.when(has & (pl.col("_ask") > 0)).then(pl.col("_ask"))
    return bid, ask


def tick_side() -> pl.Expr:
    """Tick test (Lee and Ready 1991): ``buy`` if price > ``_tick_ref``, ``sell`` if below, ``neutral`` if none."""
    ref, price = pl.col("_tick_ref"), pl.col("price")
    return (pl.when(ref.is_null()).then(pl.lit("neutral"))
            .when(price > ref).then(pl.lit("buy"))
            .when(price < ref).then(pl.lit("sell"))
            .otherwise(pl.lit("neutral")))


def _two_sided(bid: pl.Expr, ask: pl.Expr) -> pl.Expr:
    return (bid.is_not_null() & ask.is_not_null() & (ask > bid)).fill_null(False)


def rule_side(rule: str, params: ClassificationParams | None = None) -> tuple[pl.Expr, pl.Expr]:
    """(side, rule used) expressions of one per-trade algorithm (module docstring), ignoring the phase.

    Parameters
    ----------
    rule : one of ``transforms.params.RULES``.
    params : options (``clnv_band``); default today's.

    Returns
    -------
    side : String ``buy`` / ``sell`` / ``neutral``; rule used : String ``quote`` / ``tick`` / ``none``.

    Raises
    ------
    ValueError : an unknown rule.
    """
    params = params or ClassificationParams()
    bid, ask = _quotes()
    price = pl.col("price")
    tick = tick_side()
    tick_rule = pl.when(pl.col("_tick_ref").is_null()).then(pl.lit("none")).otherwise(pl.lit("tick"))
    two = _two_sided(bid, ask)
    mid = (bid + ask) / 2
    if rule == "tick":
        return tick, tick_rule
    if rule == "quote":
        side = (pl.when(~two).then(pl.lit("neutral")).when(price > mid).then(pl.lit("buy"))
                .when(price < mid).then(pl.lit("sell")).otherwise(pl.lit("neutral")))
        return side, pl.when(two).then(pl.lit("quote")).otherwise(pl.lit("none"))
    if rule == "lee_ready":
        by_quote = two & (price != mid).fill_null(False)
        side = pl.when(by_quote).then(pl.when(price > mid).then(pl.lit("buy")).otherwise(pl.lit("sell"))).otherwise(tick)
        return side, pl.when(by_quote).then(pl.lit("quote")).otherwise(tick_rule)
    if rule == "emo":
        at_ask, at_bid = (price == ask).fill_null(False), (price == bid).fill_null(False)
        side = pl.when(at_ask).then(pl.lit("buy")).when(at_bid).then(pl.lit("sell")).otherwise(tick)
        return side, pl.when(at_ask | at_bid).then(pl.lit("quote")).otherwise(tick_rule)
    if rule == "clnv":
        band = (ask - bid) * params.clnv_band
        upper = (two & (price <= ask) & (price >= ask - band)).fill_null(False)
        lower = (two & (price >= bid) & (price <= bid + band)).fill_null(False)
        side = pl.when(upper).then(pl.lit("buy")).when(lower).then(pl.lit("sell")).otherwise(tick)
        return side, pl.when(upper | lower).then(pl.lit("quote")).otherwise(tick_rule)
    if rule == "quote_tick":
        usable = bid.is_not_null() | ask.is_not_null()
        by_quote = (pl.when((price >= ask).fill_null(False)).then(pl.lit("buy"))
                    .when((price <= bid).fill_null(False)).then(pl.lit("sell")).otherwise(pl.lit("neutral")))
        side = pl.when(usable).then(by_quote).otherwise(tick)
        return side, pl.when(usable).then(pl.lit("quote")).otherwise(tick_rule)
    raise ValueError(f"unknown classification rule {rule!r}; expected one of {ALGORITHMS[:-1]}")


def classify_trades(trades: pl.DataFrame, params: ClassificationParams) -> pl.DataFrame:
    """Set ``aggressor_side``, ``rule``, ``best_bid``, ``best_ask`` of trades with ``params.rule``.

    Parameters
    ----------
    trades : trades with ``phase``, ``price`` and the helper columns of the module docstring.
    params : the classification parameters; put-through prints (phase ``pt``) are always neutral (rule
        ``none``); call-auction prints are neutral (rule ``auction``) when ``params.auctions_neutral``.

    Returns
    -------
    ``trades`` with the four columns (best_bid / best_ask: the book's positive level-1 prices, as today).
    """
    side, used = rule_side(params.rule, params)
    bid, ask = _quotes()
    auction = pl.col("phase").is_in(["ato", "atc"]) & pl.lit(params.auctions_neutral)
    pt = pl.col("phase") == "pt"
    return trades.with_columns(
        pl.when(auction | pt).then(pl.lit("neutral")).otherwise(side).alias("aggressor_side"),
        pl.when(auction).then(pl.lit("auction")).when(pt).then(pl.lit("none")).otherwise(used).alias("rule"),
        bid.alias("best_bid"),
        ask.alias("best_ask"),
    )


# ---------------------------------------------------------------------------------------------- bulk volume


def bvc_buy_fraction(trades: pl.DataFrame, bar_s: int = 60) -> pl.DataFrame:
    """Bulk volume classification (Easley, López de Prado and O'Hara 2012) on time bars.

    Parameters
    ----------
    trades : ``TRADES`` rows (symbol, exch_time, price Float64, volume Int64, phase); put-through prints are
        left out.
    bar_s : bar length in seconds of exchange time.

    Returns
    -------
    The non-pt trades with ``p_buy`` (Float64 in [0, 1]): the buy share of their bar, ``Z(dP / sigma)``; dP = the
    bar's last price minus the previous bar's (the first bar: minus its own first price); sigma = the standard
    deviation of dP over the symbol's bars of the frame. A symbol with sigma 0 or one bar gets 0.5.
    """
    t = trades.filter(pl.col("phase") != "pt")
    if t.height == 0:
        return t.with_columns(pl.lit(None, pl.Float64).alias("p_buy"))
    t = t.with_columns(pl.col("exch_time").dt.truncate(f"{bar_s}s").alias("_bar"))
    bars = (
        t.group_by("symbol", "_bar", maintain_order=True)
        .agg(pl.col("price").first().alias("_first"), pl.col("price").last().alias("_last"))
        .sort("symbol", "_bar")
        .with_columns(pl.col("_last").shift(1).over("symbol").alias("_prev"))
        .with_columns((pl.col("_last") - pl.coalesce("_prev", "_first")).alias("_dp"))
        .with_columns(pl.col("_dp").std().over("symbol").alias("_sigma"))
    )
    z = bars.select(pl.when(pl.col("_sigma") > 0).then(pl.col("_dp") / pl.col("_sigma"))).to_series().to_numpy()
    cdf = NormalDist().cdf
    p = np.array([0.5 if np.isnan(x) else cdf(float(x)) for x in z], dtype=np.float64)
    bars = bars.select("symbol", "_bar", pl.Series("p_buy", p))
    return t.join(bars, on=["symbol", "_bar"], how="left", maintain_order="left").drop("_bar")


# ------------------------------------------------------------------------------------------------ the ledger


def _with_references(trades: pl.DataFrame) -> pl.DataFrame:
    """Curated trades -> the classifier inputs again (arrival order), plus the previous price for tick direction."""
    t = trades.sort("session", "seq", maintain_order=True).with_row_index("_i")
    prints = t.filter(pl.col("phase") != "pt").select("_i", "symbol", "price")
    prev = pl.col("price").shift(1).over("symbol")
    prints = prints.with_columns(
        pl.when(pl.col("price") != prev).then(prev).otherwise(None).forward_fill().over("symbol").alias("_tick_ref"),
        prev.alias("_prev_price"),
    )
    return (
        t.join(prints.select("_i", "_tick_ref", "_prev_price"), on="_i", how="left", maintain_order="left")
        .with_columns(
            pl.col("best_bid").alias("_bid"), pl.col("best_ask").alias("_ask"),
            (pl.col("best_bid").is_not_null() | pl.col("best_ask").is_not_null()).alias("_has_book"),
        )
    )


def _truth() -> pl.Expr:
    v = pl.col("vendor_side").str.strip_chars().str.to_uppercase()
    return pl.when(v.is_in(BUY_LABELS)).then(pl.lit("buy")).when(v.is_in(SELL_LABELS)).then(pl.lit("sell"))


def classification_ledger(trades: pl.DataFrame, *, params: ClassificationParams | None = None,
                          bvc_bar_s: int = 60, size_edges: tuple[int, int] = SIZE_EDGES) -> pl.DataFrame:
    """Accuracy of every algorithm of :data:`ALGORITHMS` against the vendor's aggressor labels.

    Parameters
    ----------
    trades : curated ``TRADES`` of one or more days (any order; re-sorted by arrival). Only trades with a vendor
        label (``vendor_side`` BU / SD, see :data:`BUY_LABELS`) and phase != pt are scored. Each rule is applied
        to every labelled trade, auction prints included (the auction override of ``classify_trades`` is not
        part of an algorithm).
    params : classification options (``clnv_band``).
    bvc_bar_s : BVC bar length, s. A BVC trade scores its bar's probability of its labelled side.
    size_edges : (small/medium, medium/large) boundaries in shares.

    Returns
    -------
    :data:`LEDGER` rows per day, algorithm, split (``all``, ``phase``, ``tick``: uptick / downtick / zero /
    first against the previous print, ``size``) and bucket, sorted. Empty (with the schema) when nothing is
    labelled.
    """
    if trades.height == 0:
        return pl.DataFrame(schema=LEDGER)
    t = _with_references(trades).with_columns(_truth().alias("_truth"))
    sides = {rule: rule_side(rule, params)[0].alias(f"_side_{rule}") for rule in ALGORITHMS if rule != "bvc"}
    t = t.with_columns(*sides.values())
    bvc = bvc_buy_fraction(t, bvc_bar_s).select("_i", "p_buy")
    t = t.join(bvc, on="_i", how="left", maintain_order="left").filter(
        pl.col("_truth").is_not_null() & (pl.col("phase") != "pt"))
    if t.height == 0:
        return pl.DataFrame(schema=LEDGER)
    small, large = size_edges
    t = t.with_columns(
        pl.when(pl.col("_prev_price").is_null()).then(pl.lit("first"))
        .when(pl.col("price") > pl.col("_prev_price")).then(pl.lit("uptick"))
        .when(pl.col("price") < pl.col("_prev_price")).then(pl.lit("downtick"))
        .otherwise(pl.lit("zero")).alias("_tickdir"),
        pl.when(pl.col("volume") < small).then(pl.lit("small"))
        .when(pl.col("volume") < large).then(pl.lit("medium")).otherwise(pl.lit("large")).alias("_size"),
    )
    long = []
    for algo in ALGORITHMS:
        if algo == "bvc":
            p = pl.col("p_buy").fill_null(0.5)
            correct = pl.when(pl.col("_truth") == "buy").then(p).otherwise(1 - p)
            classified = pl.lit(True)
        else:
            side = pl.col(f"_side_{algo}")
            correct = (side == pl.col("_truth")).cast(pl.Float64)
            classified = side != "neutral"
        long.append(t.select(
            "trading_date", pl.lit(algo).alias("algorithm"), "phase", "_tickdir", "_size", "volume",
            correct.alias("_correct"), classified.alias("_classified")))
    long = pl.concat(long, how="vertical")
    aggs = [
        pl.len().cast(pl.Int64).alias("trades"),
        pl.col("_classified").sum().cast(pl.Int64).alias("classified"),
        pl.col("_correct").sum().alias("correct"),
        pl.col("volume").sum().cast(pl.Int64).alias("volume"),
        (pl.col("_correct") * pl.col("volume")).sum().alias("_cv"),
    ]
    parts = []
    for split, col in (("all", None), ("phase", "phase"), ("tick", "_tickdir"), ("size", "_size")):
        keys = ["trading_date", "algorithm"] + ([col] if col else [])
        g = long.group_by(keys).agg(aggs)
        g = g.with_columns(pl.lit(split).alias("split"),
                           (pl.col(col) if col else pl.lit("all")).alias("bucket"))
        parts.append(g.select("trading_date", "algorithm", "split", "bucket", "trades", "classified", "correct",
                              "volume", "_cv"))
    parts.append(_bar_accuracy(_bar_inputs(t, long), bvc_bar_s))
    out = pl.concat(parts, how="vertical")
    return finish_ledger(out.rename({"_cv": "correct_volume"}))


def _bar_inputs(t: pl.DataFrame, long: pl.DataFrame) -> pl.DataFrame:
    """``long`` (one block of ``t.height`` rows per algorithm, in ``t``'s order) with each trade's estimated buy
    and sell volume and its true side."""
    n = t.height
    keys = t.select("exch_time", "symbol", "_truth")
    est = []
    for i, algo in enumerate(ALGORITHMS):  # long holds one block of n rows per algorithm, in this order
        block = long.slice(i * n, n)
        if algo == "bvc":
            buy = t.get_column("p_buy").fill_null(0.5)
            sell = 1 - buy
        else:  # an unclassified trade adds to neither side
            side = t.get_column(f"_side_{algo}")
            buy, sell = (side == "buy").cast(pl.Float64), (side == "sell").cast(pl.Float64)
        est.append(pl.concat([keys, block.select("trading_date", "algorithm", "volume", "_classified")],
                             how="horizontal").with_columns(
            (pl.col("volume") * buy).alias("_vb"), (pl.col("volume") * sell).alias("_vs")))
    return pl.concat(est, how="vertical")


def _bar_accuracy(est: pl.DataFrame, bar_s: int) -> pl.DataFrame:
    """Bar-level volume accuracy (Chakrabarty, Pascual and Shkilko 2015; the measure BVC is judged by):
    sum over bars of min(est buy, true buy) + min(est sell, true sell), over the volume."""
    bars = (
        est.with_columns(pl.col("exch_time").dt.truncate(f"{bar_s}s").alias("_bar"))
        .group_by("trading_date", "algorithm", "symbol", "_bar")
        .agg(
            pl.len().alias("_n"), pl.col("_classified").sum().alias("_c"), pl.col("volume").sum().alias("_v"),
            pl.col("_vb").sum(), pl.col("_vs").sum(),
            pl.col("volume").filter(pl.col("_truth") == "buy").sum().alias("_tb"),
            pl.col("volume").filter(pl.col("_truth") == "sell").sum().alias("_ts"),
        )
        .with_columns((pl.min_horizontal("_vb", "_tb") + pl.min_horizontal("_vs", "_ts")).alias("_ok"))
    )
    g = bars.group_by("trading_date", "algorithm").agg(
        pl.col("_n").sum().cast(pl.Int64).alias("trades"), pl.col("_c").sum().cast(pl.Int64).alias("classified"),
        pl.col("_v").sum().cast(pl.Int64).alias("volume"), pl.col("_ok").sum().alias("_cv"),
    )
    return g.with_columns(
        pl.lit("bars").alias("split"), pl.lit(f"{bar_s}s").alias("bucket"),
        (pl.col("_cv") / pl.col("volume") * pl.col("trades")).alias("correct"),
    ).select("trading_date", "algorithm", "split", "bucket", "trades", "classified", "correct", "volume", "_cv")


def finish_ledger(counts: pl.DataFrame) -> pl.DataFrame:
    """Counts (trades, classified, correct, volume, correct_volume per key) -> :data:`LEDGER` with the ratios,
    sorted by date, algorithm order, split, bucket."""
    order = {a: i for i, a in enumerate(ALGORITHMS)}
    splits = {s: i for i, s in enumerate(("all", "phase", "tick", "size", "bars"))}
    return (
        counts.with_columns(
            (pl.col("correct") / pl.col("trades")).alias("accuracy"),
            pl.when(pl.col("classified") > 0).then(pl.col("correct") / pl.col("classified")).alias(
                "accuracy_classified"),
            (pl.col("correct_volume") / pl.col("volume")).alias("volume_accuracy"),
        )
        .sort(pl.col("trading_date"), pl.col("algorithm").replace_strict(order, return_dtype=pl.Int64),
              pl.col("split").replace_strict(splits, return_dtype=pl.Int64), "bucket")
        .select(list(LEDGER))
        .cast(dict(LEDGER))
    )


def pool_ledgers(ledger: pl.DataFrame) -> pl.DataFrame:
    """Ledger rows of several days -> one pooled ledger (``trading_date`` null): counts summed, ratios again."""
    if ledger.height == 0:
        return ledger
    pooled = ledger.group_by("algorithm", "split", "bucket").agg(
        pl.col("trades").sum(), pl.col("classified").sum(), pl.col("correct").sum(), pl.col("volume").sum(),
        (pl.col("volume_accuracy") * pl.col("volume")).sum().alias("correct_volume"),
    ).with_columns(pl.lit(None, pl.Date).alias("trading_date"))
    return finish_ledger(pooled)


def vendor_agreement(trades: pl.DataFrame, by: tuple[str, ...] = ()) -> pl.DataFrame:
    """Agreement of the published aggressor side (``trades.aggressor_side``) with the vendor's label, per group.

    The one computation of this measure: the daily report and the app both show it. Labels are normalised as the
    ledger does (``vendor_side`` trimmed, upper-cased, :data:`BUY_LABELS` -> buy, :data:`SELL_LABELS` -> sell);
    trades without one are not compared. Unlike the ledger, this scores the curated side itself, auction prints
    (neutral by the rule of docs/analytics.md) included.

    Parameters
    ----------
    trades : curated ``TRADES`` rows (at least aggressor_side, vendor_side and the ``by`` columns).
    by : grouping columns; () = one row over all labelled trades.

    Returns
    -------
    pl.DataFrame : *by, n i64 (labelled trades), agree i64, opposite i64 (we gave the other side), neutral i64 (we
        gave no side), agree_pct f64 (100 agree / n), agree_sided_pct f64 (100 agree / (agree + opposite), null
        when 0); ``agree + opposite + neutral == n``. Sorted by ``by``; no row when nothing is labelled.
    """
    ours = pl.col("aggressor_side")
    sided = ours.is_in(["buy", "sell"]).fill_null(False)
    t = trades.with_columns(_truth().alias("_vendor")).filter(pl.col("_vendor").is_not_null())
    agg = [pl.len().cast(pl.Int64).alias("n"),
           (sided & (ours == pl.col("_vendor"))).sum().cast(pl.Int64).alias("agree"),
           (sided & (ours != pl.col("_vendor"))).sum().cast(pl.Int64).alias("opposite"),
           (~sided).sum().cast(pl.Int64).alias("neutral")]
    if by:
        out = t.group_by(list(by)).agg(agg).sort(list(by))
    else:
        out = t.select(agg) if t.height else pl.DataFrame(schema={"n": pl.Int64, "agree": pl.Int64,
                                                                   "opposite": pl.Int64, "neutral": pl.Int64})
    return out.with_columns(
        (100.0 * pl.col("agree") / pl.col("n")).alias("agree_pct"),
        (100.0 * pl.col("agree") / pl.when(pl.col("agree") + pl.col("opposite") > 0)
         .then(pl.col("agree") + pl.col("opposite"))).alias("agree_sided_pct"),
    )
