"""Price paths: a market factor, per-stock latent prices, the VN30F basis, and their mapping onto the tick grid.

The model (all log-returns are fractions, times are seconds since local midnight):

* **Market factor** ``M[s]``: the overnight gap (N(0, 0.6%)) plus a random walk over the trading seconds whose
  per-second variance follows the U-shaped activity profile (daily volatility about 1.1%), plus a small daily
  drift. Shared by every stock, so breadth and indices move together.
* **Latent stock price** at an event: ``log ref + beta * M[s] + gap_i + idio_i + drift_i * frac(s)``. ``gap_i``
  is an opening gap N(0, 0.5%); ``idio_i`` a random walk in *business time* (per event), so the day's idiosyncratic
  variance is ``idio_vol^2`` whatever the activity; ``drift_i`` is non-zero only for the day's *limit movers*,
  which run past their ceiling or floor during the afternoon (PRICE_BREAKOUT fires on their prints).
* **Book state** ``b``: the index of the best bid in the instrument's tick grid, ``b = #(grid <= latent) - 1``,
  from -1 (at the floor: no bid, the best ask is the floor) to ``top`` (at the ceiling: the best bid is the
  ceiling, no ask). The best ask is ``grid[b + 1]``. The spread is one tick, as on liquid Vietnamese stocks.
* **Basis** of a VN30F contract: an Ornstein-Uhlenbeck process (points) around a mean that drifts linearly
  across zero during the day, so the basis changes sign a few times (BASIS_FLIP fires). The futures latent
  price is VN30 + basis.

References: docs/market.md §3-§4 (ticks, limits); market.rules.price_limits; docs/ssi-wire.md §2 (units).
"""

from __future__ import annotations

import numpy as np

from testbed.simulate.schedule import DAY_END, DAY_START, SCHEDULES, activity_profile, hms
from testbed.simulate.universe import Universe

MARKET_VOL_DAY = 0.011  # daily volatility of the market factor (fraction)
MARKET_GAP_SD = 0.006  # overnight gap of the market (fraction)
STOCK_GAP_SD = 0.005  # idiosyncratic opening gap (fraction)
_GRID_BAND = 1.0e7  # > any price in VND or points: separates instruments in the flat grid


def market_factor(rng: np.random.Generator) -> np.ndarray:
    """The market factor ``M`` (log-return vs the previous close) for every second of the day (length 86,400).

    Constant before 09:00 (the gap) and after 14:45; moves over 09:00-11:30 and 13:00-14:45 with the
    HNX/VN30F U-shaped profile (docs/market.md §2 hours).
    """
    seconds = np.arange(86_400, dtype=np.int64)
    prof = activity_profile(SCHEDULES["HNX"], seconds)
    prof[(seconds > hms(14, 30)) & (seconds <= hms(14, 45))] = 1.0  # the closing call still discovers price
    var = prof / prof.sum() * MARKET_VOL_DAY**2
    steps = rng.standard_normal(86_400) * np.sqrt(var)
    drift = rng.normal(0.0, 0.004)
    gap = rng.normal(0.0, MARKET_GAP_SD)
    return gap + np.cumsum(steps) + drift * np.cumsum(prof) / prof.sum()


def session_fraction(exchange: str) -> np.ndarray:
    """Fraction (0..1) of ``exchange``'s continuous seconds elapsed at each second of the day (length 86,400)."""
    sched = SCHEDULES[exchange]
    inside = np.zeros(86_400, dtype=np.float64)
    inside[sched.continuous_seconds()] = 1.0
    return np.cumsum(inside) / inside.sum()


def limit_movers(rng: np.random.Generator, universe: Universe) -> np.ndarray:
    """Signed limit-mover flags per instrument: +1 runs to its ceiling, -1 to its floor, 0 otherwise (int8).

    Two VN30 members (one up, one down) on every day; about 2% of the other HOSE stocks, 3% of HNX and 5% of
    UPCOM (small caps hit their limits more often). Futures never.
    """
    out = np.zeros(universe.size, dtype=np.int8)
    members = np.flatnonzero(universe.is_vn30)
    if len(members) >= 2:
        up, down = rng.choice(members, 2, replace=False)
        out[up], out[down] = 1, -1
    rate = {"HOSE": 0.02, "HNX": 0.03, "UPCOM": 0.05}
    u = rng.random(universe.size)
    sign = np.where(rng.random(universe.size) < 0.55, 1, -1)
    for exchange, p in rate.items():
        pick = universe.mask(exchange) & ~universe.is_vn30 & (u < p)
        out[pick] = sign[pick]
    return out


def limit_drift(universe: Universe, movers: np.ndarray, gap: np.ndarray) -> np.ndarray:
    """Log-drift over the session (fraction) that carries each limit mover 30% past its limit by the close,
    from its open ``log ref + gap`` (float64; 0 for the others)."""
    target_up = np.log(universe.ceiling / universe.ref) + 0.01
    target_down = np.log(universe.floor / universe.ref) - 0.01
    need = np.where(movers > 0, target_up, np.where(movers < 0, target_down, 0.0)) - gap
    return np.where(movers != 0, 1.3 * need, 0.0)


def book_state(universe: Universe, sym: np.ndarray, latent_price: np.ndarray) -> np.ndarray:
    """Best-bid grid index of each (instrument, latent price) pair: ``#(grid <= price) - 1`` clipped to the grid.

    Parameters
    ----------
    universe : the instruments (their tick grids).
    sym : int instrument index per row.
    latent_price : float64 latent price per row (VND or points).

    Returns
    -------
    np.ndarray int64 in ``[-1, grid_len - 1]``: -1 = at the floor (no bid), ``grid_len - 1`` = at the ceiling.
    """
    owner = np.repeat(np.arange(universe.size, dtype=np.int64), universe.grid_len)
    flat = owner * _GRID_BAND + universe.grid
    lo = universe.floor[sym] - 1.0
    hi = universe.ceiling[sym] + 1.0
    pos = np.searchsorted(flat, sym * _GRID_BAND + np.clip(latent_price, lo, hi), side="right")
    return np.clip(pos - universe.grid_start[sym] - 1, -1, universe.grid_len[sym] - 1)


def grid_price(universe: Universe, sym: np.ndarray, index: np.ndarray) -> np.ndarray:
    """``grid[index]`` of each instrument (float64); 0.0 where ``index`` is outside the grid (an empty level)."""
    ok = (index >= 0) & (index < universe.grid_len[sym])
    flat = universe.grid_start[sym] + np.where(ok, index, 0)
    return np.where(ok, universe.grid[flat], 0.0)


def nearest_on_grid(universe: Universe, sym: np.ndarray, price: np.ndarray) -> np.ndarray:
    """The grid price nearest to ``price`` for each row, within [floor, ceiling] (float64)."""
    b = book_state(universe, sym, price)
    below = grid_price(universe, sym, np.maximum(b, 0))
    above = grid_price(universe, sym, np.minimum(b + 1, universe.grid_len[sym] - 1))
    return np.where(np.abs(above - price) < np.abs(price - below), above, below)


def basis_path(rng: np.random.Generator, mean_start: float, mean_end: float, sd: float = 1.5,
               half_life_s: float = 420.0) -> np.ndarray:
    """A basis path (points) for every second of the day (length 86,400): Ornstein-Uhlenbeck around a mean moving
    linearly from ``mean_start`` at 08:45 to ``mean_end`` at 14:45, stationary sd ``sd``; constant outside."""
    n = hms(14, 45) - DAY_START
    kappa = np.log(2.0) / half_life_s
    a = np.exp(-kappa)
    shocks = rng.standard_normal(n) * sd * np.sqrt(1.0 - a * a)
    mean = np.linspace(mean_start, mean_end, n)
    dev = np.empty(n)
    x = rng.normal(0.0, sd)
    # AR(1) recursion in closed form: dev[t] = a^t x + sum_k a^(t-k) shocks[k], via a scaled cumulative sum
    # over blocks (a^t underflows for long runs otherwise).
    block = 600
    for start in range(0, n, block):
        stop = min(n, start + block)
        t = np.arange(stop - start)
        powers = a ** t
        dev[start:stop] = powers * x + powers * np.cumsum(shocks[start:stop] / powers)
        x = dev[stop - 1] * a
    out = np.empty(86_400)
    out[:DAY_START] = mean[0] + dev[0]
    out[DAY_START:DAY_START + n] = mean + dev
    out[DAY_START + n:] = mean[-1] + dev[-1]
    assert DAY_START + n <= DAY_END
    return out
