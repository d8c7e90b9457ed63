"""ResumableTransfer / ResumableFileSet / ResumableListing: sqlite-backed jobs that survive failures."""

from __future__ import annotations

import itertools
import sqlite3
import threading
import time
from pathlib import Path

import pytest

import cloudfiles
from cloudfiles import CloudFiles, ResumableTransfer
from cloudfiles.resumable import ResumableFileSet, ResumableListing

_counter = itertools.count()


def make_src(n: int = 50, compress: str | None = None) -> tuple[CloudFiles, dict[str, bytes]]:
    cf = CloudFiles(f"mem://resumable{next(_counter)}/src")
    files = {f"d{i % 3}/f{i:03d}": b"payload %d " % i * 10 for i in range(n)}
    cf.puts(list(files.items()), compress=compress)
    return cf, files


def test_exports_and_compat_module() -> None:
    from cloudfiles.resumable_tools import ResumableFileSet as Compat
    from cloudfiles.resumable_tools import ResumableTransfer as CompatTransfer

    assert cloudfiles.ResumableTransfer is ResumableTransfer is CompatTransfer
    assert Compat is ResumableFileSet


def test_round_trip_and_close(tmp_path: Path) -> None:
    src, files = make_src()
    dest = src.cloudpath.replace("/src", "/dest")
    db = str(tmp_path / "job.db")
    rt = ResumableTransfer(db)
    assert rt.init(src.cloudpath, dest) == len(files)
    assert len(rt) == len(files)
    assert rt.rfs.metadata()["source"] == src.cloudpath
    assert rt.execute(block_size=7) == len(files)
    assert len(rt) == 0 and rt.rfs.finished() == len(files)
    assert CloudFiles(dest).get(list(files), return_dict=True) == files
    rt.close()
    assert not Path(db).exists()


def test_reencode_and_explicit_paths(tmp_path: Path) -> None:
    src, files = make_src(compress="gzip")
    dest = CloudFiles(src.cloudpath.replace("/src", "/dest"))
    some = sorted(files)[:10]
    rt = ResumableTransfer(str(tmp_path / "job.db"))
    rt.init(src, dest, paths=iter(some), reencode="zstd")
    rt.execute()
    assert sorted(dest.list()) == some
    assert {r["compress"] for r in dest.get(some, raw=True)} == {"zstd"}
    assert dest.get(some, return_dict=True) == {k: files[k] for k in some}

    rt.init(src, dest.cloudpath + "2", reencode=False)  # False: store decompressed
    assert rt.rfs.metadata()["reencode"] is False
    rt.execute()
    assert {r["compress"] for r in CloudFiles(dest.cloudpath + "2").get(some, raw=True)} == {None}
    rt.close()


def test_failure_mid_job_loses_nothing_and_repeats_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src, files = make_src(n=100)
    dest = src.cloudpath.replace("/src", "/dest")
    db = str(tmp_path / "job.db")
    ResumableTransfer(db).init(src.cloudpath, dest)

    real = CloudFiles.transfer_to
    calls = {"n": 0, "paths": []}

    def flaky(self: CloudFiles, cf_dest: object, paths: list[str], **kwargs: object) -> object:
        calls["n"] += 1
        if calls["n"] == 4:
            # half a block lands, then the process "dies"
            real(self, cf_dest, paths=paths[:5], **kwargs)
            raise ConnectionError("injected failure")
        calls["paths"].extend(paths)
        return real(self, cf_dest, paths=paths, **kwargs)

    monkeypatch.setattr(CloudFiles, "transfer_to", flaky)
    rt = ResumableTransfer(db)
    with pytest.raises(ConnectionError):
        rt.execute(block_size=10)
    assert rt.rfs.finished() == 30 and len(rt) == 70

    first_run = list(calls["paths"])
    calls["paths"] = []
    calls["n"] = 100  # no more failures
    rt2 = ResumableTransfer(db)  # a fresh process, same database
    assert rt2.execute(block_size=10) == 70
    assert len(rt2) == 0 and rt2.rfs.finished() == 100  # finished counted once each
    second_run = calls["paths"]
    assert len(first_run) == 30 and len(second_run) == 70
    assert set(first_run) | set(second_run) == set(files)  # the failed block was redone, done ones not
    names = list(CloudFiles(dest).list())
    assert sorted(names) == sorted(files)
    assert CloudFiles(dest).get(names, return_dict=True) == files
    rt2.close()


def test_leases_are_exclusive_between_processes(tmp_path: Path) -> None:
    db = str(tmp_path / "lease.db")
    a = ResumableFileSet(db, lease_msec=60_000)
    a.create_with("mem://x/a", "mem://x/b", (f"f{i}" for i in range(100)))
    b = ResumableFileSet(db, lease_msec=60_000)
    got: list[list[tuple[int, str]]] = []
    lock = threading.Lock()

    def worker(rfs: ResumableFileSet) -> None:
        conn = ResumableFileSet(rfs.db_path, lease_msec=60_000)
        while rows := conn.lease(7):
            with lock:
                got.append(rows)
        conn.close()

    threads = [threading.Thread(target=worker, args=(rfs,)) for rfs in (a, b, a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ids = [row_id for rows in got for row_id, _ in rows]
    assert sorted(ids) == sorted(set(ids)) and len(ids) == 100
    assert a.num_leased() == 100 and a.available() == 0
    a.release()
    assert b.available() == 100
    assert a.mark_finished(["f1", "f2"]) == 2 and a.mark_finished(["f1"]) == 0  # counted once
    assert a.finished() == 2 and a.remaining() == 98 and a.total() == 100


def test_execute_takes_over_expired_leases_of_a_dead_process(tmp_path: Path) -> None:
    src, files = make_src(n=20)
    dest = src.cloudpath.replace("/src", "/dest")
    db = str(tmp_path / "job.db")
    ResumableTransfer(db).init(src.cloudpath, dest)
    dead = ResumableFileSet(db, lease_msec=300)
    assert len(dead.lease(5)) == 5  # a process that leased a block, then died
    start = time.monotonic()
    rt = ResumableTransfer(db, lease_msec=300)
    assert rt.execute(block_size=4) == 20
    assert time.monotonic() - start >= 0.25  # it waited for the lease to expire
    assert sorted(CloudFiles(dest).list()) == sorted(files)


def test_init_is_atomic(tmp_path: Path) -> None:
    db = str(tmp_path / "job.db")
    rt = ResumableTransfer(db)
    rt.init("mem://atomic/src", "mem://atomic/dest", paths=["a", "b"])

    def broken() -> object:
        yield "c"
        raise RuntimeError("listing failed")

    with pytest.raises(RuntimeError):
        rt.init("mem://atomic/src2", "mem://atomic/dest2", paths=broken())
    assert rt.rfs.metadata()["source"] == "mem://atomic/src" and len(rt) == 2


def test_bad_database(tmp_path: Path) -> None:
    db = tmp_path / "empty.db"
    sqlite3.connect(db).close()
    with pytest.raises(ValueError, match="not a resumable transfer database"):
        ResumableTransfer(str(db)).execute()


def test_resumable_listing(tmp_path: Path) -> None:
    cf = CloudFiles(f"file://{tmp_path}/tree")
    cf.puts([(f"a/{i}", b"x" * i) for i in range(30)])
    db = str(tmp_path / "ls.db")
    listing = ResumableListing(db)
    assert listing.run(cf.cloudpath) == 30
    assert listing.run(cf.cloudpath) == 30  # rerun: nothing doubled
    with pytest.raises(ValueError, match="holds a listing"):
        listing.run(cf.cloudpath + "/a")
    rows = dict(sqlite3.connect(db).execute("SELECT path, size FROM files").fetchall())
    assert rows == {f"a/{i}": i for i in range(30)}
    listing.close()
