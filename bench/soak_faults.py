"""Soak: tens of thousands of requests through fault proxies at a fixed fault rate, zero wrong bytes.

Starts SeaweedFS (S3), the GCS emulator and nginx on 127.0.0.1, each behind a ``tests/faultproxy.py``
proxy that injects a random fault into ``--rate`` of the requests (5xx, SlowDown, 429, resets before
headers and mid-body, short bodies, stalls, forwarded-then-failed 500s and resets; corrupted bytes and
wrong hashes on whole-object downloads of the schemes that have a hash: s3 and gs). Then it runs rounds
of batch operations (puts, gets, exists, head/size, list, delete) until ``--requests`` HTTP requests
have passed the proxies, and checks every answer against what it wrote.

Reports: HTTP requests, faults injected (by kind), retries (requests beyond one per logical request),
errors surfaced to the caller (named exceptions after the retry budget), bytes verified, and wrong
bytes returned (must be 0: any content that differs from what was written). Exit status 1 if any
wrong bytes or an unnamed exception were seen.

    AWS_EC2_METADATA_DISABLED=true NO_GCE_CHECK=True .venv/bin/python bench/soak_faults.py
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
os.environ.setdefault("NO_GCE_CHECK", "True")

from faultproxy import ALL_KINDS, Fault, FaultProxy, Message  # noqa: E402
from gcs_emulator import GCSEmulator  # noqa: E402
from seaweed import SeaweedFS  # noqa: E402
from servers import Nginx  # noqa: E402

from cloudfiles import CloudFiles  # noqa: E402
from cloudfiles.exceptions import CloudFilesError  # noqa: E402
from cloudfiles.retry import Retry  # noqa: E402

S3_BUCKET = "soak"
GS_BUCKET = "soak-gcs"
# A stall costs a whole read timeout (1-2 s here) per hit, so stalls are ~1% of the faults, not 1/13.
KINDS: tuple[Fault, ...] = (*ALL_KINDS * 8, Fault.stall())
CONTENT_FAULTS = ("corrupt", "wrong_hash", "reset_mid_body", "short_body")


def _object_get(req: Message) -> bool:
    """A whole-object download (where a body can be checked against a hash or a length)."""
    path, _, query = req.target.partition("?")
    if req.method != "GET" or "Range" in {k.title() for k, _v in req.headers}:
        return False
    if "alt=media" in query:
        return True  # gs
    return not query and not path.endswith("/") and "/storage/" not in path


def allow_for(scheme: str) -> Any:
    def allow(fault: Fault, req: Message) -> bool:
        if fault.kind not in CONTENT_FAULTS:
            return True
        if fault.kind in ("corrupt", "wrong_hash"):
            # No hash exists for http bodies and for listings/metadata: no client can detect a flipped
            # byte there (TLS does, in production). Corruption goes where a hash protects the bytes.
            return scheme != "http" and _object_get(req)
        return True

    return allow


class Tally:
    def __init__(self) -> None:
        self.logical = 0
        self.errors: collections.Counter[str] = collections.Counter()
        self.unnamed: list[str] = []
        self.bytes_verified = 0
        self.wrong = 0
        self.wrong_examples: list[str] = []

    def error(self, err: BaseException) -> None:
        if isinstance(err, CloudFilesError):
            self.errors[type(err).__name__] += 1
        else:
            self.unnamed.append(repr(err))

    def check(self, where: str, got: bytes | None, want: bytes) -> None:
        if got is None:
            return
        if got == want:
            self.bytes_verified += len(got)
        else:
            self.wrong += 1
            self.wrong_examples.append(where)


def run_batch(fn: Any, tally: Tally) -> Any:
    """Run one batch call; a named error after the retry budget counts as surfaced."""
    try:
        return fn()
    except Exception as err:  # noqa: BLE001 - every exception is classified, unnamed ones fail the soak
        tally.error(err)
        return None


def check_gets(cf: CloudFiles, scheme: str, files: dict[str, bytes], keys: list[str], tally: Tally) -> None:
    """Download ``keys`` in one batch; every returned body must be exactly what was written."""
    tally.logical += len(keys)
    for res in cf.get(keys, raise_errors=False):
        if res["error"] is not None:
            tally.error(res["error"])
        tally.check(f"{scheme}:{res['path']}", res["content"], files[res["path"]])


def round_remote(cf: CloudFiles, scheme: str, rnd: int, rng: random.Random, tally: Tally, batch: int) -> None:
    files = {f"r{rnd}/k{i}": rng.randbytes(rng.randint(256, 8192)) for i in range(batch)}
    keys = sorted(files)
    tally.logical += len(keys)
    written = run_batch(lambda: cf.puts(list(files.items())), tally)
    if written is None:
        # Some key's put failed for good: learn which ones exist (with their bytes) before going on.
        for key in keys:
            tally.logical += 1
            got = run_batch(lambda key=key: cf.get(key), tally)
            if got is None or got != files[key]:
                files.pop(key)
        keys = sorted(files)
    check_gets(cf, scheme, files, keys, tally)
    tally.logical += len(keys)
    found = run_batch(lambda: cf.exists(keys), tally)
    if found is not None and not all(found.values()):
        tally.wrong += 1
        tally.wrong_examples.append(f"{scheme}: exists said False for a written key")
    tally.logical += len(keys)
    sizes = run_batch(lambda: cf.size(keys), tally)
    if sizes is not None and any(sizes[k] != len(files[k]) for k in keys):
        tally.wrong += 1
        tally.wrong_examples.append(f"{scheme}: wrong size")
    tally.logical += 1
    listed = run_batch(lambda: sorted(cf.list(f"r{rnd}/")), tally)
    if listed is not None and set(keys) - set(listed):
        tally.wrong += 1
        tally.wrong_examples.append(f"{scheme}: listing lost keys")
    tally.logical += 1
    run_batch(lambda: cf.delete(list(files)), tally)


def round_http(cf: CloudFiles, files: dict[str, bytes], tally: Tally) -> None:
    keys = sorted(files)
    check_gets(cf, "http", files, keys, tally)
    tally.logical += len(keys)
    sizes = run_batch(lambda: cf.size(keys), tally)
    if sizes is not None and any(sizes[k] != len(files[k]) for k in keys):
        tally.wrong += 1
        tally.wrong_examples.append("http: wrong size")
    tally.logical += 1
    listed = run_batch(lambda: sorted(cf.list()), tally)
    if listed is not None and listed != keys:
        tally.wrong += 1
        tally.wrong_examples.append("http: wrong listing")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=50_000, help="HTTP requests through the proxies")
    parser.add_argument("--rate", type=float, default=0.05, help="fraction of requests given a fault")
    parser.add_argument("--batch", type=int, default=50, help="keys per batch call")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--read-timeout", type=float, default=1.0, help="stall budget per attempt, seconds")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="soak-faults-"))
    seaweed = SeaweedFS(work / "seaweed").start()
    seaweed.create_bucket(S3_BUCKET)
    gcs = GCSEmulator(GS_BUCKET, encoding_headers=True).start()
    nginx = Nginx(work / "nginx").start()
    proxies = {"s3": FaultProxy(seaweed.port), "gs": FaultProxy(gcs.port), "http": FaultProxy(nginx.port)}
    rng = random.Random(args.seed)
    tally = Tally()
    try:
        for n, (scheme, proxy) in enumerate(proxies.items()):
            proxy.keep_seen = False
            proxy.start()
            proxy.set_rate(args.rate, KINDS, seed=args.seed + n, allow=allow_for(scheme))
        os.environ["STORAGE_EMULATOR_HOST"] = proxies["gs"].url
        # The default policy's shape (7 tries, full-jitter exponential backoff), shorter waits.
        retry = Retry(attempts=7, base=0.05, cap=1.0, budget=30.0)
        opts: dict[str, Any] = {"read_timeout": args.read_timeout, "connect_timeout": 5.0}
        s3 = CloudFiles(f"s3://{proxies['s3'].url}/{S3_BUCKET}/soak", secrets=seaweed.secrets, **opts)
        gs = CloudFiles(f"gs://{GS_BUCKET}/soak", **opts)
        http = CloudFiles(f"{proxies['http'].url}/soak", **opts)
        for cf in (s3, gs, http):
            cf.interface.retry = retry  # type: ignore[attr-defined]
        web = {f"w{i:03d}": rng.randbytes(rng.randint(256, 8192)) for i in range(args.batch)}
        CloudFiles(f"file://{nginx.root}/soak").puts(list(web.items()))

        def total_requests() -> int:
            return sum(p.stats.requests for p in proxies.values())

        start = time.monotonic()
        rnd = 0
        while total_requests() < args.requests:
            round_remote(s3, "s3", rnd, rng, tally, args.batch)
            round_remote(gs, "gs", rnd, rng, tally, args.batch)
            round_http(http, web, tally)
            rnd += 1
            if rnd % 10 == 0:
                print(f"  round {rnd}: {total_requests()} requests, {tally.bytes_verified} bytes verified, "
                      f"{tally.wrong} wrong", flush=True)
        elapsed = time.monotonic() - start
    finally:
        for proxy in proxies.values():
            proxy.stop()
        seaweed.stop()
        gcs.stop()
        nginx.stop()

    injected: collections.Counter[str] = collections.Counter()
    per_scheme = {}
    for scheme, proxy in proxies.items():
        injected.update(proxy.stats.injected)
        per_scheme[scheme] = {"requests": proxy.stats.requests, "faults": sum(proxy.stats.injected.values())}
    requests = total_requests()
    report = {
        "requests": requests,
        "per_scheme": per_scheme,
        "faults_injected": sum(injected.values()),
        "fault_rate": round(sum(injected.values()) / max(1, requests), 4),
        "faults_by_kind": dict(sorted(injected.items())),
        "logical_requests": tally.logical,
        "retries": requests - tally.logical,
        "errors_surfaced": sum(tally.errors.values()),
        "errors_by_class": dict(tally.errors),
        "unnamed_exceptions": tally.unnamed[:10],
        "bytes_verified": tally.bytes_verified,
        "wrong_bytes_returned": tally.wrong,
        "wrong_examples": tally.wrong_examples[:10],
        "rounds": rnd,
        "seconds": round(elapsed, 1),
    }
    print(json.dumps(report, indent=2))
    return 1 if tally.wrong or tally.unnamed else 0


if __name__ == "__main__":
    sys.exit(main())
