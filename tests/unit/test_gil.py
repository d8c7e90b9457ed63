"""The codecs release the GIL: a pure-Python thread keeps counting while a big (de)compression runs.

Method: a daemon thread increments a counter in a pure-Python loop. The main thread reads the counter
right before and right after one large C call. If the call held the GIL the counting thread could not run
during it, and the delta would be ~0 (at most a switch interval's worth around the call: the switch
interval is lowered to 0.5 ms to keep that small). A GIL-holding C call (``bytes.translate`` over the same
data) is measured the same way as a control, and stdlib ``zlib`` (which also releases the GIL) as a
reference. The assertions are on counts only. Run with ``-s`` to see the figures.
"""

from __future__ import annotations

import sys
import threading
import zlib
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

from cloudfiles import _brotli, _gzip, _zstd

MiB = 1 << 20
SIZE = 64 * MiB  # >= 32 MiB as required; long enough that each call spans many switch intervals
MIN_PROGRESS = 200_000  # increments the counter must make *during* one codec call


class Counter:
    def __init__(self) -> None:
        self.n = 0
        self.stop = False

    def run(self) -> None:
        while not self.stop:
            self.n += 1


@pytest.fixture(scope="module")
def counter() -> Iterator[Counter]:
    old = sys.getswitchinterval()
    sys.setswitchinterval(0.0005)
    c = Counter()
    t = threading.Thread(target=c.run, daemon=True)
    t.start()
    while c.n < 10_000:  # make sure it is running
        pass
    try:
        yield c
    finally:
        c.stop = True
        t.join()
        sys.setswitchinterval(old)


@pytest.fixture(scope="module")
def data() -> bytes:
    """64 MiB, half text-like and half a sparse array: compresses ~4x, so calls are neither trivial nor slow."""
    rng = np.random.default_rng(1)
    words = [b"cloud", b"files", b"volume", b"segment", b"mesh", b"chunk", b"the", b"of", b"\n", b"42"]
    text = b" ".join(words[i] for i in rng.integers(0, len(words), SIZE // 8))[: SIZE // 2]
    arr = (rng.poisson(3, SIZE // 8).astype(np.uint32) * (rng.random(SIZE // 8) < 0.3)).tobytes()
    out = text + arr
    assert len(out) == SIZE
    return out


def progress_during(counter: Counter, fn: Callable[..., Any], *args: Any) -> int:
    before = counter.n
    fn(*args)
    return counter.n - before


FIGURES: list[str] = []


@pytest.fixture(scope="module", autouse=True)
def _print_figures() -> Iterator[None]:
    yield
    print("\nGIL test: counter increments made by a pure-Python thread during one call on 64 MiB")
    for line in FIGURES:
        print("  " + line)


@pytest.fixture(scope="module")
def control(counter: Counter, data: bytes) -> int:
    """Increments during a C call that holds the GIL for a comparable time."""
    table = bytes(range(255, -1, -1))
    deltas = [progress_during(counter, data.translate, table) for _ in range(3)]
    reference = progress_during(counter, zlib.decompress, zlib.compress(data, 1))
    FIGURES.append(f"control, GIL held (bytes.translate): {max(deltas):>12,}")
    FIGURES.append(f"reference, stdlib zlib.decompress:   {reference:>12,}")
    return max(deltas)


CASES: dict[str, tuple[Any, int]] = {"gzip": (_gzip, 6), "br": (_brotli, 5), "zstd": (_zstd, 3)}


@pytest.mark.parametrize("name", list(CASES))
def test_codec_releases_gil(name: str, counter: Counter, data: bytes, control: int) -> None:
    mod, level = CASES[name]
    packed: list[bytes] = []
    compress_progress = progress_during(counter, lambda: packed.append(mod.compress(data, level)))
    decompress_progress = progress_during(counter, mod.decompress, packed[0])
    d = mod.Decompressor()
    stream_progress = progress_during(counter, d.decompress, packed[0])
    assert mod.decompress(packed[0]) == data
    FIGURES.append(f"{name:5} compress:                     {compress_progress:>12,}")
    FIGURES.append(f"{name:5} decompress:                   {decompress_progress:>12,}")
    FIGURES.append(f"{name:5} Decompressor.decompress:      {stream_progress:>12,}")
    for what, progress in (
        ("compress", compress_progress),
        ("decompress", decompress_progress),
        ("Decompressor.decompress", stream_progress),
    ):
        assert progress >= MIN_PROGRESS, f"{name} {what}: counter advanced only {progress} (GIL held?)"
        assert progress > 4 * control, f"{name} {what}: {progress} vs GIL-holding control {control}"
