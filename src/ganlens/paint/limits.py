"""An ASGI middleware that refuses request bodies over a size limit with 413.

The limit is checked against ``Content-Length`` and, for bodies sent without one (chunked), while
the body streams in, before the application sees any of it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.responses import JSONResponse

__all__ = ["MAX_BODY_BYTES", "BodyLimit"]

MAX_BODY_BYTES = 4 * 1024 * 1024
"""Default largest request body, in bytes."""

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[MutableMapping[str, Any], Receive, Send], Awaitable[None]]


def _too_large(size: str, limit: int) -> JSONResponse:
    message = f"request body is {size} bytes; at most {limit} allowed"
    return JSONResponse(
        {"detail": [{"loc": ["body"], "msg": message, "type": "too_large"}]}, status_code=413
    )


class BodyLimit:
    """Wrap an ASGI app so that HTTP request bodies over ``limit`` bytes get a 413.

    Args:
        app: The ASGI application.
        limit: Largest body in bytes.

    Example:
        >>> from starlette.applications import Starlette
        >>> from starlette.testclient import TestClient
        >>> client = TestClient(BodyLimit(Starlette(), limit=4))
        >>> client.post("/", content=b"12345").status_code
        413
    """

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: MutableMapping[str, Any], receive: Receive, send: Send) -> None:
        """Buffer the body (up to the limit) and pass it on, or answer 413."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers", [])).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            await _too_large(length.decode("latin-1")[:20], self.limit)(scope, receive, send)
            return
        chunks, total, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            chunk = message.get("body", b"")
            total += len(chunk)
            if total > self.limit:
                await _too_large(f"over {self.limit}", self.limit)(scope, receive, send)
                return
            chunks.append(chunk)
            more = bool(message.get("more_body", False))
        body, replayed = b"".join(chunks), False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
