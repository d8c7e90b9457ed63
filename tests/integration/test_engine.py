"""The transfer engine against real local servers: nginx and a scripted fault server."""

from __future__ import annotations

import hashlib
import io
import os
import resource
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from cloudfiles import engine
from cloudfiles.engine import Engine, Request, transfer
from cloudfiles.exceptions import NetworkError, RequestTimeoutError
from cloudfiles.retry import Retry, Timeout

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from servers import ScriptedServer, reset_connection, respond, stall, truncate

FAST_RETRY = Retry(attempts=4, base=0.01, cap=0.05, budget=5)


@pytest.fixture(scope="module")
def files(nginx):
    """2,500 small distinct objects and one 100 MiB object on nginx."""
    rng = np.random.default_rng(0)
    d = nginx.root / "engine"
    d.mkdir(exist_ok=True)
    blobs = {}
    for i in range(2500):
        data = rng.bytes(int(rng.integers(0, 8192)))
        (d / f"obj{i}").write_bytes(data)
        blobs[f"engine/obj{i}"] = data
    big = rng.bytes(100 * 1024 * 1024 + 12345)
    (d / "big").write_bytes(big)
    return blobs, big


@pytest.fixture()
def scripted():
    server = ScriptedServer().start()
    yield server
    server.stop()


def test_many_transfers_in_one_batch(nginx, files):
    blobs, _ = files
    reqs = (Request("GET", f"{nginx.url}/{k}", context=k) for k in blobs)
    seen = {}
    for resp in transfer(reqs, concurrency=64):
        assert resp.ok, resp
        seen[resp.context] = resp.body
    assert seen == blobs


def test_generator_is_consumed_lazily(nginx, files):
    blobs, _ = files
    keys = list(blobs)[:300]
    pulled = 0

    def gen():
        nonlocal pulled
        for k in keys:
            pulled += 1
            yield Request("GET", f"{nginx.url}/{k}", context=k)

    it = transfer(gen(), concurrency=8)
    first = next(it)
    assert first.ok
    # Only about one window of requests was pulled when the first result came back.
    assert pulled <= 8 + 8
    rest = list(it)
    assert len(rest) + 1 == len(keys)
    assert pulled == len(keys)


def test_file_descriptors_above_1024(nginx, files):
    blobs, _ = files
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 4096
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))
    filler = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]
    try:
        assert max(filler) > 1024
        keys = list(blobs)[:200]
        got = {r.context: r.body for r in transfer(
            (Request("GET", f"{nginx.url}/{k}", context=k) for k in keys), concurrency=32)}
        assert got == {k: blobs[k] for k in keys}
    finally:
        for fd in filler:
            os.close(fd)


def test_ranged_reads(nginx, files):
    _blobs, big = files
    cases = [(0, 10), (5, 4096), (1000, None), (len(big) - 7, None)]
    reqs = [
        Request("GET", f"{nginx.url}/engine/big", [f"Range: bytes={s}-{'' if e is None else e - 1}"], context=(s, e))
        for s, e in cases
    ]
    for resp in transfer(reqs):
        s, e = resp.context
        assert resp.status == 206
        assert resp.body == big[s:e]


def test_parallel_split_get_is_byte_identical(nginx, files):
    _, big = files
    url = f"{nginx.url}/engine/big"
    single = engine.request_one(Request("GET", url))  # no split: one stream
    split = engine.request_one(Request("GET", url, split=True))  # > 64 MiB: ranged parts
    assert single.body == big
    assert split.body == big
    assert hashlib.md5(split.body).digest() == hashlib.md5(single.body).digest()


def test_split_with_small_parts_and_many_objects(nginx, files):
    blobs, big = files
    eng = Engine(split_threshold=1024 * 1024, part_size=300 * 1024)
    try:
        reqs = [Request("GET", f"{nginx.url}/engine/big", split=True, context="big")]
        reqs += [Request("GET", f"{nginx.url}/{k}", split=True, context=k) for k in list(blobs)[:50]]
        got = {r.context: r.body for r in eng.run(reqs, concurrency=16)}
        assert got["big"] == big
        assert all(got[k] == blobs[k] for k in list(blobs)[:50])
    finally:
        eng.close()


def test_retry_503_then_200(scripted):
    scripted.script("/flaky", respond(503, b"busy"), respond(503, b"busy"), respond(200, b"finally"))
    resp = engine.request_one(Request("GET", f"{scripted.url}/flaky"), retry=FAST_RETRY)
    assert resp.status == 200 and resp.body == b"finally"
    assert resp.attempts == 3
    assert scripted.hits["/flaky"] == 3


def test_retry_429_honours_retry_after(scripted):
    scripted.script("/slow", respond(429, b"", {"Retry-After": "0.2"}), respond(200, b"ok"))
    t0 = time.monotonic()
    resp = engine.request_one(Request("GET", f"{scripted.url}/slow"), retry=Retry(attempts=3, base=0.001, cap=1))
    assert resp.body == b"ok"
    assert time.monotonic() - t0 >= 0.2


def test_4xx_is_not_retried(scripted):
    scripted.script("/bad", respond(400, b"no"))
    resp = engine.request_one(Request("GET", f"{scripted.url}/bad"), retry=FAST_RETRY)
    assert resp.status == 400 and resp.attempts == 1
    assert scripted.hits["/bad"] == 1


def test_retries_exhausted_report_last_status(scripted):
    scripted.script("/down", respond(500, b"err"))
    resp = engine.request_one(Request("GET", f"{scripted.url}/down"), retry=FAST_RETRY)
    assert resp.status == 500 and resp.error is None
    assert scripted.hits["/down"] == FAST_RETRY.attempts


def test_truncated_body_is_retried_then_whole(scripted):
    body = os.urandom(50_000)
    scripted.script("/trunc", truncate(body, 1000), respond(200, body))
    resp = engine.request_one(Request("GET", f"{scripted.url}/trunc"), retry=FAST_RETRY)
    assert resp.body == body and resp.attempts == 2


def test_truncated_body_never_returned_as_whole(scripted):
    body = os.urandom(50_000)
    scripted.script("/trunc2", truncate(body, 1000))
    resp = engine.request_one(Request("GET", f"{scripted.url}/trunc2"), retry=FAST_RETRY)
    assert isinstance(resp.error, NetworkError)
    assert resp.body == b""
    assert "trunc2" in str(resp.error)


def test_connection_reset_is_retried(scripted):
    scripted.script("/reset", reset_connection(), respond(200, b"after reset"))
    resp = engine.request_one(Request("GET", f"{scripted.url}/reset"), retry=FAST_RETRY)
    assert resp.body == b"after reset"


def test_stalled_server_hits_timeout(scripted):
    scripted.script("/stall", stall(scripted))
    t0 = time.monotonic()
    resp = engine.request_one(
        Request("GET", f"{scripted.url}/stall"), retry=Retry(attempts=1), timeout=Timeout(connect=2, read=1)
    )
    assert isinstance(resp.error, RequestTimeoutError)
    assert isinstance(resp.error, TimeoutError)
    assert time.monotonic() - t0 < 10


def test_connection_refused_is_a_network_error():
    from servers import free_port

    resp = engine.request_one(Request("GET", f"http://127.0.0.1:{free_port()}/x"), retry=FAST_RETRY)
    assert isinstance(resp.error, NetworkError)
    assert resp.attempts == FAST_RETRY.attempts


def test_connections_are_reused_across_calls(nginx, files):
    blobs, _ = files
    keys = list(blobs)[:5]
    eng = Engine()
    try:
        for _ in range(3):
            list(eng.run([Request("GET", f"{nginx.url}/{k}") for k in keys], concurrency=1))
        # Inspect the connection count through a fresh handle on the same multi: libcurl reports how
        # many new connections each transfer needed.
        import pycurl

        c = pycurl.Curl()
        sink_bytes = io.BytesIO()
        c.setopt(pycurl.URL, f"{nginx.url}/{keys[0]}")
        c.setopt(pycurl.WRITEDATA, sink_bytes)
        eng._multi.add_handle(c)
        while eng._multi.perform()[1]:
            eng._multi.select(0.1)
        assert c.getinfo(pycurl.NUM_CONNECTS) == 0  # served on a kept-alive connection
        eng._multi.remove_handle(c)
    finally:
        eng.close()


def test_uploads_from_buffers_and_files(nginx, tmp_path):
    arr = np.arange(300_000, dtype=np.uint32)
    src = tmp_path / "upload.bin"
    payload = os.urandom(3 * 1024 * 1024 + 17)
    src.write_bytes(payload)
    with open(src, "rb") as fh:
        reqs = [
            Request("PUT", f"{nginx.url}/up/array", ["Content-Type: application/octet-stream"], body=arr),
            Request("PUT", f"{nginx.url}/up/bytes", body=b"hello" * 1000),
            Request("PUT", f"{nginx.url}/up/file", body=fh),
            Request("PUT", f"{nginx.url}/up/empty", body=b""),
        ]
        statuses = {r.request.url.rsplit("/", 1)[1]: r.status for r in transfer(reqs)}
    assert set(statuses.values()) <= {201, 204}
    assert (nginx.root / "up/array").read_bytes() == arr.tobytes()
    assert (nginx.root / "up/bytes").read_bytes() == b"hello" * 1000
    assert (nginx.root / "up/file").read_bytes() == payload
    assert (nginx.root / "up/empty").read_bytes() == b""


def test_upload_is_retried_with_the_same_bytes(scripted):
    scripted.script("/put", respond(503), respond(200, b"stored"))
    body = os.urandom(10_000)
    resp = engine.request_one(Request("PUT", f"{scripted.url}/put", body=io.BytesIO(body)), retry=FAST_RETRY)
    assert resp.status == 200 and resp.attempts == 2


def test_threads_each_drive_their_own_loop(nginx, files):
    blobs, _ = files
    keys = list(blobs)[:400]
    errors: list[BaseException] = []
    results: dict[int, dict[str, bytes]] = {}

    def work(n: int) -> None:
        try:
            reqs = (Request("GET", f"{nginx.url}/{k}", context=k) for k in keys[n::4])
            results[n] = {r.context: r.body for r in transfer(reqs, concurrency=16)}
        except BaseException as err:  # pragma: no cover - reported below
            errors.append(err)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    merged = {k: v for part in results.values() for k, v in part.items()}
    assert merged == {k: blobs[k] for k in keys}


def test_abandoned_batch_leaves_engine_usable(nginx, files):
    blobs, _ = files
    keys = list(blobs)[:100]
    it = transfer((Request("GET", f"{nginx.url}/{k}") for k in keys), concurrency=20)
    next(it)
    it.close()  # the consumer stops early: in-flight handles are released
    again = list(transfer((Request("GET", f"{nginx.url}/{k}", context=k) for k in keys), concurrency=20))
    assert len(again) == len(keys) and all(r.ok for r in again)


def test_nested_batches_use_separate_engines(nginx, files):
    blobs, _ = files
    keys = list(blobs)[:20]
    count = 0
    for outer in transfer((Request("GET", f"{nginx.url}/{k}") for k in keys), concurrency=4):
        inner = engine.request_one(Request("HEAD", outer.request.url))
        assert inner.status == 200
        count += 1
    assert count == len(keys)


def test_green_mode_yields_to_other_greenlets(scripted, nginx, files):
    blobs, _ = files
    pytest.importorskip("gevent")
    scripted.script("/stall", stall(scripted))
    key = next(iter(blobs))
    code = textwrap.dedent(f"""
        from gevent import monkey; monkey.patch_all()
        import gevent
        from cloudfiles.engine import Request, transfer, gevent_patched
        from cloudfiles.retry import Retry, Timeout
        assert gevent_patched()
        ticks = 0
        def ticker():
            global ticks
            while True:
                ticks += 1
                gevent.sleep(0.01)
        def stalled():
            return list(transfer([Request("GET", "{scripted.url}/stall")], retry=Retry(attempts=1),
                                 timeout=Timeout(read=1)))
        def fetch():
            return [r.body for r in transfer([Request("GET", "{nginx.url}/{key}")] * 50)]
        t = gevent.spawn(ticker)
        a, b = gevent.spawn(stalled), gevent.spawn(fetch)
        gevent.joinall([a, b])
        t.kill()
        assert a.value[0].error is not None, a.value
        assert len(b.value) == 50 and len(set(b.value)) == 1
        print("TICKS", ticks)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    ticks = int(out.stdout.split("TICKS")[1])
    # The ticker ran ~every 10 ms during the 1 s stall: the engine's wait yielded to it.
    assert ticks >= 30


def test_kept_handles_forget_the_previous_requests_headers_and_bodies(nginx, files):
    # Handles keep their options between GETs (and between PUTs): a request without headers must not
    # send the last one's Range, and a PUT must send its own body and length.
    blobs, _ = files
    key, data = next((k, v) for k, v in blobs.items() if len(v) > 100)
    url = f"{nginx.url}/{key}"
    for _ in range(3):
        ranged = engine.request_one(Request("GET", url, ["Range: bytes=0-9"]))
        assert ranged.status == 206 and ranged.body == data[:10]
        whole = engine.request_one(Request("GET", url))
        assert whole.status == 200 and whole.body == data
    puts = [Request("PUT", f"{nginx.url}/kept/{i}", [], bytes([i]) * (i + 1), context=i) for i in range(5)]
    for resp in transfer(puts, concurrency=2):
        assert resp.ok
    for i in range(5):
        assert engine.request_one(Request("GET", f"{nginx.url}/kept/{i}")).body == bytes([i]) * (i + 1)


def test_requests_are_taken_in_runs_bounded_by_count_and_body_bytes():
    from collections import deque

    from cloudfiles.engine import PULL_BYTES, _pull

    gets = iter([Request("GET", f"http://127.0.0.1:9/{i}") for i in range(50)])
    taken: deque = deque()
    assert _pull(gets, taken, 20) is True and len(taken) == 20  # a run of 20: no bodies to bound it
    assert _pull(gets, taken, 40) is False and len(taken) == 50  # the input ran out

    body = b"x" * (PULL_BYTES // 3 + 1)
    puts = iter([Request("PUT", f"http://127.0.0.1:9/{i}", body=body) for i in range(10)])
    taken.clear()
    assert _pull(puts, taken, 20) is True
    assert len(taken) == 3  # the third body passed the byte budget: the run stopped there
    assert [t.request.body for t in taken] == [body] * 3
