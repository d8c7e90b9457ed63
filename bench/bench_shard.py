"""The sharded range-read case at several coalescing gaps (issue 15), obstore's get_ranges beside it.

    .venv/bin/python bench/bench_shard.py [--gaps 0,4096,...] [--runs 3] [--files 20] [--mib 64]

One SeaweedFS, the shards uploaded once; then per run, every client in a fresh process in turn (ours
once per gap, via ``CLOUDFILES_COALESCE_GAP``), the same 10,000 random 1-4 KiB ranges as
``bench/suite.py --only shard``. Reports medians: ranges/s, client CPU-µs per range, server CPU-µs per
range, and what the planner makes of the ranges at that gap (requests sent, MB moved).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_s3
from common import ROOT, peer_python, run_client, table
from suite import OBSTORE_RANGES, SHARD_RANGES, _cpu_of

from cloudfiles.coalesce import MAX_SIZE, plan_ranges

OURS_SETUP = """
from cloudfiles import CloudFiles
cf = CloudFiles(f"s3://{ENDPOINT}/{BUCKET}/{PREFIX}", secrets={"AWS_ACCESS_KEY_ID": AK,
                "AWS_SECRET_ACCESS_KEY": SK}, num_threads=CONC)
""" + SHARD_RANGES + "items = [{'path': p, 'start': s, 'end': e} for p, s, e in RANGES]\n"
OURS_BODY = "_check = sum(len(r['content']) for r in cf.get(items))"


def plan_figures(consts: str, gap: int, cap: int) -> tuple[int, int]:
    """(requests, bytes moved) the planner makes of the case's ranges at ``gap`` and ``cap``."""
    ns: dict[str, Any] = {}
    exec(consts + SHARD_RANGES, ns)  # noqa: S102 - our own constant snippets
    by_path: dict[str, list[tuple[int, int]]] = {}
    for p, s, e in ns["RANGES"]:
        by_path.setdefault(p, []).append((s, e))
    spans = [sp for rs in by_path.values() for sp in plan_ranges(rs, max_gap=gap, max_size=cap)]
    return len(spans), sum(sp.end - sp.start for sp in spans)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gaps", default="0,4096,16384,65536,262144,1048576")
    ap.add_argument("--max-sizes", default=str(MAX_SIZE), help="largest merged request(s), bytes")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--files", type=int, default=20)
    ap.add_argument("--mib", type=int, default=64)
    ap.add_argument("--ranges", type=int, default=10_000)
    ap.add_argument("--no-peers", action="store_true")
    args = ap.parse_args()
    from seaweed import SeaweedFS

    gaps = [int(g) for g in args.gaps.split(",")]
    caps = [int(c) for c in args.max_sizes.split(",")]
    ours = str(ROOT / ".venv" / "bin" / "python")
    obstore = None if args.no_peers else peer_python("obstore")
    samples: dict[str, list[dict[str, float]]] = {}
    with SeaweedFS() as weed:
        weed.create_bucket("bench")
        weed.warm_bucket("bench")
        consts = (f"ENDPOINT = {weed.endpoint!r}; BUCKET = 'bench'; AK = {weed.access_key!r}; "
                  f"SK = {weed.secret_key!r}; PREFIX = 'shards'; N = {args.ranges}; CONC = 20; "
                  f"NFILES = {args.files}; SHARD = {args.mib << 20}\n")
        from cloudfiles import CloudFiles

        cf = CloudFiles(f"s3://{weed.endpoint}/bench/shards", secrets=weed.secrets)
        for i in range(args.files):
            cf.put(f"{i}", os.urandom(args.mib << 20), compress=None, raw=True)
        # MAX_SIZE is not a public knob: set for the run through coalesced_gets' keyword default.
        clients: list[tuple[str, str, str, str, dict[str, str]]] = [
            (f"ours gap={g} max={c}", ours,
             f"import cloudfiles.coalesce as _co; _co.coalesced_gets.__kwdefaults__['max_size'] = {c}\n" + OURS_SETUP,
             OURS_BODY, {"CLOUDFILES_COALESCE_GAP": str(g)}) for g in gaps for c in caps
        ]
        if obstore is not None:
            clients.append(("obstore get_ranges", str(obstore), bench_s3.OBSTORE_SETUP + SHARD_RANGES,
                            OBSTORE_RANGES, {}))
        pids = lambda: [weed.proc.pid] if weed.proc else []  # noqa: E731
        for _ in range(args.runs):
            for name, python, setup, body, env in clients:
                before = _cpu_of(pids())
                r = run_client(python, consts + setup, body, env=env)
                r["server"] = _cpu_of(pids()) - before
                samples.setdefault(name, []).append(r)
                print(f"  {name:<32} {args.ranges / r['wall']:>8,.0f} ranges/s {r['cpu'] / args.ranges * 1e6:>7.1f} "
                      f"µs/range", flush=True)
    rows = []
    n = args.ranges
    for name, rs in samples.items():
        wall = statistics.median(r["wall"] for r in rs)
        cpu = statistics.median(r["cpu"] for r in rs)
        server = statistics.median(r["server"] for r in rs)
        if name.startswith("ours"):
            gap, cap = (int(w.split("=")[1]) for w in name.split()[1:])
            reqs, moved = plan_figures(consts, gap, cap)
        else:  # obstore: object_store's coalesce_ranges merges gaps up to 1 MiB, with no size cap
            reqs, moved = plan_figures(consts, 1 << 20, 1 << 62)
        rows.append([name, f"{n / wall:,.0f}", f"{cpu / n * 1e6:.1f}", f"{server / n * 1e6:.1f}", f"{reqs:,}",
                     f"{moved / 1e6:,.0f}"])
    print(f"\nmedians of {args.runs} runs, {n:,} ranges over {args.files} x {args.mib} MiB")
    print(table(rows, ["client", "ranges/s", "client CPU µs/range", "server CPU µs/range", "requests (plan)",
                       "MB moved (plan)"]))


if __name__ == "__main__":
    main()
