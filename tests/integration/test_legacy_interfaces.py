"""cloud-files' per-file interface classes and S3 connection pool against a real S3 server (SeaweedFS).

The unit tests (tests/unit/test_public_names.py) cover file:// and mem://; this checks that the
adapters drive the network schemes the same way: put/get/head/exists/list/delete, a server-side
``copy_file`` between buckets, ``save_file`` to disk, and ``S3ConnectionPool`` connections.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from cloudfiles import CloudFiles, compression, paths

os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
os.environ["NO_GCE_CHECK"] = "True"

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from seaweed import SeaweedFS

SRC, DEST = "legacy-src", "legacy-dest"


@pytest.fixture(scope="module")
def seaweed(seaweed_server: SeaweedFS) -> SeaweedFS:
    seaweed_server.create_bucket(SRC)
    seaweed_server.create_bucket(DEST)
    return seaweed_server


def test_s3_per_file_interface(seaweed: SeaweedFS, tmp_path: Path) -> None:
    from cloudfiles.interfaces import S3Interface

    cf = CloudFiles(f"s3://{seaweed.endpoint}/{SRC}/dir", secrets=seaweed.secrets)
    payload = compression.compress(b"legacy" * 1000, "gzip")
    with cf._get_connection() as conn:
        assert isinstance(conn, S3Interface)
        conn.put_file("a", payload, content_type="application/octet-stream", compress="gzip")
        content, encoding, server_hash, hash_type = conn.get_file("a")
        assert content == payload and encoding == "gzip" and hash_type in ("md5", "crc32c") and server_hash
        assert conn.get_file("a", start=0, end=4)[0] == payload[:4]
        assert conn.get_file("missing")[0] is None
        assert conn.head("a")["Content-Length"] == len(payload) and conn.head("missing") is None
        assert conn.size("a") == len(payload)
        assert conn.files_exist(["a", "missing"]) == {"a": True, "missing": False}
        assert list(conn.list_files("")) == ["a"]
        assert conn.subtree_size("") == (1, len(payload))
        assert conn.get_path_to_file("a") == "dir/a"

        assert conn.copy_file("a", DEST, "copied/a") == (True, len(payload))
        assert conn.copy_file("missing", DEST, "copied/b") == (False, 0)
        assert conn.save_file("a", str(tmp_path / "a"), False) == (True, len(payload))
        assert (tmp_path / "a.gz").read_bytes() == payload
        conn.delete_file("a")
        assert not conn.exists("a")
    dest = CloudFiles(f"s3://{seaweed.endpoint}/{DEST}/copied", secrets=seaweed.secrets)
    assert dest.get("a") == b"legacy" * 1000


def test_s3_interface_built_like_cloud_files(seaweed: SeaweedFS) -> None:
    from cloudfiles.interfaces import S3Interface

    path = paths.extract(f"s3://{seaweed.endpoint}/{SRC}/built")
    conn = S3Interface(path, seaweed.secrets, None, int(1e8), False)
    conn.put_file("x", b"plain", content_type=None, compress=None)
    assert conn.get_file("x")[0] == b"plain"
    conn.delete_files(["x"])
    assert conn.files_exist(["x"]) == {"x": False}


def test_s3_connection_pool(seaweed: SeaweedFS) -> None:
    import cloudfiles.interfaces as ifaces
    from cloudfiles.interfaces.legacy import adapter_for

    pool = ifaces.S3_POOL[ifaces.S3ConnectionPoolParams("s3", SRC, None)]
    conn = pool.get_connection(seaweed.secrets, seaweed.endpoint)
    adapter = adapter_for(conn)
    adapter.put_file("pooled", b"p", content_type=None, compress=None)
    assert adapter.get_file("pooled")[0] == b"p"
    pool.release_connection(conn)
    assert pool.get_connection(seaweed.secrets, seaweed.endpoint) is conn
    ifaces.reset_connection_pools()
    assert len(ifaces.S3_POOL) == 0
