"""The feed's Starlette application: SignalR under ``/v2.0/signalr``, REST under ``/api/v2/Market``, and the same
again under ``/fault/<SPEC>/`` (per-connection fault injection, ``testbed.feed.faults``)."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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


MAX_BODY_BYTES = 64 * 1024
"""Largest HTTP request body the feed reads (the biggest legitimate one, an AccessToken POST, is < 1 KiB)."""


class _BodyTooLarge(Exception):
    pass


class BodyLimit:
    """ASGI middleware: no HTTP request body over ``limit`` bytes is ever read into memory.

    A declared ``Content-Length`` over the limit is answered 413 before the body is read; a chunked body is
    counted as it arrives and answered 413 as soon as it passes the limit (credentials are checked only after
    the body was read, so this comes first).
    """

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = self.limit + 1
                if declared > self.limit:
                    await self._too_large(send)
                    return
        seen = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise _BodyTooLarge
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, tracked_send)
        except _BodyTooLarge:
            if not started:
                await self._too_large(send)

    async def _too_large(self, send: Send) -> None:
        body = f"request body over {self.limit} bytes\n".encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                                (b"content-length", str(len(body)).encode()), (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})


def build_app(state: FeedState) -> Starlette:
    """The ASGI app serving ``state`` (kept on ``app.state.feed``). ``GET /health`` answers ``ok <date> <n> frames``.

    Every HTTP request body is bounded by :data:`MAX_BODY_BYTES` (:class:`BodyLimit`, 413 beyond it).
    """
    routes = _routes()
    app = Starlette(routes=[Route("/health", _health), *routes, Mount("/fault/{spec}", routes=_routes())],
                    middleware=[Middleware(BodyLimit)])
    app.state.feed = state
    return app
