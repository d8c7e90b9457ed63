"""Range coalescing on real servers: many random ranges of a few objects, byte-identical to slicing the
whole object, in fewer requests (counted where the interface hands requests to the engine)."""

from __future__ import annotations

import gzip
import os
import random
import sys
from pathlib import Path
from typing import Any

import pytest

from cloudfiles import CloudFiles
from cloudfiles.reads import RESULT_KEYS

os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
os.environ["NO_GCE_CHECK"] = "True"

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from seaweed import SeaweedFS
from servers import Nginx

KiB = 1 << 10
BUCKET = "eco"  # created by the s3_server fixture (tests/integration/conftest.py)


@pytest.fixture(scope="module")
def s3(s3_server: SeaweedFS) -> CloudFiles:
    # The session's shared bucket: each new bucket makes SeaweedFS grow volumes, which a full test
    # session runs out of (HTTP 500 on the first PUT).
    return CloudFiles(f"s3://{s3_server.endpoint}/{BUCKET}/coalesce-shards", secrets=s3_server.secrets)


def _objects(seed: int) -> dict[str, bytes]:
    rnd = random.Random(seed)
    return {f"shard{i}": rnd.randbytes(rnd.randrange(300, 900) * KiB) for i in range(3)}


def _ranges(objects: dict[str, bytes], n: int, seed: int) -> list[dict[str, Any]]:
    rnd = random.Random(seed)
    items: list[dict[str, Any]] = []
    for i in range(n):
        path = rnd.choice(sorted(objects))
        size = len(objects[path])
        start = rnd.randrange(0, size + 2000)  # some start past the end
        end = start + rnd.randrange(1, 5 * KiB)
        items.append({"path": path, "start": start, "end": end, "tags": i})
    # duplicates, overlaps, a missing object, start=None, open ends and an empty range
    items += [dict(items[0], tags="dup"), {"path": items[0]["path"], "start": items[0]["start"] + 1,
                                           "end": items[0]["end"] + 7, "tags": "overlap"}]
    items += [{"path": "missing", "start": 10, "end": 20, "tags": f"m{j}"} for j in range(3)]
    items += [{"path": "shard0", "start": None, "end": 100, "tags": "head"},
              {"path": "shard1", "start": 5000, "end": None, "tags": "open"},
              {"path": "shard2", "start": 10, "end": 10, "tags": "empty"}]
    return items


def _check_against_slices(cf: CloudFiles, objects: dict[str, bytes], items: list[dict[str, Any]]) -> None:
    results = cf.get(items)
    assert len(results) == len(items)
    by_tag = {r["tags"]: r for r in results}
    for item in items:
        res = by_tag[item["tags"]]
        assert tuple(res) == RESULT_KEYS
        assert res["error"] is None
        assert res["byte_range"] == (item["start"], item["end"])
        assert res["path"] == item["path"]
        data = objects.get(item["path"])
        want = None if data is None else data[item["start"] : item["end"]]
        assert res["content"] == want, item
        if data is not None:
            assert type(res["content"]) is bytes


def test_s3_ranges_identical_in_fewer_requests(s3: CloudFiles, sent: list[Any]) -> None:
    objects = _objects(1)
    s3.puts(list(objects.items()), compress=None)
    items = _ranges(objects, 600, 2)
    sent.clear()
    _check_against_slices(s3, objects, items)
    assert 0 < len(sent) <= 20  # 600+ ranges of 3 objects under 1 MiB each: a request or so per object


def test_s3_single_results_unchanged(s3: CloudFiles) -> None:
    objects = _objects(3)
    s3.puts(list(objects.items()), compress=None)
    for item in _ranges(objects, 30, 4):
        one = s3.get([item])[0]
        data = objects.get(item["path"])
        assert one["content"] == (None if data is None else data[item["start"] : item["end"]])


def test_s3_compressed_object_ranges_as_today(s3: CloudFiles) -> None:
    """A ranged get of a gzip object returns stored bytes with raw=True (decoding a slice fails), as
    before coalescing: each range gets what its own request would."""
    body = random.Random(5).randbytes(64 * KiB)
    s3.put("gz", body, compress="gzip")
    stored = gzip.compress(body)  # only lengths/labels compared: the stored bytes may differ
    items = [{"path": "gz", "start": s, "end": s + 100, "tags": s} for s in range(0, 2000, 200)]
    raw = s3.get(items, raw=True)
    alone = [s3.get([item], raw=True)[0] for item in items]
    assert sorted((r["tags"], r["content"], r["compress"]) for r in raw) == sorted(
        (r["tags"], r["content"], r["compress"]) for r in alone
    )
    assert all(len(r["content"]) == 100 for r in raw) and len(stored) > 2000
    decoded = s3.get(items, raise_errors=False)
    singly = [s3.get([item], raise_errors=False)[0] for item in items]
    assert sorted((r["tags"], type(r["error"])) for r in decoded) == sorted((r["tags"], type(r["error"])) for r in singly)


def test_nginx_ranges_identical_in_fewer_requests(nginx: Nginx, sent: list[Any]) -> None:
    objects = _objects(6)
    root = nginx.root / "coalesce"
    root.mkdir(exist_ok=True)
    for name, data in objects.items():
        (root / name).write_bytes(data)
    cf = CloudFiles(f"{nginx.url}/coalesce")
    items = _ranges(objects, 400, 7)
    sent.clear()
    _check_against_slices(cf, objects, items)
    assert 0 < len(sent) <= 20

