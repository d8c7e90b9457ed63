"""The main job in miniature: a batch put/get with compression on a local store, then over HTTP.

Run by `bash ci/demo.sh`. Writes 5,000 small objects to file:// with zstd and gzip, reads them back,
then serves the same directory from a private nginx on 127.0.0.1 and fetches it through the engine.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
os.environ.setdefault("NO_GCE_CHECK", "True")

from servers import Nginx  # noqa: E402

from cloudfiles import CloudFiles  # noqa: E402

N = 5000


def timed(label: str, fn):  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    result = fn()
    dt = time.perf_counter() - t0
    print(f"  {label:<58} {dt * 1000:8.1f} ms  ({N / dt:,.0f} objects/s)")
    return result


def main() -> None:
    payloads = {f"chunk/{i:05d}": (f"voxel block {i} ".encode() * 200) for i in range(N)}
    with tempfile.TemporaryDirectory() as tmp:
        store = CloudFiles(f"file://{tmp}/www/dataset")
        print(f"cloudfiles demo: {N:,} objects of {len(next(iter(payloads.values()))):,} B each")
        for codec in ("zstd", "gzip"):
            timed(f"puts  file://  compress={codec}", lambda c=codec: store.puts(payloads.items(), compress=c))
            got = timed("get   file://  (decoded on the codec pool)", lambda: store.get(list(payloads)))
            assert all(r["error"] is None and r["content"] == payloads[r["path"]] for r in got)
        stored = sum(os.path.getsize(p) for p in Path(tmp, "www/dataset/chunk").iterdir())
        raw = sum(map(len, payloads.values()))
        print(f"  stored {stored:,} B for {raw:,} B of data ({raw / stored:.1f}x smaller with gzip)")

        nginx = Nginx(Path(tmp) / "nginx", root=Path(tmp) / "www").start()
        try:
            web = CloudFiles(f"{nginx.url}/dataset", num_threads=64)
            got = timed("get   http://  nginx, 64 in flight on one CurlMulti loop", lambda: web.get(list(payloads)))
            assert all(r["error"] is None and r["content"] == payloads[r["path"]] for r in got)
            sizes = web.size(list(payloads)[:3])
            print(f"  size() via HEAD (stored gzip bytes): {sizes}")
        finally:
            nginx.stop()
        print("all objects verified byte for byte")


if __name__ == "__main__":
    main()
