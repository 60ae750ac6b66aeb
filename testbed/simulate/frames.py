"""Wire payloads: simulated rows -> SSI Broadcast arguments, rendered column-wise with polars string expressions.

Every payload is byte-for-byte what the project's importers write for a real frame (``capture/import_kbs.py``
``x_trade_payload``): ``{"DataType":"X-TRADE","Content":"<content>"}`` where the content is the compact JSON
object (``separators=(",", ":")``) with the exact wire keys in wire order (docs/ssi-wire.md §2), embedded as a JSON
string (its quotes escaped). Numbers are written as the wire writes them: every numeric field as a double
(``100.0``, ``21750.0``, ``128454615.60380691``; polars' float formatting equals Python's ``repr`` in these
ranges), MI breadth counts as integers, ``null`` where the wire sends null (``Side`` of auction prints). So
``json.dumps(json.loads(content), separators=(",", ":")) == content`` for every frame.

Nothing is formatted in a Python loop: each channel is one ``pl.concat_str`` over columns, literal key text merged
into as few pieces as possible. Symbols, exchanges and session codes are plain ASCII without quotes or
backslashes, so they need no escaping.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache, cached_property

import numpy as np
import polars as pl

from testbed.simulate.prices import grid_price
from testbed.simulate.quotes import LEVELS
from testbed.simulate.schedule import time_texts
from testbed.simulate.trades import SESSION_CODES
from testbed.simulate.universe import Universe
from market.rules import DERIVATIVES

X_TRADE_KEYS: tuple[str, ...] = (
    "RType", "TradingDate", "Time", "Isin", "Symbol", "Ceiling", "Floor", "RefPrice", "AvgPrice", "PriorVal",
    "LastPrice", "LastVol", "TotalVal", "TotalVol", "MarketId", "Exchange", "TradingSession", "TradingStatus",
    "Change", "RatioChange", "EstMatchedPrice", "Highest", "Lowest", "Side",
)
X_QUOTE_KEYS: tuple[str, ...] = (
    "TradingDate", "Time", "Exchange", "Symbol", "RType",
    *(f"AskPrice{i}" for i in range(1, 11)), *(f"AskVol{i}" for i in range(1, 11)),
    *(f"BidPrice{i}" for i in range(1, 11)), *(f"BidVol{i}" for i in range(1, 11)), "TradingSession",
)
X_KEYS: tuple[str, ...] = (
    "RType", "TradingDate", "Time", "Isin", "Symbol", "Ceiling", "Floor", "RefPrice", "Open", "High", "Low", "Close",
    "AvgPrice", "PriorVal", "LastPrice", "LastVol", "TotalVal", "TotalVol",
    *(f"BidPrice{i}" for i in range(1, 11)), *(f"BidVol{i}" for i in range(1, 11)),
    *(f"AskPrice{i}" for i in range(1, 11)), *(f"AskVol{i}" for i in range(1, 11)),
    "MarketId", "Exchange", "TradingSession", "TradingStatus", "Change", "RatioChange", "EstMatchedPrice", "Side",
    "CloseQtty",
)
R_KEYS: tuple[str, ...] = (
    "RType", "TradingDate", "Time", "Isin", "Symbol", "TotalRoom", "CurrentRoom", "BuyVol", "SellVol", "BuyVal",
    "SellVal", "MarketId", "Exchange",
)
MI_KEYS: tuple[str, ...] = (
    "IndexId", "IndexValue", "PriorIndexValue", "TradingDate", "Time", "TotalTrade", "TotalQtty", "TotalValue",
    "IndexName", "Advances", "NoChanges", "Declines", "Ceilings", "Floors", "Change", "RatioChange", "TotalQttyPt",
    "TotalValuePt", "Exchange", "AllQty", "AllValue", "IndexType", "TradingSession", "MarketId", "RType",
    "TotalQttyOd", "TotalValueOd",
)
B_KEYS: tuple[str, ...] = ("RType", "TradingDate", "Time", "Symbol", "Open", "High", "Low", "Close", "Volume", "Value")
F_KEYS: tuple[str, ...] = (
    "RType", "MarketId", "TradingDate", "Time", "Symbol", "TradingSession", "TradingStatus", "Exchange",
    "TradingOlSession",
)
WIRE_KEYS: dict[str, tuple[str, ...]] = {
    "X-TRADE": X_TRADE_KEYS, "X-QUOTE": X_QUOTE_KEYS, "X": X_KEYS, "R": R_KEYS, "MI": MI_KEYS, "B": B_KEYS,
    "F": F_KEYS,
}
"""Content keys of each simulated channel, in wire order (docs/ssi-wire.md §2; the X-QUOTE order of the real HOSE
capture, 10 levels always present)."""

HOSE_LEVELS = 3  # HOSE books show 3 levels; HNX, UPCOM and VN30F 10 (docs/ssi-wire.md §2.2)

# Kinds of a content field: a float written as a double, an integer, a string, a nullable string, a constant.
NUM, INT, STR, OPT, CONST = "num", "int", "str", "opt", "const"


def content_payload(data_type: str, fields: list[tuple[str, str, object]]) -> pl.Expr:
    """One ``pl.concat_str`` writing ``{"DataType":<data_type>,"Content":"<escaped compact JSON>"}``.

    Parameters
    ----------
    data_type : the ``DataType``.
    fields : ``(wire key, kind, value)`` in wire order. ``kind`` NUM (Float64 expr), INT (Int64 expr), STR (String
        expr), OPT (String expr, null -> ``null``), CONST (a Python str, or None for ``null``).

    Returns
    -------
    pl.Expr (String): the payload.
    """
    q = '\\"'  # a quote inside the Content string
    pieces: list[pl.Expr] = []
    text = '{"DataType":"' + data_type + '","Content":"{'
    for i, (key, kind, value) in enumerate(fields):
        text += ("," if i else "") + q + key + q + ":"
        if kind == CONST:
            text += "null" if value is None else q + str(value) + q
            continue
        pieces.append(pl.lit(text))
        text = ""
        expr = value
        if kind == NUM:
            pieces.append(expr.cast(pl.Float64).cast(pl.String))
        elif kind == INT:
            pieces.append(expr.cast(pl.Int64).cast(pl.String))
        elif kind == STR:
            pieces.extend([pl.lit(q), expr, pl.lit(q)])
        elif kind == OPT:
            quoted = pl.concat_str(pl.lit(q), expr, pl.lit(q))
            pieces.append(pl.when(expr.is_null()).then(pl.lit("null")).otherwise(quoted))
        else:
            raise ValueError(f"unknown field kind {kind!r}")
    pieces.append(pl.lit(text + '}"}'))
    return pl.concat_str(pieces)


@cache
def _times() -> pl.Series:
    return pl.Series("time", time_texts(), dtype=pl.String)


@dataclass(frozen=True)
class Context:
    """What every renderer needs besides the rows: the date and the instruments."""

    universe: Universe
    day: date

    @property
    def date_text(self) -> str:
        """``TradingDate``: dd/mm/yyyy."""
        return f"{self.day:%d/%m/%Y}"

    @cached_property
    def _symbols(self) -> pl.Series:
        return pl.Series("symbol", self.universe.symbol.tolist(), dtype=pl.String)

    @cached_property
    def _exchanges(self) -> pl.Series:
        return pl.Series("exchange", self.universe.exchange.tolist(), dtype=pl.String)

    def strings(self, rows: pl.DataFrame) -> pl.DataFrame:
        """``rows`` plus ``time``, ``symbol``, ``exchange`` (String) and ``ref``, ``ceiling``, ``floor`` (Float64)
        from its ``sec`` and ``sym`` columns."""
        sym = rows.get_column("sym").to_numpy()
        u = self.universe
        return rows.with_columns(
            _times().gather(rows.get_column("sec")).alias("time"),
            self._symbols.gather(sym), self._exchanges.gather(sym),
            pl.Series("ref", u.ref[sym]), pl.Series("ceiling", u.ceiling[sym]), pl.Series("floor", u.floor[sym]),
        )


def _status() -> pl.Expr:
    return pl.when(pl.col("exchange") == DERIVATIVES).then(pl.lit("Active")).otherwise(pl.lit("N"))


def _side() -> pl.Expr:
    return pl.when(pl.col("side") > 0).then(pl.lit("BU")).when(pl.col("side") < 0).then(pl.lit("SD"))


def _session() -> pl.Expr:
    return pl.col("session").replace_strict(list(range(len(SESSION_CODES))), list(SESSION_CODES),
                                            return_dtype=pl.String)


def _change() -> tuple[pl.Expr, pl.Expr]:
    change = pl.col("price") - pl.col("ref")
    return change, ((change / pl.col("ref") * 100).round(2) + 0.0)


def render_x_trade(ctx: Context, rows: pl.DataFrame) -> pl.Series:
    """X-TRADE payloads of print rows (``sym, sec, session, price, vol, total_vol, total_val, avg, est, highest,
    lowest, side``); docs/ssi-wire.md §2.1."""
    df = ctx.strings(rows)
    change, ratio = _change()
    c = pl.col
    fields = [
        ("RType", CONST, "X-TRADE"), ("TradingDate", CONST, ctx.date_text), ("Time", STR, c("time")),
        ("Isin", STR, c("symbol")), ("Symbol", STR, c("symbol")), ("Ceiling", NUM, c("ceiling")),
        ("Floor", NUM, c("floor")), ("RefPrice", NUM, c("ref")), ("AvgPrice", NUM, c("avg")),
        ("PriorVal", NUM, c("ref")), ("LastPrice", NUM, c("price")), ("LastVol", NUM, c("vol")),
        ("TotalVal", NUM, c("total_val")), ("TotalVol", NUM, c("total_vol")), ("MarketId", STR, c("exchange")),
        ("Exchange", STR, c("exchange")), ("TradingSession", STR, _session()), ("TradingStatus", STR, _status()),
        ("Change", NUM, change), ("RatioChange", NUM, ratio), ("EstMatchedPrice", NUM, c("est")),
        ("Highest", NUM, c("highest")), ("Lowest", NUM, c("lowest")), ("Side", OPT, _side()),
    ]
    return df.select(content_payload("X-TRADE", fields).alias("payload")).to_series()


def render_b(ctx: Context, rows: pl.DataFrame) -> pl.Series:
    """B payloads (one per matched print; ``sym, sec, price, vol``): O=H=L=C = the price, ``Value`` 0.0."""
    df = ctx.strings(rows)
    c = pl.col
    fields = [("RType", CONST, "B"), ("TradingDate", CONST, ctx.date_text), ("Time", STR, c("time")),
              ("Symbol", STR, c("symbol")), ("Open", NUM, c("price")), ("High", NUM, c("price")),
              ("Low", NUM, c("price")), ("Close", NUM, c("price")), ("Volume", NUM, c("vol")),
              ("Value", NUM, pl.lit(0.0))]
    return df.select(content_payload("B", fields).alias("payload")).to_series()


def _book_columns(ctx: Context, rows: pl.DataFrame) -> pl.DataFrame:
    """Level prices and shown volumes: ``ask_price_i, ask_vol_i, bid_price_i, bid_vol_i`` (Float64) for i = 1..10,
    0.0 off the grid and beyond the exchange's depth (3 levels on HOSE)."""
    u = ctx.universe
    sym = rows.get_column("sym").to_numpy()
    b = rows.get_column("b").to_numpy()
    depth = np.where(u.exchange[sym] == "HOSE", HOSE_LEVELS, LEVELS)
    cols = {}
    for i in range(1, LEVELS + 1):
        for side, index in (("ask", b + i), ("bid", b - i + 1)):
            price = np.where(i <= depth, grid_price(u, sym, index), 0.0)
            vol = rows.get_column(f"{side}_vol_{i}").to_numpy()
            cols[f"{side}_price_{i}"] = price
            cols[f"{side}_vol_{i}"] = np.where(price > 0, vol, 0).astype(np.float64)
    return pl.DataFrame(cols)


def render_x_quote(ctx: Context, rows: pl.DataFrame) -> pl.Series:
    """X-QUOTE payloads of book rows (``sym, sec, b, session, ask_vol_i, bid_vol_i``); docs/ssi-wire.md §2.2."""
    df = pl.concat([ctx.strings(rows).select("time", "symbol", "exchange", "session"), _book_columns(ctx, rows)],
                   how="horizontal")
    c = pl.col
    fields = [("TradingDate", CONST, ctx.date_text), ("Time", STR, c("time")), ("Exchange", STR, c("exchange")),
              ("Symbol", STR, c("symbol")), ("RType", CONST, "X-QUOTE")]
    for side in ("ask", "bid"):
        fields += [(f"{side.capitalize()}Price{i}", NUM, c(f"{side}_price_{i}")) for i in range(1, LEVELS + 1)]
        fields += [(f"{side.capitalize()}Vol{i}", NUM, c(f"{side}_vol_{i}")) for i in range(1, LEVELS + 1)]
    fields.append(("TradingSession", STR, c("session")))
    return df.select(content_payload("X-QUOTE", fields).alias("payload")).to_series()


def render_x(ctx: Context, rows: pl.DataFrame) -> pl.Series:
    """X (combined snapshot) payloads: book rows carrying the latest trade state (``sym, sec, b, session_text,
    ask_vol_i, bid_vol_i, price, vol, total_vol, total_val, avg, est, open, highest, lowest, side``);
    ``AvgPrice`` NaN before the first trade, as the wire sends it (docs/ssi-wire.md §2.3)."""
    book = _book_columns(ctx, rows)
    df = pl.concat([ctx.strings(rows).drop(book.columns, strict=False), book], how="horizontal")
    change, ratio = _change()
    c = pl.col
    traded = c("total_vol") > 0
    fields = [
        ("RType", CONST, "X"), ("TradingDate", CONST, ctx.date_text), ("Time", STR, c("time")),
        ("Isin", STR, c("symbol")), ("Symbol", STR, c("symbol")), ("Ceiling", NUM, c("ceiling")),
        ("Floor", NUM, c("floor")), ("RefPrice", NUM, c("ref")), ("Open", NUM, c("open")), ("High", NUM, c("highest")),
        ("Low", NUM, c("lowest")), ("Close", NUM, c("price")),
        ("AvgPrice", NUM, pl.when(traded).then(c("avg")).otherwise(float("nan"))), ("PriorVal", NUM, c("ref")),
        ("LastPrice", NUM, c("price")), ("LastVol", NUM, c("vol")), ("TotalVal", NUM, c("total_val")),
        ("TotalVol", NUM, c("total_vol")),
    ]
    for side in ("bid", "ask"):
        fields += [(f"{side.capitalize()}Price{i}", NUM, c(f"{side}_price_{i}")) for i in range(1, LEVELS + 1)]
        fields += [(f"{side.capitalize()}Vol{i}", NUM, c(f"{side}_vol_{i}")) for i in range(1, LEVELS + 1)]
    fields += [
        ("MarketId", STR, c("exchange")), ("Exchange", STR, c("exchange")), ("TradingSession", STR, c("session_text")),
        ("TradingStatus", STR, _status()), ("Change", NUM, pl.when(traded).then(change).otherwise(0.0)),
        ("RatioChange", NUM, pl.when(traded).then(ratio).otherwise(0.0)), ("EstMatchedPrice", NUM, c("est")),
        ("Side", OPT, _side()), ("CloseQtty", NUM, pl.lit(0.0)),
    ]
    return df.select(content_payload("X", fields).alias("payload")).to_series()


def render_r(ctx: Context, rows: pl.DataFrame) -> pl.Series:
    """R payloads (``sym, sec, total_room, current_room, buy_vol, sell_vol, buy_val, sell_val``);
    docs/ssi-wire.md §2.4."""
    df = ctx.strings(rows)
    c = pl.col
    fields = [("RType", CONST, "R"), ("TradingDate", CONST, ctx.date_text), ("Time", STR, c("time")),
              ("Isin", STR, c("symbol")), ("Symbol", STR, c("symbol")), ("TotalRoom", NUM, c("total_room")),
              ("CurrentRoom", NUM, c("current_room")), ("BuyVol", NUM, c("buy_vol")), ("SellVol", NUM, c("sell_vol")),
              ("BuyVal", NUM, c("buy_val")), ("SellVal", NUM, c("sell_val")), ("MarketId", STR, c("exchange")),
              ("Exchange", STR, c("exchange"))]
    return df.select(content_payload("R", fields).alias("payload")).to_series()


def render_f(ctx: Context, rows: pl.DataFrame) -> pl.Series:
    """F payloads (``sym, sec, session_text``): session changes; ``TradingStatus`` N (Active on VN30F);
    ``TradingOlSession`` "" as in the 2026 capture (docs/ssi-wire.md §2.7)."""
    df = ctx.strings(rows)
    c = pl.col
    fields = [("RType", CONST, "F"), ("MarketId", STR, c("exchange")), ("TradingDate", CONST, ctx.date_text),
              ("Time", STR, c("time")), ("Symbol", STR, c("symbol")), ("TradingSession", STR, c("session_text")),
              ("TradingStatus", STR, _status()), ("Exchange", STR, c("exchange")), ("TradingOlSession", CONST, "")]
    return df.select(content_payload("F", fields).alias("payload")).to_series()


def render_mi(ctx: Context, rows: pl.DataFrame) -> pl.Series:
    """MI payloads (``indices.index_frames`` rows); docs/ssi-wire.md §2.5, ``RType`` second to last as on the wire."""
    df = rows.with_columns(_times().gather(rows.get_column("sec")).alias("time"))
    c = pl.col
    fields = [
        ("IndexId", STR, c("index")), ("IndexValue", NUM, c("value")), ("PriorIndexValue", NUM, c("prior")),
        ("TradingDate", CONST, ctx.date_text), ("Time", STR, c("time")), ("TotalTrade", NUM, pl.lit(0.0)),
        ("TotalQtty", NUM, c("qtty")), ("TotalValue", NUM, c("value_vnd")), ("IndexName", STR, c("index")),
        ("Advances", INT, c("advances")), ("NoChanges", INT, c("no_changes")), ("Declines", INT, c("declines")),
        ("Ceilings", INT, c("ceilings")), ("Floors", INT, c("floors")), ("Change", NUM, c("change")),
        ("RatioChange", NUM, c("ratio")), ("TotalQttyPt", NUM, c("qtty_pt")), ("TotalValuePt", NUM, c("value_pt")),
        ("Exchange", CONST, "HOSE"), ("AllQty", NUM, c("all_qty")), ("AllValue", NUM, c("all_value")),
        ("IndexType", STR, pl.when(c("index") == "VN30").then(pl.lit("")).otherwise(pl.lit("Main"))),
        ("TradingSession", STR, c("session")), ("MarketId", CONST, "HOSE"), ("RType", CONST, "MI"),
        ("TotalQttyOd", NUM, pl.lit(0.0)), ("TotalValueOd", NUM, pl.lit(0.0)),
    ]
    return df.select(content_payload("MI", fields).alias("payload")).to_series()


def render_index_bar(ctx: Context, rows: pl.DataFrame) -> pl.Series:
    """B payloads of index bars (``indices.index_frames`` rows): O=H=L=C = the index value, ``Volume`` = the
    matched-volume increment since the previous bar (docs/ssi-wire.md §2.6)."""
    df = rows.with_columns(_times().gather(rows.get_column("sec")).alias("time"))
    c = pl.col
    fields = [("RType", CONST, "B"), ("TradingDate", CONST, ctx.date_text), ("Time", STR, c("time")),
              ("Symbol", STR, c("index")), ("Open", NUM, c("value")), ("High", NUM, c("value")),
              ("Low", NUM, c("value")), ("Close", NUM, c("value")), ("Volume", NUM, c("bar_volume")),
              ("Value", NUM, pl.lit(0.0))]
    return df.select(content_payload("B", fields).alias("payload")).to_series()
