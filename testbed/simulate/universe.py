"""The instruments of a simulated day and their reference data: symbols, exchanges, reference prices, price
limits, tick grids, index weights, liquidity and foreign room.

Three universes (``--universe``):

* ``vn30``: the 30 VN30 members (``market.reference_data.vn30_members``, all HOSE), the VN30F front and next
  month contracts, and the indices VN30 and VNINDEX (VNINDEX is then computed over the HOSE stocks simulated).
* ``hose``: ``vn30`` plus :data:`SYNTHETIC_COUNTS` ``["HOSE"]`` synthetic HOSE tickers.
* ``all``: ``hose`` plus synthetic HNX and UPCOM tickers: about 1,600 stocks, a full-market day.

Reference data depends on the trading date only (never on the seed): two seeds of one date are two realisations
of the same day, with the same reference prices, limits and liquidity. Synthetic tickers are a fixed list (three
upper-case letters drawn with a constant seed, avoiding VN30 members and index ids); they carry no sector
(``Other`` in the analytics).

Units: prices in VND per share (stocks) or index points (VN30F); volumes in shares or contracts; ``shares`` in
shares; rooms in shares. References: docs/market.md §3-§5 (ticks, limits, board lot), market.rules
(``price_limits``, ``tick_size``), market.calendar (``front_month``, ``futures_symbol``, ``futures_expiry``).
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Literal, get_args

import numpy as np

from market.calendar import front_month, futures_symbol
from market.rules import DERIVATIVES, INDEX_SYMBOLS, price_limits, tick_size
from market.reference_data import sectors, vn30_members

UniverseName = Literal["vn30", "hose", "all"]
UNIVERSES: tuple[str, ...] = get_args(UniverseName)

SYNTHETIC_COUNTS = {"HOSE": 370, "HNX": 330, "UPCOM": 870}
"""Synthetic tickers per exchange in the ``all`` universe (``hose`` takes the HOSE ones): with the 30 VN30 members,
1,600 stocks, about the size of the Vietnamese market (HOSE ~400, HNX ~330, UPCOM ~870 listed stocks)."""

_TICKER_SEED = 2026  # constant: the synthetic ticker list never changes
_REFERENCE_SEED = 0x5EED_DA7A  # reference data = f(date) only

# VN30 members: (reference price VND, index weight %, expected matched prints per day). Plausible mid-2026 levels;
# HPG / VCB / TCB anchored on the real B prints of 17/07/2026 (21,850 / 58,500 / 31,450). Weights follow the
# free-float capped (10%) VN30 basket roughly; prints/day follow the usual liquidity ranking (HPG, SHB, MBB, SSI...
# trade most often). A member missing here gets :data:`_VN30_DEFAULT`.
_VN30_BASE: dict[str, tuple[float, float, float]] = {
    "ACB": (24_500, 5.5, 4_000), "BCM": (62_000, 0.5, 1_000), "BID": (38_500, 2.0, 2_000),
    "CTG": (41_000, 4.0, 3_500), "FPT": (118_000, 8.0, 4_500), "GAS": (68_000, 1.0, 1_500),
    "GVR": (29_500, 0.7, 2_000), "HDB": (27_000, 3.0, 3_000), "HPG": (21_850, 7.5, 9_000),
    "LPB": (34_000, 2.0, 2_000), "MBB": (25_500, 6.5, 6_000), "MSN": (76_000, 3.5, 3_000),
    "MWG": (66_000, 3.5, 4_000), "PLX": (37_500, 0.8, 1_800), "SAB": (49_000, 0.8, 1_000),
    "SHB": (13_200, 2.0, 6_000), "SSB": (18_400, 0.8, 1_500), "SSI": (29_800, 2.5, 6_000),
    "STB": (42_000, 4.0, 5_500), "TCB": (31_450, 6.5, 5_000), "TPB": (15_600, 1.2, 2_500),
    "VCB": (58_500, 5.5, 2_500), "VHM": (72_000, 6.0, 4_500), "VIB": (19_300, 1.5, 2_500),
    "VIC": (95_000, 6.5, 4_500), "VJC": (102_000, 1.2, 1_200), "VNM": (61_000, 3.0, 3_000),
    "VPB": (19_800, 5.0, 5_500), "VRE": (26_500, 1.5, 2_500), "BVH": (51_000, 0.5, 1_000),
}
_VN30_DEFAULT = (30_000.0, 2.0, 2_000.0)
_VN30_CAP_VND = 4.0e15  # total VN30 market capitalisation (VND), splits into shares via the weights

VN30_PRIOR_POINTS = 1_950.0  # VN30 previous close around mid-2026 (points), before the per-date factor
VNINDEX_PRIOR_POINTS = 1_780.0  # VNINDEX previous close (the real 20/07/2026 MI: PriorIndexValue 1787.45)
FUTURES_PRINTS_PER_DAY = {"front": 18_000.0, "next": 1_500.0}
FOREIGN_ROOM_LIMIT = {"Banks": 0.30}  # foreign-ownership cap as a share of shares outstanding; others 49%
FOREIGN_ROOM_DEFAULT = 0.49

# Synthetic stocks per exchange: (median ref price VND, sigma, min, max), (median prints/day, sigma, min, max).
_SYN_PRICE = {"HOSE": (18_000, 0.8, 2_000, 200_000), "HNX": (12_000, 0.7, 3_000, 100_000),
              "UPCOM": (10_000, 0.8, 3_000, 150_000)}
_SYN_PRINTS = {"HOSE": (1_000, 1.0, 20, 8_000), "HNX": (220, 1.1, 5, 5_000), "UPCOM": (50, 1.4, 1, 3_000)}
_SYN_BETA = {"HOSE": (0.9, 0.3), "HNX": (0.6, 0.3), "UPCOM": (0.6, 0.3)}
_SYN_IDIO = {"HOSE": (0.015, 0.03), "HNX": (0.02, 0.04), "UPCOM": (0.02, 0.04)}
_SYN_FOREIGN = {"HOSE": 0.05, "HNX": 0.02, "UPCOM": 0.01}


@dataclass(frozen=True)
class Universe:
    """The instruments of one simulated day, one entry per instrument (stocks first, then VN30F contracts).

    Attributes
    ----------
    day : trading date.
    name : ``vn30`` / ``hose`` / ``all``.
    symbol, exchange, sector : str arrays (exchange ``HOSE``/``HNX``/``UPCOM``/``DERIVATIVES``).
    is_vn30, is_futures : bool arrays.
    ref, ceiling, floor : float64, VND/share or points (``market.rules.price_limits``; on the tick grid).
    grid, grid_start, grid_len : every valid price from floor to ceiling, ascending, all instruments
        concatenated (``grid[grid_start[i] : grid_start[i] + grid_len[i]]``); float64 VND or points.
    vn30_weight : float64, VN30 basket weight (sums to 1 over members; 0 elsewhere).
    shares : float64, shares outstanding (VNINDEX weight = shares x ref).
    beta : float64, sensitivity to the market factor.
    idio_vol : float64, idiosyncratic daily volatility (log-return, fraction).
    prints_per_day : float64, expected matched prints in continuous trading.
    lot_median : float64, median print size in board lots of 100 shares (contracts for futures).
    foreign_share : float64, base probability that a print's buyer (and, independently, seller) is foreign.
    total_room, room0 : float64 shares, foreign-ownership limit and the room left at the open.
    vn30_prior, vnindex_prior : previous closes of the indices (points).
    futures : (front month, next month) VN30F symbols.
    """

    day: date
    name: str
    symbol: np.ndarray
    exchange: np.ndarray
    sector: np.ndarray
    is_vn30: np.ndarray
    is_futures: np.ndarray
    ref: np.ndarray
    ceiling: np.ndarray
    floor: np.ndarray
    grid: np.ndarray
    grid_start: np.ndarray
    grid_len: np.ndarray
    vn30_weight: np.ndarray
    shares: np.ndarray
    beta: np.ndarray
    idio_vol: np.ndarray
    prints_per_day: np.ndarray
    lot_median: np.ndarray
    foreign_share: np.ndarray
    total_room: np.ndarray
    room0: np.ndarray
    vn30_prior: float
    vnindex_prior: float
    futures: tuple[str, str]

    @property
    def size(self) -> int:
        """Number of instruments."""
        return len(self.symbol)

    def mask(self, exchange: str) -> np.ndarray:
        """Boolean mask of the instruments listed on ``exchange``."""
        return self.exchange == exchange


@cache
def synthetic_tickers() -> dict[str, tuple[str, ...]]:
    """The fixed synthetic ticker list: ``{exchange: tickers}`` with :data:`SYNTHETIC_COUNTS` three-letter codes.

    Drawn once with a constant seed, never equal to a VN30 member or an index id, never starting with ``VN30F``.
    Sorted within each exchange.
    """
    rng = np.random.default_rng(_TICKER_SEED)
    taken = {s.upper() for s in _VN30_BASE} | set(vn30_members()) | {s[:3] for s in INDEX_SYMBOLS}
    letters = np.array(list(string.ascii_uppercase))
    out: dict[str, list[str]] = {e: [] for e in SYNTHETIC_COUNTS}
    order = [e for e, n in SYNTHETIC_COUNTS.items() for _ in range(n)]
    k = 0
    while k < len(order):
        code = "".join(rng.choice(letters, 3))
        if code in taken:
            continue
        taken.add(code)
        out[order[k]].append(code)
        k += 1
    return {e: tuple(sorted(v)) for e, v in out.items()}


def next_month_contract(front: str) -> str:
    """The VN30F contract after ``front`` (``VN30F2608`` -> ``VN30F2609``; December rolls the year)."""
    yy, mm = int(front[5:7]), int(front[7:9])
    year, month = (2000 + yy + 1, 1) if mm == 12 else (2000 + yy, mm + 1)
    return futures_symbol(year, month)


def on_grid(price: float, exchange: str) -> float:
    """``price`` rounded to the nearest valid price of ``exchange`` (HOSE by price band, HNX/UPCOM 100 VND,
    futures 0.1 point; market.rules.tick_size)."""
    if exchange == DERIVATIVES:
        return round(price * 10) / 10
    tick = tick_size(exchange, price)
    return float(round(price / tick) * tick)


def tick_grid(floor: float, ceiling: float, exchange: str) -> np.ndarray:
    """Every valid price from ``floor`` to ``ceiling`` inclusive, ascending (float64, VND or points).

    Futures prices are built from integer tenths, so each is the double nearest to its decimal (``1283.9``).
    """
    if exchange == DERIVATIVES:
        return np.arange(round(floor * 10), round(ceiling * 10) + 1, dtype=np.int64) / 10
    prices, p = [], floor
    while p <= ceiling + 1e-9:
        prices.append(p)
        p = p + tick_size(exchange, p)
    return np.asarray(prices, dtype=np.float64)


def _row(**fields: object) -> dict:
    """One instrument's reference data (the keys :func:`_assemble` reads)."""
    return fields


def build_universe(day: date, name: UniverseName = "vn30") -> Universe:
    """The instruments of ``name`` on ``day`` with their reference data.

    Parameters
    ----------
    day : trading date (reference data is drawn from it, never from the simulation seed).
    name : ``vn30``, ``hose`` or ``all`` (module docstring).

    Returns
    -------
    Universe : stocks (VN30 members first, then synthetic tickers by exchange), then the front and next VN30F.

    Raises
    ------
    ValueError : an unknown universe name.
    """
    if name not in UNIVERSES:
        raise ValueError(f"unknown universe {name!r}: expected one of {', '.join(UNIVERSES)}")
    rng = np.random.default_rng([_REFERENCE_SEED, day.toordinal()])
    market_level = float(np.exp(rng.normal(0.0, 0.05)))
    vn30_prior = round(VN30_PRIOR_POINTS * market_level, 2)
    vnindex_prior = round(VNINDEX_PRIOR_POINTS * market_level * float(np.exp(rng.normal(0.0, 0.01))), 2)

    rows: list[dict] = []
    member_sectors = sectors()
    members = vn30_members()
    weights = np.array([_VN30_BASE.get(s, _VN30_DEFAULT)[1] for s in members], dtype=np.float64)
    weights /= weights.sum()
    for s, w in zip(members, weights, strict=True):
        price, _, prints = _VN30_BASE.get(s, _VN30_DEFAULT)
        sector = member_sectors.get(s, "Other")
        rows.append(_row(
            symbol=s, exchange="HOSE", sector=sector, is_vn30=True, is_futures=False,
            ref=price * float(np.exp(rng.normal(0.0, 0.04))), vn30_weight=float(w), cap=float(w) * _VN30_CAP_VND,
            beta=float(np.clip(rng.normal(1.0, 0.2), 0.4, 1.8)), idio_vol=float(rng.uniform(0.010, 0.020)),
            prints_per_day=prints * float(np.exp(rng.normal(0.0, 0.15))),
            lot_median=7.0, foreign_share=float(rng.uniform(0.12, 0.25)),
            room_limit=FOREIGN_ROOM_LIMIT.get(sector, FOREIGN_ROOM_DEFAULT), room_frac=float(rng.uniform(0.05, 0.8)),
        ))
    exchanges = {"vn30": (), "hose": ("HOSE",), "all": ("HOSE", "HNX", "UPCOM")}[name]
    synthetic = synthetic_tickers()
    for exchange in SYNTHETIC_COUNTS:  # draw for every exchange so a ticker's data is the same in every universe
        pm, ps, pmin, pmax = _SYN_PRICE[exchange]
        am, asd, amin, amax = _SYN_PRINTS[exchange]
        bm, bsd = _SYN_BETA[exchange]
        ilo, ihi = _SYN_IDIO[exchange]
        n = len(synthetic[exchange])
        price = np.clip(pm * np.exp(rng.normal(0, ps, n)), pmin, pmax)
        prints = np.clip(am * np.exp(rng.normal(0, asd, n)), amin, amax)
        cap = 2.0e12 * np.exp(rng.normal(0, 1.2, n))
        beta = np.clip(rng.normal(bm, bsd, n), 0.0, 2.0)
        idio = rng.uniform(ilo, ihi, n)
        room_frac = rng.uniform(0.05, 0.8, n)
        if exchange not in exchanges:
            continue
        for i, s in enumerate(synthetic[exchange]):
            rows.append(_row(
                symbol=s, exchange=exchange, sector="Other", is_vn30=False, is_futures=False, ref=float(price[i]),
                vn30_weight=0.0, cap=float(cap[i]), beta=float(beta[i]), idio_vol=float(idio[i]),
                prints_per_day=float(prints[i]),
                lot_median=float(np.clip(7.0 * np.sqrt(25_000 / price[i]), 2.0, 40.0)),
                foreign_share=_SYN_FOREIGN[exchange], room_limit=FOREIGN_ROOM_DEFAULT, room_frac=float(room_frac[i]),
            ))
    front = front_month(day)
    nxt = next_month_contract(front)
    basis_front = float(rng.normal(-3.0, 2.0))
    for symbol, kind, basis in ((front, "front", basis_front), (nxt, "next", basis_front - abs(rng.normal(3.0, 2.0)))):
        rows.append(_row(
            symbol=symbol, exchange=DERIVATIVES, sector="Other", is_vn30=False, is_futures=True,
            ref=vn30_prior + basis, vn30_weight=0.0, cap=0.0, beta=1.0, idio_vol=0.0,
            prints_per_day=FUTURES_PRINTS_PER_DAY[kind] * float(np.exp(rng.normal(0.0, 0.1))),
            lot_median=2.0, foreign_share=0.0, room_limit=0.0, room_frac=0.0,
        ))
    return _assemble(day, name, rows, vn30_prior, vnindex_prior, (front, nxt))


def _assemble(day: date, name: str, rows: list[dict], vn30_prior: float, vnindex_prior: float,
              futures: tuple[str, str]) -> Universe:
    exchange = np.array([r["exchange"] for r in rows], dtype=object)
    ref = np.array([on_grid(r["ref"], r["exchange"]) for r in rows], dtype=np.float64)
    limits = [price_limits(p, e) for p, e in zip(ref, exchange, strict=True)]
    ceiling = np.array([c for c, _ in limits], dtype=np.float64)
    floor = np.array([f for _, f in limits], dtype=np.float64)
    grids = [tick_grid(f, c, e) for f, c, e in zip(floor, ceiling, exchange, strict=True)]
    grid_len = np.array([len(g) for g in grids], dtype=np.int64)
    grid_start = np.concatenate([[0], np.cumsum(grid_len)[:-1]]).astype(np.int64)
    cap = np.array([r["cap"] for r in rows], dtype=np.float64)
    shares = np.where(ref > 0, cap / np.where(ref > 0, ref, 1.0), 0.0).round(-3)
    total_room = (shares * np.array([r["room_limit"] for r in rows])).round()
    room0 = (total_room * np.array([r["room_frac"] for r in rows])).round()
    return Universe(
        day=day, name=name,
        symbol=np.array([r["symbol"] for r in rows], dtype=object), exchange=exchange,
        sector=np.array([r["sector"] for r in rows], dtype=object),
        is_vn30=np.array([r["is_vn30"] for r in rows], dtype=bool),
        is_futures=np.array([r["is_futures"] for r in rows], dtype=bool),
        ref=ref, ceiling=ceiling, floor=floor,
        grid=np.concatenate(grids), grid_start=grid_start, grid_len=grid_len,
        vn30_weight=np.array([r["vn30_weight"] for r in rows], dtype=np.float64), shares=shares,
        beta=np.array([r["beta"] for r in rows], dtype=np.float64),
        idio_vol=np.array([r["idio_vol"] for r in rows], dtype=np.float64),
        prints_per_day=np.array([r["prints_per_day"] for r in rows], dtype=np.float64),
        lot_median=np.array([r["lot_median"] for r in rows], dtype=np.float64),
        foreign_share=np.array([r["foreign_share"] for r in rows], dtype=np.float64),
        total_room=total_room, room0=room0,
        vn30_prior=vn30_prior, vnindex_prior=vnindex_prior, futures=futures,
    )
