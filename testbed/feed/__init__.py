"""The local SSI FastConnect Data v2 feed server: serves a lake day over classic ASP.NET SignalR 1.5, as SSI does.

Modules
-------
settings  ``FeedSettings`` (prefix ``VNTRACK_FEED_``): accepted credentials, token lifetime, keep-alive, faults.
day       read a lake day once: verbatim payloads + DataType, symbol and exchange time (vectorized regexes).
channels  SSI channel strings (``X-TRADE:ALL,MI:VN30``) and matching frames against them.
pacing    the market clock: exchange-time pacing at a speed, shared or per connection.
faults    fault-injection spec (drop, stall, malformed, repeat, expire), server-wide or by URL prefix.
tokens    HS256 access tokens the ``ssi_fc_data`` client can decode; revocation.
signalr   negotiate / connect / start / abort / ping, framing, the per-connection send loop.
rest      AccessToken, IndexComponents, DailyStockPrice.
totals    per-symbol daily totals of the served day (DailyStockPrice records).
app       the Starlette app.
server    run it with uvicorn in the foreground; clean SIGINT / SIGTERM shutdown.

References: docs/ssi-wire.md §1 (protocol), §4 (REST); docs/operations.md §9 (ssi-fc-data); docs/architecture.md §2-§4.
"""

from testbed.feed.faults import FaultSpec, parse_faults
from testbed.feed.server import FeedOptions, build_state, serve
from testbed.feed.settings import FeedSettings

__all__ = ["FaultSpec", "FeedOptions", "FeedSettings", "build_state", "parse_faults", "serve"]
