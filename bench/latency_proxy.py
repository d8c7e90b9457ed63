"""A userspace TCP proxy on 127.0.0.1 that delays every byte by a fixed one-way latency.

This kernel has no netem, so cloud-like round trips come from here: each chunk read from either side is
forwarded ``--delay`` seconds after it arrived (order kept), so a request/response exchange gains
``2 * delay`` of round-trip time. Run it as a subprocess; it prints ``READY <port>`` once listening.

    python bench/latency_proxy.py --upstream 127.0.0.1:8080 --delay 0.010

Written on asyncio *protocols* (no stream objects, tasks or queues per connection) and uvloop when it
is installed: the proxy's own CPU per request bounds the rate it can carry, and the benchmark reports it
as server CPU.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import sys
from typing import Any


class _Delayed:
    """Bytes for one direction of one connection, written ``delay`` seconds after they arrived."""

    __slots__ = ("delay", "eof", "loop", "queue", "scheduled", "transport")

    def __init__(self, loop: asyncio.AbstractEventLoop, delay: float) -> None:
        self.loop = loop
        self.delay = delay
        self.transport: asyncio.Transport | None = None
        self.queue: collections.deque[tuple[float, bytes]] = collections.deque()
        self.scheduled = False
        self.eof = False

    def push(self, data: bytes) -> None:
        self.queue.append((self.loop.time() + self.delay, data))
        if not self.scheduled:
            self.scheduled = True
            self.loop.call_at(self.queue[0][0], self.flush)

    def flush(self) -> None:
        self.scheduled = False
        if self.transport is None:
            return  # still connecting upstream: flushed again once connected
        now = self.loop.time()
        queue = self.queue
        while queue and queue[0][0] <= now:
            data = queue.popleft()[1]
            if self.transport.is_closing():
                continue
            if data:
                self.transport.write(data)
            else:
                self.transport.close()  # the other side closed: close this one, in order
        if queue:
            self.scheduled = True
            self.loop.call_at(queue[0][0], self.flush)


class _Upstream(asyncio.Protocol):
    def __init__(self, to_client: _Delayed) -> None:
        self.to_client = to_client

    def data_received(self, data: bytes) -> None:
        self.to_client.push(data)

    def connection_lost(self, exc: BaseException | None) -> None:
        self.to_client.push(b"")


class _Client(asyncio.Protocol):
    def __init__(self, upstream: tuple[str, int], delay: float) -> None:
        self.upstream = upstream
        self.delay = delay
        self.pending: list[bytes] = []
        self.to_server: _Delayed | None = None

    def connection_made(self, transport: Any) -> None:
        loop = asyncio.get_running_loop()
        self.transport = transport
        self.to_client = _Delayed(loop, self.delay)
        self.to_client.transport = transport
        self.to_server = _Delayed(loop, self.delay)
        # The loop keeps only a weak reference to tasks: hold this one until it is done.
        self.connecting = loop.create_task(self._connect(loop))

    async def _connect(self, loop: asyncio.AbstractEventLoop) -> None:
        try:
            transport, _ = await loop.create_connection(lambda: _Upstream(self.to_client), *self.upstream)
        except OSError:
            self.transport.close()
            return
        assert self.to_server is not None
        self.to_server.transport = transport
        self.to_server.flush()  # bytes queued meanwhile go out on their schedule

    def data_received(self, data: bytes) -> None:
        assert self.to_server is not None
        self.to_server.push(data)

    def connection_lost(self, exc: BaseException | None) -> None:
        if self.to_server is not None:
            self.to_server.push(b"")


async def _serve(upstream: tuple[str, int], delay: float, port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: _Client(upstream, delay), "127.0.0.1", port, backlog=4096)
    print(f"READY {server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--upstream", required=True, help="host:port of the real server (loopback)")
    ap.add_argument("--delay", type=float, default=0.010, help="one-way delay in seconds")
    ap.add_argument("--port", type=int, default=0)
    args = ap.parse_args(argv)
    host, _, port = args.upstream.rpartition(":")
    if host not in ("127.0.0.1", "localhost", "::1"):
        sys.exit("latency_proxy: upstream must be on loopback")
    try:
        import uvloop  # type: ignore[import-not-found]

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(_serve((host, int(port)), args.delay, args.port))


if __name__ == "__main__":
    main()
