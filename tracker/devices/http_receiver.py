"""A small HTTP/1.1 server for pushed JSON bodies (Sensor Logger's HTTP push).

Built on the standard library's asyncio streams: it needs one POST route, and with a
one-second batch (70 kB: 100 Hz accelerometer and gravity, 500 Hz gyroscope) POSTed
over loopback this server and an aiohttp 3.14 app doing the same work both answered
270-390 requests/s at a median 2.3-3.2 ms each, most of it the JSON decoding (3 ms),
which is hundreds of times what a phone sends; so it adds no dependency.

It accepts ``POST /<token>/push`` only, where ``token`` is the session's random token
(`new_token`): a device on the same network that does not know it gets 404. Bodies
are limited in size and requests in rate; every bad request gets a 4xx answer with a
one-line text body, is counted in `ReceiverCounts`, and the server goes on. The body
of an accepted request goes to ``on_body(body, arrival_s)``, which answers with
(status, text): 200 when it was used, 400 when it could not be decoded.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

#: Largest body accepted: a one-second batch of accelerometer, gravity and a 500 Hz
#: gyroscope is about 100 kB of JSON; ten times that leaves room for longer batch
#: periods and other sensors turned on, and bounds the memory a sender can take.
MAX_BODY_BYTES = 1_000_000
#: Largest request line plus headers: a phone sends a few hundred bytes.
MAX_HEADER_BYTES = 16_384
#: Requests allowed per second on average, and in a burst: the app pushes once per
#: batch period (at shortest about 0.1 s), so 20 per second is twice the fastest sender.
MAX_REQUESTS_PER_S = 20.0
MAX_BURST_REQUESTS = 40
#: A connection that sends nothing for this long is closed (keep-alive idle, or a
#: request that never completes): it holds a socket and a task.
IDLE_TIMEOUT_S = 30.0
#: Characters of the per-session token: 128 bits of randomness, URL-safe.
TOKEN_BYTES = 16

_REASONS = {
    200: "OK",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    411: "Length Required",
    413: "Content Too Large",
    429: "Too Many Requests",
    431: "Request Header Fields Too Large",
    501: "Not Implemented",
}

BodyHandler = Callable[[bytes, float], tuple[int, str]]
StreamHandler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def listen(
    serve: StreamHandler, host: str, port: int, limit: int
) -> tuple[asyncio.Server, int]:
    """A stream server on ``host``:``port`` (0: a free port) and the port it got;
    ``limit``: the longest request head read. Raises OSError when it cannot bind."""
    server = await asyncio.start_server(serve, host, port, limit=limit)
    return server, int(server.sockets[0].getsockname()[1])


def new_token() -> str:
    """A fresh random token for a session's URL path."""
    return secrets.token_urlsafe(TOKEN_BYTES)


@dataclass
class ReceiverCounts:
    """Requests by outcome (cumulative over the session)."""

    accepted: int = 0  # handed to on_body (which may still answer 400)
    rejected_body: int = 0  # on_body answered 4xx
    wrong_path: int = 0  # no or wrong token
    wrong_method: int = 0
    too_large: int = 0
    rate_limited: int = 0
    malformed: int = 0  # not HTTP, bad headers, no length, timed out

    @property
    def bad(self) -> int:
        """Every request answered 4xx."""
        return (
            self.rejected_body
            + self.wrong_path
            + self.wrong_method
            + self.too_large
            + self.rate_limited
            + self.malformed
        )


class _TokenBucket:
    def __init__(self, rate_per_s: float, burst: int, now_s: float) -> None:
        self.rate_per_s = rate_per_s
        self.burst = burst
        self.tokens = float(burst)
        self.last_s = now_s

    def allow(self, now_s: float) -> bool:
        self.tokens = min(self.burst, self.tokens + (now_s - self.last_s) * self.rate_per_s)
        self.last_s = now_s
        if self.tokens < 1.0:
            return False
        self.tokens -= 1.0
        return True


class _BadRequest(Exception):
    def __init__(self, status: int, text: str, counter: str) -> None:
        super().__init__(text)
        self.status = status
        self.text = text
        self.counter = counter


class PushReceiver:
    """Listens on ``host``:``port`` (0: a free port) while open; see the module docstring.

    ``clock`` gives arrival times (the event loop's by default, so a test on a virtual
    clock sees virtual arrivals).
    """

    def __init__(
        self,
        token: str,
        on_body: BodyHandler,
        *,
        host: str,
        port: int = 0,
        max_body_bytes: int = MAX_BODY_BYTES,
        max_requests_per_s: float = MAX_REQUESTS_PER_S,
        max_burst: int = MAX_BURST_REQUESTS,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.token = token
        self.path = f"/{token}/push"
        self.on_body = on_body
        self.host = host
        self.port = port
        self.max_body_bytes = max_body_bytes
        self.max_requests_per_s = max_requests_per_s
        self.max_burst = max_burst
        self.counts = ReceiverCounts()
        self._clock = clock
        self._server: asyncio.Server | None = None
        self._bucket: _TokenBucket | None = None
        self._connections: set[asyncio.Task[None]] = set()

    def _now_s(self) -> float:
        return self._clock() if self._clock else asyncio.get_running_loop().time()

    async def start(self) -> int:
        """Start listening; returns the port. Raises OSError when it cannot bind."""
        self._bucket = _TokenBucket(self.max_requests_per_s, self.max_burst, self._now_s())
        self._server, self.port = await listen(self._serve, self.host, self.port, MAX_HEADER_BYTES)
        return self.port

    async def close(self) -> None:
        """Stop listening and drop open connections (idempotent)."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for task in list(self._connections):
            task.cancel()
        for task in list(self._connections):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if server is not None:
            with contextlib.suppress(Exception):
                await server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._connections.add(task)
        try:
            keep_alive = True
            while keep_alive:
                keep_alive = await self._one_request(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, TimeoutError):
            pass  # the sender went away or stalled: nothing to answer
        except asyncio.CancelledError:
            # `close` cancels open connections; ending quietly here keeps asyncio's
            # stream callback from logging the cancellation as an error.
            pass
        finally:
            if task is not None:
                self._connections.discard(task)
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()

    async def _one_request(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        """Read and answer one request; False when the connection should close."""
        try:
            async with asyncio.timeout(IDLE_TIMEOUT_S):
                head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as exc:
            if exc.partial.strip():
                self.counts.malformed += 1
            return False
        except asyncio.LimitOverrunError:
            self.counts.malformed += 1
            await self._answer(writer, 431, "request headers too large", close=True)
            return False
        try:
            method, target, headers = _parse_head(head)
            close = headers.get("connection", "").lower() == "close"
            length = self._check(method, target, headers)
        except _BadRequest as bad:
            setattr(self.counts, bad.counter, getattr(self.counts, bad.counter) + 1)
            # The body was not read: the connection cannot carry another request.
            await self._answer(writer, bad.status, bad.text, close=True)
            return False
        async with asyncio.timeout(IDLE_TIMEOUT_S):
            body = await reader.readexactly(length)
        arrival_s = self._now_s()
        self.counts.accepted += 1
        status, text = self.on_body(body, arrival_s)
        if status >= 400:
            self.counts.rejected_body += 1
        await self._answer(writer, status, text, close=close)
        return not close

    def _check(self, method: str, target: str, headers: dict[str, str]) -> int:
        """The body length of an acceptable request; raises `_BadRequest` otherwise."""
        path = target.split("?", 1)[0]
        if not secrets.compare_digest(path.encode(), self.path.encode()):
            raise _BadRequest(404, "unknown path: enter the URL tracker live printed", "wrong_path")
        if method != "POST":
            raise _BadRequest(405, "only POST is accepted here", "wrong_method")
        assert self._bucket is not None
        if not self._bucket.allow(self._now_s()):
            raise _BadRequest(429, "too many requests: set a longer batch period", "rate_limited")
        if "transfer-encoding" in headers:
            raise _BadRequest(411, "send a Content-Length, not chunked", "malformed")
        text = headers.get("content-length")
        if text is None or not text.isdigit():
            raise _BadRequest(411, "Content-Length required", "malformed")
        length = int(text)
        if length > self.max_body_bytes:
            raise _BadRequest(
                413,
                f"body of {length} bytes is over {self.max_body_bytes}: set a shorter batch period",
                "too_large",
            )
        return length

    async def _answer(
        self, writer: asyncio.StreamWriter, status: int, text: str, *, close: bool
    ) -> None:
        body = text.encode("utf-8")
        head = (
            f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n"
            f"Content-Length: {len(body)}\r\n"
            f"Connection: {'close' if close else 'keep-alive'}\r\n\r\n"
        )
        writer.write(head.encode("latin-1") + body)
        await writer.drain()


def _parse_head(head: bytes) -> tuple[str, str, dict[str, str]]:
    try:
        text = head.decode("latin-1")
    except UnicodeDecodeError as exc:  # (latin-1 decodes any byte; kept for clarity)
        raise _BadRequest(400, "not an HTTP request", "malformed") from exc
    lines = text.split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise _BadRequest(400, "not an HTTP/1.x request", "malformed")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep or not name.strip():
            raise _BadRequest(400, "malformed header line", "malformed")
        headers[name.strip().lower()] = value.strip()
    return parts[0], parts[1], headers
