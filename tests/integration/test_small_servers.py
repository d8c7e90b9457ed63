"""Small, slow servers (issue 16): the stock GCS emulator and a backlog-1, one-worker object store.

Default settings throughout (``num_threads=20``, the engine's default concurrency and retries), as a new
user would run them. Correctness is asserted, never speed: the wall times are in the README and
``bench/bench_small_servers.py``.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from cloudfiles import CloudFiles, engine
from cloudfiles.congestion import FREE_REQUEUES, origin
from cloudfiles.engine import Engine, Request, transfer
from cloudfiles.exceptions import NetworkError
from cloudfiles.retry import Retry, Timeout

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from servers import ScriptedServer, free_port, reset_connection, respond
from small_servers import StockEmulator, TinyServer

KEYS = 300
FAST_RETRY = Retry(attempts=3, base=0.01, cap=0.05, budget=5)


@pytest.fixture(scope="module")
def stock_emulator() -> Iterator[StockEmulator]:
    emulator = StockEmulator("small").start()
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture()
def tiny() -> Iterator[TinyServer]:
    server = TinyServer().start()
    yield server
    server.stop()


def payloads(n: int = KEYS) -> dict[str, bytes]:
    return {f"k/{i}": os.urandom(64 + i) for i in range(n)}


def test_stock_emulator_with_default_settings(stock_emulator: StockEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    """puts / get / exists / size / list / delete of a few hundred keys on the emulator as shipped."""
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", stock_emulator.url)
    cf = CloudFiles("gs://small/defaults")
    data = payloads()
    paths = list(data)
    cf.puts([(p, data[p]) for p in paths], compress=None)
    # get: the emulator names no encoding on downloads, so this takes the metadata + media fallback,
    # which runs a nested batch while the first one is suspended (it used to deadlock the server).
    got = cf.get(paths)
    assert {r["path"]: r["content"] for r in got} == data
    assert all(r["error"] is None for r in got)
    assert cf.exists(paths) == dict.fromkeys(paths, True)
    assert cf.size(paths) == {p: len(b) for p, b in data.items()}
    assert sorted(cf.list(prefix="k/")) == sorted(paths)
    cf.delete(paths)
    assert cf.exists(paths) == dict.fromkeys(paths, False)


def test_tiny_server_puts_gets_heads_deletes_with_default_concurrency(tiny: TinyServer) -> None:
    """A listen backlog of 1 and one worker under the default 20 in flight: every request answered."""
    data = payloads()
    eng = Engine()
    try:
        puts = [Request("PUT", f"{tiny.url}/{p}", body=b, context=p) for p, b in data.items()]
        assert sorted(r.status for r in eng.run(puts) if r.ok) == [201] * KEYS
        gets = {r.context: r.body for r in eng.run(Request("GET", f"{tiny.url}/{p}", context=p) for p in data)}
        assert gets == data
        heads = [r.status for r in eng.run(Request("HEAD", f"{tiny.url}/{p}") for p in data)]
        assert heads == [200] * KEYS
        deletes = [r.status for r in eng.run(Request("DELETE", f"{tiny.url}/{p}") for p in data)]
        assert deletes == [204] * KEYS
        assert tiny.objects == {}
        # 20 connections at once overflowed its accept queue: the engine cut its window to that host.
        window = eng.host_windows()[origin(tiny.url)]
        assert window.cuts >= 1
        assert window.size < 20
    finally:
        eng.close()


def test_tiny_server_through_the_facade_with_default_settings(tiny: TinyServer) -> None:
    data = payloads()
    tiny.objects.update({f"/{p}": b for p, b in data.items()})
    cf = CloudFiles(tiny.url)
    paths = list(data)
    assert {r["path"]: r["content"] for r in cf.get(paths)} == data
    assert cf.exists(paths) == dict.fromkeys(paths, True)
    assert cf.size(paths) == {p: len(b) for p, b in data.items()}


def test_learned_window_is_kept_for_the_next_batch(tiny: TinyServer) -> None:
    """A second batch on the same engine starts with the window the first one learned."""
    tiny.objects.update({f"/o{i}": b"x" for i in range(100)})
    eng = Engine()
    try:
        assert all(r.ok for r in eng.run(Request("GET", f"{tiny.url}/o{i}") for i in range(100)))
        learned = eng.host_windows()[origin(tiny.url)].size
        hits = tiny.hits
        assert all(r.ok for r in eng.run(Request("GET", f"{tiny.url}/o{i}") for i in range(100)))
        assert tiny.hits - hits == 100  # every request answered once: no congestion requeues
        assert eng.host_windows()[origin(tiny.url)].size <= max(learned, 3)
    finally:
        eng.close()


def test_nested_batch_keeps_the_suspended_one_moving(tiny: TinyServer) -> None:
    """A consumer that runs another request while iterating a batch (as the gs get fallback does): the
    single-threaded server may have accepted a connection of the suspended batch whose request was
    never sent, and would wait on it; the nested batch drives the suspended one's transfers too."""
    tiny.objects.update({f"/n{i}": bytes([i]) for i in range(40)})
    quick = Timeout(connect=3.0)
    outer = transfer((Request("GET", f"{tiny.url}/n{i}", context=i) for i in range(40)), concurrency=8)
    seen = {}
    for resp in outer:
        assert resp.ok, resp
        seen[resp.context] = resp.body
        inner = engine.request_one(Request("HEAD", f"{tiny.url}/n{resp.context}"), retry=FAST_RETRY, timeout=quick)
        assert inner.status == 200, inner
    assert seen == {i: bytes([i]) for i in range(40)}


def test_a_server_that_refuses_everything_fails_within_the_retry_budget() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    eng = Engine()
    try:
        responses = list(eng.run((Request("GET", f"{url}/x{i}") for i in range(20)), retry=FAST_RETRY))
    finally:
        eng.close()
    assert len(responses) == 20
    for resp in responses:
        assert isinstance(resp.error, NetworkError)
        assert resp.error.curl_code == 7
        assert 1 <= resp.attempts <= FAST_RETRY.attempts


def test_resets_under_load_are_requeued_a_bounded_number_of_times() -> None:
    """Every connection reset before an answer: each request is sent at most FREE_REQUEUES times more
    than its retry attempts, then fails with a named error."""
    server = ScriptedServer().start()
    try:
        server.default = reset_connection()
        eng = Engine()
        try:
            responses = list(eng.run((Request("GET", f"{server.url}/r{i}") for i in range(10)), retry=FAST_RETRY))
        finally:
            eng.close()
        assert all(isinstance(r.error, NetworkError) for r in responses)
        assert sum(server.hits.values()) <= 10 * (FAST_RETRY.attempts + FREE_REQUEUES)
    finally:
        server.stop()


def test_max_host_connections_caps_concurrent_connections() -> None:
    """``max_host_connections`` (CURLMOPT_MAX_HOST_CONNECTIONS): never more requests at the server at
    once than the cap, whatever the batch's concurrency."""
    server, peak = _peak_counting_server()
    try:
        reqs = (Request("GET", f"{server.url}/c{i}") for i in range(60))
        responses = list(transfer(reqs, concurrency=20, max_host_connections=2))
        assert all(r.ok for r in responses)
        assert 1 <= peak() <= 2
    finally:
        server.stop()


def test_max_host_connections_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(engine.MAX_HOST_CONNECTIONS_ENV, "1")
    server = ScriptedServer().start()
    busy = 0
    peak = 0

    def counted(h: object) -> None:
        nonlocal busy, peak
        busy += 1
        peak = max(peak, busy)
        server.stop_event.wait(0.005)
        busy -= 1
        respond(200, b"ok")(h)  # type: ignore[arg-type]

    try:
        server.default = counted
        assert all(r.ok for r in transfer(Request("GET", f"{server.url}/e{i}") for i in range(20)))
        assert peak == 1
    finally:
        server.stop()


def test_max_host_connections_is_a_cloudfiles_option() -> None:
    """``CloudFiles(..., max_host_connections=N)`` reaches the engine, and carries over to a derived
    CloudFiles of the same protocol (transfer_to's destination)."""
    server, peak = _peak_counting_server()
    try:
        cf = CloudFiles(server.url, max_host_connections=1)
        results = cf.get([f"o{i}" for i in range(30)])
        assert [r["content"] for r in results] == [b"ok"] * 30
        assert peak() == 1
        assert cf._derive(server.url + "/other").max_host_connections == 1
        assert CloudFiles("file:///tmp/x")._derive(server.url).max_host_connections is None
    finally:
        server.stop()


def _peak_counting_server() -> tuple[ScriptedServer, Callable[[], int]]:
    """A server answering ``ok`` after 10 ms, and a function giving the most requests it held at once."""
    server = ScriptedServer().start()
    busy = 0
    peak = 0
    lock = threading.Lock()

    def counted(h: object) -> None:
        nonlocal busy, peak
        with lock:
            busy += 1
            peak = max(peak, busy)
        server.stop_event.wait(0.01)
        with lock:
            busy -= 1
        respond(200, b"ok")(h)  # type: ignore[arg-type]

    server.default = counted
    return server, lambda: peak
