"""vnstock/KBS intraday tick CSV -> SSI ``X-TRADE`` raw frames in exact wire format.

The input (``tests/fixtures/kbs-ticks/*.csv``; tests/fixtures/README.md): what vnstock's intraday API returns
from KBS, UTF-8 with a BOM, header
``time,price,volume,match_type,id,trading_date,symbol,price_change,accumulated_volume,accumulated_value``:
``time`` "YYYY-MM-DD HH:MM:SS" Vietnam time, ``price`` in **thousand VND** (26.95 = 26,950 VND), ``volume`` shares,
``match_type`` ``buy`` (buyer-initiated) / ``sell`` (seller-initiated) / ``atc`` / empty, ``id``
"<date>_<HHMMSS>_<price*10000>_<volume>", ``trading_date`` dd/mm/yyyy, ``price_change`` VND vs reference,
``accumulated_volume`` shares and ``accumulated_value`` VND, cumulative for the day.

What the real files look like (HPG 13/02/2026 13:18:47-14:45:15 and TCB 23/02/2026 09:17:32-14:45:15, 1,988
rows each), and the decision taken for each finding:

1. **Order.** Rows are sorted by ``time`` but not within a second (HPG: 127 places where the cumulative volume
   goes down from one row to the next, TCB: 65), and the closing-auction rows at 14:45:15 come in no order
   (HPG: cumulative 24,069,800 then 21,530,100, 23,036,000, 23,637,900). Sorted by
   ``(time, accumulated_volume)`` both files form one exact chain: the cumulative volume and value are then
   strictly increasing, in both files the very same order as sorting by ``accumulated_volume`` alone.
   **Decision:** arrival order = sort by ``(trading day, time, symbol, accumulated_volume, id)``; ``seq`` is the
   1-based position in that order. The ATC rows are therefore not repeats: each adds its volume to the chain
   exactly (HPG 451,900 + 1,505,900 + 601,900 + 431,900 = 2,991,600 shares at 26,850; TCB 350,300 + 50,100).
2. **Duplicates.** No ``id`` repeats in either file and no row is an exact copy. But ``id`` is not a trade id:
   it is built from (second, price, volume), so two trades of the same size at the same price in the same
   second share it. The cumulative chain shows 12 trades missing in each file (HPG 26,900 shares, TCB 13,900)
   and 23 of those 24 have a neighbouring row with the same (second, price, volume): the collector deduplicated
   on ``id`` and lost real trades. **Decision:** deduplicate only rows equal in ``id`` *and*
   ``accumulated_volume`` (the same print twice), keeping the first in file order; never on ``id`` alone.
   (0 rows removed in the real files.)
3. **Cumulative totals.** **Decision:** ``TotalVol`` / ``TotalVal`` are rebuilt from the rows so the stream is
   self-consistent, as the analytics expect of X-TRADE: anchored on the first row of each (day, symbol)
   (``TotalVol = accumulated_volume - volume`` before it, clamped at 0; same for value with
   price x volume), then the running sum of ``volume`` and of ``price_vnd * volume``. TotalVol strictly
   increases and every ``LastVol`` equals its TotalVol delta. Where the vendor lost trades (item 2) our totals
   stay below KBS's ``accumulated_*`` by the lost volume/value (HPG closes at 24,042,900 vs KBS 24,069,800);
   the vendor columns are used only as anchor and sort key.
4. **Sessions.** **Decision:** a row is an auction print when ``match_type`` is ``atc`` / ``ato`` or, by time,
   HOSE ``time >= 14:30:00`` (ATC) or ``time <= 09:15:00`` (ATO; HNX: ATC only; UPCOM: by match_type only),
   docs/market.md §2. Auction prints get ``TradingSession`` "ATC"/"ATO" and ``Side`` null; the rest "LO" with
   ``Side`` "BU" for ``buy``, "SD" for ``sell``, else null. Real files: HPG 4 ATC rows (1 ``atc`` + 3 empty),
   TCB 2 (1 + 1); every empty ``match_type`` is an ATC row; no ATO rows (TCB starts at 09:17:32).
5. **Prices.** ``price_vnd = round(price * 1000)`` (integer rounding, never a float product like
   26950.000000000004). ``RefPrice = price_vnd - price_change`` (``price_change`` is already VND), one value per
   (day, symbol) or the file is refused. ``Ceiling``/``Floor`` = ``market.rules.price_limits(ref, exchange)``
   with the exchange from ``market.rules.resolve_exchange`` (shipped VN30 list), default HOSE.
6. **Other fields** (docs/ssi-wire.md §2.1, in wire order): ``Isin`` = symbol; ``PriorVal`` = ``RefPrice`` (previous
   close, as on the wire for stocks); ``AvgPrice`` = ``TotalVal / TotalVol`` rounded to 2 decimals (as the wire
   sample 22927.93); ``Change`` = price - ref (VND); ``RatioChange`` = ``round(change / ref * 100, 2)``;
   ``EstMatchedPrice`` = price; ``Highest``/``Lowest`` = running max/min **of the file's rows** (a partial day
   does not know the morning's extremes); ``TradingStatus`` "N"; ``MarketId`` = ``Exchange``. Every number is a
   float like the wire (``100.0``). ``recv_ns`` = exchange time.

References: docs/ssi-wire.md §2.1 (X-TRADE fields and order), §3 (sessions); docs/architecture.md §4, docs/market.md §2;
tests/fixtures/README.md (the source files).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, time
from itertools import groupby

from market.clock import exchange_time_ns, parse_trading_date
from capture.import_jsonl import decode_text
from storage.schemas import ImportedFrame
from ssi.envelope import broadcast_argument
from market.rules import DERIVATIVES, is_index_symbol, price_limits, resolve_exchange

FORMAT = "kbs-ticks-csv"
KBS_COLUMNS: tuple[str, ...] = (
    "time", "price", "volume", "match_type", "id", "trading_date", "symbol", "price_change",
    "accumulated_volume", "accumulated_value",
)
X_TRADE_FIELDS: tuple[str, ...] = (
    "RType", "TradingDate", "Time", "Isin", "Symbol", "Ceiling", "Floor", "RefPrice", "AvgPrice", "PriorVal",
    "LastPrice", "LastVol", "TotalVal", "TotalVol", "MarketId", "Exchange", "TradingSession", "TradingStatus",
    "Change", "RatioChange", "EstMatchedPrice", "Highest", "Lowest", "Side",
)
"""X-TRADE Content keys in wire order (docs/ssi-wire.md §2.1)."""

ATO_PRINT = time(9, 15)  # HOSE ATO match prints at 09:15:00 (docs/market.md §2)
ATC_START = time(14, 30)  # HOSE / HNX closing auction 14:30-14:45 (docs/market.md §2)
SIDES = {"buy": "BU", "sell": "SD"}


@dataclass(frozen=True, slots=True)
class KbsTick:
    """One CSV row, typed. Prices and values in VND (int), volumes in shares (int)."""

    line: int  # 1-based line number in the file (the header is line 1)
    day: date
    tod: time
    symbol: str
    price_vnd: int
    volume: int
    match_type: str  # lower-cased, "" when empty
    id: str
    price_change_vnd: int
    accumulated_volume: int
    accumulated_value_vnd: int


def is_kbs_header(line: str) -> bool:
    """True when a (BOM-less) first line is a KBS tick CSV header: it names every column of :data:`KBS_COLUMNS`."""
    return set(KBS_COLUMNS) <= {c.strip() for c in line.strip().split(",")}


def _number(row: dict, column: str, line: int, name: str, *, scale: int = 1) -> int:
    """A numeric cell as an integer after scaling (``round(float(cell) * scale)``); refuses blanks/garbage."""
    text = (row.get(column) or "").strip()
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{name} line {line}: column {column!r} is not a number: {text!r}") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(f"{name} line {line}: column {column!r} is not finite: {text!r}")
    return round(value * scale)


def read_kbs_ticks(data: bytes, name: str = "<csv>") -> list[KbsTick]:
    """Parse and check a KBS tick CSV, rows in file order.

    Parameters
    ----------
    data : the file's bytes (a UTF-8 BOM is allowed).
    name : file name, for error messages.

    Returns
    -------
    list[KbsTick] : one per data row; ``price_vnd = round(price * 1000)``.

    Raises
    ------
    ValueError : a missing column; a cell that is not a number; ``time`` not "YYYY-MM-DD HH:MM:SS";
        ``trading_date`` not the date of ``time``; price or volume <= 0. The message names the line.
    """
    reader = csv.DictReader(io.StringIO(decode_text(data), newline=""))
    missing = [c for c in KBS_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise ValueError(f"{name}: not a KBS tick CSV, missing columns {missing} (expected {','.join(KBS_COLUMNS)})")
    ticks = []
    for row in reader:
        line = reader.line_num
        try:
            stamp = datetime.strptime((row["time"] or "").strip(), "%Y-%m-%d %H:%M:%S")
        except ValueError:
            raise ValueError(f"{name} line {line}: time {row['time']!r} is not 'YYYY-MM-DD HH:MM:SS'") from None
        if parse_trading_date((row["trading_date"] or "").strip()) != stamp.date():
            raise ValueError(
                f"{name} line {line}: trading_date {row['trading_date']!r} is not the date of time {row['time']!r}"
            )
        tick = KbsTick(
            line=line,
            day=stamp.date(),
            tod=stamp.time(),
            symbol=(row["symbol"] or "").strip().upper(),
            price_vnd=_number(row, "price", line, name, scale=1000),
            volume=_number(row, "volume", line, name),
            match_type=(row["match_type"] or "").strip().lower(),
            id=(row["id"] or "").strip(),
            price_change_vnd=_number(row, "price_change", line, name),
            accumulated_volume=_number(row, "accumulated_volume", line, name),
            accumulated_value_vnd=_number(row, "accumulated_value", line, name),
        )
        if not tick.symbol:
            raise ValueError(f"{name} line {line}: empty symbol")
        if tick.price_vnd <= 0 or tick.volume <= 0:
            raise ValueError(
                f"{name} line {line}: a trade needs price > 0 and volume > 0, got {row['price']}, {row['volume']}"
            )
        ticks.append(tick)
    return ticks


def dedupe_ticks(ticks: list[KbsTick]) -> list[KbsTick]:
    """Drop rows equal to an earlier one in (``id``, ``accumulated_volume``): the same print twice.

    Never on ``id`` alone: ``id`` is (second, price, volume), shared by distinct trades (module docstring, 2.).
    """
    seen: set[tuple[str, int]] = set()
    out = []
    for t in ticks:
        key = (t.id, t.accumulated_volume)
        if key not in seen:
            seen.add(key)
            out.append(t)
    return out


def order_ticks(ticks: list[KbsTick]) -> list[KbsTick]:
    """Arrival order: by (day, time, symbol, accumulated_volume, id) (module docstring, 1.)."""
    return sorted(ticks, key=lambda t: (t.day, t.tod, t.symbol, t.accumulated_volume, t.id))


def trading_session(exchange: str, tod: time, match_type: str) -> str:
    """``ATO``, ``ATC`` or ``LO`` for one print (module docstring, 4.; docs/market.md §2)."""
    if match_type == "ato" or (exchange == "HOSE" and tod <= ATO_PRINT):
        return "ATO"
    if match_type == "atc" or (exchange in ("HOSE", "HNX") and tod >= ATC_START):
        return "ATC"
    return "LO"


def _exchange(symbol: str) -> str:
    exchange = resolve_exchange(symbol, None) or "HOSE"
    if exchange == DERIVATIVES or is_index_symbol(symbol):
        raise ValueError(f"KBS import handles stocks only; {symbol} resolves to {exchange} / an index")
    return exchange


def _reference_price(stream: list[KbsTick]) -> int:
    refs = {t.price_vnd - t.price_change_vnd for t in stream}
    if len(refs) != 1:
        first = stream[0]
        raise ValueError(
            f"{first.symbol} {first.day}: price - price_change gives several reference prices {sorted(refs)}; "
            "the CSV is inconsistent (one reference price per symbol per day)"
        )
    return refs.pop()


def x_trade_contents(ticks: list[KbsTick]) -> list[dict]:
    """X-TRADE ``Content`` objects, one per tick, keys in wire order (:data:`X_TRADE_FIELDS`).

    Parameters
    ----------
    ticks : deduplicated ticks in arrival order (:func:`dedupe_ticks`, :func:`order_ticks`).

    Returns
    -------
    list[dict] : same order as ``ticks``; numbers are floats (VND, shares), strings as on the wire.

    Raises
    ------
    ValueError : several reference prices for one (day, symbol); a futures or index symbol.
    """
    contents: list[dict | None] = [None] * len(ticks)
    indexed = sorted(enumerate(ticks), key=lambda it: (it[1].day, it[1].symbol, it[0]))
    for _, group in groupby(indexed, key=lambda it: (it[1].day, it[1].symbol)):
        stream = list(group)
        first = stream[0][1]
        exchange = _exchange(first.symbol)
        ref = _reference_price([t for _, t in stream])
        ceiling, floor = price_limits(ref, exchange)
        total_vol = max(0, first.accumulated_volume - first.volume)
        total_val = max(0, first.accumulated_value_vnd - first.price_vnd * first.volume)
        highest = lowest = first.price_vnd
        for i, t in stream:
            total_vol += t.volume
            total_val += t.price_vnd * t.volume
            highest, lowest = max(highest, t.price_vnd), min(lowest, t.price_vnd)
            session = trading_session(exchange, t.tod, t.match_type)
            change = t.price_vnd - ref
            values = (
                "X-TRADE", f"{t.day:%d/%m/%Y}", f"{t.tod:%H:%M:%S}", t.symbol, t.symbol,
                float(ceiling), float(floor), float(ref), round(total_val / total_vol, 2), float(ref),
                float(t.price_vnd), float(t.volume), float(total_val), float(total_vol), exchange, exchange,
                session, "N", float(change), round(change / ref * 100, 2), float(t.price_vnd),
                float(highest), float(lowest), SIDES.get(t.match_type) if session == "LO" else None,
            )
            contents[i] = dict(zip(X_TRADE_FIELDS, values, strict=True))
    return contents  # type: ignore[return-value]


def x_trade_payload(content: dict) -> str:
    """The Broadcast argument string of an X-TRADE content, compact like the wire (docs/ssi-wire.md §1)."""
    return broadcast_argument("X-TRADE", content)


def kbs_frames(data: bytes, name: str = "<csv>") -> list[ImportedFrame]:
    """Convert a KBS tick CSV to X-TRADE frames in arrival order.

    Parameters
    ----------
    data : the file's bytes.
    name : file name, for error messages.

    Returns
    -------
    list[ImportedFrame] : ``seq`` 1..n in arrival order, ``recv_ns`` = exchange time (UTC ns),
        ``data_type`` "X-TRADE", ``payload`` per :func:`x_trade_payload`, ``day`` = the tick's trading date.

    Raises
    ------
    ValueError : see :func:`read_kbs_ticks` and :func:`x_trade_contents`; also a file without data rows.
    """
    ticks = order_ticks(dedupe_ticks(read_kbs_ticks(data, name)))
    if not ticks:
        raise ValueError(f"{name}: a KBS tick CSV without any data row; nothing to import")
    return [
        ImportedFrame(
            day=t.day,
            seq=seq,
            recv_ns=exchange_time_ns(t.day, t.tod),
            data_type="X-TRADE",
            payload=x_trade_payload(content),
        )
        for seq, (t, content) in enumerate(zip(ticks, x_trade_contents(ticks), strict=True), start=1)
    ]
