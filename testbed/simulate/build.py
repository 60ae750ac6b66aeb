"""One simulated market day as numeric tables (before any payload is rendered).

Order of construction (each step uses its own random stream, spawned from the (seed, date, universe) seed
sequence in a fixed order, so the day is a pure function of its inputs):

1. the instruments (``universe``) and the market factor, the day's limit movers and opening gaps (``prices``);
2. stocks: continuous events and prints, HOSE ATO prints at 09:15:00, HOSE/HNX ATC prints at 14:45:00 and
   put-through deals (``trades``);
3. VN30 from the members' prints, second by second; the VN30F contracts trade around VN30 + basis, with their ATO
   prints at 09:00:00 and ATC prints at 14:45:00;
4. running totals of every instrument, foreign participation and the R frames (``foreign``), the MI frames
   (``indices``), the books (``quotes``) and the session changes (F).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

from testbed.simulate import foreign, indices, prices, quotes, trades
from testbed.simulate.schedule import SCHEDULES, hms
from testbed.simulate.universe import UNIVERSES, Universe, UniverseName, build_universe

# Event-id ranges (the tie-break of arrival order between frames of the same instant)
ATO_EVENTS, ATC_EVENTS, PT_EVENTS, OPEN_EVENTS, INDICATIVE_EVENTS, F_EVENTS, MI_EVENTS = (k << 40 for k in range(1, 8))
OPEN_SUB_NS = 600_000_000  # the opening book: after the auction prints (< 450 ms) and the session change (500 ms)
INDICATIVE_SUB_NS = 700_000_000
F_SUB_NS = 500_000_000
FUTURES_NOISE_PTS = 0.1  # idiosyncratic noise of a VN30F event around VN30 + basis (points)


@dataclass(frozen=True)
class SimulatedDay:
    """Every row of a simulated day, per channel, before rendering.

    Attributes
    ----------
    day, universe_name, seed, activity : the inputs.
    universe : the instruments.
    prints : every print (``trades.PRINT_COLUMNS`` + running totals of ``trades.with_running_totals``), sorted by
        ``(sym, sec, sub_ns, event, child)``.
    books : X-QUOTE rows (``quotes.book_rows``).
    room : R rows (``foreign.room_frames``).
    index : MI rows (``indices.index_frames``).
    status : F rows ``sym, sec, session_text``.
    events : continuous events (``trades.trade_events``), for statistics.
    movers : +1 / -1 / 0 per instrument: the day's limit movers.
    """

    day: date
    universe_name: str
    seed: int
    activity: float
    universe: Universe
    prints: pl.DataFrame
    books: pl.DataFrame
    room: pl.DataFrame
    index: pl.DataFrame
    status: pl.DataFrame
    events: pl.DataFrame
    movers: np.ndarray


def _streams(day: date, universe_name: str, seed: int, n: int) -> list[np.random.Generator]:
    root = np.random.SeedSequence([seed, day.toordinal(), UNIVERSES.index(universe_name)])
    return [np.random.default_rng(s) for s in root.spawn(n)]


def build_day(day: date, universe_name: UniverseName = "vn30", seed: int = 0, activity: float = 1.0) -> SimulatedDay:
    """Simulate every row of one trading day (module docstring).

    Parameters
    ----------
    day : the trading date (not checked here; see ``testbed.simulate.day.check_trading_day``).
    universe_name : ``vn30``, ``hose`` or ``all``.
    seed : the realisation (same inputs -> the same day, bit for bit).
    activity : multiplier of every instrument's trading activity (1.0 = calibrated; tests use less).

    Returns
    -------
    SimulatedDay
    """
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    if not activity > 0:
        raise ValueError(f"activity must be > 0, got {activity}")
    (r_market, r_movers, r_events, r_trades, r_auction, r_pt, r_fut, r_foreign, r_room, r_books,
     r_gap) = _streams(day, universe_name, seed, 11)
    u = build_universe(day, universe_name)
    market = prices.market_factor(r_market)
    movers = prices.limit_movers(r_movers, u)
    stocks = np.flatnonzero(~u.is_futures)
    futs = np.flatnonzero(u.is_futures)

    # --- stocks: the opening level, continuous events, auctions, deals
    open_sec = np.array([SCHEDULES[e].ato_print or SCHEDULES[e].open for e in u.exchange], dtype=np.int64)
    limit = np.log(u.ceiling / u.ref) - 0.01
    shift = np.clip(u.beta * market[open_sec] + r_gap.normal(0.0, prices.STOCK_GAP_SD, u.size), -limit, limit)
    gap = shift - u.beta * market[open_sec]  # idiosyncratic part of the opening gap
    drift = prices.limit_drift(u, movers, shift)
    frac = {e: prices.session_fraction(e) for e in ("HOSE", "HNX", "UPCOM")}

    events = trades.sample_event_times(r_events, u, stocks, activity)
    e_sym, e_sec = events.get_column("sym").to_numpy(), events.get_column("sec").to_numpy()
    idio = trades.idio_walk(r_events, u, e_sym)
    e_frac = np.zeros(len(e_sym))
    for e, f in frac.items():
        m = u.exchange[e_sym] == e
        e_frac[m] = f[e_sec[m]]
    log_px = np.log(u.ref[e_sym]) + u.beta[e_sym] * market[e_sec] + gap[e_sym] + idio + drift[e_sym] * e_frac
    events = trades.trade_events(r_trades, u, events, np.exp(log_px), first_event_id=0)
    cont = trades.expand_prints(r_trades, u, events)

    hose = stocks[u.exchange[stocks] == "HOSE"]
    open_px = prices.nearest_on_grid(u, hose, u.ref[hose] * np.exp(shift[hose]))
    ato_counts = trades.auction_print_count(u, hose, r_auction, 1.0, activity)
    ato = trades.auction_prints(r_auction, u, hose, open_px, ato_counts, hms(9, 15), trades.ATO, ATO_EVENTS,
                                median_scale=0.3)
    last_idio = np.zeros(u.size)
    if len(e_sym):
        ends = np.r_[e_sym[1:] != e_sym[:-1], True]
        last_idio[e_sym[ends]] = idio[ends]
    closers = stocks[np.isin(u.exchange[stocks], ["HOSE", "HNX"])]
    close_log = (np.log(u.ref) + u.beta * market[hms(14, 45)] + gap + last_idio + drift)[closers]
    atc = trades.auction_prints(r_auction, u, closers, prices.nearest_on_grid(u, closers, np.exp(close_log)),
                                trades.auction_print_count(u, closers, r_auction, 1.2, activity), hms(14, 45),
                                trades.ATC, ATC_EVENTS, median_scale=0.6)
    deals = trades.put_through_deals(r_pt, u, stocks, PT_EVENTS)
    stock_prints = trades.with_running_totals(
        _auction_books(u, events, pl.concat([ato, cont, atc, deals]), shift=shift), u)

    # --- futures around VN30 + basis
    board = indices.PriceBoard(stock_prints, u)
    fut_events, fut_prints, fut_open, fut_ind = _futures(r_fut, u, futs, board, market, gap, activity,
                                                         first_event_id=events.height)
    events = pl.concat([events, fut_events])
    prints = pl.concat([stock_prints, trades.with_running_totals(fut_prints, u)])

    # --- books, foreign flow, indices, session changes
    opening = _opening_books(u, events, stocks, shift, fut_open)
    event_vol = _event_volumes(events, cont, fut_prints)
    books = quotes.book_rows(r_books, u, events, event_vol, opening, _indicative(u, hose, open_px, fut_ind))
    episodes = foreign.foreign_episodes(r_foreign, u)
    fbuy, fsell = foreign.foreign_flags(r_foreign, u, prints, episodes)
    room = foreign.room_frames(r_room, u, prints, fbuy, fsell, force_correction=universe_name == "vn30")
    return SimulatedDay(
        day=day, universe_name=universe_name, seed=seed, activity=activity, universe=u,
        prints=prints.with_columns(pl.Series("fbuy", fbuy), pl.Series("fsell", fsell)), books=books, room=room,
        index=indices.index_frames(board), status=_status_rows(u), events=events, movers=movers,
    )


def _futures(rng: np.random.Generator, u: Universe, futs: np.ndarray, board: indices.PriceBoard,
             market: np.ndarray, gap: np.ndarray, activity: float, first_event_id: int):
    """VN30F events and prints (continuous + ATO at 09:00:00 + ATC at 14:45:00) and their opening books."""
    seconds = np.arange(86_400, dtype=np.int64)
    vn30 = np.full(86_400, u.vn30_prior)
    members = np.flatnonzero(u.is_vn30)
    traded = seconds[hms(9, 15):hms(15) + 1]
    vn30[traded] = indices.vn30_values(board, traded)
    early = seconds[:hms(9, 15)]  # before the HOSE open: VN30 implied by the members' fair values
    fair = np.exp(u.beta[members][:, None] * market[None, early] + gap[members][:, None])
    vn30[early] = u.vn30_prior * (u.vn30_weight[members][:, None] * fair).sum(axis=0)
    vn30[hms(15) + 1:] = vn30[hms(15)]
    basis = {}
    for s in futs:
        start = u.ref[s] - u.vn30_prior
        end = -np.sign(start or -1.0) * rng.uniform(1.5, 4.0)
        basis[s] = prices.basis_path(rng, start, end if s == futs[0] else start + 0.7 * (end - start))
    events = trades.sample_event_times(rng, u, futs, activity)
    e_sym, e_sec = events.get_column("sym").to_numpy(), events.get_column("sec").to_numpy()
    latent = vn30[e_sec] + rng.normal(0.0, FUTURES_NOISE_PTS, len(e_sym))
    for s in futs:
        m = e_sym == s
        latent[m] += basis[s][e_sec[m]]
    events = trades.trade_events(rng, u, events, latent, first_event_id)
    cont = trades.expand_prints(rng, u, events)
    ato_px = prices.nearest_on_grid(u, futs, np.array([vn30[hms(9)] + basis[s][hms(9)] for s in futs]))
    atc_px = prices.nearest_on_grid(u, futs, np.array([vn30[hms(14, 45)] + basis[s][hms(14, 45)] for s in futs]))
    ato = trades.auction_prints(rng, u, futs, ato_px, trades.auction_print_count(u, futs, rng, 1.0, activity), hms(9),
                                trades.ATO, ATO_EVENTS + (1 << 20), median_scale=1.0)
    atc = trades.auction_prints(rng, u, futs, atc_px, trades.auction_print_count(u, futs, rng, 1.5, activity),
                                hms(14, 45), trades.ATC, ATC_EVENTS + (1 << 20), median_scale=1.0)
    open_b = prices.book_state(u, futs, ato_px)
    fut_open = dict(zip(futs.tolist(), open_b.tolist(), strict=True))
    return events, _auction_books(u, events, pl.concat([ato, cont, atc]), fut_open=fut_open), fut_open, ato_px


def _first_last_books(u: Universe, events: pl.DataFrame) -> tuple[dict[int, int], dict[int, int]]:
    """Per instrument with events: the book its first event hits, and the book after its last event."""
    sym = events.get_column("sym").to_numpy()
    if len(sym) == 0:
        return {}, {}
    starts = np.flatnonzero(np.r_[True, sym[1:] != sym[:-1]])
    ends = np.r_[starts[1:] - 1, len(sym) - 1]
    b, b_next = events.get_column("b").to_numpy(), events.get_column("b_next").to_numpy()
    return dict(zip(sym[starts].tolist(), b[starts].tolist(), strict=True)), \
        dict(zip(sym[ends].tolist(), b_next[ends].tolist(), strict=True))


def _auction_books(u: Universe, events: pl.DataFrame, prints: pl.DataFrame, *, shift: np.ndarray | None = None,
                   fut_open: dict[int, int] | None = None) -> pl.DataFrame:
    """Set ``b_after`` of call-auction prints to the book the auction leaves: the opening book after the ATO, the
    last continuous book after the ATC (the X snapshot of an auction print shows it). Put-through stays -9."""
    first, last = _first_last_books(u, events)
    if fut_open is not None:
        opening = {**fut_open, **first}
    else:
        level = prices.book_state(u, np.arange(u.size), u.ref * np.exp(shift))
        opening = {**dict(enumerate(level.tolist())), **first}
    closing = {**opening, **last}
    sym = prints.get_column("sym").to_numpy()
    session = prints.get_column("session").to_numpy()
    b_after = prints.get_column("b_after").to_numpy().copy()
    for code, books in ((trades.ATO, opening), (trades.ATC, closing)):
        m = session == code
        b_after[m] = np.array([books[s] for s in sym[m].tolist()], dtype=np.int64)
    return prints.with_columns(pl.Series("b_after", b_after))


def _opening_books(u: Universe, events: pl.DataFrame, stocks: np.ndarray, shift: np.ndarray,
                   fut_open: dict[int, int]) -> pl.DataFrame:
    """Each instrument's first book of continuous trading: the state its first event will hit (or, with no
    event, the state at its opening level), at the opening second + 600 ms."""
    first_b, _ = _first_last_books(u, events)
    level = prices.book_state(u, stocks, u.ref[stocks] * np.exp(shift[stocks]))
    fallback = {**dict(zip(stocks.tolist(), level.tolist(), strict=True)), **fut_open}
    syms = np.arange(u.size, dtype=np.int64)
    return pl.DataFrame({
        "sym": syms, "sec": np.array([SCHEDULES[e].open for e in u.exchange], dtype=np.int64),
        "sub_ns": OPEN_SUB_NS + syms, "event": OPEN_EVENTS + syms,
        "b": np.array([first_b.get(s, fallback[s]) for s in syms.tolist()], dtype=np.int64),
    })


def _indicative(u: Universe, hose: np.ndarray, open_px: np.ndarray, fut_px: np.ndarray) -> pl.DataFrame:
    """The opening call's indicative book (HOSE at 09:00, VN30F at 08:45): bid at the expected match price."""
    futs = np.flatnonzero(u.is_futures)
    syms = np.r_[hose, futs].astype(np.int64)
    px = np.r_[open_px, fut_px]
    sec = np.array([SCHEDULES[u.exchange[s]].transitions[0][0] for s in syms], dtype=np.int64)
    return pl.DataFrame({"sym": syms, "sec": sec, "sub_ns": INDICATIVE_SUB_NS + syms,
                         "event": INDICATIVE_EVENTS + syms, "b": prices.book_state(u, syms, px).astype(np.int64)})


def _event_volumes(events: pl.DataFrame, *prints: pl.DataFrame) -> np.ndarray:
    """Total volume of each continuous event (int64, ``events`` order)."""
    vol = pl.concat([p.select("event", "vol") for p in prints]).group_by("event").agg(pl.col("vol").sum())
    joined = events.select("event").join(vol, on="event", how="left", maintain_order="left")
    return joined.get_column("vol").fill_null(0).to_numpy()


def _status_rows(u: Universe) -> pl.DataFrame:
    """F rows: every instrument at every session change of its exchange (``sym, sec, session_text``)."""
    rows = [(s, t, code) for s in range(u.size) for t, code in SCHEDULES[u.exchange[s]].transitions]
    return pl.DataFrame(rows, schema={"sym": pl.Int64, "sec": pl.Int64, "session_text": pl.String}, orient="row")
