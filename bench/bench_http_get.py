"""N x 4 KiB GETs from a local nginx: cloudfiles vs a raw pycurl multi loop vs cloud-files 6.4.3.

    .venv/bin/python bench/bench_http_get.py [--objects 10000] [--size 4096] [--runs 3]

Reports objects/s and client CPU microseconds per object (user+sys of the client process), medians of
``--runs`` runs, each client in its own process, all against the same nginx in the same run.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RAW_LOOP, ROOT, median_runs, peer_python, run_client, table, write_results
from servers import Nginx

OURS = (
    "from cloudfiles import CloudFiles\n"
    "cf = CloudFiles(URL, num_threads=CONC)\n"
    "paths = [f'{i}' for i in range(N)]\n"
)
OURS_BODY = "res = cf.get(paths)\n_check = sum(len(r['content']) for r in res)"

CLOUD_FILES = (
    "from cloudfiles import CloudFiles\n"
    "cf = CloudFiles(URL, num_threads=CONC)\n"
    "paths = [f'{i}' for i in range(N)]\n"
)

# The floor: the least Python a CurlMulti loop can run per request.
RAW_SETUP = RAW_LOOP + """
urls = [f"{URL}/{i}" for i in range(N)]
def _prepare(c, i):
    c.setopt(pycurl.URL, urls[i])
"""
RAW_BODY = "_check = raw_loop(N, _prepare)[1]"
# The same loop holding on to every body, as a client that returns them must: a fresh process pays the
# first touch of that memory (a page fault per 4 KiB page, ~3-4 µs each on the 2-core VM here), which the
# plain floor, reusing one freed buffer after another, never does.
RAW_KEPT_SETUP = RAW_SETUP + """
kept = []
def _prepare_kept(c, i):
    c.setopt(pycurl.URL, urls[i])
    kept.append(c.buf)
"""
RAW_KEPT_BODY = "_check = raw_loop(N, _prepare_kept)[1]"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--objects", type=int, default=10_000)
    ap.add_argument("--size", type=int, default=4096)
    ap.add_argument("--concurrency", type=int, default=20)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--no-peers", action="store_true", help="skip cloud-files (no venv to build)")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        nginx = Nginx(Path(tmp)).start()
        try:
            data_dir = nginx.root / "objs"
            data_dir.mkdir()
            for i in range(args.objects):
                (data_dir / str(i)).write_bytes(os.urandom(args.size))
            url = f"{nginx.url}/objs"
            consts = f"URL = {url!r}; N = {args.objects}; CONC = {args.concurrency}\n"
            expected = args.objects * args.size
            clients: dict[str, tuple[str, str, str]] = {
                "cloudfiles (ours)": (str(ROOT / ".venv" / "bin" / "python"), consts + OURS, OURS_BODY),
                "raw pycurl multi loop": (str(ROOT / ".venv" / "bin" / "python"), consts + RAW_SETUP, RAW_BODY),
            }
            if not args.no_peers:
                peer = peer_python("cloud-files")
                if peer is not None:
                    clients["cloud-files 6.4.3"] = (str(peer), consts + CLOUD_FILES, OURS_BODY)
            results = {}
            for name, (python, setup, body) in clients.items():
                runs = []
                for _ in range(args.runs):
                    r = run_client(python, setup, body)
                    if r["check"] != expected:
                        raise SystemExit(f"{name}: got {r['check']} bytes, expected {expected}")
                    runs.append(r)
                results[name] = median_runs(runs)
        finally:
            nginx.stop()

    ours = results["cloudfiles (ours)"]
    rows = []
    for name, r in results.items():
        rate = args.objects / r["wall"]
        cpu_us = r["cpu"] / args.objects * 1e6
        rows.append([
            name, f"{rate:,.0f}", f"{cpu_us:,.1f}", f"{r['rss'] / 2**20:,.0f}",
            f"{(args.objects / ours['wall']) / rate:.2f}x", f"{r['cpu'] / ours['cpu']:.2f}x",
        ])
    print(f"\n{args.objects:,} x {args.size:,} B GET from nginx, concurrency {args.concurrency}, "
          f"median of {args.runs} runs\n")
    print(table(rows, ["client", "objects/s", "client CPU µs/object", "peak RSS MiB",
                       "ours: speed ratio", "CPU vs ours"]))
    path = write_results("http_get", {"args": vars(args), "results": results})
    print(f"\nresults: {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
