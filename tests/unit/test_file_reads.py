"""file:// reads by descriptor (``read_stored``): whole files, ranges, missing names, directories, and
files whose size changes between the ``fstat`` and the read."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cloudfiles.interfaces import file as file_iface
from cloudfiles.interfaces.file import read_stored


@pytest.mark.parametrize("size", [0, 1, 4095, 4096, 4097, 1 << 20])
def test_whole_file(tmp_path: Path, size: int) -> None:
    data = os.urandom(size)
    (tmp_path / "f").write_bytes(data)
    got = read_stored(str(tmp_path / "f"), None, None)
    assert type(got) is bytes
    assert got == data


@pytest.mark.parametrize(
    ("start", "end"), [(0, 10), (5, None), (None, 7), (-10, None), (3, -3), (100, 200), (90, 1000), (10, 5), (-1000, 4)]
)
def test_ranges_follow_python_slices(tmp_path: Path, start: int | None, end: int | None) -> None:
    data = os.urandom(100)
    (tmp_path / "f").write_bytes(data)
    assert read_stored(str(tmp_path / "f"), start, end) == data[start:end]


def test_missing_and_directories_read_as_none(tmp_path: Path) -> None:
    assert read_stored(str(tmp_path / "nope"), None, None) is None
    assert read_stored(str(tmp_path / "nope" / "deeper"), None, None) is None
    (tmp_path / "d").mkdir()
    assert read_stored(str(tmp_path / "d"), None, None) is None
    (tmp_path / "file").write_bytes(b"x")
    assert read_stored(str(tmp_path / "file" / "under-a-file"), 0, 1) is None  # ENOTDIR


def test_other_errors_are_raised(tmp_path: Path) -> None:
    # Not "missing": a symlink loop (ELOOP) is an error of its own, raised (as root, modes do not stop reads).
    os.symlink(tmp_path / "b", tmp_path / "a")
    os.symlink(tmp_path / "a", tmp_path / "b")
    with pytest.raises(OSError, match="symbolic links"):
        read_stored(str(tmp_path / "a"), None, None)


def test_a_size_that_changed_since_fstat_still_reads_to_the_end(tmp_path: Path) -> None:
    data = os.urandom(10_000)
    (tmp_path / "f").write_bytes(data)
    for told in (0, 5_000, 9_999, 10_001, 20_000):  # the size fstat gave, wrong both ways
        fd = os.open(tmp_path / "f", os.O_RDONLY)
        try:
            assert file_iface._read_to_end(fd, told) == data
        finally:
            os.close(fd)


def test_short_preads_are_continued(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = os.urandom(10_000)
    (tmp_path / "f").write_bytes(data)
    real = os.pread

    def short(fd: int, n: int, offset: int) -> bytes:
        return real(fd, min(n, 999), offset)

    monkeypatch.setattr(file_iface.os, "pread", short)
    assert read_stored(str(tmp_path / "f"), 17, 9_000) == data[17:9_000]
    assert read_stored(str(tmp_path / "f"), 9_500, 20_000) == data[9_500:]


def test_descriptors_are_closed(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"abc")
    (tmp_path / "d").mkdir()
    before = len(os.listdir("/proc/self/fd"))
    for _ in range(50):
        read_stored(str(tmp_path / "f"), None, None)
        read_stored(str(tmp_path / "f"), 1, 2)
        read_stored(str(tmp_path / "d"), None, None)
    assert len(os.listdir("/proc/self/fd")) == before
