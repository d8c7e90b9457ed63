"""The benchmark suite of issue 8: every case, every client, one run, one table (``ci/bench.sh``).

    .venv/bin/python bench/suite.py [--runs 3] [--huge] [--only s3,nginx,...] [--smoke]

Starts its own servers on 127.0.0.1 (nginx, SeaweedFS with signatures checked, the GCS emulator, a
userspace latency proxy, plus file://), runs each client in a fresh process per (case, operation, run)
(``common.run_client``: setup untimed, the operation timed, the process measures its own user+sys CPU
and peak RSS), samples the server processes' CPU around each run, and writes medians of ``--runs`` runs
to ``bench/results/suite.{md,json,png}``.

Slow peers (cloud-files, s5cmd) run the 10k cases on ``--peer-objects`` objects (the compressed cases on
``--peer-compressed-objects``): per-object figures compare, and the table says how many objects each
client moved. The latency proxy (``latency_proxy.py``) reports its CPU as server CPU. ``--smoke`` shrinks everything to seconds, to
prove the suite runs (tests/bench); its figures mean nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_gcs
import bench_http_get
import bench_s3
from common import OBSTORE_FAN_OUT, ROOT, peer_python, run_client, table

from cloudfiles.codecpool import num_workers

OURS = "cloudfiles (ours)"
CLOUD_FILES = "cloud-files 6.4.3"
OBSTORE = "obstore 0.12.1"
S5CMD = "s5cmd"
RAW = "raw pycurl loop"
RAW_KEPT = "raw pycurl loop, bodies kept"

# -- client programs: snippets run by common.run_client; constants are prepended per run -------------
HTTP_OBSTORE = OBSTORE_FAN_OUT + """
from obstore.store import HTTPStore
store = HTTPStore.from_url(URL, client_options={"allow_http": True})
paths = [f"{i}" for i in range(N)]
"""
CF_HTTP = "from cloudfiles import CloudFiles\ncf = CloudFiles(URL, num_threads=CONC)\npaths = [f'{i}' for i in range(N)]\n"
GET_ALL = "_check = sum(len(r['content']) for r in cf.get(paths))"

# Compressible 64 KiB objects: JSON-ish text, different per object (gzip ratio ~2.5-3x).
COMPRESSIBLE = """
import random
def _obj(i):
    rnd = random.Random(i)
    out = json.dumps([{"id": rnd.randrange(10**6), "v": rnd.random(), "tag": rnd.choice("abcdefgh") * 3}
                      for _ in range(SIZE // 40)]).encode()
    return out[:SIZE].ljust(SIZE, b" ")
"""
S3_CF = bench_s3.CLOUDFILES_SETUP
S5CMD_SETUP = """
import subprocess, tempfile, glob
S5 = os.path.join(os.path.dirname(sys.executable), "s5cmd")
env = {**os.environ, "AWS_ACCESS_KEY_ID": AK, "AWS_SECRET_ACCESS_KEY": SK, "AWS_REGION": "us-east-1"}
def s5(*args):
    subprocess.run([S5, "--endpoint-url", ENDPOINT, "--numworkers", str(CONC), *args], env=env, check=True,
                   stdout=subprocess.DEVNULL)
work = tempfile.mkdtemp()
"""
S5CMD_PREP = {
    "put": "for i in range(N):\n    open(os.path.join(work, str(i)), 'wb').write(os.urandom(SIZE))\n",
}
S5CMD_BODY = {
    "put": "s5('cp', work + '/*', f's3://{BUCKET}/{PREFIX}/'); _check = N",
    "get": "s5('cp', f's3://{BUCKET}/{PREFIX}/*', work + '/'); _check = sum(os.path.getsize(f) for f in glob.glob(work + '/*'))",
    "delete": "s5('rm', f's3://{BUCKET}/{PREFIX}/*'); _check = N",
}


# GIL contention (issue 15): a second Python thread of the client process spins in pure Python from just
# before the timed part to the process's end, so every callback that re-takes the GIL may have to wait
# for it (up to sys.getswitchinterval(), 5 ms, each time). The "+spin" op is the same body with it running.
GIL_SPIN = "+spin"
GIL_SPINNER = """
import threading
def _spinner():
    x = 0
    while True:
        x = (x * 1103515245 + 12345) & 0xFFFFFFFF
threading.Thread(target=_spinner, daemon=True).start()
time.sleep(0.05)
"""


# Sharded reads: N random 1-4 KiB ranges over NFILES objects of SHARD bytes (the same ranges for every
# client: a fixed seed). obstore asks get_ranges per object, the objects concurrently.
SHARD_RANGES = """
import random
_rnd = random.Random(15)
RANGES = []
for _ in range(N):
    _n = _rnd.randrange(1024, 4097)
    _s = _rnd.randrange(0, SHARD - _n)
    RANGES.append((str(_rnd.randrange(NFILES)), _s, _s + _n))
"""
OBSTORE_RANGES = """
_by = {}
for _p, _s, _e in RANGES:
    _st, _en = _by.setdefault(f"{PREFIX}/{_p}", ([], []))
    _st.append(_s)
    _en.append(_e)
async def _ranges():
    got = await asyncio.gather(*(obstore.get_ranges_async(store, p, starts=st, ends=en) for p, (st, en) in _by.items()))
    return sum(len(b) for bufs in got for b in bufs)
_check = asyncio.run(_ranges())
"""


def _shard_bytes(n: int, nfiles: int, shard: int) -> int:
    """Bytes the sharded-read case returns (what SHARD_RANGES draws)."""
    ns: dict[str, Any] = {"N": n, "NFILES": nfiles, "SHARD": shard}
    exec(SHARD_RANGES, ns)  # noqa: S102 - our own constant snippet
    return sum(e - s for _, s, e in ns["RANGES"])


@dataclass
class Client:
    """One client of one case: its interpreter, setup code, per-operation prep and timed body."""

    name: str
    python: str
    setup: str
    bodies: dict[str, str]
    prep: dict[str, str] = field(default_factory=dict)
    n: int | None = None  # objects this client moves (None: the case's count)
    env: dict[str, str] = field(default_factory=dict)


@dataclass
class Case:
    """One benchmark case: a target, its operations (run in order each round) and its clients."""

    name: str
    target: str
    ops: tuple[str, ...]
    n: int
    size: int
    conc: int
    clients: list[Client]
    consts: Callable[[str], str]  # prefix -> constant definitions for the client code
    server_pids: Callable[[], list[int]]
    expected: Callable[[str, int], int | None]  # (op, n) -> the check value, None: not checked
    big: bool = False  # report MB/s and MB per CPU-second


def _cpu_of(pids: list[int]) -> float:
    import psutil

    total = 0.0
    for pid in pids:
        try:
            proc = psutil.Process(pid)
            procs = [proc, *proc.children(recursive=True)]
        except psutil.Error:
            continue
        for p in procs:
            try:
                t = p.cpu_times()
                total += t.user + t.system
            except psutil.Error:
                pass
    return total


# Timed body prologue: the client also reports the RSS it had before the timed part (growth = peak - this).
RSS_PROBE = "_rss0 = int(open('/proc/self/statm').read().split()[1]) * os.sysconf('SC_PAGE_SIZE')\n"


def run_case(case: Case, runs: int, log: Callable[[str], None]) -> dict[str, Any]:
    """Every (op, client) of ``case``, ``runs`` rounds; medians per (op, client)."""
    samples: dict[str, dict[str, list[dict[str, float]]]] = {op: {} for op in case.ops}
    for _ in range(runs):
        for client in case.clients:
            prefix = f"r{uuid.uuid4().hex[:10]}"
            n = client.n or case.n
            consts = case.consts(prefix).replace(f"N = {case.n};", f"N = {n};")
            for op in case.ops:
                if op not in client.bodies:
                    continue
                before = _cpu_of(case.server_pids())
                body = client.bodies[op]
                log(f"    [{case.name} {op} {client.name}]")
                r = run_client(
                    client.python, consts + client.setup + client.prep.get(op, "") + RSS_PROBE,
                    body + "\n_check = (_check, _rss0)", env=client.env,
                )
                server = _cpu_of(case.server_pids()) - before
                check, rss0 = r["check"]  # type: ignore[misc]
                want = case.expected(op, n)
                if want is not None and check != want:
                    raise SystemExit(f"{case.name} {op} {client.name}: check {check} != {want}")
                samples[op].setdefault(client.name, []).append(
                    {**r, "check": check, "rss0": rss0, "server_cpu": server, "n": n}
                )
    out: dict[str, Any] = {}
    for op, per_client in samples.items():
        out[op] = {}
        for name, rs in per_client.items():
            med = {k: statistics.median(float(r[k]) for r in rs) for k in ("wall", "cpu", "rss", "rss0", "server_cpu")}
            n = int(rs[0]["n"])
            med["threads"] = max(int(r.get("threads", 0)) for r in rs)
            med.update(
                n=n, runs=len(rs), obj_s=n / med["wall"], cpu_us=med["cpu"] / n * 1e6,
                mb_s=n * case.size / med["wall"] / 1e6, mb_per_cpu_s=n * case.size / 1e6 / max(med["cpu"], 1e-9),
                server_cpu_us=med["server_cpu"] / n * 1e6,
            )
            out[op][name] = med
            log(f"  {case.name:<28} {op:<8} {name:<20} {med['obj_s']:>10,.0f} obj/s {med['cpu_us']:>9,.1f} µs/obj"
                + (f" {med['mb_s']:>8,.0f} MB/s" if case.big else ""))
    return out


# -- servers -----------------------------------------------------------------------------------------
@contextmanager
def nginx_server(tmp: Path) -> Iterator[Any]:
    from servers import Nginx

    server = Nginx(tmp / "nginx").start()
    try:
        yield server
    finally:
        server.stop()


def nginx_pids(server: Any) -> list[int]:
    try:
        return [int((server.prefix / "nginx.pid").read_text().strip())]
    except (OSError, ValueError):
        return []


@contextmanager
def latency_proxy(upstream_port: int, delay: float) -> Iterator[tuple[int, int]]:
    proc = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("latency_proxy.py")), "--upstream",
         f"127.0.0.1:{upstream_port}", "--delay", str(delay)], stdout=subprocess.PIPE, text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line.startswith("READY "):
            raise RuntimeError(f"latency proxy did not start: {line!r}")
        yield int(line.split()[1]), proc.pid
    finally:
        proc.terminate()
        proc.wait(timeout=10)


# -- the cases ---------------------------------------------------------------------------------------
def build_and_run(args: argparse.Namespace, log: Callable[[str], None]) -> dict[str, Any]:
    from gcs_emulator import GCSEmulator
    from seaweed import SeaweedFS

    ours = str(ROOT / ".venv" / "bin" / "python")
    peers: dict[str, str] = {}
    if not args.no_peers:
        for pkg in ("cloud-files", "obstore", "s5cmd"):
            p = peer_python(pkg)
            if p is not None:
                peers[pkg] = str(p)
    cfp, obp, s5p = peers.get("cloud-files"), peers.get("obstore"), peers.get("s5cmd")
    small_n, peer_n = args.objects, min(args.objects, args.peer_objects)
    results: dict[str, Any] = {}
    only = set(args.only.split(",")) if args.only else None

    def want(name: str) -> bool:
        return only is None or any(name.startswith(o) for o in only)

    with tempfile.TemporaryDirectory() as tmpdir, ExitStack() as stack:
        tmp = Path(tmpdir)
        nginx = stack.enter_context(nginx_server(tmp))
        weed = stack.enter_context(SeaweedFS())
        weed.create_bucket("bench")
        weed.warm_bucket("bench")
        s3_consts_base = (
            f"ENDPOINT = {weed.endpoint!r}; BUCKET = 'bench'; AK = {weed.access_key!r}; SK = {weed.secret_key!r}; "
        )

        def s3_consts(n: int, size: int, conc: int) -> Callable[[str], str]:
            return lambda prefix: (
                s3_consts_base + f"PREFIX = {prefix!r}; N = {n}; SIZE = {size}; CONC = {conc}\n"
            )

        weed_pids = lambda: [weed.proc.pid] if weed.proc else []  # noqa: E731

        # 1. 10k x 4 KiB put/get/exists/list/delete on S3 (SeaweedFS)
        if want("s3"):
            clients = [
                Client(OURS, ours, S3_CF, bench_s3.CLOUDFILES_BODY, bench_s3.CLOUDFILES_OPS),
                Client(RAW, ours, bench_s3.RAW_SETUP, bench_s3.RAW_BODY),
            ]
            if cfp:
                clients.append(Client(CLOUD_FILES, cfp, S3_CF, bench_s3.CLOUDFILES_BODY, bench_s3.CLOUDFILES_OPS, n=peer_n))
            if obp:
                clients.append(Client(OBSTORE, obp, bench_s3.OBSTORE_SETUP, bench_s3.OBSTORE_BODY, bench_s3.OBSTORE_OPS))
            if s5p:
                clients.append(Client(S5CMD, s5p, S5CMD_SETUP, S5CMD_BODY, S5CMD_PREP, n=peer_n))
            case = Case("s3 10k x 4 KiB", "SeaweedFS", bench_s3.OPS, small_n, 4096, 20, clients,
                        s3_consts(small_n, 4096, 20), weed_pids, lambda op, n: bench_s3.expected(op, n, 4096))
            results[case.name] = {"case": case_meta(case), "ops": run_case(case, args.runs, log)}

        # 2. 10k x 4 KiB GET from nginx (+ the raw pycurl floor)
        objs = nginx.root / "objs"
        if want("nginx") or want("latency"):
            objs.mkdir(exist_ok=True)
            for i in range(small_n):
                (objs / str(i)).write_bytes(os.urandom(4096))
        if want("nginx"):
            url = f"{nginx.url}/objs"
            consts = lambda prefix, url=url: f"URL = {url!r}; N = {small_n}; CONC = 20\n"  # noqa: E731
            clients = [
                Client(OURS, ours, CF_HTTP, {"get": GET_ALL}),
                Client(RAW, ours, bench_http_get.RAW_SETUP, {"get": bench_http_get.RAW_BODY}),
                Client(RAW_KEPT, ours, bench_http_get.RAW_KEPT_SETUP, {"get": bench_http_get.RAW_KEPT_BODY}),
            ]
            if cfp:
                clients.append(Client(CLOUD_FILES, cfp, CF_HTTP, {"get": GET_ALL}, n=peer_n))
            if obp:
                clients.append(Client(OBSTORE, obp, HTTP_OBSTORE, {"get": "_check = sum(fan_out(_get, paths))"}))
            case = Case("nginx 10k x 4 KiB", "nginx", ("get",), small_n, 4096, 20, clients, consts,
                        lambda: nginx_pids(nginx), lambda op, n: n * 4096)
            results[case.name] = {"case": case_meta(case), "ops": run_case(case, args.runs, log)}

        # 3. the same GET behind ~20 ms RTT at 20 / 128 / 512 in flight
        if want("latency"):
            lat_n = args.latency_objects
            with latency_proxy(nginx.port, args.delay) as (port, proxy_pid):
                url = f"http://127.0.0.1:{port}/objs"
                for conc in args.latency_concurrency:
                    consts = lambda prefix, url=url, conc=conc: f"URL = {url!r}; N = {lat_n}; CONC = {conc}\n"  # noqa: E731
                    clients = [
                        Client(OURS, ours, CF_HTTP, {"get": GET_ALL}),
                        Client(RAW, ours, bench_http_get.RAW_SETUP, {"get": bench_http_get.RAW_BODY}),
                    ]
                    if obp:
                        clients.append(Client(OBSTORE, obp, HTTP_OBSTORE, {"get": "_check = sum(fan_out(_get, paths))"}))
                    case = Case(f"latency {args.delay * 2000:.0f} ms RTT, {conc} in flight", "nginx via proxy",
                                ("get",), lat_n, 4096, conc, clients, consts,
                                lambda: [*nginx_pids(nginx), proxy_pid], lambda op, n: n * 4096)
                    results[case.name] = {"case": case_meta(case), "ops": run_case(case, args.runs, log)}

        # 3b. GIL contention: the nginx GET alone and with a pure-Python spinner thread in the same process
        if want("gil"):
            objs.mkdir(exist_ok=True)
            for i in range(small_n):
                if not (objs / str(i)).exists():
                    (objs / str(i)).write_bytes(os.urandom(4096))
            url = f"{nginx.url}/objs"
            consts = lambda prefix, url=url: f"URL = {url!r}; N = {small_n}; CONC = 20\n"  # noqa: E731
            spin_ops = ("get", "get" + GIL_SPIN)

            def spun(body: str) -> dict[str, str]:
                return {op: body for op in spin_ops}

            spin_prep = {"get" + GIL_SPIN: GIL_SPINNER}
            clients = [
                Client(OURS, ours, CF_HTTP, spun(GET_ALL), spin_prep),
                Client(RAW, ours, bench_http_get.RAW_SETUP, spun(bench_http_get.RAW_BODY), spin_prep),
            ]
            if obp:
                clients.append(Client(OBSTORE, obp, HTTP_OBSTORE, spun("_check = sum(fan_out(_get, paths))"), spin_prep))
            case = Case("gil: nginx 10k x 4 KiB, pure-Python spinner thread", "nginx", spin_ops, small_n, 4096, 20,
                        clients, consts, lambda: nginx_pids(nginx), lambda op, n: n * 4096)
            results[case.name] = {"case": case_meta(case), "ops": run_case(case, args.runs, log)}

        # 4. 2,000 x 64 KiB compressed put/get on S3
        if want("compress"):
            cn, csize = args.compressed_objects, 65536
            for codec in ("gzip", "br", "zstd"):
                prep = {"put": COMPRESSIBLE + "files = [(p, _obj(i)) for i, p in enumerate(paths)]\n"}
                bodies = {"put": f"_check = cf.puts(files, compress={codec!r})",
                          "get": "_check = sum(len(r['content']) for r in cf.get(paths))"}
                clients = [Client(OURS, ours, S3_CF, bodies, prep)]
                if cfp:
                    clients.append(Client(CLOUD_FILES, cfp, S3_CF, bodies, prep, n=min(cn, args.peer_compressed_objects)))
                case = Case(f"s3 {cn:,} x 64 KiB {codec}", "SeaweedFS", ("put", "get"), cn, csize, 20, clients,
                            s3_consts(cn, csize, 20), weed_pids,
                            lambda op, n: n * 65536 if op == "get" else None)
                results[case.name] = {"case": case_meta(case), "ops": run_case(case, args.runs, log)}

        # 5. one big object: GET from nginx; PUT then GET on S3
        sizes = [args.big_mib] + ([2048] if args.huge else [])
        for mib in sizes:
            if not want("big"):
                break
            size = mib * 2**20
            back_memory(3 * size)
            big_file = nginx.root / "big" / f"{mib}"
            big_file.parent.mkdir(exist_ok=True)
            with open(big_file, "wb") as fh:
                chunk = os.urandom(2**20)
                for _ in range(mib):
                    fh.write(chunk)
            url = f"{nginx.url}/big"
            consts = lambda prefix, url=url, mib=mib: f"URL = {url!r}; N = 1; CONC = 16; NAME = '{mib}'\n"  # noqa: E731
            get_one = "_check = len(cf.get(NAME))"
            clients = [Client(OURS, ours, CF_HTTP, {"get": get_one})]
            if cfp:
                clients.append(Client(CLOUD_FILES, cfp, CF_HTTP, {"get": get_one}))
            if obp:
                clients.append(Client(OBSTORE, obp, HTTP_OBSTORE, {"get": "_check = len(obstore.get(store, NAME).bytes())"}))
            case = Case(f"nginx 1 x {mib} MiB", "nginx", ("get",), 1, size, 16, clients, consts,
                        lambda: nginx_pids(nginx), lambda op, n, size=size: size, big=True)
            results[case.name] = {"case": case_meta(case), "ops": run_case(case, max(1, args.runs if mib < 1024 else 1), log)}
            big_file.unlink()

            ours_b = {"put": "_check = cf.puts([('big', data)])", "get": "_check = len(cf.get('big'))"}
            clients = [Client(OURS, ours, S3_CF, ours_b, {"put": "data = os.urandom(SIZE)\n"})]
            if cfp:
                clients.append(Client(CLOUD_FILES, cfp, S3_CF, ours_b, {"put": "data = os.urandom(SIZE)\n"}))
            if obp:
                clients.append(Client(OBSTORE, obp, bench_s3.OBSTORE_SETUP, {
                    "put": "obstore.put(store, f'{PREFIX}/big', data); _check = 1",
                    "get": "_check = len(obstore.get(store, f'{PREFIX}/big').bytes())"},
                    {"put": "data = os.urandom(SIZE)\n"}))
            case = Case(f"s3 1 x {mib} MiB", "SeaweedFS", ("put", "get"), 1, size, 16, clients,
                        s3_consts(1, size, 16), weed_pids,
                        lambda op, n, size=size: size if op == "get" else 1, big=True)
            results[case.name] = {"case": case_meta(case), "ops": run_case(case, max(1, args.runs if mib < 1024 else 1), log)}

        # 6. file:// 10k x 4 KiB put/get
        if want("file"):
            root = tmp / "files"
            bodies = {"put": bench_s3.CLOUDFILES_BODY["put"], "get": bench_s3.CLOUDFILES_BODY["get"]}
            setup = ("from cloudfiles import CloudFiles\ncf = CloudFiles(f'file://{ROOTDIR}/{PREFIX}')\n"
                     "paths = [f'{i}' for i in range(N)]\n")
            clients = [Client(OURS, ours, setup, bodies, bench_s3.CLOUDFILES_OPS)]
            if cfp:
                clients.append(Client(CLOUD_FILES, cfp, setup, bodies, bench_s3.CLOUDFILES_OPS, n=peer_n))
            case = Case("file 10k x 4 KiB", "file://", ("put", "get"), small_n, 4096, 1, clients,
                        lambda prefix: f"ROOTDIR = {str(root)!r}; PREFIX = {prefix!r}; N = {small_n}; SIZE = 4096\n",
                        lambda: [], lambda op, n: n if op == "put" else n * 4096)
            results[case.name] = {"case": case_meta(case), "ops": run_case(case, args.runs, log)}

        # 7. transfer_to: 10k objects file:// -> s3://
        if want("transfer"):
            src = tmp / "xfer-src"
            src.mkdir()
            for i in range(small_n):
                (src / str(i)).write_bytes(os.urandom(4096))
            setup = (
                "from cloudfiles import CloudFiles\n"
                "SECRETS = {'AWS_ACCESS_KEY_ID': AK, 'AWS_SECRET_ACCESS_KEY': SK}\n"
                "src = CloudFiles(f'file://{SRC}')\n"
                "dest = CloudFiles(f's3://{ENDPOINT}/{BUCKET}/{PREFIX}', secrets=SECRETS, num_threads=CONC)\n"
                "paths = [f'{i}' for i in range(N)]\n"
            )
            body = {"transfer_to": "src.transfer_to(dest, paths=paths); _check = N"}
            clients = [Client(OURS, ours, setup, body)]
            if cfp:
                clients.append(Client(CLOUD_FILES, cfp, setup, body, n=peer_n))
            base = s3_consts(small_n, 4096, 20)
            case = Case("transfer_to 10k file->s3", "file:// -> SeaweedFS", ("transfer_to",), small_n, 4096, 20,
                        clients, lambda prefix: f"SRC = {str(src)!r}; " + base(prefix), weed_pids, lambda op, n: n)
            results[case.name] = {"case": case_meta(case), "ops": run_case(case, args.runs, log)}

        # 8. GCS emulator 2,000 x 4 KiB put/get/exists/delete
        if want("gcs"):
            home = tmp / "gcshome"
            # With the download headers Google's service sends (x-goog-stored-content-encoding, ...) and
            # the shipped emulator omits: our gets are then one request each, as on GCS (on the shipped
            # emulator they are two; bench/bench_gcs.py measures both). cloud-files sends two either way.
            emulator = stack.enter_context(GCSEmulator(bench_gcs.BUCKET, encoding_headers=True))
            env = {"STORAGE_EMULATOR_HOST": emulator.url, "CLOUD_FILES_DIR": str(home / "cf"),
                   "CLOUD_VOLUME_DIR": str(home / "cv")}
            gn = args.gcs_objects
            # bench_gcs.SETUP writes the objects an operation needs (untimed) unless the op is put.
            prep = {op: f"OP = {op!r}\n" + bench_gcs.SETUP for op in bench_gcs.BODIES}
            clients = [Client(OURS, ours, "", dict(bench_gcs.BODIES), prep, env=env)]
            if cfp:
                clients.append(Client(CLOUD_FILES, cfp, "", dict(bench_gcs.BODIES), prep, env=env))
            gpid = lambda: [emulator.proc.pid] if emulator.proc else []  # noqa: E731
            case = Case(f"gcs {gn:,} x 4 KiB", "gcp-storage-emulator + GCS download headers", tuple(bench_gcs.BODIES), gn, 4096, 20,
                        clients, lambda prefix: f"BUCKET = {bench_gcs.BUCKET!r}; PREFIX = {prefix!r}; N = {gn}; "
                        f"SIZE = 4096; CONC = 20\nimport os\n", gpid, lambda op, n: None)
            results[case.name] = {"case": case_meta(case), "ops": run_case(case, args.runs, log)}

        # 9. sharded reads: many small random ranges of a few large objects (CloudVolume's shards)
        if want("shard"):
            nfiles, shard_size, nranges = args.shard_files, args.shard_mib * 2**20, args.shard_ranges
            setup_cf = (
                "from cloudfiles import CloudFiles\n"
                f"cf = CloudFiles(f's3://{weed.endpoint}/bench/shards', secrets={{'AWS_ACCESS_KEY_ID': "
                f"{weed.access_key!r}, 'AWS_SECRET_ACCESS_KEY': {weed.secret_key!r}}})\n"
            )
            ns: dict[str, Any] = {}
            exec(setup_cf, ns)  # untimed: upload the shards once, with our client  # noqa: S102
            for i in range(nfiles):
                ns["cf"].put(f"{i}", os.urandom(shard_size), compress=None, raw=True)
            ranges_code = SHARD_RANGES
            ours_body = {"get": "_check = sum(len(r['content']) for r in cf.get(items))"}
            ours_prep = {"get": ranges_code + "items = [{'path': p, 'start': s, 'end': e} for p, s, e in RANGES]\n"}
            clients = [Client(OURS, ours, S3_CF, ours_body, ours_prep)]
            if obp:
                clients.append(Client(OBSTORE, obp, bench_s3.OBSTORE_SETUP, {"get": OBSTORE_RANGES},
                                      {"get": ranges_code}))
            want_bytes = _shard_bytes(nranges, nfiles, shard_size)
            case = Case(f"shard {nranges:,} ranges x 1-4 KiB of {nfiles} x {args.shard_mib} MiB", "SeaweedFS",
                        ("get",), nranges, 2560, 20, clients,
                        lambda prefix: s3_consts_base + f"PREFIX = 'shards'; N = {nranges}; CONC = 20; "
                        f"NFILES = {nfiles}; SHARD = {shard_size}\n",
                        weed_pids, lambda op, n, want_bytes=want_bytes: want_bytes)
            results[case.name] = {"case": case_meta(case), "ops": run_case(case, args.runs, log)}
    return results


def back_memory(nbytes: int) -> None:
    """Write ``nbytes`` in a throwaway process. On a VM the first touch of guest memory since boot is
    far dearer than any later one (the host backs it then), which billed whichever client of a big
    case ran first; after this, every client gets memory the host already backs."""
    subprocess.run([sys.executable, "-c", f"b = b'x' * {int(nbytes)}"], check=True)


def case_meta(case: Case) -> dict[str, Any]:
    return {"target": case.target, "n": case.n, "size": case.size, "concurrency": case.conc, "big": case.big,
            "clients": [c.name for c in case.clients]}


# -- report ------------------------------------------------------------------------------------------
def report(results: dict[str, Any], args: argparse.Namespace) -> str:
    rows = []
    for case_name, entry in results.items():
        big = entry["case"]["big"]
        for op, per_client in entry["ops"].items():
            ours = per_client.get(OURS)
            for name, r in per_client.items():
                speed = f"{r['mb_s']:,.0f} MB/s" if big else f"{r['obj_s']:,.0f}"
                ratio = cpu_ratio = "-"
                if ours is not None and name != OURS:
                    ratio = f"{ours['obj_s'] / r['obj_s']:.2f}x"
                    cpu_ratio = f"{r['cpu'] / r['n'] / (ours['cpu'] / ours['n']):.2f}x"
                rows.append([
                    case_name, op, name, f"{r['n']:,}", f"{r['wall']:.2f}", speed,
                    f"{r['mb_per_cpu_s']:,.0f} MB/CPU-s" if big else f"{r['cpu_us']:,.1f}",
                    f"{r['rss'] / 2**20:,.0f} (+{max(0.0, r['rss'] - r['rss0']) / 2**20:,.0f})",
                    f"{r.get('threads', 0)}",
                    f"{r['server_cpu_us']:,.0f}" if not big else f"{r['server_cpu']:.2f} s",
                    ratio, cpu_ratio,
                ])
    header = ["case", "op", "client", "objects", "wall s", "obj/s (MB/s)", "client CPU µs/obj (MB/CPU-s)",
              "peak RSS MiB (+growth)", "peak OS threads", "server CPU µs/obj", "ours: speed x", "its CPU / ours"]
    return table(rows, header)


def gil_section(results: dict[str, Any]) -> list[str]:
    """Issue 15's GIL-contention table: objects/s alone and with the spinner thread, and the slowdown."""
    rows = []
    for case_name, entry in results.items():
        ops = entry["ops"]
        if not case_name.startswith("gil") or "get" + GIL_SPIN not in ops:
            continue
        for name, alone in ops["get"].items():
            spin = ops["get" + GIL_SPIN].get(name)
            if spin is None:
                continue
            rows.append([case_name, name, f"{alone['n']:,}", f"{alone['obj_s']:,.0f}", f"{spin['obj_s']:,.0f}",
                         f"{alone['obj_s'] / spin['obj_s']:.2f}x"])
    if not rows:
        return []
    return ["\n## GIL contention (a second Python thread spins in pure Python during the timed part)\n",
            table(rows, ["case", "client", "objects", "obj/s alone", "obj/s with spinner", "slowdown"])]


def targets(results: dict[str, Any]) -> list[tuple[str, str, bool | None]]:
    """Issue 8's targets: (target, measured, met?)."""
    out: list[tuple[str, str, bool | None]] = []

    def get(case: str, op: str, client: str) -> dict[str, float] | None:
        return results.get(case, {}).get("ops", {}).get(op, {}).get(client)

    cases = list(results)
    ng = next((c for c in cases if c.startswith("nginx") and "MiB" not in c), None)
    if ng and (r := get(ng, "get", OURS)):
        out.append(("10k x 4 KiB GET from nginx >= 25,000 obj/s", f"{r['obj_s']:,.0f} obj/s", r["obj_s"] >= 25_000))
        out.append(("... and <= 30 client CPU-µs/obj", f"{r['cpu_us']:.1f} µs", r["cpu_us"] <= 30))
    s3 = next((c for c in cases if c.startswith("s3 ") and " x 4 KiB" in c), None)
    for op in ("get", "put"):
        if s3 and (r := get(s3, op, OURS)):
            o = get(s3, op, OBSTORE)
            if o:
                out.append((f"SeaweedFS {op.upper()} >= obstore obj/s", f"{r['obj_s']:,.0f} vs {o['obj_s']:,.0f}",
                            r["obj_s"] >= o["obj_s"]))
            floor = get(s3, op, RAW)
            out.append((f"SeaweedFS {op.upper()} <= 50 client CPU-µs/obj", f"{r['cpu_us']:.1f} µs" + (
                f" (raw pycurl floor {floor['cpu_us']:.1f} µs)" if floor else ""), r["cpu_us"] <= 50))
    lat = next((c for c in cases if c.startswith("latency") and ", 128 in flight" in c), None)
    if lat and (r := get(lat, "get", OURS)) and (o := get(lat, "get", OBSTORE)):
        out.append(("20 ms RTT, 128 in flight: >= 2x obstore obj/s", f"{r['obj_s'] / o['obj_s']:.2f}x "
                    f"({r['obj_s']:,.0f} vs {o['obj_s']:,.0f})", r["obj_s"] >= 2 * o["obj_s"]))
    big = next((c for c in cases if c.startswith("nginx 1 x 256")), None)
    if big and (r := get(big, "get", OURS)):
        peers = [p for name, p in results[big]["ops"]["get"].items() if name != OURS]
        best = max((p["mb_s"] for p in peers), default=0.0)
        if best:
            out.append(("256 MiB GET >= 1.3x best peer MB/s", f"{r['mb_s'] / best:.2f}x ({r['mb_s']:,.0f} vs "
                        f"{best:,.0f} MB/s)", r["mb_s"] >= 1.3 * best))
        out.append(("256 MiB GET >= 900 MB per client CPU-s", f"{r['mb_per_cpu_s']:,.0f}", r["mb_per_cpu_s"] >= 900))
        growth = (r["rss"] - r["rss0"]) / (256 * 2**20)
        out.append(("256 MiB GET peak RSS <= 1.1x object", f"growth {growth:.2f}x, total {r['rss'] / 2**20:,.0f} MiB",
                    growth <= 1.1))
    workers = num_workers()
    for case in (s3, next((c for c in cases if c.endswith("gzip")), None)):
        ops = results.get(case, {}).get("ops", {}) if case else {}
        seen = {op: ops[op][OURS]["threads"] for op in ("put", "get") if OURS in ops.get(op, {})}
        if seen:
            allowed = 1 if case == s3 else 1 + workers
            out.append((f"{case}: <= 1 transfer thread{'' if case == s3 else f' + {workers} codec workers'}",
                        ", ".join(f"{op} peak {n} OS threads" for op, n in seen.items()),
                        max(seen.values()) <= allowed))
    gz = next((c for c in cases if c.endswith("gzip")), None)
    for op, factor in (("put", 10), ("get", 2)):
        if gz and (r := get(gz, op, OURS)) and (p := get(gz, op, CLOUD_FILES)):
            out.append((f"gzip 64 KiB {op} >= {factor}x cloud-files obj/s", f"{r['obj_s'] / p['obj_s']:.1f}x",
                        r["obj_s"] >= factor * p["obj_s"]))
    return out


def floor_targets(results: dict[str, Any]) -> list[tuple[str, str, bool | None]]:
    """Issue 15's targets (closer to the floor): (target, measured, met?)."""
    out: list[tuple[str, str, bool | None]] = []

    def get(case: str | None, op: str, client: str) -> dict[str, float] | None:
        return results.get(case, {}).get("ops", {}).get(op, {}).get(client) if case else None

    def of_floor(r: dict[str, float], floor: dict[str, float] | None, label: str = "floor") -> str:
        return f" ({label} {floor['cpu_us']:.1f}, {r['cpu_us'] / floor['cpu_us']:.2f}x)" if floor else ""

    def cpu_vs_floor(case: str, op: str, target: str, limit: Callable[[float], float]) -> None:
        """``limit(floor CPU-µs)``: the most CPU-µs per object the target allows."""
        r, floor, kept = get(case, op, OURS), get(case, op, RAW), get(case, op, RAW_KEPT)
        if r is not None and floor is not None:
            out.append((target, f"{r['cpu_us']:.1f} µs" + of_floor(r, floor) + of_floor(r, kept, "bodies kept"),
                        r["cpu_us"] <= limit(floor["cpu_us"])))

    def faster(case: str | None, op: str, peer: str, factor: float, key: str, target: str) -> None:
        r, p = get(case, op, OURS), get(case, op, peer)
        if r is not None and p is not None:
            out.append((target, f"{r[key] / p[key]:.2f}x ({r[key]:,.0f} vs {p[key]:,.0f})", r[key] >= factor * p[key]))

    cpu_vs_floor("nginx 10k x 4 KiB", "get", "nginx 10k x 4 KiB GET <= 25 client CPU-µs/obj", lambda _: 25.0)
    for op in ("get", "put"):
        cpu_vs_floor("s3 10k x 4 KiB", op, f"SeaweedFS {op.upper()} <= 1.25x the raw floor's CPU",
                     lambda floor: 1.25 * floor)
    for case in sorted(c for c in results if c.startswith("s3 1 x ")):
        faster(case, "get", OBSTORE, 1, "mb_s", f"{case} GET >= obstore MB/s")
    faster("file 10k x 4 KiB", "put", CLOUD_FILES, 1, "obj_s", "file:// put >= 1x cloud-files obj/s")
    faster("file 10k x 4 KiB", "get", CLOUD_FILES, 5, "obj_s", "file:// get >= 5x cloud-files obj/s")
    shard = next((c for c in results if c.startswith("shard ")), None)
    if (r := get(shard, "get", OURS)) and (o := get(shard, "get", OBSTORE)):
        speed, cpu = r["obj_s"] / o["obj_s"], r["cpu_us"] / o["cpu_us"]
        out.append(("shard ranges >= 2x obstore's ranges/s at <= 1/2 its CPU", f"{speed:.2f}x at {cpu:.2f}x CPU",
                    speed >= 2 and cpu <= 0.5))
    return out


def plot(results: dict[str, Any], path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    labels, per_client = [], {}
    for case_name, entry in results.items():
        for op, clients in entry["ops"].items():
            labels.append(f"{case_name}\n{op}")
            for name, r in clients.items():
                per_client.setdefault(name, {})[len(labels) - 1] = r["obj_s"] if not entry["case"]["big"] else r["mb_s"]
    names = list(per_client)
    width = 0.8 / max(1, len(names))
    fig, ax = plt.subplots(figsize=(max(10, len(labels) * 0.9), 6))
    for k, name in enumerate(names):
        xs = [i + k * width for i in per_client[name]]
        ax.bar(xs, list(per_client[name].values()), width, label=name)
    ax.set_yscale("log")
    ax.set_xticks([i + 0.4 - width / 2 for i in range(len(labels))])
    ax.set_xticklabels(labels, rotation=60, ha="right", fontsize=7)
    ax.set_ylabel("objects/s (MB/s for single-object cases), log scale")
    ax.set_title("cloudfiles benchmark suite: higher is better")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def main(argv: list[str] | None = None) -> Path:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--objects", type=int, default=10_000, help="small-object count (10k cases)")
    ap.add_argument("--peer-objects", type=int, default=1_000,
                    help="objects for slow peers (cloud-files, s5cmd) in the 10k cases")
    ap.add_argument("--compressed-objects", type=int, default=2_000)
    ap.add_argument("--peer-compressed-objects", type=int, default=500, help="compressed objects for cloud-files")
    ap.add_argument("--gcs-objects", type=int, default=2_000)
    ap.add_argument("--latency-objects", type=int, default=2_000)
    ap.add_argument("--latency-concurrency", type=lambda s: [int(x) for x in s.split(",")], default=[20, 128, 512])
    ap.add_argument("--delay", type=float, default=0.010, help="one-way delay of the latency proxy (s)")
    ap.add_argument("--big-mib", type=int, default=256)
    ap.add_argument("--huge", action="store_true", help="also the 2 GiB object (one run)")
    ap.add_argument("--shard-files", type=int, default=20, help="objects of the sharded-read case")
    ap.add_argument("--shard-mib", type=int, default=64, help="size of each of them (MiB)")
    ap.add_argument("--shard-ranges", type=int, default=10_000, help="random 1-4 KiB ranges read from them")
    ap.add_argument("--only", default="",
                    help="comma-separated case prefixes: s3,nginx,latency,gil,compress,big,file,transfer,gcs,shard")
    ap.add_argument("--no-peers", action="store_true")
    ap.add_argument("--smoke", action="store_true", help="tiny sizes, one run: proves the suite runs")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results"), help="output directory")
    ap.add_argument("--name", default="suite")
    args = ap.parse_args(argv)
    if args.smoke:
        args.runs, args.objects, args.peer_objects, args.compressed_objects = 1, 50, 20, 20
        args.peer_compressed_objects = 10
        args.gcs_objects, args.latency_objects, args.big_mib, args.huge = 20, 40, 2, False
        args.latency_concurrency, args.delay = [8], 0.002
        args.shard_files, args.shard_mib, args.shard_ranges = 2, 1, 50
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
    os.environ["NO_GCE_CHECK"] = "True"
    t0 = time.monotonic()
    results = build_and_run(args, lambda line: print(line, flush=True))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    meta = {"args": vars(args), "cpus": os.cpu_count(), "seconds": time.monotonic() - t0,
            "when": time.strftime("%Y-%m-%d %H:%M:%S")}
    checks = targets(results)
    (out / f"{args.name}.json").write_text(json.dumps(
        {"meta": meta, "results": results, "targets": [list(t) for t in checks]}, indent=2))
    png = out / f"{args.name}.png"
    plotted = plot(results, png)
    md = [f"# Benchmark suite ({meta['when']}, {os.cpu_count()} CPUs, medians of {args.runs} runs)\n",
          report(results, args), "\n## Issue 8 targets\n",
          table([[t, m, {True: "met", False: "missed", None: "-"}[ok]] for t, m, ok in checks],
                ["target", "measured", ""])]
    floors = floor_targets(results)
    if floors:
        md += ["\n## Issue 15 targets (closer to the floor)\n",
               table([[t, m, {True: "met", False: "missed", None: "-"}[ok]] for t, m, ok in floors],
                     ["target", "measured", ""])]
    md += gil_section(results)
    if plotted:
        md.append(f"\n![objects/s per client per case]({png.name})\n")
    (out / f"{args.name}.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))
    print(f"\nresults: {out / args.name}.{{md,json{',png' if plotted else ''}}} ({meta['seconds']:.0f} s)")
    return out / f"{args.name}.md"


if __name__ == "__main__":
    main()
