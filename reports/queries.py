"""The daily report's SQL, one named constant per query (DuckDB dialect).

Every query runs over the views that :func:`reports.daily.build_report` creates for one trading day:
the curated tables of ``transforms.schemas.CURATED`` under their own names (``trades``, ``session_stats``,
``foreign_flow``, ``foreign_summary``, ``foreign_by_sector``, ``indices``, ``basis``, ``alerts``,
``candles_1m``, ``board``), ``quarantine`` (schema ``QUARANTINE``) and ``raw`` (columns ``session``,
``seq``, ``data_type``, ``source`` of the raw frames). A view always exists; it is empty when its file
is missing, so every query also runs on an empty day.

All aggregation happens here, never in Python. Values come in as DuckDB parameters (``$name``), never
formatted into the text. Times leave as ``TIMESTAMP`` in exchange wall time (the connection runs with
``TimeZone = 'Asia/Ho_Chi_Minh'``, ``market.clock.SET_TIMEZONE``). "Arrival order" is ``(session, seq)``
(docs/analytics.md); "latest" means last in arrival order.

Units: prices VND/share (stocks) or index points (futures, indices); volumes shares or contracts;
``*_vnd`` VND; ``*_pct`` percent (0-100); ``*_ratio`` / ``*_share`` fractions (0-1) unless named ``_pct``.

References: docs/analytics.md §3-§10, transforms/schemas.py.
"""

from __future__ import annotations


# Order of the session phases wherever they are listed (docs/analytics.md §4).
_PHASE_ORDER = "list_position(['ato', 'continuous', 'atc', 'pt', 'total'], phase)"
_FUTURES = "(exchange = 'DERIVATIVES' OR upper(symbol) LIKE 'VN30F%')"

# ---------------------------------------------------------------------------------------------------------------
# (1) Overview
# ---------------------------------------------------------------------------------------------------------------

#: One row per instrument class (``stocks``, ``futures``) plus ``all``; matched = phases other than ``pt``.
#: Volumes of ``all`` are null: shares and contracts do not add up.
OVERVIEW_TRADES = f"""
WITH t AS (
    SELECT CASE WHEN {_FUTURES} THEN 'futures' ELSE 'stocks' END AS instrument, *
    FROM trades
)
SELECT
    CASE WHEN grouping(instrument) = 1 THEN 'all' ELSE instrument END AS instrument,
    count(DISTINCT symbol) AS symbols,
    count(*) AS trades,
    CASE WHEN grouping(instrument) = 0 THEN coalesce(sum(volume) FILTER (WHERE phase <> 'pt'), 0) END
        AS matched_volume,
    coalesce(sum(value_vnd) FILTER (WHERE phase <> 'pt'), 0) AS matched_value_vnd,
    CASE WHEN grouping(instrument) = 0 THEN coalesce(sum(volume) FILTER (WHERE phase = 'pt'), 0) END
        AS pt_volume,
    coalesce(sum(value_vnd) FILTER (WHERE phase = 'pt'), 0) AS pt_value_vnd,
    min(exch_time)::TIMESTAMP AS first_trade,
    max(exch_time)::TIMESTAMP AS last_trade
FROM t
GROUP BY GROUPING SETS ((instrument), ())
HAVING count(*) > 0
ORDER BY grouping(instrument), instrument DESC
"""

#: One row: frames recorded and quarantined, capture sessions, and the trading dates the trades carry.
OVERVIEW_FRAMES = """
SELECT
    (SELECT count(*) FROM raw) AS raw_frames,
    (SELECT count(DISTINCT session) FROM raw) AS raw_sessions,
    (SELECT count(*) FROM quarantine) AS quarantined,
    (SELECT count(*) FROM alerts) AS alerts,
    (SELECT list(DISTINCT trading_date ORDER BY trading_date) FROM trades) AS trade_dates
"""

# ---------------------------------------------------------------------------------------------------------------
# (2) Price board and candles
# ---------------------------------------------------------------------------------------------------------------

BOARD = """
SELECT symbol, exchange, price_state, last_price, change, change_pct, ref_price, ceiling, floor,
       volume, value_vnd, active_buy_share, foreign_net_val_vnd
FROM board
ORDER BY symbol
"""

#: 1-minute candles of the ``$top_n`` symbols with the highest matched value, rank 1 = most traded.
TOP_CANDLES = """
WITH traded AS (
    SELECT symbol, sum(value_vnd) AS value_vnd, sum(volume) AS volume
    FROM candles_1m
    GROUP BY symbol
),
top AS (
    SELECT symbol, value_vnd,
           row_number() OVER (ORDER BY value_vnd DESC, volume DESC, symbol) AS rank
    FROM traded
    QUALIFY rank <= $top_n
)
SELECT top.rank, c.symbol, top.value_vnd AS day_value_vnd, c.minute::TIMESTAMP AS minute,
       c.open, c.high, c.low, c.close, c.volume, c.buy_volume, c.sell_volume,
       c.volume - c.buy_volume - c.sell_volume AS neutral_volume, c.vwap, c.trade_count
FROM candles_1m AS c JOIN top USING (symbol)
ORDER BY top.rank, minute
"""

# ---------------------------------------------------------------------------------------------------------------
# (3) Active buy / sell / neutral by session phase
# ---------------------------------------------------------------------------------------------------------------

_STAT_COLUMNS = (
    "trade_count", "volume", "value_vnd", "buy_volume", "sell_volume", "neutral_volume",
    "buy_value_vnd", "sell_value_vnd", "neutral_value_vnd",
)
_SUM_STATS = ", ".join(f"sum({c}) AS {c}" for c in _STAT_COLUMNS)
_DIFFERING_STATS = ", ".join(f"CASE WHEN p.{c} IS DISTINCT FROM t.{c} THEN '{c}' END" for c in _STAT_COLUMNS)

SESSION_PHASES = f"""
SELECT symbol, phase, trade_count, volume, buy_volume, sell_volume, neutral_volume,
       value_vnd, buy_value_vnd, sell_value_vnd, neutral_value_vnd
FROM session_stats
ORDER BY symbol, {_PHASE_ORDER}
"""

#: All symbols together per phase, in VND (values add up across stocks and futures; volumes do not).
SESSION_MARKET = f"""
SELECT phase, sum(trade_count) AS trade_count, sum(value_vnd) AS value_vnd,
       sum(buy_value_vnd) AS buy_value_vnd, sum(sell_value_vnd) AS sell_value_vnd,
       sum(neutral_value_vnd) AS neutral_value_vnd,
       sum(buy_value_vnd) / nullif(sum(buy_value_vnd) + sum(sell_value_vnd), 0) AS active_buy_share
FROM session_stats
GROUP BY phase
ORDER BY {_PHASE_ORDER}
"""

#: The invariants of docs/analytics.md §4, checked per symbol: the four phases sum exactly to ``total`` in
#: every column, and buy + sell + neutral = all (volume and value) in every row. One row: symbols checked,
#: symbols failing, and ``failures`` = ['SYMBOL: what differs', ...].
PHASE_CHECK = f"""
WITH parts AS (
    SELECT symbol, count(*) AS phase_rows, {_SUM_STATS}
    FROM session_stats
    WHERE phase IN ('ato', 'continuous', 'atc', 'pt')
    GROUP BY symbol
),
totals AS (
    SELECT * FROM session_stats WHERE phase = 'total'
),
splits AS (
    SELECT symbol,
           string_agg(phase, '/' ORDER BY {_PHASE_ORDER}) FILTER (
               WHERE buy_volume + sell_volume + neutral_volume IS DISTINCT FROM volume
                  OR buy_value_vnd + sell_value_vnd + neutral_value_vnd IS DISTINCT FROM value_vnd
           ) AS bad_split_phases
    FROM session_stats
    GROUP BY symbol
),
cmp AS (
    SELECT coalesce(p.symbol, t.symbol) AS symbol,
           concat_ws('; ',
               CASE WHEN t.symbol IS NULL THEN 'no total row' END,
               CASE WHEN p.symbol IS NULL THEN 'no phase rows' END,
               CASE WHEN p.symbol IS NOT NULL AND t.symbol IS NOT NULL THEN nullif(concat_ws(', ',
                   {_DIFFERING_STATS}
               ), '') END,
               CASE WHEN p.phase_rows <> 4 THEN p.phase_rows || ' phase rows (want 4)' END
           ) AS phase_problems
    FROM parts AS p FULL JOIN totals AS t ON p.symbol = t.symbol
)
SELECT count(*) AS symbols_checked,
       count(*) FILTER (WHERE phase_problems <> '' OR s.bad_split_phases IS NOT NULL) AS symbols_failing,
       coalesce(list(cmp.symbol || ': ' || concat_ws('; ',
                    CASE WHEN phase_problems <> '' THEN 'phases do not sum to total in ' || phase_problems END,
                    CASE WHEN s.bad_split_phases IS NOT NULL
                         THEN 'buy + sell + neutral <> all in ' || s.bad_split_phases END)
                ORDER BY cmp.symbol)
                FILTER (WHERE phase_problems <> '' OR s.bad_split_phases IS NOT NULL), []) AS failures
FROM cmp LEFT JOIN splits AS s ON s.symbol = cmp.symbol
"""

#: Volume split per symbol and phase for the stacked bars; symbols by total value, phases with volume only.
PHASE_BARS = """
WITH ranked AS (
    SELECT symbol, value_vnd FROM session_stats WHERE phase = 'total'
)
SELECT s.symbol, s.phase, s.buy_volume, s.sell_volume, s.neutral_volume
FROM session_stats AS s LEFT JOIN ranked AS r USING (symbol)
WHERE s.phase <> 'total' AND s.volume > 0
ORDER BY r.value_vnd DESC NULLS LAST, s.symbol, list_position(['ato', 'continuous', 'atc', 'pt'], s.phase)
"""

# ---------------------------------------------------------------------------------------------------------------
# (4) Foreign flow
# ---------------------------------------------------------------------------------------------------------------

FOREIGN_TOTALS = """
SELECT count(*) AS symbols,
       sum(buy_vol) AS buy_vol, sum(sell_vol) AS sell_vol, sum(net_vol) AS net_vol,
       sum(buy_val_vnd) AS buy_val_vnd, sum(sell_val_vnd) AS sell_val_vnd, sum(net_val_vnd) AS net_val_vnd,
       count(*) FILTER (WHERE net_val_vnd > 0) AS net_buyers,
       count(*) FILTER (WHERE net_val_vnd < 0) AS net_sellers,
       sum(corrections) AS corrections
FROM foreign_summary
HAVING count(*) > 0
"""

#: Top 10 net buyers (side 'buy', rank_net_buy) and net sellers (side 'sell', rank_net_sell), ranks as curated.
FOREIGN_TOP = """
SELECT 'buy' AS side, rank_net_buy AS rank, symbol, sector, net_val_vnd, net_vol, buy_val_vnd, sell_val_vnd,
       room_used
FROM foreign_summary WHERE rank_net_buy IS NOT NULL
UNION ALL
SELECT 'sell' AS side, rank_net_sell AS rank, symbol, sector, net_val_vnd, net_vol, buy_val_vnd, sell_val_vnd,
       room_used
FROM foreign_summary WHERE rank_net_sell IS NOT NULL
ORDER BY side, rank, symbol
"""

FOREIGN_SECTORS = """
SELECT sector, symbols, buy_val_vnd, sell_val_vnd, net_val_vnd, net_vol
FROM foreign_by_sector
ORDER BY net_val_vnd DESC, sector
"""

#: Cumulative net foreign value (VND) per minute: series 'All symbols' and the ``$top_n`` symbols with the
#: largest |net value| of the day. Flow rows are never negative corrections (analytics.md §6), so the running
#: sum of ``net_val_vnd`` over minutes is the cumulative net.
FOREIGN_CUMULATIVE = """
WITH per_minute AS (
    SELECT symbol, date_trunc('minute', exch_time)::TIMESTAMP AS minute, sum(net_val_vnd) AS net_val_vnd
    FROM foreign_flow
    GROUP BY ALL
),
top AS (
    SELECT symbol FROM per_minute GROUP BY symbol
    ORDER BY abs(sum(net_val_vnd)) DESC, symbol
    LIMIT $top_n
),
series AS (
    SELECT 'All symbols' AS series, 0 AS series_order, minute, sum(net_val_vnd) AS net_val_vnd
    FROM per_minute GROUP BY minute
    UNION ALL
    SELECT symbol, 1, minute, net_val_vnd FROM per_minute WHERE symbol IN (SELECT symbol FROM top)
)
SELECT series, minute,
       sum(net_val_vnd) OVER (PARTITION BY series ORDER BY minute) AS cum_net_val_vnd
FROM series
ORDER BY series_order, series, minute
"""

# ---------------------------------------------------------------------------------------------------------------
# (5) Indices
# ---------------------------------------------------------------------------------------------------------------

#: The latest row with a value per index (VNINDEX, VN30 first), plus the day's high and low.
INDICES_LAST = """
WITH v AS (
    SELECT upper(index_id) AS index_id, * EXCLUDE (index_id) FROM indices WHERE value IS NOT NULL
)
SELECT index_id, value, prior_value, change, change_pct, advances, declines, no_changes, ceilings, floors,
       advance_ratio, total_value_vnd,
       max(value) OVER (PARTITION BY index_id) AS day_high,
       min(value) OVER (PARTITION BY index_id) AS day_low,
       exch_time::TIMESTAMP AS as_of
FROM v
QUALIFY row_number() OVER (PARTITION BY index_id ORDER BY session DESC, seq DESC) = 1
ORDER BY list_position(['VNINDEX', 'VN30'], index_id) NULLS LAST, index_id
"""

#: VN30 and VNINDEX, the last value of every minute (points).
INDICES_SERIES = """
SELECT upper(index_id) AS index_id, date_trunc('minute', exch_time)::TIMESTAMP AS minute,
       last(value ORDER BY session, seq) AS value
FROM indices
WHERE upper(index_id) IN ('VN30', 'VNINDEX') AND value IS NOT NULL
GROUP BY ALL
ORDER BY index_id, minute
"""

# ---------------------------------------------------------------------------------------------------------------
# (6) Basis
# ---------------------------------------------------------------------------------------------------------------

#: Per contract (front month first): trades, premium / discount shares by trades and by contracts traded.
BASIS_SUMMARY = """
SELECT symbol, bool_or(is_front_month) AS front_month, count(*) AS trades, sum(volume) AS contracts,
       100.0 * count(*) FILTER (WHERE basis_pts > 0) / count(*) AS premium_pct,
       100.0 * count(*) FILTER (WHERE basis_pts < 0) / count(*) AS discount_pct,
       100.0 * count(*) FILTER (WHERE basis_pts = 0) / count(*) AS flat_pct,
       100.0 * sum(volume) FILTER (WHERE basis_pts > 0) / nullif(sum(volume), 0) AS premium_volume_pct,
       avg(basis_pts) AS mean_basis_pts, min(basis_pts) AS min_basis_pts, max(basis_pts) AS max_basis_pts,
       last(basis_pts ORDER BY session, seq) AS last_basis_pts,
       last(basis_pct ORDER BY session, seq) AS last_basis_pct
FROM basis
GROUP BY symbol
ORDER BY front_month DESC, symbol
"""

#: The front-month contract, the last trade of every minute: basis (points), futures price and spot.
BASIS_SERIES = """
SELECT symbol, date_trunc('minute', exch_time)::TIMESTAMP AS minute,
       last(basis_pts ORDER BY session, seq) AS basis_pts,
       last(futures_price ORDER BY session, seq) AS futures_price,
       last(spot ORDER BY session, seq) AS spot
FROM basis
WHERE is_front_month
GROUP BY ALL
ORDER BY symbol, minute
"""

# ---------------------------------------------------------------------------------------------------------------
# (7) Alerts
# ---------------------------------------------------------------------------------------------------------------

#: Counts per (type, severity), CRITICAL first, then one row 'all'.
ALERT_COUNTS = """
SELECT CASE WHEN grouping(alert_type) = 1 THEN 'all' ELSE alert_type END AS alert_type,
       CASE WHEN grouping(severity) = 1 THEN '' ELSE severity END AS severity,
       count(*) AS alerts, count(DISTINCT symbol) AS symbols,
       min(exch_time)::TIMESTAMP AS first_at, max(exch_time)::TIMESTAMP AS last_at
FROM alerts
GROUP BY GROUPING SETS ((alert_type, severity), ())
HAVING count(*) > 0
ORDER BY grouping(alert_type), list_position(['CRITICAL', 'WARNING'], severity) NULLS LAST, alert_type
"""

#: The ``$limit`` latest alerts, newest first: by exchange time, then arrival order (sessions of one day, e.g. a
#: live capture and an import, have no order between them; their exchange times do).
ALERTS_LATEST = """
SELECT exch_time::TIMESTAMP AS exch_time, severity, alert_type, symbol, metric, threshold, details
FROM alerts
ORDER BY alerts.exch_time DESC, session DESC, seq DESC, alert_type
LIMIT $limit
"""

# ---------------------------------------------------------------------------------------------------------------
# (8) Data quality
# ---------------------------------------------------------------------------------------------------------------

#: Raw and quarantined frames per channel (``data_type`` trimmed and upper-cased, as the parser does).
FRAMES_BY_CHANNEL = """
WITH r AS (
    SELECT coalesce(nullif(upper(trim(data_type)), ''), '(none)') AS channel, count(*) AS frames,
           count(DISTINCT session) AS sessions
    FROM raw GROUP BY 1
),
q AS (
    SELECT coalesce(nullif(upper(trim(data_type)), ''), '(none)') AS channel, count(*) AS quarantined
    FROM quarantine GROUP BY 1
)
SELECT channel, coalesce(r.frames, 0) AS frames, coalesce(r.sessions, 0) AS sessions,
       coalesce(q.quarantined, 0) AS quarantined,
       100.0 * coalesce(q.quarantined, 0) / nullif(r.frames, 0) AS quarantined_pct
FROM r FULL JOIN q USING (channel)
ORDER BY frames DESC, quarantined DESC, channel
"""

FRAMES_BY_SOURCE = """
SELECT coalesce(source, '(none)') AS source, count(DISTINCT session) AS sessions, count(*) AS frames
FROM raw
GROUP BY 1
ORDER BY frames DESC, source
"""

#: Quarantined frames grouped by the reason's prefix before the first ':', with up to ``$examples`` distinct
#: full reasons each, in the order they first arrived.
QUARANTINE_BY_REASON = """
WITH q AS (
    SELECT coalesce(reason, '(no reason)') AS reason,
           trim(split_part(coalesce(reason, '(no reason)'), ':', 1)) AS reason_group,
           row_number() OVER (ORDER BY session, seq) AS arrival
    FROM quarantine
),
by_reason AS (
    SELECT reason_group, reason, count(*) AS frames, min(arrival) AS first_arrival
    FROM q GROUP BY reason_group, reason
)
SELECT reason_group, sum(frames) AS frames, count(*) AS distinct_reasons,
       list_slice(list(reason ORDER BY first_arrival), 1, $examples) AS examples
FROM by_reason
GROUP BY reason_group
ORDER BY frames DESC, reason_group
"""

#: Trades by whether SSI's ``Side`` gives an aggressor: BU/SD (trimmed, upper-cased) or anything else.
VENDOR_SIDE_COVERAGE = """
SELECT count(*) AS trades,
       count(*) FILTER (WHERE upper(trim(vendor_side)) IN ('BU', 'SD')) AS with_vendor_side,
       count(*) FILTER (WHERE upper(trim(vendor_side)) NOT IN ('BU', 'SD') OR vendor_side IS NULL)
           AS without_vendor_side,
       coalesce(list(DISTINCT coalesce(vendor_side, 'null') ORDER BY coalesce(vendor_side, 'null'))
           FILTER (WHERE upper(trim(vendor_side)) NOT IN ('BU', 'SD') OR vendor_side IS NULL), [])
           AS other_vendor_values
FROM trades
"""

#: How a trade's frame came in, from the raw ``source`` of its frame (``ssi``, ``feed``, ``import:<file name>``).
#: The importer's only CSV format is the vnstock/KBS tick file (capture/importers.py), so ``import:*.csv`` is a KBS
#: tick import; other imports are SSI recordings (JSONL).
_ORIGIN = """CASE
        WHEN r.source IS NULL THEN '(no raw frame)'
        WHEN r.source ILIKE 'import:%.csv' THEN 'KBS tick import'
        WHEN r.source ILIKE 'import:%' THEN 'SSI recording import'
        ELSE r.source
    END"""

#: The trades that carry a vendor aggressor flag, with the groups the report splits the agreement by (rule, phase,
#: origin (see ``_ORIGIN``), source = the raw ``source``); ``transforms.classify.vendor_agreement`` counts them.
AGREEMENT_ROWS = f"""
SELECT coalesce(tr.rule, '(null)') AS rule,
       coalesce(tr.phase, '(null)') AS phase,
       {_ORIGIN} AS origin,
       coalesce(r.source, '(no raw frame)') AS source,
       tr.aggressor_side,
       tr.vendor_side
FROM trades AS tr
LEFT JOIN (SELECT DISTINCT session, seq, source FROM raw) AS r USING (session, seq)
WHERE tr.vendor_side IS NOT NULL
"""


#: Great Expectations results of the day per curated table: expectations run, failed, rows checked.
DQ_BY_TABLE = """
SELECT table_name, count(*) AS expectations, count(*) FILTER (WHERE NOT success) AS failed,
       max(element_count) AS rows_checked
FROM dq_results
GROUP BY table_name
ORDER BY failed DESC, table_name
"""

#: The failed expectations of the day, with how many rows broke them and what was observed.
DQ_FAILED = """
SELECT table_name, expectation, column_name, unexpected_count, element_count, observed
FROM dq_results
WHERE NOT success
ORDER BY table_name, expectation, column_name
"""
