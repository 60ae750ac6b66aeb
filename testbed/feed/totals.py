"""Per-symbol daily totals of the served day, as SSI's REST ``DailyStockPrice`` returns them.

Computed from the day's own frames with the project's transforms (``transforms.parse.parse_frames`` and
``transforms.trades.build_trades``), so the REST answer and the stream can never disagree:

=====================================  ==========================================================================
field                                  from
=====================================  ==========================================================================
OpenPrice / HighestPrice / LowestPrice first / max / min / last trade price in arrival order (VND; futures: points)
/ ClosePrice / ClosePriceAdjusted
TotalMatchVol / TotalMatchVal          sum of trade volume (shares) / value (VND, ``value_vnd``) over all trades
TotalBuyTrade / TotalBuyTradeVol       number / volume of trades classified active buy (``aggressor_side``)
TotalSellTrade / TotalSellTradeVol     the same for active sell
AveragePrice                           TotalMatchVal / TotalMatchVol (VND; futures: VND per contract), 2 decimals
RefPrice / CeilingPrice / FloorPrice   last value carried by the symbol's X-TRADE or X frames (null if none)
PriceChange / PerPriceChange           ClosePrice - RefPrice; that over RefPrice in %, 2 decimals
ForeignBuyVolTotal / ForeignSell…      the symbol's last R frame: BuyVol, SellVol, BuyVal, SellVal (0 without R)
ForeignCurrentRoom                     last R frame's CurrentRoom (null without R)
NetBuySellVol / NetBuySellVal          foreign buy - sell (volume / value)
TotalDealVol / TotalDealVal            "0": the stream carries no per-symbol put-through
TotalTradedVol / TotalTradedValue      match + deal
Time                                   null (as DailyOhlc's ``Time``)
=====================================  ==========================================================================

Field names and order: SSI's own Java client, ``CTCPCK-SSI/java-fcdata``
``fcdata-client/src/main/java/vn/com/ssi/Data/DataContract/DailyStockPriceResponse.java`` (Gson, case-sensitive);
consumers read the same names (``TotalMatchVol``, ``ForeignBuyVolTotal``, ``NetBuySellVal``). The older
doc spellings in docs/ssi-wire.md §4 (``Totalmatchvol``, ``Netforeivol``...) come from the outdated PDF/NodeJS README.
Every value is a string (``"61700"``, ``"22927.93"``), or null where the frames cannot tell.
"""

from __future__ import annotations

import math
from datetime import date

import polars as pl

from market import rules as market
from transforms.parse import parse_frames
from transforms.trades import build_trades
from transforms.windows import arrival_key, arrival_order

FIELDS: tuple[str, ...] = (
    "TradingDate", "PriceChange", "PerPriceChange", "CeilingPrice", "FloorPrice", "RefPrice", "OpenPrice",
    "HighestPrice", "LowestPrice", "ClosePrice", "AveragePrice", "ClosePriceAdjusted", "TotalMatchVol",
    "TotalMatchVal", "TotalDealVal", "TotalDealVol", "ForeignBuyVolTotal", "ForeignCurrentRoom",
    "ForeignSellVolTotal", "ForeignBuyValTotal", "ForeignSellValTotal", "TotalBuyTrade", "TotalBuyTradeVol",
    "TotalSellTrade", "TotalSellTradeVol", "NetBuySellVol", "NetBuySellVal", "TotalTradedVol", "TotalTradedValue",
    "Symbol", "Time",
)
"""Keys of one DailyStockPrice record, in SSI's order."""


def number_text(x: float | None) -> str | None:
    """A number as SSI writes it in REST: ``61700.0`` -> ``"61700"``, ``22927.93`` -> ``"22927.93"``; None stays."""
    if x is None:
        return None
    if isinstance(x, float):
        if math.isnan(x):
            return None
        if x.is_integer():
            return str(int(x))
        return f"{x:.6f}".rstrip("0").rstrip(".")
    return str(int(x))


def _last_by_symbol(frame: pl.DataFrame, ranks: dict[str, int], cols: list[str]) -> pl.DataFrame:
    if frame.height == 0:
        return pl.DataFrame(schema={"symbol": pl.String, **{c: frame.schema[c] for c in cols}})
    ordered = frame.with_columns(arrival_key(ranks)).sort("_arr")
    return ordered.group_by("symbol", maintain_order=True).agg([pl.col(c).drop_nulls().last() for c in cols])


def daily_rows(raw: pl.DataFrame, day: date) -> list[dict[str, str | None]]:
    """DailyStockPrice records of every instrument seen on the day, sorted by symbol.

    Parameters
    ----------
    raw : the day's raw frames (docs/architecture.md §3), any order.
    day : trading date.

    Returns
    -------
    list of dicts with exactly :data:`FIELDS` as keys (module docstring for each value), plus ``_exchange``
    (the instrument's exchange, for the ``market`` filter; not sent).
    """
    parsed = parse_frames(raw, day)
    ranks = arrival_order(*parsed.values())
    trades = build_trades(parsed, ranks)
    buy, sell = pl.col("aggressor_side") == "buy", pl.col("aggressor_side") == "sell"
    agg = trades.group_by("symbol", maintain_order=True).agg(
        pl.col("price").first().alias("open"), pl.col("price").max().alias("high"),
        pl.col("price").min().alias("low"), pl.col("price").last().alias("close"),
        pl.col("volume").sum().alias("vol"), pl.col("value_vnd").sum().alias("val"),
        buy.sum().alias("buy_n"), pl.col("volume").filter(buy).sum().alias("buy_vol"),
        sell.sum().alias("sell_n"), pl.col("volume").filter(sell).sum().alias("sell_vol"),
        pl.col("exchange").drop_nulls().last().alias("exchange"),
    )
    price_cols = ["ref_price", "ceiling", "floor"]
    limits = _last_by_symbol(
        pl.concat([parsed["x_trade"].select("session", "seq", "symbol", *price_cols),
                   parsed["x"].select("session", "seq", "symbol", *price_cols)]), ranks, price_cols)
    foreign = _last_by_symbol(parsed["foreign_room"], ranks,
                              ["buy_vol", "sell_vol", "buy_val", "sell_val", "current_room", "exchange", "market_id"])
    quotes = _last_by_symbol(parsed["x_quote"], ranks, ["exchange"])
    symbols = sorted(
        (set(agg["symbol"]) | set(limits["symbol"]) | set(foreign["symbol"]) | set(quotes["symbol"]))
        - {s for s in set(quotes["symbol"]) | set(foreign["symbol"]) if market.is_index_symbol(s)}
    )
    by = {name: {r["symbol"]: r for r in frame.iter_rows(named=True)}
          for name, frame in (("agg", agg), ("limits", limits), ("foreign", foreign), ("quotes", quotes))}
    rows = []
    for sym in symbols:
        a, lim, fr, q = (by[k].get(sym, {}) for k in ("agg", "limits", "foreign", "quotes"))
        vol, val = int(a.get("vol") or 0), int(a.get("val") or 0)
        ref, close = lim.get("ref_price"), a.get("close")
        change = close - ref if close is not None and ref is not None else None
        pct = round(change / ref * 100, 2) if change is not None and ref else None
        fb, fs = int(fr.get("buy_vol") or 0), int(fr.get("sell_vol") or 0)
        fbv, fsv = float(fr.get("buy_val") or 0.0), float(fr.get("sell_val") or 0.0)
        exchange = market.resolve_exchange(sym, a.get("exchange") or q.get("exchange") or fr.get("exchange"),
                                           fr.get("market_id"))
        record = {
            "TradingDate": day.strftime("%d/%m/%Y"),
            "PriceChange": number_text(round(change, 6) if change is not None else None),
            "PerPriceChange": number_text(pct),
            "CeilingPrice": number_text(lim.get("ceiling")),
            "FloorPrice": number_text(lim.get("floor")),
            "RefPrice": number_text(ref),
            "OpenPrice": number_text(a.get("open")),
            "HighestPrice": number_text(a.get("high")),
            "LowestPrice": number_text(a.get("low")),
            "ClosePrice": number_text(close),
            "AveragePrice": number_text(round(val / vol, 2) if vol else None),
            "ClosePriceAdjusted": number_text(close),
            "TotalMatchVol": str(vol),
            "TotalMatchVal": str(val),
            "TotalDealVal": "0",
            "TotalDealVol": "0",
            "ForeignBuyVolTotal": str(fb),
            "ForeignCurrentRoom": number_text(fr.get("current_room")),
            "ForeignSellVolTotal": str(fs),
            "ForeignBuyValTotal": number_text(fbv),
            "ForeignSellValTotal": number_text(fsv),
            "TotalBuyTrade": str(int(a.get("buy_n") or 0)),
            "TotalBuyTradeVol": str(int(a.get("buy_vol") or 0)),
            "TotalSellTrade": str(int(a.get("sell_n") or 0)),
            "TotalSellTradeVol": str(int(a.get("sell_vol") or 0)),
            "NetBuySellVol": str(fb - fs),
            "NetBuySellVal": number_text(fbv - fsv),
            "TotalTradedVol": str(vol),
            "TotalTradedValue": str(val),
            "Symbol": sym,
            "Time": None,
        }
        assert tuple(record) == FIELDS
        record["_exchange"] = exchange
        rows.append(record)
    return rows
