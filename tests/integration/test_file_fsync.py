"""The file:// fsync policy: ``'batch'`` (durable when puts returns) vs ``'none'`` (atomic, not fsynced),
chosen by ``CloudFiles(fsync=...)`` or ``$CLOUDFILES_FSYNC``. Real files; no timing."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from cloudfiles import CloudFiles
from cloudfiles.interfaces import file_writes
from cloudfiles.interfaces.file import FileInterface
from cloudfiles.interfaces.file_writes import FSYNC_ENV, fsync_policy


def test_policy_resolution() -> None:
    assert fsync_policy(None, {}) == file_writes.DEFAULT_FSYNC == "batch"
    assert fsync_policy(None, {FSYNC_ENV: "None"}) == "none"
    assert fsync_policy("batch", {FSYNC_ENV: "none"}) == "batch"  # the option wins
    with pytest.raises(ValueError, match=FSYNC_ENV):
        fsync_policy(None, {FSYNC_ENV: "always"})
    with pytest.raises(ValueError, match="fsync"):
        CloudFiles("file:///tmp/x", fsync="sometimes")


@pytest.mark.parametrize("n", [3, file_writes.SMALL_BATCH, file_writes.CHUNK_OBJECTS + 5])
def test_none_never_syncs_and_leaves_whole_objects(tmp_path: Path, syncs: dict[str, int], n: int) -> None:
    cf = CloudFiles(f"file://{tmp_path}", fsync="none")
    cf.puts([(f"d/{i}", b"old") for i in range(n)], compress="gzip")
    cf.puts([(f"d/{i}", f"new{i}".encode()) for i in range(n)])
    assert syncs == {"syncfs": 0, "fsync": 0}
    assert sorted(os.listdir(tmp_path / "d")) == sorted(str(i) for i in range(n))  # no .gz, no temp files
    assert cf.get([f"d/{i}" for i in range(n)], return_dict=True) == {f"d/{i}": f"new{i}".encode() for i in range(n)}


def test_none_covers_locked_writes_and_touch(tmp_path: Path, syncs: dict[str, int]) -> None:
    cf = CloudFiles(f"file://{tmp_path}/data", fsync="none", locking=True, lock_dir=str(tmp_path / "locks"))
    cf.puts([(f"{i}", b"v") for i in range(10)])
    cf.touch(["t"])
    assert syncs == {"syncfs": 0, "fsync": 0}
    assert cf.get("t") == b""
    assert cf.get("3") == b"v"


def test_batch_is_the_default_and_syncs(tmp_path: Path, syncs: dict[str, int], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(FSYNC_ENV, raising=False)
    CloudFiles(f"file://{tmp_path}").puts([(f"{i}", b"v") for i in range(20)])
    if file_writes.HAVE_SYNCFS:
        assert syncs["syncfs"] == 1
    assert syncs["fsync"] >= 1  # the directory (or every file, without syncfs)


def test_the_environment_picks_the_policy(tmp_path: Path, syncs: dict[str, int], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(FSYNC_ENV, "none")
    cf = CloudFiles(f"file://{tmp_path}")
    cf.puts([(f"{i}", b"v") for i in range(20)])
    assert syncs == {"syncfs": 0, "fsync": 0}
    CloudFiles(f"file://{tmp_path}", fsync="batch").puts([(f"{i}", b"w") for i in range(20)])
    assert syncs["fsync"] >= 1


def test_derived_clients_keep_the_policy(tmp_path: Path) -> None:
    cf = CloudFiles(f"file://{tmp_path}", fsync="none")
    derived = cf._derive(f"file://{tmp_path}/sub").interface
    assert isinstance(derived, FileInterface) and derived.durable is False
    batch = CloudFiles(f"file://{tmp_path}", fsync="batch").interface
    assert isinstance(batch, FileInterface) and batch.durable is True


@pytest.mark.parametrize("n", [1, file_writes.SMALL_BATCH])
def test_none_stays_atomic_for_a_concurrent_reader(tmp_path: Path, n: int) -> None:
    """Overwrites of 4 MiB objects under fsync='none' while a reader polls: every read is one whole
    version (temp file + rename), never a torn or empty file."""
    size = 4 << 20
    versions = [bytes([v]) * size for v in range(1, 6)]
    cf = CloudFiles(f"file://{tmp_path}", fsync="none")
    cf.puts([(f"k{i}", versions[0]) for i in range(n)])
    seen: list[bytes | None] = []
    done = threading.Event()

    def reader() -> None:
        path = tmp_path / "k0"
        while not done.is_set():
            seen.append(path.read_bytes())

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for body in versions[1:]:
            cf.puts([(f"k{i}", body) for i in range(n)])
    finally:
        done.set()
        thread.join()
    assert seen
    assert all(body in versions for body in seen)


@pytest.mark.parametrize(("local", "fsync", "many"), [(True, "batch", False), (True, "none", False),
                                                      (False, "batch", True), (False, "none", True)])
def test_writer_threads_by_filesystem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, local: bool, fsync: str, many: bool
) -> None:
    """Writes that wait on no fsync of their own use one thread on a local disk, several elsewhere."""
    from cloudfiles.interfaces import file as file_mod

    threads: set[int] = set()
    real = file_writes.write_temp

    def recording(final: str, content: object, *, sync: bool) -> tuple[str, int, bool]:
        threads.add(threading.get_ident())
        return real(final, content, sync=sync)

    monkeypatch.setattr(file_mod, "write_temp", recording)
    monkeypatch.setattr(file_mod, "is_local_disk", lambda _path: local)
    cf = CloudFiles(f"file://{tmp_path}", fsync=fsync, num_threads=4)
    cf.puts([(f"{i}", b"v" * 4096) for i in range(400)])
    assert cf.get([f"{i}" for i in range(400)], return_dict=True) == {f"{i}": b"v" * 4096 for i in range(400)}
    assert (threads == {threading.get_ident()}) is not many
