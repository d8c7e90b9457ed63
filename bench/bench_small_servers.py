"""The contract's basic operations against gcp-storage-emulator *as shipped*: cloudfiles vs cloud-files 6.4.3.

    .venv/bin/python bench/bench_small_servers.py [--objects 300] [--size 1024] [--peer PYTHON] [--no-peers]

The emulator is started with its own CLI (``gcp-storage-emulator start --in-memory``), with no wrapper:
one thread, a listen backlog of 5, HTTP/1.0. This is what a new user tests against (issue 16). Each
client gets a fresh emulator and runs, with default settings (``num_threads=20``), puts / get / exists /
size / list / delete of ``--objects`` keys, each checked for correctness, and prints its wall time per
operation. The peer is cloud-files 6.4.3: ``--peer`` names its Python (default: the reference venv
``/work/oracle/venv-cf``, else a venv built under ``bench/.peers``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, peer_python, table
from small_servers import StockEmulator

BUCKET = "small"
ORACLE = Path("/work/oracle/venv-cf/bin/python")

# Run in the client's interpreter: the same calls for both libraries (the cloud-files API).
CLIENT = """
import json, os, sys, time
from cloudfiles import CloudFiles
N, SIZE = int(sys.argv[1]), int(sys.argv[2])
cf = CloudFiles("gs://{bucket}/batch")
paths = [f"k/{{i}}" for i in range(N)]
payload = {{p: os.urandom(SIZE) for p in paths}}
times, errors = {{}}, []
def timed(op, fn):
    t0 = time.perf_counter()
    try:
        out = fn()
    except Exception as exc:
        errors.append(f"{{op}}: {{type(exc).__name__}}: {{exc}}")
        out = None
    times[op] = time.perf_counter() - t0
    return out
timed("puts", lambda: cf.puts([(p, payload[p]) for p in paths], compress=None))
got = timed("get", lambda: cf.get(paths)) or []
ok = sum(r["content"] == payload[r["path"]] and r["error"] is None for r in got)
if ok != N: errors.append(f"get: {{ok}}/{{N}} correct")
ex = timed("exists", lambda: cf.exists(paths)) or {{}}
if sum(map(bool, ex.values())) != N: errors.append(f"exists: {{sum(map(bool, ex.values()))}}/{{N}}")
sz = timed("size", lambda: cf.size(paths)) or {{}}
if sum(v == SIZE for v in sz.values()) != N: errors.append(f"size: {{sum(v == SIZE for v in sz.values())}}/{{N}}")
ls = timed("list", lambda: sorted(cf.list(prefix="k/"))) or []
if ls != sorted(paths): errors.append(f"list: {{len(ls)}} names")
timed("delete", lambda: cf.delete(paths))
left = timed("exists after delete", lambda: cf.exists(paths)) or {{}}
if any(left.values()): errors.append(f"delete: {{sum(map(bool, left.values()))}} left")
print(json.dumps({{"times": times, "errors": errors}}), flush=True)
os._exit(0)
"""


def run(python: str, objects: int, size: int, home: str) -> dict[str, object]:
    """One client's run against a fresh stock emulator: ``{"times": {op: s}, "errors": [...], "total": s}``."""
    with StockEmulator(BUCKET) as emulator:
        # No cloud metadata probes (common sets them in os.environ) and no secrets from the real home.
        env = dict(os.environ, STORAGE_EMULATOR_HOST=emulator.url, CLOUD_FILES_DIR=os.path.join(home, "cf"),
                   CLOUD_VOLUME_DIR=os.path.join(home, "cv"))
        t0 = time.perf_counter()
        # From a neutral directory: cloud-files is also named `cloudfiles`.
        proc = subprocess.run(
            [python, "-c", CLIENT.format(bucket=BUCKET), str(objects), str(size)],
            capture_output=True, text=True, env=env, cwd=tempfile.gettempdir(), timeout=1800,
        )
        total = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"client failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    result: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])
    result["total"] = total
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--objects", type=int, default=300)
    ap.add_argument("--size", type=int, default=1024)
    ap.add_argument("--peer", help="the Python of a cloud-files 6.4.3 install")
    ap.add_argument("--no-peers", action="store_true")
    args = ap.parse_args()

    clients = {"cloudfiles (ours)": str(ROOT / ".venv" / "bin" / "python")}
    if not args.no_peers:
        peer = args.peer or (str(ORACLE) if ORACLE.exists() else None)
        if peer is None:
            built = peer_python("cloud-files")
            peer = str(built) if built is not None else None
        if peer is not None:
            clients["cloud-files 6.4.3"] = peer

    rows = []
    with tempfile.TemporaryDirectory() as home:
        for name, python in clients.items():
            r = run(python, args.objects, args.size, home)
            times: dict[str, float] = r["times"]  # type: ignore[assignment]
            errors: list[str] = r["errors"]  # type: ignore[assignment]
            ops = " ".join(f"{op} {s:.2f}" for op, s in times.items())
            rows.append([name, f"{sum(times.values()):.2f}", ops, "; ".join(errors)[:300] or "all correct"])
    print(f"\n{args.objects} x {args.size} B on gs://, gcp-storage-emulator as shipped (CLI, in memory), "
          "default settings\n")
    print(table(rows, ["client", "wall s (all ops)", "per operation, s", "check"]))


if __name__ == "__main__":
    main()
