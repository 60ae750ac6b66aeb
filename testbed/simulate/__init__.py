"""The market-day simulator: a complete Vietnamese trading day as raw SSI FastConnect frames.

``vntrack simulate --date D [--universe vn30|hose|all] [--seed N] [--channels ...]`` writes one day into the lake
as raw frames in wire format (X-QUOTE, X-TRADE, B, R, MI, F; X on request), in arrival order, calibrated on the
real recordings of ``tests/fixtures``. Docs: testbed/simulate/README.md.

Modules
-------
universe     instruments and reference data (VN30 members, synthetic HOSE/HNX/UPCOM tickers, VN30F)
schedule     session timetable per exchange, U-shaped activity profile
prices       market factor, latent prices, tick-grid book state, VN30F basis
trades       continuous events and prints, call auctions, put-through, running totals
quotes       order-book snapshots (X-QUOTE)
foreign      foreign participation, cumulative R frames
indices      VN30 / VNINDEX from the prints (MI, index B bars)
build        one day as numeric tables
snapshots    X (combined snapshot) rows, on request
frames       wire payloads with polars string expressions
day          arrival order, segments, the lake
calibration  statistics of real and simulated trades
"""

from testbed.simulate.build import SimulatedDay, build_day
from testbed.simulate.day import (
    CHANNELS,
    DEFAULT_CHANNELS,
    SEGMENT_FRAMES,
    AlreadySimulated,
    DayFrames,
    NotATradingDay,
    SimulationResult,
    check_trading_day,
    parse_channels,
    session_id,
    simulate_day,
    simulate_frames,
    source_name,
)
from testbed.simulate.universe import UNIVERSES, Universe, build_universe

__all__ = [
    "CHANNELS", "DEFAULT_CHANNELS", "SEGMENT_FRAMES", "UNIVERSES", "AlreadySimulated", "DayFrames", "NotATradingDay",
    "SimulatedDay", "SimulationResult", "Universe", "build_day", "build_universe", "check_trading_day",
    "parse_channels", "session_id", "simulate_day", "simulate_frames", "source_name",
]
