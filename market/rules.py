"""Facts of the Vietnamese market the analytics need: instruments, exchanges, multipliers, price limits.

Pure and table-free: scalar helpers for the reference implementation and the importers, ``pl.Expr``
builders for the vectorized transforms. References: docs/market.md §1, §3-§5; docs/ssi-wire.md §2; docs/analytics.md §2.
"""

from __future__ import annotations

import math

import polars as pl

from market.reference_data import instrument_exchange

INDEX_SYMBOLS: frozenset[str] = frozenset(
    {"VNINDEX", "VN30", "VN100", "VNMID", "VNSML", "VNALL", "VNXALL", "VNX50", "HNXINDEX", "HNX30",
     "HNXUPCOMINDEX", "UPCOMINDEX"}
)
DERIVATIVES = "DERIVATIVES"
FUTURES_PREFIX = "VN30F"
FUTURES_MULTIPLIER = 100_000  # VND per index point (VN30F contract size)
PRICE_LIMIT = {"HOSE": 0.07, "HNX": 0.10, "UPCOM": 0.15, DERIVATIVES: 0.07}
BOARD_LOT = 100  # shares


def is_index_symbol(symbol: str) -> bool:
    """True for index ids (``VNINDEX``, ``VN30``...), which never trade. Case-insensitive."""
    return symbol.upper() in INDEX_SYMBOLS


def normalize_exchange(exchange: str | None) -> str | None:
    """Upper-cased exchange code; the wire's ``DER`` becomes ``DERIVATIVES``; empty -> None."""
    if not exchange:
        return None
    e = exchange.strip().upper()
    return DERIVATIVES if e == "DER" else (e or None)


def resolve_exchange(symbol: str, exchange: str | None, market_id: str | None = None) -> str | None:
    """A trade's exchange: the frame's ``Exchange``, else ``MarketId``, else the shipped instrument list,
    else ``DERIVATIVES`` for ``VN30F*``, else None (docs/analytics.md §2)."""
    return (
        normalize_exchange(exchange)
        or normalize_exchange(market_id)
        or instrument_exchange(symbol)
        or (DERIVATIVES if symbol.upper().startswith(FUTURES_PREFIX) else None)
    )


def is_futures(symbol: str, exchange: str | None) -> bool:
    """VN30 index futures: exchange DERIVATIVES or a ``VN30F`` symbol."""
    return exchange == DERIVATIVES or symbol.upper().startswith(FUTURES_PREFIX)


def multiplier(symbol: str, exchange: str | None) -> int:
    """VND per price unit: 100,000 per point for futures, 1 for stocks (prices already in VND)."""
    return FUTURES_MULTIPLIER if is_futures(symbol, exchange) else 1


def round_half_up(x: float) -> int:
    """``floor(x + 0.5)``, the project's one rounding of VND amounts (docs/analytics.md)."""
    return math.floor(x + 0.5)


def value_vnd(price: float, volume: int, mult: int) -> int:
    """Traded value in VND: ``round_half_up(price * volume * multiplier)``, evaluated left to right."""
    return round_half_up(price * volume * mult)


def hose_tick(price_vnd: float) -> int:
    """HOSE tick size (bước giá) for a stock price: 10 VND below 10,000; 50 to 49,950; 100 from 50,000."""
    if price_vnd < 10_000:
        return 10
    if price_vnd < 50_000:
        return 50
    return 100


def tick_size(exchange: str | None, price: float) -> float:
    """Tick size in price units: HOSE by price band, HNX/UPCOM 100 VND, futures 0.1 point."""
    if exchange == DERIVATIVES:
        return 0.1
    if exchange in ("HNX", "UPCOM"):
        return 100
    return hose_tick(price)


def price_limits(ref_price: float, exchange: str | None) -> tuple[float, float]:
    """(ceiling, floor) for a reference price: ref * (1 +- limit), ceiling rounded down and floor rounded up
    to the tick grid (giá trần / giá sàn). Stocks in VND, futures in points."""
    e = exchange or "HOSE"
    limit = PRICE_LIMIT.get(e, PRICE_LIMIT["HOSE"])
    if e == DERIVATIVES:
        ceiling = math.floor(round(ref_price * (1 + limit) * 10, 6)) / 10
        floor = math.ceil(round(ref_price * (1 - limit) * 10, 6)) / 10
        return ceiling, floor
    up, down = ref_price * (1 + limit), ref_price * (1 - limit)
    tick_up, tick_down = tick_size(e, up), tick_size(e, down)
    return float(math.floor(round(up / tick_up, 6)) * tick_up), float(math.ceil(round(down / tick_down, 6)) * tick_down)


# ----------------------------------------------------------------------------------------------- expressions


def multiplier_expr(symbol: pl.Expr, exchange: pl.Expr) -> pl.Expr:
    """Vectorized :func:`multiplier` -> Int64."""
    fut = (exchange == DERIVATIVES).fill_null(False) | symbol.str.to_uppercase().str.starts_with(FUTURES_PREFIX)
    return pl.when(fut).then(pl.lit(FUTURES_MULTIPLIER, pl.Int64)).otherwise(pl.lit(1, pl.Int64))


def round_half_up_expr(x: pl.Expr) -> pl.Expr:
    """Vectorized :func:`round_half_up` -> Int64."""
    return (x + 0.5).floor().cast(pl.Int64)


def is_index_expr(symbol: pl.Expr) -> pl.Expr:
    """Vectorized :func:`is_index_symbol` -> Boolean."""
    return symbol.str.to_uppercase().is_in(list(INDEX_SYMBOLS))
