"""A userspace TCP proxy on 127.0.0.1 that delays every byte by a fixed one-way latency.

This kernel has no netem, so cloud-like round trips come from here: each chunk read from either side is
forwarded ``--delay`` seconds after it arrived (order kept), so a request/response exchange gains
``2 * delay`` of round-trip time. Run it as a subprocess; it prints ``READY <port>`` once listening.

    python bench/latency_proxy.py --upstream 127.0.0.1:8080 --delay 0.010
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import time


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float) -> None:
    # Reading and delayed writing run apart, so a slow consumer does not add to the delay of later bytes.
    queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

    async def pump() -> None:
        while True:
            data = await reader.read(1 << 16)
            await queue.put((time.monotonic() + delay, data))
            if not data:
                return

    task = asyncio.ensure_future(pump())
    try:
        while True:
            due, data = await queue.get()
            wait = due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        task.cancel()
        with contextlib.suppress(Exception):
            writer.close()


async def _serve(upstream: tuple[str, int], delay: float, port: int) -> None:
    async def handle(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            server_r, server_w = await asyncio.open_connection(*upstream)
        except OSError:
            client_w.close()
            return
        await asyncio.gather(_pipe(client_r, server_w, delay), _pipe(server_r, client_w, delay))

    server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=4096)
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
    asyncio.run(_serve((host, int(port)), args.delay, args.port))


if __name__ == "__main__":
    main()
