"""cloudfiles.distributed and ``cp/xfer --dask`` on a real LocalCluster (2 worker processes).

Copies file:// -> file://, file:// -> S3 and S3 -> file:// (SeaweedFS), with per-key errors and progress
gathered back, and the command line pointed at the cluster's scheduler address.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from distributed import Client, LocalCluster, get_task_stream

from cloudfiles import CloudFiles, ResumableTransfer
from cloudfiles.distributed import execute_resumable, transfer

EXE = str(Path(sys.executable).parent / "cloudfiles")
_counter = itertools.count()


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    with LocalCluster(
        n_workers=2, threads_per_worker=2, processes=True, host="127.0.0.1", dashboard_address=None,
    ) as cluster, Client(cluster) as c:
        yield c


def _fill(cf: CloudFiles, n: int) -> dict[str, bytes]:
    files = {f"dir/f{i:03d}": f"payload {i} ".encode() * (i + 1) for i in range(n)}
    # a few stored compressed: the workers must carry encodings across
    cf.puts([{"path": k, "content": v, "compress": "gzip" if i % 5 == 0 else None}
             for i, (k, v) in enumerate(files.items())])
    return files


class Counter:
    def __init__(self) -> None:
        self.n = 0

    def update(self, n: int = 1) -> None:
        self.n += n


def test_file_to_file_across_both_workers(client: Client, tmp_path: Path) -> None:
    src, dst = CloudFiles(f"file://{tmp_path}/src"), CloudFiles(f"file://{tmp_path}/dst")
    files = _fill(src, 120)
    bar = Counter()
    with get_task_stream(client) as ts:
        report = transfer(src.cloudpath, dst.cloudpath, client=client, shard_size=10, progress=bar)
    assert report.ok and report.transferred == 120 and report.shards == 12
    assert bar.n == 120
    assert dst.get(list(files), return_dict=True) == files
    assert dst.get("dir/f000", raw=True) != files["dir/f000"]  # still gzip at the destination
    # the shards really ran on the cluster's two worker processes
    assert len(ts.data) == 12
    assert {t["worker"] for t in ts.data} == set(client.scheduler_info()["workers"])


def test_per_key_errors_are_gathered(client: Client, tmp_path: Path) -> None:
    src, dst = CloudFiles(f"file://{tmp_path}/src"), CloudFiles(f"file://{tmp_path}/dst")
    files = _fill(src, 30)
    keys = [*files, "dir/missing-1", "dir/missing-2"]
    report = transfer(src.cloudpath, dst.cloudpath, keys, client=client, shard_size=8)
    assert report.transferred == 30
    assert set(report.errors) == {"dir/missing-1", "dir/missing-2"}
    assert all(e.startswith(("FileNotFoundError", "NotFoundError")) for e in report.errors.values())
    assert dst.get(list(files), return_dict=True) == files  # good keys in a failing shard still landed

    renamed = transfer(src.cloudpath, dst.cloudpath, [("dir/f001", "renamed/one")], client=client)
    assert renamed.ok and dst.get("renamed/one") == files["dir/f001"]


def test_to_and_from_s3(client: Client, tmp_path: Path, s3_server: Any) -> None:
    src = CloudFiles(f"file://{tmp_path}/src")
    files = _fill(src, 60)
    s3_path = f"s3://{s3_server.endpoint}/eco/dask{next(_counter)}"
    options = {"secrets": s3_server.secrets}
    up = transfer(src.cloudpath, s3_path, client=client, dest_options=options, shard_size=15)
    assert up.ok and up.transferred == 60
    s3 = CloudFiles(s3_path, **options)
    assert s3.get(list(files), return_dict=True) == files

    back = CloudFiles(f"file://{tmp_path}/back")
    down = transfer(s3_path, back.cloudpath, client=client, src_options=options, shard_size=15)
    assert down.ok and down.transferred == 60
    assert back.get(list(files), return_dict=True) == files


def test_mem_is_refused(client: Client) -> None:
    with pytest.raises(ValueError, match="mem://"):
        transfer("mem://a/b", "file:///tmp/never", ["x"], client=client)


def test_cli_cp_and_xfer_with_dask(client: Client, tmp_path: Path) -> None:
    address = client.scheduler.address
    src = CloudFiles(f"file://{tmp_path}/src")
    files = _fill(src, 40)
    env = {**os.environ, "AWS_EC2_METADATA_DISABLED": "true", "NO_GCE_CHECK": "True"}
    proc = subprocess.run([EXE, "cp", "-r", f"{tmp_path}/src/dir", f"{tmp_path}/cp-dst", "--dask", address],
                          capture_output=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr.decode()
    assert CloudFiles(f"file://{tmp_path}/cp-dst").get([k.split("/", 1)[1] for k in files], return_dict=True) \
        == {k.split("/", 1)[1]: v for k, v in files.items()}

    db = tmp_path / "job.db"
    rt = ResumableTransfer(str(db))
    rt.init(f"file://{tmp_path}/src", f"file://{tmp_path}/xfer-dst")
    rt.rfs.close()
    proc = subprocess.run([EXE, "xfer", "execute", str(db), "--dask", address],
                          capture_output=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr.decode()
    assert not db.exists()  # finished jobs close their database
    assert CloudFiles(f"file://{tmp_path}/xfer-dst").get(list(files), return_dict=True) == files


def test_execute_resumable_keeps_failed_keys(client: Client, tmp_path: Path) -> None:
    src = CloudFiles(f"file://{tmp_path}/src")
    files = _fill(src, 20)
    db = str(tmp_path / "partial.db")
    rt = ResumableTransfer(db)
    rt.init(src.cloudpath, f"file://{tmp_path}/dst", paths=[*files, "dir/gone"])
    rt.rfs.close()
    report = execute_resumable(db, client=client)
    assert report.transferred == 20 and list(report.errors) == ["dir/gone"]
    left = ResumableTransfer(db)
    assert len(left) == 1  # only the failed key is left for the next run
    left.rfs.close()
