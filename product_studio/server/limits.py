"""Limits that keep one service healthy under any client.

- ``BodySizeLimitMiddleware`` (pure ASGI): a declared Content-Length over the cap is answered 413
  at once; otherwise the streamed body is counted chunk by chunk and the request is stopped with
  413 as soon as the count passes the cap, before the rest is read. FastAPI has no such limit.
- ``CpuLimiter``: image work runs in a pool of ``cpu_slots`` threads; at most
  ``max_concurrency`` requests may be admitted (running or waiting) -- one more is answered 429
  with Retry-After at once; a request whose work does not finish within ``request_timeout_s``
  is answered 504 (work not started is dropped; started work is told to stop through its cancel
  event, which ``pipeline.process`` reads between steps, so its slot is freed at the next step).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

T = TypeVar("T")

_slot = threading.local()


def current_cancel() -> threading.Event | None:
    """In a CPU slot: the event that is set when the request that runs there timed out or went away."""
    return getattr(_slot, "cancel", None)


def _in_slot(cancel: threading.Event, fn: Callable[..., T], *args: Any) -> T:
    _slot.cancel = cancel
    try:
        return fn(*args)
    finally:
        _slot.cancel = None


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` once the body passes the cap; FastAPI passes HTTPExceptions through."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body is over the limit of {limit:,} bytes; send a smaller file "
                              "(the server's max_upload_bytes)")


class BodySizeLimitMiddleware:
    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_bytes
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    await _send_json(send, 400, "Content-Length is not a number")
                    return
                if declared > limit:
                    await _send_json(send, 413, BodyTooLarge(limit).detail, close=True)
                    return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge as exc:  # raised outside FastAPI's handlers (e.g. a plain Starlette route)
            if started:
                raise
            await _send_json(send, 413, exc.detail, close=True)


async def _send_json(send: Send, status: int, detail: str, *, close: bool = False) -> None:
    import json

    body = json.dumps({"detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class TooBusy(HTTPException):
    def __init__(self, retry_after: int, what: str = "image requests") -> None:
        super().__init__(429, f"the server is busy ({what} at capacity); retry after {retry_after} s",
                         headers={"Retry-After": str(retry_after)})


class WorkTimeout(HTTPException):
    def __init__(self, seconds: float) -> None:
        super().__init__(504, f"the image work took longer than the server's limit of {seconds:g} s; "
                              "send a smaller image or a lighter recipe")


class CpuLimiter:
    """Admission (429), CPU slots (a fixed pool of ``cpu_slots`` threads) and a time limit (504).

    Only the pool's threads ever run image work, so the number of malloc arenas and OpenCV/ORT
    thread states stays at ``cpu_slots`` however many clients wait: the server's memory stays flat."""

    def __init__(self, *, max_concurrency: int, cpu_slots: int, timeout_s: float, retry_after_s: int) -> None:
        self.max_concurrency = max_concurrency
        self.timeout_s = timeout_s
        self.retry_after_s = retry_after_s
        self.pool = ThreadPoolExecutor(max_workers=cpu_slots, thread_name_prefix="studio-cpu")
        self.admitted = 0

    def run_in_slot(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn`` in the pool and wait for it (blocking; for the job worker threads)."""
        return self.pool.submit(fn, *args).result()

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        if self.admitted >= self.max_concurrency:
            raise TooBusy(self.retry_after_s)
        self.admitted += 1
        cancel = threading.Event()
        try:
            future = self.pool.submit(_in_slot, cancel, fn, *args)
            waiter = asyncio.wrap_future(future)
            try:
                done, _ = await asyncio.wait({waiter}, timeout=self.timeout_s)
            except BaseException:  # the client went away: drop the work if it has not started, else stop it
                future.cancel()
                cancel.set()
                waiter.add_done_callback(_swallow)
                raise
            if not done:
                future.cancel()  # not started yet: never runs; started: stops at its next step
                cancel.set()
                waiter.add_done_callback(_swallow)
                raise WorkTimeout(self.timeout_s)
            return waiter.result()
        finally:
            self.admitted -= 1

    def shutdown(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)


def _swallow(task: asyncio.Future) -> None:
    if not task.cancelled():
        task.exception()
