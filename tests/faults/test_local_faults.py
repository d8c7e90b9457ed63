"""file:// under faults: a writer SIGKILLed mid-write never leaves a partial object, concurrent locked
writers never interleave, and a killed writer's temp files can be cleaned up safely."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cloudfiles import CloudFiles
from cloudfiles.interfaces.file import is_temp_name

SIZE = 4 << 20

WRITER = textwrap.dedent("""
    import sys
    from cloudfiles import CloudFiles
    cf = CloudFiles(sys.argv[1], locking=sys.argv[3] == "1", lock_dir=sys.argv[4])
    size, tag, rounds = int(sys.argv[2]), int(sys.argv[5]), int(sys.argv[6])
    print("ready", flush=True)
    for i in range(rounds):
        # Every version is one repeated byte: any mix of two versions is visible.
        cf.put("obj", bytes([(tag * 31 + i) % 251 + 1]) * size)
    print("done", flush=True)
""")


_WRITERS: list[subprocess.Popen[str]] = []


@pytest.fixture(autouse=True)
def _close_writers() -> Iterator[None]:
    """Each test's writers are reaped and their stdout pipes closed when it ends (an unclosed pipe
    is a ResourceWarning, an error in this suite); a writer a failed test left running is killed."""
    yield
    while _WRITERS:
        proc = _WRITERS.pop()
        if proc.poll() is None:
            proc.kill()
        with proc:  # Popen.__exit__ closes the pipes and waits
            pass


def writer(root: Path, tmp: Path, *, locking: bool, tag: int, rounds: int, size: int = SIZE) -> subprocess.Popen[str]:
    script = tmp / "writer.py"
    script.write_text(WRITER)
    env = {**os.environ, "AWS_EC2_METADATA_DISABLED": "true", "NO_GCE_CHECK": "True"}
    proc = subprocess.Popen(
        [sys.executable, str(script), f"file://{root}", str(size), "1" if locking else "0",
         str(tmp / "locks"), str(tag), str(rounds)],
        stdout=subprocess.PIPE, text=True, env=env,
    )
    _WRITERS.append(proc)
    return proc


def whole_version(data: bytes | None, size: int = SIZE) -> bool:
    return data is None or (len(data) == size and data.count(data[:1]) == size)


@pytest.mark.parametrize("delay", [0.0, 0.05, 0.3])
def test_sigkill_mid_write_leaves_old_or_new(tmp_path: Path, delay: float) -> None:
    root = tmp_path / "root"
    proc = writer(root, tmp_path, locking=False, tag=1, rounds=10_000)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    # Wait until a write is under way (a temp file exists), then kill without warning.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not any(is_temp_name(p.name) for p in root.glob(".*")):
        time.sleep(0.001)
    time.sleep(delay)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    cf = CloudFiles(f"file://{root}")
    assert whole_version(cf.get("obj"))
    assert list(cf.list()) in ([], ["obj"])  # temp files never listed


def test_killed_writers_temp_files_are_cleaned_only_when_safe(tmp_path: Path) -> None:
    root = tmp_path / "root"
    proc = writer(root, tmp_path, locking=False, tag=2, rounds=10_000, size=64 << 20)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not any(is_temp_name(p.name) for p in root.glob(".*")):
        time.sleep(0.001)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    leftovers = [p for p in root.glob(".*") if is_temp_name(p.name)]
    assert leftovers, "the kill landed between writes; the temp file is the point of this test"
    # A temp file of a live writer (this process) and one of the old format are never touched.
    live = root / f".x.{leftovers[0].name.split('.')[-2].split('-')[0]}-{os.getpid()}-{'0' * 12}.cftmp"
    legacy = root / ".y.0123456789ab.cftmp"
    for p in (live, legacy):
        p.write_bytes(b"partial")
    iface = CloudFiles(f"file://{root}").interface
    assert iface.clean_temp_files() == []  # type: ignore[attr-defined]  # too recent: kept
    old = time.time() - 7 * 3600
    for p in [*leftovers, live, legacy]:
        os.utime(p, (old, old))
    removed = iface.clean_temp_files()  # type: ignore[attr-defined]
    assert sorted(removed) == sorted(str(p) for p in leftovers)
    assert live.exists() and legacy.exists()


def test_concurrent_locked_writers_never_interleave(tmp_path: Path) -> None:
    root = tmp_path / "root"
    procs = [writer(root, tmp_path, locking=True, tag=t, rounds=15, size=1 << 20) for t in range(3)]
    reader = CloudFiles(f"file://{root}", locking=True, lock_dir=str(tmp_path / "locks"))
    seen = 0
    while any(p.poll() is None for p in procs):
        data = reader.get("obj")
        assert whole_version(data, 1 << 20)
        seen += data is not None
    for p in procs:
        assert p.wait(timeout=60) == 0
    assert whole_version(reader.get("obj"), 1 << 20) and reader.get("obj") is not None
