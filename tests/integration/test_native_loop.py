"""The engine's C side (``cloudfiles._loop``, the sinks' and sources' libcurl callbacks) against real
servers: what Python no longer sees per request must still arrive whole, fail by name, and let go."""

from __future__ import annotations

import gc
import io
import os
import sys
import threading
from pathlib import Path

import pycurl
import pytest

from cloudfiles import engine
from cloudfiles._loop import SocketLoop
from cloudfiles.engine import Engine, Request, transfer
from cloudfiles.exceptions import NetworkError
from cloudfiles.retry import Retry

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from servers import ScriptedServer, respond

NO_RETRY = Retry(attempts=1, base=0.01, cap=0.01, budget=1)


@pytest.fixture(scope="module")
def bodies(nginx):
    """Objects on both sides of the sink's small-body limit (256 KiB), and an empty one."""
    d = nginx.root / "native"
    d.mkdir(exist_ok=True)
    sizes = {"empty": 0, "small": 4096, "edge": 256 * 1024, "past": 256 * 1024 + 1, "large": 5 * 1024 * 1024 + 3}
    blobs = {name: os.urandom(size) for name, size in sizes.items()}
    for name, data in blobs.items():
        (d / name).write_bytes(data)
    return blobs


def test_bodies_of_every_size_arrive_whole_with_their_headers(nginx, bodies) -> None:
    reqs = [Request("GET", f"{nginx.url}/native/{name}", context=name) for name in bodies for _ in range(5)]
    seen = 0
    for resp in transfer(reqs, concurrency=8):
        assert resp.ok, resp
        assert resp.body == bodies[resp.context]
        assert resp.header("content-length") == str(len(bodies[resp.context]))
        assert resp.header_lines[-1] == b"\r\n"
        seen += 1
    assert seen == len(reqs)


def test_head_gets_headers_and_no_body(nginx, bodies) -> None:
    resp = engine.request_one(Request("HEAD", f"{nginx.url}/native/large"))
    assert resp.ok and resp.body == b""
    assert resp.header("content-length") == str(len(bodies["large"]))


def test_a_file_body_whose_read_raises_fails_that_request_by_name() -> None:
    """libcurl reads a file body through a C callback that calls read() under the GIL: an exception
    there aborts that transfer, is reported as its NetworkError's cause, and leaves the engine usable."""
    server = ScriptedServer().start()
    try:
        server.scripts["/ok"] = [respond(200, b"fine")]

        class Broken(io.BytesIO):
            def read(self, n: int | None = -1) -> bytes:
                raise OSError("disk went away")

        resp = engine.request_one(Request("PUT", f"{server.url}/put", body=Broken(b"0123456789"), body_size=10), retry=NO_RETRY)
        assert isinstance(resp.error, NetworkError)
        assert isinstance(resp.error.__cause__, OSError)
        assert "disk went away" in str(resp.error.__cause__)
        assert engine.request_one(Request("GET", f"{server.url}/ok")).body == b"fine"
    finally:
        server.stop()


def test_a_file_body_is_sent_whole(nginx, tmp_path) -> None:
    data = os.urandom(3 * 1024 * 1024 + 5)
    src = tmp_path / "src"
    src.write_bytes(data)
    with open(src, "rb") as fh:
        resp = engine.request_one(Request("PUT", f"{nginx.url}/native/uploaded", body=fh))
    assert resp.status in (200, 201, 204), resp
    assert (nginx.root / "native" / "uploaded").read_bytes() == data


def test_transfers_keep_moving_while_another_thread_holds_the_gil_busy(nginx, bodies) -> None:
    """The wait and libcurl's work run with the GIL released, and no callback takes it back."""
    stop = threading.Event()

    def spin() -> None:
        x = 0
        while not stop.is_set():
            x += 1

    spinner = threading.Thread(target=spin)
    spinner.start()
    try:
        reqs = [Request("GET", f"{nginx.url}/native/small") for _ in range(300)]
        assert all(r.ok and r.body == bodies["small"] for r in transfer(reqs, concurrency=16))
    finally:
        stop.set()
        spinner.join()


def test_the_socket_loop_takes_only_an_open_multi() -> None:
    with pytest.raises(TypeError):
        SocketLoop(object())
    multi = pycurl.CurlMulti()
    loop = SocketLoop(multi)
    loop.step(0.0)
    assert loop.watched() == [] and loop.deadline is None
    multi.close()
    with pytest.raises(ValueError):
        loop.step(0.0)
    loop.close()
    closed = pycurl.CurlMulti()
    closed.close()
    with pytest.raises(ValueError):
        SocketLoop(closed)


def test_a_loop_freed_before_its_multi_leaves_no_callback_behind(nginx, bodies) -> None:
    """The loop unsets the multi's callbacks when it goes: the multi may run on, and be cleaned up,
    after it (here it is driven by pycurl's own perform, which would call freed state otherwise)."""
    multi = pycurl.CurlMulti()
    loop = SocketLoop(multi)
    del loop
    gc.collect()
    c = pycurl.Curl()
    out = io.BytesIO()
    c.setopt(pycurl.URL, f"{nginx.url}/native/small")
    c.setopt(pycurl.WRITEFUNCTION, out.write)
    multi.add_handle(c)
    while multi.perform()[1]:
        multi.select(0.1)
    multi.remove_handle(c)
    multi.close()
    c.close()
    assert out.getvalue() == bodies["small"]


def test_an_engine_watches_no_socket_after_close(nginx, bodies) -> None:
    eng = Engine()
    reqs = [Request("GET", f"{nginx.url}/native/small") for _ in range(20)]
    assert all(r.ok for r in eng.run(reqs, concurrency=4))
    eng.close()
    assert eng._loop.watched() == []
    with pytest.raises(ValueError):
        eng._loop.step(0.0)
