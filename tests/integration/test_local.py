"""The storage contract on mem:// and file://, plus what only the local schemes promise."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from contract import PAYLOAD, StorageContract, Store

import cloudfiles
from cloudfiles import CloudFiles

_counter = itertools.count()


class TestMemContract(StorageContract):
    scheme = "mem"

    @pytest.fixture
    def store(self) -> Iterator[Store]:
        cf = CloudFiles(f"mem://contract-{next(_counter)}/base/dir")
        yield Store(reader=cf, writer=cf)


class TestFileContract(StorageContract):
    scheme = "file"

    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[Store]:
        cf = CloudFiles(f"file://{tmp_path}/root")
        yield Store(reader=cf, writer=cf)


# -- mem:// specifics ------------------------------------------------------------------------------------
def test_mem_listing_is_scoped_to_the_directory() -> None:
    CloudFiles("mem://scoped/a").puts([("x", b"1"), ("y/z", b"2")])
    CloudFiles("mem://scoped/ab").put("w", b"3")
    CloudFiles("mem://scoped").put("top", b"4")
    assert sorted(CloudFiles("mem://scoped/a").list()) == ["x", "y/z"]
    assert sorted(CloudFiles("mem://scoped").list()) == ["a/x", "a/y/z", "ab/w", "top"]
    assert CloudFiles("mem://scoped/a").subtree_size() == {"N": 2, "num_bytes": 2}


def test_mem_python_objects_with_raw() -> None:
    cf = CloudFiles("mem://objects")
    obj = {"not": ["bytes"]}
    cf.puts([("o", obj)], raw=True)
    assert cf.get("o", raw=True) is obj
    assert cf.head("o")["Content-Length"] is None


def test_mem_copies_mutable_buffers() -> None:
    cf = CloudFiles("mem://buffers")
    buf = bytearray(b"abc")
    cf.put("b", buf)
    buf[0] = ord("X")
    assert cf.get("b") == b"abc"


def test_clear_memory_and_reset() -> None:
    cf = CloudFiles("mem://clearing")
    cf.put("x", b"1")
    cloudfiles.clear_memory()
    assert cf.get("x") is None
    cf.put("x", b"1")
    cloudfiles.reset_connection_pools()
    assert cf.get("x") is None


def test_mem_is_thread_safe() -> None:
    cf = CloudFiles("mem://threads")

    def writer(n: int) -> None:
        cf.puts([(f"t{n}/{i}", b"x") for i in range(200)])

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert cf.subtree_size()["N"] == 800


# -- file:// specifics -----------------------------------------------------------------------------------
@pytest.fixture
def fcf(tmp_path: Path) -> CloudFiles:
    return CloudFiles(f"file://{tmp_path}/root")


def _tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_file_suffixes_on_disk(fcf: CloudFiles, tmp_path: Path) -> None:
    root = tmp_path / "root"
    for enc, suffix in [(None, ""), ("gzip", ".gz"), ("br", ".br"), ("zstd", ".zstd"), ("bz2", ".bz2"), ("xz", ".xz")]:
        fcf.put(f"f_{enc}", PAYLOAD, compress=enc)
        assert (root / f"f_{enc}{suffix}").exists()
    assert sorted(fcf.list()) == sorted(f"f_{enc}" for enc in (None, "gzip", "br", "zstd", "bz2", "xz"))


def test_file_reput_removes_other_variants(fcf: CloudFiles, tmp_path: Path) -> None:
    root = tmp_path / "root"
    fcf.put("v", PAYLOAD, compress="gzip")
    fcf.put("v", PAYLOAD, compress="br")
    assert _tree(root) == ["v.br"]
    fcf.put("v", b"plain")
    assert _tree(root) == ["v"]
    fcf.delete("v")
    assert _tree(root) == []


def test_file_reads_legacy_stale_variants_once(fcf: CloudFiles, tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (root / "x").write_bytes(b"plain")
    import gzip

    (root / "x.gz").write_bytes(gzip.compress(b"zipped"))
    assert list(fcf.list()) == ["x"]
    assert fcf.get("x") == b"plain"  # identity is probed first
    fcf.delete("x")
    assert _tree(root) == []


def test_file_atomic_write_leaves_no_temp_files(fcf: CloudFiles, tmp_path: Path) -> None:
    fcf.puts([(f"d/{i}", PAYLOAD) for i in range(20)])
    names = os.listdir(tmp_path / "root" / "d")
    assert sorted(names) == sorted(str(i) for i in range(20))


def test_file_write_failure_cleans_up(fcf: CloudFiles, tmp_path: Path) -> None:
    class Broken:
        def read(self, n: int = -1) -> bytes:
            raise OSError("disk on fire")

    fcf.put("keep", b"old")
    with pytest.raises(OSError, match="disk on fire"):
        fcf.puts([{"path": "keep", "content": Broken()}])
    assert fcf.get("keep") == b"old"
    assert os.listdir(tmp_path / "root") == ["keep"]


def test_file_reader_never_sees_a_half_file(fcf: CloudFiles) -> None:
    big_a = b"a" * (4 << 20)
    big_b = b"b" * (4 << 20)
    fcf.put("big", big_a)
    stop = threading.Event()
    seen: list[Any] = []

    def read() -> None:
        while not stop.is_set():
            seen.append(fcf.get("big"))

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for i in range(6):
            fcf.put("big", big_b if i % 2 == 0 else big_a)
    finally:
        stop.set()
        reader.join()
    assert seen
    assert all(data in (big_a, big_b) for data in seen)


def test_file_streams_handles_in_chunks(fcf: CloudFiles, tmp_path: Path) -> None:
    class Chunked:
        def __init__(self, data: bytes) -> None:
            self.data = data
            self.pos = 0
            self.largest = 0

        def read(self, n: int = -1) -> bytes:
            assert n > 0, "a handle must be read in chunks, not whole"
            self.largest = max(self.largest, n)
            chunk = self.data[self.pos : self.pos + n]
            self.pos += len(chunk)
            return chunk

    src = Chunked(os.urandom(3 << 20))
    fcf.puts([{"path": "streamed", "content": src}])
    assert fcf.get("streamed") == src.data
    assert src.largest <= 1 << 20


@pytest.mark.parametrize("key", ["../escape", "a/../../escape", "/etc/passwd", "a/../../../x"])
def test_file_rejects_traversal(fcf: CloudFiles, tmp_path: Path, key: str) -> None:
    with pytest.raises(ValueError):
        fcf.put(key, b"x")
    with pytest.raises(ValueError):
        fcf.get(key)
    with pytest.raises(ValueError):
        list(fcf.list(key))
    assert not (tmp_path / "escape").exists()


def test_file_accepts_harmless_components(fcf: CloudFiles, tmp_path: Path) -> None:
    fcf.put("./a//b", b"ok")
    assert (tmp_path / "root" / "a" / "b").read_bytes() == b"ok"


def test_file_list_streams_nested_dirs(fcf: CloudFiles) -> None:
    fcf.puts([(f"l1/l2/l3/f{i}", b"x") for i in range(3)] + [("l1/top", b"x")])
    assert sorted(fcf.list("l1/")) == ["l1/l2/l3/f0", "l1/l2/l3/f1", "l1/l2/l3/f2", "l1/top"]
    assert sorted(fcf.list("l1/l2/", flat=True)) == ["l1/l2/l3/"]
    assert sorted(fcf.list("l1/l2/l3/f1", size=True)) == [("l1/l2/l3/f1", 1)]


def test_file_head_and_acl(fcf: CloudFiles, tmp_path: Path) -> None:
    fcf.put("h", PAYLOAD, compress="gzip")
    head = fcf.head("h")
    stored = (tmp_path / "root" / "h.gz").stat()
    assert head["Content-Length"] == stored.st_size
    assert head["Content-Encoding"] == "gzip"
    assert abs(head["Last-Modified"].timestamp() - stored.st_mtime) < 1e-3
    assert fcf.get_acl("h") == {"h": stored.st_mode}  # cloud-files' shape, also for one path
    assert CloudFiles(fcf.cloudpath, consistent_shapes=True).get_acl("h") == stored.st_mode
    assert fcf.get_acl(["h"]) == {"h": stored.st_mode}


def test_file_touch_refreshes_mtime_of_compressed_variant(fcf: CloudFiles, tmp_path: Path) -> None:
    fcf.put("t", PAYLOAD, compress="gzip")
    path = tmp_path / "root" / "t.gz"
    os.utime(path, (1000, 1000))
    fcf.touch("t")
    assert path.stat().st_mtime > 1000
    assert _tree(tmp_path / "root") == ["t.gz"]


def test_file_locking(tmp_path: Path) -> None:
    lock_dir = tmp_path / "locks"
    cf = CloudFiles(f"file://{tmp_path}/locked", locking=True, lock_dir=str(lock_dir))
    assert cf.lock_dir == str(lock_dir)
    assert not lock_dir.exists()  # created lazily
    cf.put("a", b"1", compress="gzip")
    assert cf.get("a") == b"1"
    assert lock_dir.is_dir() and os.listdir(lock_dir)
    # one lock per logical key, whatever its encoding
    cf.put("a", b"2")
    assert len(os.listdir(lock_dir)) == 1
    # named as cloud-files 6.4.3 names a writer's lock (basename.crc32(abspath)), so a process running
    # cloud-files and one running ours exclude each other on the same files
    import zlib

    key_path = os.path.join(str(tmp_path), "locked", "a")
    assert os.listdir(lock_dir) == [f"a.{zlib.crc32(key_path.encode('utf-8'))}"]
    cf.clear_locks()
    assert os.listdir(lock_dir) == []


def test_file_write_lock_excludes_readers(tmp_path: Path) -> None:
    # fcntl locks are per process, so the competing writer must be another process.
    lock_dir = tmp_path / "locks"
    cf = CloudFiles(f"file://{tmp_path}/locked", locking=True, lock_dir=str(lock_dir))
    cf.put("k", b"v")
    (lock_name,) = os.listdir(lock_dir)
    holder = subprocess.Popen(
        [
            sys.executable, "-c",
            "import sys, time, fasteners\n"
            "lock = fasteners.InterProcessReaderWriterLock(sys.argv[1])\n"
            "with lock.write_lock():\n"
            "    print('locked', flush=True)\n"
            "    time.sleep(0.5)\n",
            str(lock_dir / lock_name),
        ],
        stdout=subprocess.PIPE,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == b"locked"
        start = time.monotonic()
        assert cf.get("k") == b"v"
        assert time.monotonic() - start > 0.2  # the reader waited for the writer
    finally:
        with holder:  # waits, and closes the stdout pipe
            holder.wait(10)


def test_file_locking_off_by_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lock_dir = tmp_path / "envlocks"
    monkeypatch.setenv("CLOUD_FILES_LOCK_DIR", str(lock_dir))
    cf = CloudFiles(f"file://{tmp_path}/unlocked")
    assert cf.lock_dir == str(lock_dir)
    cf.put("a", b"1")
    assert not lock_dir.exists()


def test_file_isdir_and_sep(fcf: CloudFiles) -> None:
    fcf.put("d/e", b"1")
    assert fcf.isdir() and fcf.isdir("d") and not fcf.isdir("d/e")
    assert fcf.sep == os.sep and fcf.protocol == "file"
    assert fcf.join("a", "b") == os.path.join("a", "b")
    assert fcf.abspath("x").endswith(os.path.join("root", "x"))
    assert fcf.abspath("x").startswith("file://")


def test_file_moves(fcf: CloudFiles, tmp_path: Path) -> None:
    fcf.put("m1", PAYLOAD, compress="gzip")
    fcf.put("m2", b"two")
    dest = CloudFiles(f"file://{tmp_path}/moved")
    fcf.moves(dest, ["m1", ("m2", "sub/renamed")])
    assert _tree(tmp_path / "moved") == ["m1.gz", "sub/renamed"]
    assert _tree(tmp_path / "root") == []
    dest.move("m1", f"mem://moved-{next(_counter)}/final")
    assert not dest.exists("m1")
    with pytest.raises(FileNotFoundError):
        dest.moves(fcf, ["missing"])


def test_parallel_processes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import concurrent.futures

    import cloudfiles.parallel as facade

    blocks: list[int] = []

    class SpyPool(concurrent.futures.ProcessPoolExecutor):
        def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
            blocks.append(len(args[2]))
            return super().submit(fn, *args, **kwargs)

    monkeypatch.setattr(facade, "ProcessPoolExecutor", SpyPool)
    cf = CloudFiles(f"file://{tmp_path}/par", parallel=2)
    files = [(f"p{i}", str(i).encode()) for i in range(60)]
    assert cf.puts(files) is None  # cloud-files: None from its process pool
    assert CloudFiles(cf.cloudpath, parallel=2, consistent_shapes=True).puts(files) == 60
    results = cf.get([name for name, _ in files])
    assert isinstance(results, list)
    assert {r["path"]: r["content"] for r in results} == dict(files)
    assert [r["content"] for r in cf.get("p7")] == [b"7"]  # cloud-files: a list of dicts with parallel > 1
    assert CloudFiles(cf.cloudpath, parallel=2, consistent_shapes=True).get("p7") == b"7"
    assert CloudFiles(cf.cloudpath, parallel=2, consistent_shapes=True).delete([name for name, _ in files]) == 60
    assert cf.delete([name for name, _ in files]) is None
    assert list(cf.list()) == []
    assert blocks == [30, 30] * 5  # 2 puts, get, 2 deletes: each ran as two blocks in worker processes


def test_parallel_from_a_script_without_a_main_guard(tmp_path: Path) -> None:
    # cloud-files' pathos pool forked its workers (Linux), so scripts calling parallel= at top level,
    # with no `if __name__ == "__main__":` and with functions of their own, worked; spawned workers
    # re-run such a script on import and fail.
    script = tmp_path / "script.py"
    script.write_text(
        "from cloudfiles import CloudFiles\n"
        "from cloudfiles.cloudfiles import parallel_execute\n"
        "def twice(block):\n"
        "    return [x * 2 for x in block]\n"
        f"cf = CloudFiles('file://{tmp_path}/guardless', parallel=2)\n"
        "cf.puts([(f'k{i}', str(i).encode()) for i in range(50)])\n"
        "got = {r['path']: r['content'] for r in cf.get([f'k{i}' for i in range(50)])}\n"
        "assert got == {f'k{i}': str(i).encode() for i in range(50)}, got\n"
        "assert sorted(parallel_execute(twice, list(range(45)), 2, None, False, None, True)) == "
        "[x * 2 for x in range(45)]\n"
        "print('done')\n"
    )
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.splitlines() == ["done"]  # the script ran once: no worker re-ran it


def test_dl_across_schemes(fcf: CloudFiles, tmp_path: Path) -> None:
    fcf.put("a", b"A")
    mem = CloudFiles(f"mem://dl-{next(_counter)}/d")
    mem.put("b", b"B")
    full_a = f"file://{tmp_path}/root/a"
    full_b = f"{mem.cloudpath}/b"
    res = cloudfiles.dl([full_a, full_b])
    # as cloud-files: 'path' relative to the bucket (file://: the first directory), 'fullpath' the
    # bucket's cloudpath (with its format) joined with it
    assert {r["fullpath"]: r["content"] for r in res} == {full_a: b"A", f"precomputed://{full_b}": b"B"}
    assert sorted(r["path"] for r in res) == sorted([f"{tmp_path}/root/a".split("/", 2)[2], "d/b"])
    assert cloudfiles.dl(full_b)["content"] == b"B"  # cloud-files: the result dict for one path
    assert cloudfiles.dl(full_b, consistent_shapes=True) == b"B"


@pytest.mark.parametrize("scheme", ["file", "mem"])
def test_cloudfile(scheme: str, tmp_path: Path) -> None:
    from cloudfiles import CloudFile

    base = f"file://{tmp_path}/cf1" if scheme == "file" else f"mem://cloudfile-{next(_counter)}/d"
    f = CloudFile(f"{base}/data.bin", cache_meta=True)
    assert not f.exists() and f.get() is None
    assert f.put(b"0123456789", compress="gzip") == 1
    assert f.get() == b"0123456789" and len(f) == f.size() != 10
    f.put(b"0123456789")
    assert f[2:5] == b"234"
    res = f.get([slice(0, 2), {"start": 8}])
    assert [r["content"] for r in res] == [b"01", b"89"]
    f[:] = b"replaced"
    assert f.get() == b"replaced"
    assert f.head() is not None and f.protocol == scheme
    f.put_json({"a": 1})
    assert f.get_json() == {"a": 1}
    f.transfer_to(f"{base}/copy.json")
    assert CloudFile(f"{base}/copy.json").get_json() == {"a": 1}
    g = CloudFile(f"{base}/other")
    g.transfer_from(f"{base}/copy.json")
    assert g.get_json() == {"a": 1}
    f.move(f"{base}/moved.json")
    assert not f.exists() and CloudFile(f"{base}/moved.json").exists()
    f.touch()
    assert f.get() == b""
    f.delete()
    assert not f.exists()
