"""Engines across threads, processes and fork(): freed without a GC pass, bounded, and fork-safe.

Real servers only: nginx (HTTP) and the session's SeaweedFS (S3, signatures checked).
"""

from __future__ import annotations

import ast
import gc
import hashlib
import multiprocessing
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import cloudfiles
from cloudfiles import CloudFiles, engine
from cloudfiles.engine import Request, transfer

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from seaweed import SeaweedFS

BUCKET = "lifecycle"
N_OBJECTS = 1500


@pytest.fixture(scope="module")
def objects(nginx: Any) -> dict[str, bytes]:
    d = nginx.root / "lifecycle"
    d.mkdir(exist_ok=True)
    blobs = {}
    for i in range(N_OBJECTS):
        data = hashlib.sha256(b"%d" % i).digest() * (1 + i % 50)
        (d / f"o{i}").write_bytes(data)
        blobs[f"lifecycle/o{i}"] = data
    return blobs


@pytest.fixture(scope="module")
def seaweed(seaweed_server: SeaweedFS) -> SeaweedFS:
    seaweed_server.create_bucket(BUCKET)
    return seaweed_server


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


# -- threads ------------------------------------------------------------------------------------------
def test_exited_threads_free_their_engines_without_a_gc_pass(nginx: Any, objects: dict[str, bytes]) -> None:
    key = next(iter(objects))
    url = f"{nginx.url}/{key}"

    def work() -> None:
        # A nested batch too: the thread ends with two engines (a cycle would keep both, and sockets, open).
        for outer in transfer([Request("GET", url)] * 3, concurrency=3):
            assert outer.body == objects[key]
            assert engine.request_one(Request("HEAD", url)).status == 200

    work()  # this thread's own engines exist before counting
    gc.collect()
    gc.disable()
    try:
        before = _open_fds()
        for _ in range(10):  # one after another
            t = threading.Thread(target=work)
            t.start()
            t.join()
        threads = [threading.Thread(target=work) for _ in range(10)]  # and side by side
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        after = _open_fds()
    finally:
        gc.enable()
    # 20 exited threads with ~4 descriptors per engine (epoll, libcurl's wakeup pair, a socket) left
    # 80-160 open before the engines stopped referring to themselves.
    assert after - before <= 2, f"{after - before} descriptors left open by 20 exited threads"


def test_exited_greenlets_free_their_engines_without_a_gc_pass(nginx: Any, objects: dict[str, bytes]) -> None:
    pytest.importorskip("gevent")
    import subprocess
    import textwrap

    key = next(iter(objects))
    code = textwrap.dedent(f"""
        from gevent import monkey; monkey.patch_all()
        import gc, os
        import gevent
        from cloudfiles import engine
        def work():
            assert engine.request_one(engine.Request("GET", "{nginx.url}/{key}")).status == 200
        work()
        gc.collect()
        gc.disable()
        before = len(os.listdir("/proc/self/fd"))
        for _ in range(20):
            gevent.spawn(work).join()
        gevent.sleep(0.05)
        print("LEFT", len(os.listdir("/proc/self/fd")) - before)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert int(out.stdout.split("LEFT")[1]) <= 2  # 20 greenlets left 60 descriptors behind a cycle


def test_idle_engines_per_thread_are_bounded(nginx: Any, objects: dict[str, bytes]) -> None:
    url = f"{nginx.url}/{next(iter(objects))}"

    def nest(depth: int) -> None:
        for resp in transfer([Request("GET", url)]):
            assert resp.ok
            if depth:
                nest(depth - 1)

    results: list[int] = []

    def work() -> None:
        nest(5)  # six engines at once
        results.append(len(engine._idle_engines(False)))

    t = threading.Thread(target=work)
    t.start()
    t.join()
    assert results == [engine.MAX_IDLE_ENGINES]


# -- fork -----------------------------------------------------------------------------------------------
def _wait_child(pid: int, timeout: float = 60.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.02)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    raise AssertionError("the forked child hung (a lock held at fork time, or the parent's engine)")


def _engine_socket_fds() -> set[int]:
    """Descriptors of this process's TCP sockets (the engines' connections and epoll aside)."""
    fds = set()
    for name in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{name}").startswith("socket:"):
                fds.add(int(name))
        except OSError:
            pass
    return fds


# Module-level locks a thread may hold while another forks (each taken by the code the child runs below).
_MODULE_LOCKS = (
    ("cloudfiles.interfaces", "_LOCK"),
    ("cloudfiles.interfaces.mem", "_LOCK"),
    ("cloudfiles.interfaces.s3.credentials", "_CHAIN_LOCK"),
    ("cloudfiles.aliases", "_alias_lock"),
    ("cloudfiles.sigv4", "_clock_lock"),
    ("cloudfiles.gcs_auth", "_SOURCES_LOCK"),
    ("cloudfiles.codecpool", "_pool_lock"),
)


def test_fork_with_live_transfers_and_held_locks(nginx: Any, objects: dict[str, bytes], seaweed: SeaweedFS) -> None:
    import importlib

    keys = list(objects)
    s3 = CloudFiles(f"s3://{seaweed.endpoint}/{BUCKET}/fork", secrets=seaweed.secrets)
    s3.put("shared", b"from the parent")
    http = CloudFiles(f"{nginx.url}/lifecycle")
    assert http.get("o1") == objects["lifecycle/o1"]  # this thread keeps an idle engine with connections
    parent_sockets = _engine_socket_fds()

    # Another thread is in the middle of a batch when the fork happens.
    halfway = threading.Event()
    got: dict[str, bytes] = {}
    failures: list[BaseException] = []

    def batch() -> None:
        try:
            reqs = (Request("GET", f"{nginx.url}/{k}", context=k) for k in keys)
            for resp in transfer(reqs, concurrency=16):
                assert resp.ok, resp
                got[resp.context] = resp.body
                if len(got) == 300:
                    halfway.set()
        except BaseException as err:  # pragma: no cover - reported below
            failures.append(err)
            halfway.set()

    # A third thread holds every module-level lock (and a CloudFiles' own) across the fork.
    locks = [getattr(importlib.import_module(m), name) for m, name in _MODULE_LOCKS]
    unbuilt = CloudFiles(f"{nginx.url}/lifecycle")
    locks.append(unbuilt._iface_lock)
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        for lock in locks:
            lock.acquire()
        held.set()
        release.wait()
        for lock in reversed(locks):
            lock.release()

    worker = threading.Thread(target=batch)
    holder = threading.Thread(target=hold)
    worker.start()
    holder.start()
    assert halfway.wait(30) and held.wait(30)
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through its exit code
        code = 1
        try:
            for lock in locks:
                assert lock.acquire(timeout=5), f"{lock!r} stayed locked in the child"
                lock.release()
            gc.collect()
            # The parent's connections are not cleaned up here (no close, no TLS close_notify).
            still_open = {fd for fd in parent_sockets if _is_open(fd)}
            assert still_open == parent_sockets, f"the child closed {parent_sockets - still_open}"
            # The child's own transfers, on engines of its own.
            sample = keys[::50]
            mine = {r.context: r.body for r in transfer(
                (Request("GET", f"{nginx.url}/{k}", context=k) for k in sample), concurrency=8)}
            assert mine == {k: objects[k] for k in sample}
            assert unbuilt.get("o2") == objects["lifecycle/o2"]
            assert http.get([f"o{i}" for i in range(40)])[0]["content"] is not None
            s3.put(f"child-{os.getpid()}", b"from the child")
            assert s3.get("shared") == b"from the parent"
            mem = CloudFiles("mem://fork/child")
            mem.put("x", b"1")
            assert mem.get("x") == b"1"
            cloudfiles.paths.add_alias("forkchild", "file://")  # type: ignore[attr-defined]
            code = 0
        except BaseException as err:
            print(f"child failed: {err!r}", file=sys.stderr, flush=True)
        finally:
            os._exit(code)
    try:
        assert _wait_child(pid) == 0
    finally:
        release.set()
        holder.join()
        worker.join()
    assert not failures, failures
    assert got == objects  # the parent's batch completed with the right bytes
    assert http.get("o3") == objects["lifecycle/o3"]  # and its kept engines still work
    assert s3.get([n for n in s3.list(prefix="child-")])[0]["content"] == b"from the child"


def _is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
        return True
    except OSError:
        return False


def _pool_worker(args: tuple[str, str, dict[str, str], int]) -> str:
    s3_path, http_path, secrets, n = args
    s3 = CloudFiles(s3_path, secrets=secrets)
    data = hashlib.sha256(b"worker %d" % n).digest() * 100
    s3.put(f"w{n}", data)
    assert s3.get(f"w{n}") == data
    http = CloudFiles(http_path)
    bodies = http.get([f"o{i}" for i in range(n, N_OBJECTS, 97)])
    digest = hashlib.sha256()
    for res in sorted(bodies, key=lambda r: r["path"]):
        assert res["error"] is None
        digest.update(res["content"])
    return digest.hexdigest()


def test_multiprocessing_fork_pool_uses_cloudfiles(nginx: Any, objects: dict[str, bytes], seaweed: SeaweedFS) -> None:
    from cloudfiles import sigv4

    s3_path = f"s3://{seaweed.endpoint}/{BUCKET}/pool"
    http_path = f"{nginx.url}/lifecycle"
    # The parent has engines, connections and credentials in use before the pool forks.
    parent = CloudFiles(http_path)
    assert parent.get("o0") == objects["lifecycle/o0"]
    CloudFiles(s3_path, secrets=seaweed.secrets).put("parent", b"p")
    time.sleep(1.1)  # the workers' first signatures fall in a new second: they format the date again
    # ...and another thread of the parent is signing a request (holding the date lock) as the pool forks.
    held, release = threading.Event(), threading.Event()

    def signing() -> None:
        with sigv4._clock_lock:
            held.set()
            release.wait()

    signer = threading.Thread(target=signing)
    signer.start()
    assert held.wait(10)
    ctx = multiprocessing.get_context("fork")
    jobs = [(s3_path, http_path, seaweed.secrets, n) for n in range(8)]
    try:
        with ctx.Pool(3) as pool:
            release.set()
            digests = pool.map_async(_pool_worker, jobs, chunksize=1).get(timeout=30)
    finally:
        release.set()
        signer.join()
    for n, digest in enumerate(digests):
        want = hashlib.sha256()
        for path in sorted(f"o{i}" for i in range(n, N_OBJECTS, 97)):
            want.update(objects[f"lifecycle/{path}"])
        assert digest == want.hexdigest()
    s3 = CloudFiles(s3_path, secrets=seaweed.secrets)
    assert sorted(s3.list()) == sorted(["parent"] + [f"w{n}" for n in range(8)])
    assert parent.get("o5") == objects["lifecycle/o5"]


def test_module_level_locks_are_fork_safe() -> None:
    """Every module-level lock in the package is made by cloudfiles.forksafe (reset in a forked child)."""
    root = Path(cloudfiles.__file__).parent
    offenders = []
    for path in root.rglob("*.py"):
        if path.name == "forksafe.py":
            continue
        tree = ast.parse(path.read_text())
        for node in tree.body:
            if isinstance(node, (ast.Assign, ast.AnnAssign)) and isinstance(node.value, ast.Call):
                func = ast.unparse(node.value.func)
                if func in ("threading.Lock", "threading.RLock", "Lock", "RLock"):
                    offenders.append(f"{path.relative_to(root)}:{node.lineno}")
    assert not offenders, offenders
