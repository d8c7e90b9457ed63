"""Codec throughput per CPU-second: cloudfiles' native codecs against the usual Python ones.

    .venv/bin/python bench/bench_codecs.py [--mib 64] [--runs 5]

Every row decodes (or encodes) the *same* bytes with both implementations and reports MB of
uncompressed data per CPU-second (``time.process_time()``, so waiting and other processes do not
count), the median of ``--runs`` runs. References: stdlib ``zlib`` (gzip wrapper, wbits=31) for gzip,
the PyPI ``zstandard`` and ``brotli`` packages for zstd and brotli. Targets: gzip decode >= 2.5x,
everything else >= 1.0x. Prints a markdown table.
"""

from __future__ import annotations

import argparse
import functools
import statistics
import time
import zlib
from collections.abc import Callable

import brotli
import numpy as np
import zstandard

from cloudfiles import _brotli, _gzip, _zstd


def text_words(size: int, rng: np.random.Generator) -> bytes:
    """English-like text: a Zipf-distributed vocabulary, spaces, punctuation and line breaks."""
    vocab = [bytes(rng.integers(97, 123, int(n)).astype(np.uint8)) for n in rng.integers(1, 12, 20000)]
    seps = [b" "] * 12 + [b", ", b". ", b".\n", b"\n"]
    ids = rng.zipf(1.25, size // 4) % len(vocab)
    sep_ids = rng.integers(0, len(seps), size // 4)
    out = b"".join(vocab[i] + seps[s] for i, s in zip(ids, sep_ids, strict=True))
    while len(out) < size:
        out += out
    return out[:size]


def text_jsonl(size: int, rng: np.random.Generator) -> bytes:
    """JSON lines, like a manifest or log: repeated keys, varying numbers and paths."""
    n = size // 80 + 1
    ids = rng.integers(0, 10**7, n)
    xs, ys, zs = (rng.integers(0, 4096, n) for _ in range(3))
    status = [b"ok", b"missing", b"pending", b"error"]
    lines = [
        b'{"id": %d, "path": "gs://bucket/seg/%d_%d_%d", "status": "%s", "bytes": %d}\n'
        % (ids[i], xs[i], ys[i], zs[i], status[ids[i] % 4], ids[i] * 7 % 99991)
        for i in range(n)
    ]
    return b"".join(lines)[:size]


def numpy_sparse(size: int, rng: np.random.Generator) -> bytes:
    """A sparse uint32 array: ~70% zeros, small counts elsewhere."""
    n = size // 4
    arr = rng.poisson(3, n).astype(np.uint32) * (rng.random(n) < 0.3)
    return arr.tobytes()


def numpy_labels(size: int, rng: np.random.Generator) -> bytes:
    """A uint64 segmentation-like volume: runs of the same large label, with some noise."""
    n = size // 8
    runs = rng.integers(1, 200, n // 50)
    labels = np.repeat(rng.integers(1, 2**40, len(runs), dtype=np.uint64), runs)[:n]
    labels = np.pad(labels, (0, n - len(labels)))
    flip = rng.random(n) < 0.01
    labels[flip] = rng.integers(1, 2**40, int(flip.sum()), dtype=np.uint64)
    return labels.tobytes()


def cpu_seconds(fn: Callable[[bytes], object], arg: bytes, runs: int) -> float:
    fn(arg)  # warm up (allocator, context pools)
    times = []
    for _ in range(runs):
        t0 = time.process_time()
        fn(arg)
        times.append(time.process_time() - t0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mib", type=int, default=64, help="uncompressed size of each data set (MiB)")
    parser.add_argument("--runs", type=int, default=5, help="timed runs per measurement (median)")
    args = parser.parse_args()
    size = args.mib << 20
    rng = np.random.default_rng(20240601)
    datasets = {
        "text (words)": text_words(size, rng),
        "text (jsonl)": text_jsonl(size, rng),
        "numpy (sparse u32)": numpy_sparse(size, rng),
        "numpy (labels u64)": numpy_labels(size, rng),
    }
    zd = zstandard.ZstdDecompressor()
    zc = zstandard.ZstdCompressor(level=3)
    rows: list[tuple[str, str, str, float, float, str]] = []

    def row(codec: str, op: str, name: str, ours: Callable[[bytes], object], ref: Callable[[bytes], object],
            arg: bytes, ref_name: str, n: int, target: str) -> None:
        t_ours = cpu_seconds(ours, arg, args.runs)
        t_ref = cpu_seconds(ref, arg, args.runs)
        rows.append((f"{codec} {op}", name, ref_name, n / t_ours / 1e6, n / t_ref / 1e6, target))
        print(f"  {codec} {op:6} {name:20} ours {n / t_ours / 1e6:8.0f}  {ref_name} {n / t_ref / 1e6:8.0f}"
              f"  x{t_ref / t_ours:.2f}", flush=True)

    for name, data in datasets.items():
        n = len(data)
        gz = _gzip.compress(data)  # what cloudfiles stores by default (level 9)
        assert zlib.decompress(gz, 31) == data and _gzip.decompress(gz) == data
        row("gzip", "decode", name, _gzip.decompress, functools.partial(zlib.decompress, wbits=31), gz,
            "zlib", n, ">= 2.5x")
        zs = _zstd.compress(data)
        assert zd.decompress(zs) == data
        row("zstd", "decode", name, _zstd.decompress, zd.decompress, zs, "zstandard", n, ">= 1.0x")
        row("zstd", "encode", name, _zstd.compress, zc.compress, data, "zstandard", n, ">= 1.0x")
        br = _brotli.compress(data)
        assert brotli.decompress(br) == data
        row("br", "decode", name, _brotli.decompress, brotli.decompress, br, "brotli", n, ">= 1.0x")
        row("br", "encode", name, functools.partial(_brotli.compress, level=5),
            functools.partial(brotli.compress, quality=5), data, "brotli", n, ">= 1.0x")

    print()
    print(f"{args.mib} MiB per data set, median of {args.runs} runs, MB of uncompressed data per CPU-second "
          f"(libdeflate {_gzip.LIBDEFLATE_VERSION}, zlib {_gzip.ZLIB_VERSION}, libzstd {_zstd.ZSTD_VERSION}, "
          f"libbrotli {_brotli.BROTLI_VERSION}; zstandard {zstandard.__version__}, brotli {brotli.__version__}); "
          "levels: gzip 9, zstd 3, brotli 5")
    print()
    print("| codec / op | data | reference | ours MB/CPU-s | reference MB/CPU-s | ratio | target |")
    print("|---|---|---|---:|---:|---:|---|")
    for op, name, ref_name, ours, ref, target in sorted(rows, key=lambda r: r[0]):
        print(f"| {op} | {name} | {ref_name} | {ours:,.0f} | {ref:,.0f} | {ours / ref:.2f}x | {target} |")


if __name__ == "__main__":
    main()
