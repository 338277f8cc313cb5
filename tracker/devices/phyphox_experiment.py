"""The phyphox experiment the tracker reads (accelerometer with g + gyroscope), and a
one-file web server that hands it to the phone.

phyphox loads an experiment from a QR code holding an http(s) URL of a ``.phyphox``
file (its "+" button, "Scan QR code"; phyphox-android turns the URL into its own
``phyphox://`` link and downloads the file). `serve_experiment` serves the shipped file
on this machine at such a URL until the phone has fetched it once; the phone must reach
this machine, which `tracker live` needs anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from pathlib import Path

from tracker.devices.http_receiver import listen

EXPERIMENT_PATH = Path(__file__).resolve().parent / "experiments" / "lumbar_tracker.phyphox"
#: The URL path of the file: its own name, which phyphox shows while it loads.
URL_PATH = "/" + EXPERIMENT_PATH.name
_MAX_HEAD_BYTES = 16_384
#: A phone that connects and sends nothing is dropped after this long.
IDLE_TIMEOUT_S = 10.0


async def serve_experiment(
    host: str, port: int, on_listening: Callable[[int], None], stop: asyncio.Event
) -> bool:
    """Serve the experiment at ``http://host:port/<file name>`` (port 0: a free one,
    given to ``on_listening``) until it was downloaded (True) or ``stop`` is set
    (False). Raises OSError when the port cannot be had."""
    body = EXPERIMENT_PATH.read_bytes()
    fetched = asyncio.Event()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(IDLE_TIMEOUT_S):
                head = await reader.readuntil(b"\r\n\r\n")
            parts = head.decode("latin-1").split("\r\n")[0].split(" ")
            found = len(parts) == 3 and parts[0] == "GET" and parts[1].split("?")[0] == URL_PATH
            content = body if found else b"not here: scan the QR code tracker printed\n"
            kind = "application/xml" if found else "text/plain; charset=utf-8"
            writer.write(
                f"HTTP/1.1 {'200 OK' if found else '404 Not Found'}\r\nContent-Type: {kind}\r\n"
                f"Content-Length: {len(content)}\r\nConnection: close\r\n\r\n".encode("latin-1")
                + content
            )
            await writer.drain()
            if found:
                fetched.set()
        except (
            ConnectionError,
            TimeoutError,
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
        ):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()

    server, bound = await listen(serve, host, port, _MAX_HEAD_BYTES)
    try:
        on_listening(bound)
        waiters = [asyncio.ensure_future(fetched.wait()), asyncio.ensure_future(stop.wait())]
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waiters:
                w.cancel()
        return fetched.is_set()
    finally:
        server.close()
        with contextlib.suppress(Exception):
            await server.wait_closed()
