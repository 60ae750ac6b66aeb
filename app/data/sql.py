"""The history pages' SQL, one named constant per query (DuckDB dialect, parameterized with ``$name``).

Every query reads tables named after the curated tables (``trades``, ``candles_1m``, ``foreign_summary``,
``foreign_flow``, ``indices``, ``basis``, ``alerts``, ``board``, ``session_stats``) and filters on their
``trading_date DATE`` column: exactly the names and columns of the warehouse (contract C4), so the same text runs
over views of the lake's curated Parquet files (``app.data.history.LakeHistory``) or over the warehouse tables.
Values come in as parameters, never formatted into the text. Times come out as ``TIMESTAMPTZ`` (the connection
runs with ``TimeZone = 'Asia/Ho_Chi_Minh'``, so they read as exchange time).

Units: prices VND/share (stocks) or points (futures, indices); ``*_vnd`` VND; ``*_pct`` percent.
References: transforms/schemas.py, docs/analytics.md §3-§10.
"""

from __future__ import annotations


#: One row per trading date that has a price board: the days the history pages can show, newest first.
DAYS = """
SELECT trading_date, count(*) AS symbols, sum(value_vnd) AS value_vnd
FROM board
GROUP BY trading_date
ORDER BY trading_date DESC
"""

#: Symbols that traded on $day: stocks first, most traded (by matched value) first, then the futures.
SYMBOLS = """
SELECT symbol, sum(value_vnd) AS value_vnd
FROM candles_1m
WHERE trading_date = $day
GROUP BY symbol
ORDER BY upper(symbol) LIKE 'VN30F%', value_vnd DESC, symbol
"""

#: 1-minute OHLCV candles of $symbol on $day, by minute.
CANDLES = """
SELECT minute, open, high, low, close, volume, value_vnd, vwap, trade_count, buy_volume, sell_volume
FROM candles_1m
WHERE trading_date = $day AND symbol = $symbol
ORDER BY minute
"""

#: 5-minute / 1-hour candles of $symbol on $day from the 1-minute candles ($width: an interval such as '5 minutes');
#: buckets aligned on the exchange's clock (UTC+7), as the warehouse's candles_5m / candles_1h (warehouse.ddl).
#: ``minute`` is the bucket's start; vwap is the volume-weighted mean of the 1-minute VWAPs.
CANDLES_BUCKETED = """
SELECT time_bucket(CAST($width AS INTERVAL), minute, TIMESTAMPTZ '2000-01-01 00:00:00+07') AS minute,
       arg_min(open, candles_1m.minute) AS open, max(high) AS high, min(low) AS low,
       arg_max(close, candles_1m.minute) AS close, sum(volume) AS volume, sum(value_vnd) AS value_vnd,
       sum(vwap * volume) / NULLIF(sum(volume), 0) AS vwap, sum(trade_count) AS trade_count,
       sum(buy_volume) AS buy_volume, sum(sell_volume) AS sell_volume
FROM candles_1m
WHERE trading_date = $day AND symbol = $symbol
GROUP BY 1
ORDER BY 1
"""

#: The last $limit trades of $symbol on $day (arrival order, newest first), and the day's totals by side.
TRADES = """
SELECT exch_time, price, volume, value_vnd, phase, aggressor_side, rule, vendor_side, best_bid, best_ask,
       session, seq
FROM trades
WHERE trading_date = $day AND symbol = $symbol
ORDER BY session DESC, seq DESC
LIMIT $limit
"""

TRADE_SIDES = """
SELECT phase, aggressor_side, count(*) AS trades, sum(volume) AS volume, sum(value_vnd) AS value_vnd
FROM trades
WHERE trading_date = $day AND symbol = $symbol
GROUP BY phase, aggressor_side
ORDER BY list_position(['ato', 'continuous', 'atc', 'plo', 'pt'], phase), aggressor_side
"""

#: Per symbol foreign totals of $day (the foreign summary), biggest net buyers first.
FOREIGN_SUMMARY = """
SELECT symbol, sector, buy_val_vnd, sell_val_vnd, net_val_vnd, net_vol, room_used, corrections,
       rank_net_buy, rank_net_sell
FROM foreign_summary
WHERE trading_date = $day
ORDER BY net_val_vnd DESC, symbol
"""

#: Market-wide foreign net value of $day, one row per minute (VND): ``net_val_vnd`` = the flow in the minute,
#: ``cum_net_val_vnd`` = the net level reached (the symbols' ``cum_net_val_vnd`` summed; a symbol's first R row
#: adds its whole level, docs/analytics.md §6), so the last minute equals the foreign summary's net.
FOREIGN_BY_MINUTE = """
WITH f AS (
    SELECT exch_time, net_val_vnd,
           cum_net_val_vnd - coalesce(lag(cum_net_val_vnd) OVER (PARTITION BY symbol ORDER BY session, seq), 0)
               AS level_change
    FROM foreign_flow
    WHERE trading_date = $day
)
SELECT date_trunc('minute', exch_time) AS minute, sum(net_val_vnd) AS net_val_vnd,
       sum(sum(level_change)) OVER (ORDER BY date_trunc('minute', exch_time)) AS cum_net_val_vnd
FROM f
GROUP BY 1
ORDER BY 1
"""

#: Every day's foreign net value (VND), for the multi-day view.
FOREIGN_BY_DAY = """
SELECT trading_date, sum(buy_val_vnd) AS buy_val_vnd, sum(sell_val_vnd) AS sell_val_vnd,
       sum(net_val_vnd) AS net_val_vnd
FROM foreign_summary
GROUP BY trading_date
ORDER BY trading_date
"""

#: Each index's last value per minute on $day, with breadth.
INDEX_BY_MINUTE = """
SELECT index_id, date_trunc('minute', exch_time) AS minute,
       arg_max(value, (session, seq)) AS value, arg_max(change_pct, (session, seq)) AS change_pct,
       arg_max(advances, (session, seq)) AS advances, arg_max(declines, (session, seq)) AS declines,
       arg_max(no_changes, (session, seq)) AS no_changes
FROM indices
WHERE trading_date = $day
GROUP BY index_id, minute
ORDER BY index_id, minute
"""

#: Each index's close (last value in arrival order) per day, for the multi-day view.
INDEX_BY_DAY = """
SELECT trading_date, index_id, arg_max(value, (session, seq)) AS close,
       arg_max(change_pct, (session, seq)) AS change_pct
FROM indices
GROUP BY trading_date, index_id
ORDER BY trading_date, index_id
"""

#: Futures and basis per contract and minute on $day: last price and spot, mean basis (points and %), volume.
BASIS_BY_MINUTE = """
SELECT symbol, is_front_month, date_trunc('minute', exch_time) AS minute,
       arg_max(futures_price, (session, seq)) AS futures_price, arg_max(spot, (session, seq)) AS spot,
       avg(basis_pts) AS basis_pts, avg(basis_pct) AS basis_pct, sum(volume) AS volume
FROM basis
WHERE trading_date = $day
GROUP BY symbol, is_front_month, minute
ORDER BY symbol, minute
"""

#: The front month's closing basis per day (points): convergence toward expiry across the recorded days.
BASIS_BY_DAY = """
SELECT trading_date, symbol, arg_max(basis_pts, (session, seq)) AS close_basis_pts,
       avg(basis_pts) AS mean_basis_pts, arg_max(futures_price, (session, seq)) AS close_price
FROM basis
WHERE is_front_month
GROUP BY trading_date, symbol
ORDER BY trading_date
"""

#: Alerts of $day by type and severity.
ALERT_COUNTS = """
SELECT alert_type, severity, count(*) AS alerts, count(DISTINCT symbol) AS symbols
FROM alerts
WHERE trading_date = $day
GROUP BY alert_type, severity
ORDER BY alerts DESC, alert_type
"""

#: Data-quality results of $day (warehouse table ``dq_results``, written by the flows).
DQ_RESULTS = """
SELECT *
FROM dq_results
WHERE trading_date = $day
"""
