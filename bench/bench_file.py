"""file:// 10k x 4 KiB puts and gets: ours per fsync policy and writer-thread count, cloud-files beside.

    .venv/bin/python bench/bench_file.py [--runs 5] [--objects 10000] [--threads 1,2,4,8] [--fsync batch,none]

Every client runs in a fresh process (``common.run_client``), the clients alternating within each run,
each into a fresh directory of one temp root (``--root``, default the system temp dir: the disk the
suite's file case uses). Ours is run once per (fsync policy, writer threads); ``num_threads=k`` caps
the writer threads at ``min(k, MAX_WRITERS)``. Medians of ``--runs``: objects/s and client CPU-µs per
object; the disk's writeback is not billed to anyone, which is why objects/s is the figure to trust.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, peer_python, run_client, table

SETUP = """
from cloudfiles import CloudFiles
cf = CloudFiles(f'file://{ROOTDIR}/{PREFIX}'{KW})
paths = [f'{i}' for i in range(N)]
files = [(p, os.urandom(4096)) for p in paths]
"""
PUT = "_check = cf.puts(files)"
GET = "_check = sum(len(r['content']) for r in cf.get(paths))"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--objects", type=int, default=10_000)
    ap.add_argument("--threads", default="8")
    ap.add_argument("--fsync", default="batch,none")
    ap.add_argument("--root", default=tempfile.gettempdir())
    ap.add_argument("--no-peers", action="store_true")
    ap.add_argument("--get", action="store_true", help="also time gets of what each client wrote")
    args = ap.parse_args()
    n = args.objects
    ours = str(ROOT / ".venv" / "bin" / "python")
    clients = [(f"ours fsync={p} threads={t}", ours, f", fsync={p!r}, num_threads={t}")
               for p in args.fsync.split(",") for t in args.threads.split(",")]
    peer = None if args.no_peers else peer_python("cloud-files")
    if peer is not None:
        clients.append(("cloud-files 6.4.3", str(peer), ""))
    samples: dict[tuple[str, str], list[dict[str, float]]] = {}
    root = Path(tempfile.mkdtemp(prefix="bench-file-", dir=args.root))
    try:
        for _ in range(args.runs):
            for name, python, kw in clients:
                prefix = f"r{uuid.uuid4().hex[:10]}"
                setup = f"ROOTDIR = {str(root)!r}; PREFIX = {prefix!r}; N = {n}\n" + SETUP.replace("{KW}", kw)
                ops = [("put", PUT)] + ([("get", GET)] if args.get else [])
                for op, body in ops:
                    r = run_client(python, setup, body)
                    samples.setdefault((name, op), []).append(r)
                    print(f"  {name:<28} {op:<4} {n / r['wall']:>9,.0f} obj/s {r['cpu'] / n * 1e6:>7.1f} µs/obj",
                          flush=True)
                shutil.rmtree(root / prefix, ignore_errors=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    rows = []
    cf = {op: statistics.median(n / r["wall"] for r in samples[("cloud-files 6.4.3", op)])
          for op in ("put", "get") if ("cloud-files 6.4.3", op) in samples}
    for (name, op), rs in samples.items():
        obj_s = statistics.median(n / r["wall"] for r in rs)
        cpu = statistics.median(r["cpu"] for r in rs) / n * 1e6
        ratio = f"{obj_s / cf[op]:.2f}x" if op in cf else "-"
        rows.append([name, op, f"{obj_s:,.0f}", f"{cpu:.1f}", ratio])
    print(f"\nmedians of {args.runs} runs, {n:,} x 4 KiB under {args.root}")
    print(table(rows, ["client", "op", "obj/s", "client CPU µs/obj", "vs cloud-files obj/s"]))


if __name__ == "__main__":
    main()
