"""SSI FastConnect Data REST, the three endpoints a capture client needs (docs/ssi-wire.md §1.1, §4).

* ``POST api/v2/Market/AccessToken`` body ``{"consumerID","consumerSecret"}`` (key case ignored, as ASP.NET
  binds). Success: exactly ``{"status":200,"message":"Success","data":{"accessToken":"<JWT>"}}`` (the
  ``ssi_fc_data`` client builds a dataclass from the top-level keys: one more key is a TypeError). Wrong or
  missing credentials: HTTP 400 with ``{"status":400,"message":"Invalid consumerID or consumerSecret","data":null}``
  (SSI's ``GenneralResponse`` shape with an int status; the client raises ``NameError(message)``). The exact
  text SSI uses is not known.
* ``GET api/v2/Market/IndexComponents?indexCode=VN30[&pageIndex&pageSize]`` -> ``{"data":[{"IndexCode":"VN30",
  "IndexName":"VN30","Exchange":"HOSE","TotalSymbolNo":"30","IndexComponent":[{"Isin":"ACB","StockSymbol":"ACB"},
  …]}],"message":"Success","status":"Success","totalRecord":1}``. Members: the project's dated list
  (``market.reference_data.vn30_members``; the frames do not say who is in the basket). Other index codes:
  ``data`` ``[]``, ``totalRecord`` 0.
* ``GET api/v2/Market/DailyStockPrice?symbol=&fromDate=dd/MM/yyyy&toDate=&pageIndex=&pageSize=&market=`` -> one
  record per instrument of the served day when it lies in [fromDate, toDate] (``testbed.feed.totals``), sorted by
  symbol, paged; ``symbol`` empty = all, ``market`` (HOSE, HNX, UPCOM, DER) filters.

Query names are case-insensitive and may carry the ``lookupRequest.`` prefix (both forms are seen in clients).
The bearer token is required on GETs (401 ``{"Message":"Authorization has been denied for this request."}``).

Constraints SSI enforces (verified live by quelam96, docs/ssi-wire.md §4): dates ``dd/MM/yyyy``, ``from <= to < now``,
range <= 30 days, else HTTP 200 ``{"data":null,"message":"Date time format dd/MM/yyyy and ('from date' <= 'to
date') < now , max range 30 days","status":"Error"}``; pageSize in {10, 20, 50, 100, 500, 1000}, else the same
shape with ``"PageSize must be one of 10, 20, 50, 100, 500, 1000"`` (this text is ours: SSI's is not recorded).
"now" is the later of the wall clock (Vietnam time) and the served day's last exchange time, so the served day
can always be asked for, even when it is a simulated future date.
"""

from __future__ import annotations

import asyncio
import hmac
import json
from datetime import date, datetime, timedelta

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from storage import lake
from market.clock import ICT
from testbed.feed.signalr import DENIED, authorize
from testbed.feed.state import FeedState, log
from testbed.feed.totals import daily_rows
from market.reference_data import vn30_members

PAGE_SIZES = (10, 20, 50, 100, 500, 1000)
DATE_ERROR = "Date time format dd/MM/yyyy and ('from date' <= 'to date') < now , max range 30 days"
PAGE_SIZE_ERROR = "PageSize must be one of 10, 20, 50, 100, 500, 1000"
PAGE_INDEX_ERROR = "PageIndex must be a whole number >= 1"
CREDENTIALS_ERROR = "Invalid consumerID or consumerSecret"
MAX_RANGE_DAYS = 30


def _params(request: Request) -> dict[str, str]:
    out = {}
    for key, value in request.query_params.multi_items():
        k = key.lower()
        out[k.removeprefix("lookuprequest.")] = value
    return out


def _error(message: str) -> JSONResponse:
    return JSONResponse({"data": None, "message": message, "status": "Error"})


def _success(data: list, total: int) -> JSONResponse:
    return JSONResponse({"data": data, "message": "Success", "status": "Success", "totalRecord": total})


def _page(params: dict[str, str]) -> tuple[int, int] | JSONResponse:
    try:
        size = int(params.get("pagesize") or 100)
    except ValueError:
        size = -1
    if size not in PAGE_SIZES:
        return _error(PAGE_SIZE_ERROR)
    try:
        index = int(params.get("pageindex") or 1)
    except ValueError:
        index = 0
    if index < 1:
        return _error(PAGE_INDEX_ERROR)
    return index, size


def _ddmmyyyy(text: str | None) -> date | None:
    try:
        return datetime.strptime((text or "").strip(), "%d/%m/%Y").date()
    except ValueError:
        return None


async def access_token(request: Request) -> Response:
    """``POST api/v2/Market/AccessToken``: a token for the configured consumer (module docstring)."""
    state: FeedState = request.app.state.feed
    try:
        body = json.loads(await request.body() or b"{}")
    except (ValueError, RecursionError):  # not JSON, or nested too deep to parse: no credentials in it
        body = {}
    fields = {str(k).lower(): v for k, v in body.items()} if isinstance(body, dict) else {}
    cid, secret = fields.get("consumerid"), fields.get("consumersecret")
    want_id, want_secret = state.consumer
    ok = isinstance(cid, str) and isinstance(secret, str)
    ok = ok and hmac.compare_digest(cid.encode(), want_id.encode())
    ok = ok and hmac.compare_digest(secret.encode(), want_secret.encode())
    if not ok:
        log.info("AccessToken refused (wrong credentials) from %s", request.client.host if request.client else "?")
        return JSONResponse({"status": 400, "message": CREDENTIALS_ERROR, "data": None}, status_code=400)
    token = state.tokens.issue(cid)
    log.info("AccessToken issued to %s", request.client.host if request.client else "?")
    return JSONResponse({"status": 200, "message": "Success", "data": {"accessToken": token}})


async def index_components(request: Request) -> Response:
    """``GET api/v2/Market/IndexComponents?indexCode=VN30``."""
    state: FeedState = request.app.state.feed
    if authorize(state, request.headers.get("authorization")) is None:
        return JSONResponse(DENIED, status_code=401)
    params = _params(request)
    page = _page(params)
    if isinstance(page, Response):
        return page
    index, size = page
    data = []
    if params.get("indexcode", "").strip().upper() == "VN30":
        members = vn30_members()
        data.append({
            "IndexCode": "VN30", "IndexName": "VN30", "Exchange": "HOSE", "TotalSymbolNo": str(len(members)),
            "IndexComponent": [{"Isin": s, "StockSymbol": s} for s in members],
        })
    return _success(data[(index - 1) * size: index * size], len(data))


def _now(state: FeedState) -> datetime:
    wall = datetime.now(ICT).replace(tzinfo=None)
    served = state.day
    last = datetime(1970, 1, 1) + timedelta(seconds=int(served.times_s.max())) if len(served) else \
        datetime.combine(served.day, datetime.min.time())
    return max(wall, last)


async def _rows(state: FeedState) -> list[dict]:
    """The served day's DailyStockPrice records, computed once (in a thread: the sockets keep flowing)."""
    lock = state.cache.setdefault("daily_lock", asyncio.Lock())
    async with lock:
        if "daily" not in state.cache:
            day = state.day.day

            def compute() -> list[dict]:
                return daily_rows(lake.read_raw(state.lake, day), day)

            state.cache["daily"] = await asyncio.to_thread(compute)
    return state.cache["daily"]


async def daily_stock_price(request: Request) -> Response:
    """``GET api/v2/Market/DailyStockPrice`` (module docstring)."""
    state: FeedState = request.app.state.feed
    if authorize(state, request.headers.get("authorization")) is None:
        return JSONResponse(DENIED, status_code=401)
    params = _params(request)
    start, end = _ddmmyyyy(params.get("fromdate")), _ddmmyyyy(params.get("todate"))
    if start is None or end is None or start > end or datetime.combine(end, datetime.min.time()) >= _now(state) \
            or (end - start).days > MAX_RANGE_DAYS:
        return _error(DATE_ERROR)
    page = _page(params)
    if isinstance(page, Response):
        return page
    index, size = page
    rows: list[dict] = []
    if start <= state.day.day <= end:
        symbol = params.get("symbol", "").strip().upper()
        wanted_market = params.get("market", "").strip().upper()
        wanted_market = "DERIVATIVES" if wanted_market == "DER" else wanted_market
        rows = [r for r in await _rows(state)
                if (not symbol or r["Symbol"] == symbol) and (not wanted_market or r["_exchange"] == wanted_market)]
    data = [{k: v for k, v in r.items() if not k.startswith("_")} for r in rows[(index - 1) * size: index * size]]
    return _success(data, len(rows))
