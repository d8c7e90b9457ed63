"""Shared pieces of the benchmarks: peer environments, timed client subprocesses, tables.

Every client runs in its own subprocess and measures itself (wall time and its own user+sys CPU), so
one client's threads or imports never bill another. Figures are medians of repeated runs.
"""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PEERS_VENV = ROOT / "bench" / ".peers"
sys.path.insert(0, str(ROOT / "tests"))

# Never let a credential chain probe a cloud metadata address.
os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
os.environ.setdefault("NO_GCE_CHECK", "True")

PEER_PACKAGES = {"cloud-files": "cloud-files==6.4.3", "obstore": "obstore==0.12.1", "s5cmd": "s5cmd"}


def peer_python(package: str) -> Path | None:
    """A Python with ``package`` installed in a venv of its own (created on first use).

    cloud-files is also imported as ``cloudfiles``, so it cannot share a venv with us.
    """
    venv = PEERS_VENV / package
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        proc = subprocess.run(
            [str(python), "-m", "pip", "install", "-q", PEER_PACKAGES[package]], capture_output=True, text=True
        )
        if proc.returncode != 0:
            print(f"[bench] could not install {package}: {proc.stderr.strip()[-300:]}", file=sys.stderr)
            return None
    return python


# Client code prologue/epilogue: each client script prints one JSON line with its own measurements.
PROLOGUE = """
import json, os, sys, time, resource
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"; os.environ["NO_GCE_CHECK"] = "True"
def _cpu():
    # Children count too: a client that drives a binary (s5cmd) is billed for it.
    r = resource.getrusage(resource.RUSAGE_SELF); k = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime + k.ru_utime + k.ru_stime
"""

# obstore clients: run an async op over ``paths`` (default: the client's global ``paths``), CONC in flight.
OBSTORE_FAN_OUT = """
import asyncio, obstore
def fan_out(fn, paths=None):
    paths = globals()["paths"] if paths is None else paths
    async def main():
        sem = asyncio.Semaphore(CONC)
        async def one(p):
            async with sem:
                return await fn(p)
        return await asyncio.gather(*(one(p) for p in paths))
    return asyncio.run(main())
async def _get(p):
    return len((await obstore.get_async(store, p)).bytes())
"""

# The floor for per-request overhead: the least Python a CurlMulti loop can run per request (reused
# handles, BytesIO sinks, no retries or checks). ``prepare(c, i)`` sets request i's options on handle c.
# Returns (completed requests, body bytes received).
RAW_LOOP = """
import io, pycurl
def raw_loop(n, prepare, upload=False):
    m = pycurl.CurlMulti(); free = []
    for _ in range(CONC):
        c = pycurl.Curl(); c.setopt(pycurl.NOSIGNAL, 1)
        if upload:
            c.setopt(pycurl.UPLOAD, 1)
        free.append(c)
    pending = iter(range(n)); active = 0; more = True; done = 0; nbytes = 0
    while more or active:
        while more and free:
            i = next(pending, None)
            if i is None:
                more = False; break
            c = free.pop(); c.buf = io.BytesIO(); c.setopt(pycurl.WRITEFUNCTION, c.buf.write)
            prepare(c, i)
            m.add_handle(c); active += 1
        while m.perform()[0] == pycurl.E_CALL_MULTI_PERFORM:
            pass
        m.select(1.0)
        while True:
            q, ok, err = m.info_read()
            for c in ok:
                done += 1; nbytes += len(c.buf.getvalue())
            for c in ok + [e[0] for e in err]:
                m.remove_handle(c); free.append(c); active -= 1
            if not q:
                break
    return done, nbytes
"""

TIMED = """
_w0 = time.perf_counter(); _c0 = _cpu()
{body}
_wall = time.perf_counter() - _w0; _cpu_s = _cpu() - _c0
_rss = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) * 1024
print(json.dumps({{"wall": _wall, "cpu": _cpu_s, "rss": _rss, "check": _check}}), flush=True)
# Skip interpreter teardown: the figures are out, and a peer's runtime threads (obstore's HTTPStore) can
# abort at exit.
os._exit(0)
"""


def run_client(python: str | Path, setup: str, body: str, env: dict[str, str] | None = None) -> dict[str, float]:
    """Run ``setup`` untimed then ``body`` timed in a fresh interpreter; ``body`` must set ``_check``.

    Besides the client's own figures, ``threads`` is the most OS threads the process had at once (sampled
    from /proc every 5 ms over its whole life, setup included: an upper bound for the timed part).
    """
    code = PROLOGUE + setup + TIMED.format(body=body)
    # Run from a neutral directory: `python -c` puts the cwd first on sys.path, and cloud-files is
    # also named `cloudfiles`, so running from the repo would import our package into the peer.
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(
            [str(python), "-c", code], stdout=out, stderr=err, text=True, env={**os.environ, **(env or {})},
            cwd=tempfile.gettempdir(),
        )
        threads = _peak_threads(proc, timeout=900)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if proc.returncode != 0:
        raise RuntimeError(f"client failed ({proc.returncode}):\n{stderr[-2000:]}\n{stdout[-500:]}")
    result = dict(json.loads(stdout.strip().splitlines()[-1]))
    result["threads"] = threads
    return result


def _peak_threads(proc: subprocess.Popen[str], timeout: float) -> int:
    """Wait for ``proc``; return the most threads it had at once (0 where /proc is unavailable)."""
    tasks = Path(f"/proc/{proc.pid}/task")
    deadline = time.monotonic() + timeout
    peak = 0
    while proc.poll() is None:
        if time.monotonic() > deadline:
            proc.kill()
            proc.wait()
            raise subprocess.TimeoutExpired(proc.args, timeout)
        with contextlib.suppress(OSError):  # exited between poll() and here
            peak = max(peak, sum(1 for _ in tasks.iterdir()))
        time.sleep(0.005)
    return peak


def median_runs(runs: list[dict[str, float]]) -> dict[str, float]:
    return {key: statistics.median(r[key] for r in runs) for key in ("wall", "cpu", "rss")}


def table(rows: list[list[str]], header: list[str]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def write_results(name: str, payload: object) -> Path:
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}.json"
    path.write_text(json.dumps(payload, indent=2))
    return path
