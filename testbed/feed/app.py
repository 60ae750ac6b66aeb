"""The feed's Starlette application: SignalR under ``/v2.0/signalr``, REST under ``/api/v2/Market``, and the same
again under ``/fault/<SPEC>/`` (per-connection fault injection, ``testbed.feed.faults``)."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute

from testbed.feed import rest, signalr
from testbed.feed.state import FeedState


def _routes() -> list[BaseRoute]:
    hub = [
        Route("/negotiate", signalr.negotiate, methods=["GET", "POST"]),
        WebSocketRoute("/connect", signalr.ConnectEndpoint()),
        WebSocketRoute("/reconnect", signalr.ConnectEndpoint()),
        Route("/start", signalr.start, methods=["GET", "POST"]),
        Route("/ping", signalr.ping, methods=["GET"]),
        Route("/abort", signalr.abort, methods=["POST"]),
    ]
    market = [
        Route("/AccessToken", rest.access_token, methods=["POST"]),
        Route("/IndexComponents", rest.index_components, methods=["GET"]),
        Route("/DailyStockPrice", rest.daily_stock_price, methods=["GET"]),
    ]
    return [Mount(signalr.HUB_PATH, routes=hub), Mount("/api/v2/Market", routes=market)]


async def _health(request: Request) -> PlainTextResponse:
    day = request.app.state.feed.day
    return PlainTextResponse(f"ok {day.day.isoformat()} {len(day)} frames\n")


def build_app(state: FeedState) -> Starlette:
    """The ASGI app serving ``state`` (kept on ``app.state.feed``). ``GET /health`` answers ``ok <date> <n> frames``."""
    routes = _routes()
    app = Starlette(routes=[Route("/health", _health), *routes, Mount("/fault/{spec}", routes=_routes())])
    app.state.feed = state
    return app
