"""Conditional writes: ``put/puts(..., if_not_exists=True)`` on every writable scheme, on real servers.

* s3: ``If-None-Match: *`` on the PUT and on CompleteMultipartUpload. SeaweedFS (4.x) and moto both
  honour it (412), so both run the same tests.
* gs: ``ifGenerationMatch=0`` on uploads and on the final compose. gcp-storage-emulator ignores the
  parameter (it overwrites: ``test_the_shipped_gcs_emulator_ignores_if_generation_match``), so the GCS
  cases run against the emulator launched with ``preconditions=True`` (``tests/gcs_emulator.py``), which
  answers 412 as GCS does.
* file://: the finished temp file is hard-linked to its name (fails if the name exists); mem://: a
  check and write under one lock.
"""

from __future__ import annotations

import itertools
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cloudfiles import CloudFiles
from cloudfiles import exceptions as cfx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from gcs_emulator import GCSEmulator
from servers import free_port

BUCKET = "conditional"
MiB = 1 << 20
_counter = itertools.count()


@pytest.fixture(scope="module")
def seaweed(seaweed_server: Any) -> Any:
    seaweed_server.create_bucket(BUCKET)
    return seaweed_server


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    pytest.importorskip("moto.server", reason="moto[server] is not installed")
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    CloudFiles(f"s3://{endpoint}/{BUCKET}", secrets=MOTO_SECRETS).interface.create_bucket()  # type: ignore[attr-defined]
    try:
        yield endpoint
    finally:
        server.stop()


MOTO_SECRETS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


@pytest.fixture(scope="module")
def gcs_emulator() -> Iterator[GCSEmulator]:
    emulator = GCSEmulator(BUCKET, preconditions=True).start()
    yield emulator
    emulator.stop()


SCHEMES = ["file", "mem", "s3-seaweed", "s3-moto", "gs"]


@pytest.fixture(params=SCHEMES)
def make(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """``make(**kwargs)``: a CloudFiles on a fresh, empty directory of the scheme under test."""
    scheme = request.param
    d = f"t{next(_counter)}"
    if scheme == "file":
        return lambda **kw: CloudFiles(f"file://{tmp_path}/{d}", **kw)
    if scheme == "mem":
        return lambda **kw: CloudFiles(f"mem://{BUCKET}/{d}", **kw)
    if scheme == "s3-seaweed":
        seaweed = request.getfixturevalue("seaweed")
        return lambda **kw: CloudFiles(f"s3://{seaweed.endpoint}/{BUCKET}/{d}", secrets=seaweed.secrets, **kw)
    if scheme == "s3-moto":
        endpoint = request.getfixturevalue("moto_endpoint")
        return lambda **kw: CloudFiles(f"s3://{endpoint}/{BUCKET}/{d}", secrets=MOTO_SECRETS, **kw)
    emulator = request.getfixturevalue("gcs_emulator")
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", emulator.url)
    return lambda **kw: CloudFiles(f"gs://{BUCKET}/{d}", **kw)


def test_put_if_not_exists_writes_new_and_refuses_existing(make: Any) -> None:
    cf = make()
    assert cf.put("k", b"first", if_not_exists=True) == 1
    with pytest.raises(FileExistsError) as info:
        cf.put("k", b"second", if_not_exists=True)
    assert isinstance(info.value, cfx.ObjectExistsError) and info.value.paths == ["k"]
    assert "k" in str(info.value)
    assert cf.get("k") == b"first"
    cf.put("k", b"third")  # without the condition: overwritten as always
    assert cf.get("k") == b"third"


def test_put_json_if_not_exists(make: Any) -> None:
    cf = make()
    assert cf.put_json("j", {"v": 1}, if_not_exists=True) == 1
    with pytest.raises(cfx.ObjectExistsError):
        cf.put_json("j", {"v": 2}, if_not_exists=True)
    with pytest.raises(cfx.ObjectExistsError) as info:
        cf.put_jsons([("j", {"v": 3}), ("j2", {"v": 4})], if_not_exists=True)
    assert info.value.paths == ["j"]
    assert cf.get_json(["j", "j2"]) == [{"v": 1}, {"v": 4}]


def test_another_encoding_counts_as_existing(make: Any) -> None:
    cf = make()
    cf.put("k", b"x" * 1000, compress="gzip")
    with pytest.raises(cfx.ObjectExistsError):
        cf.put("k", b"y", if_not_exists=True)
    with pytest.raises(cfx.ObjectExistsError):
        cf.put("k", b"y", compress="br", if_not_exists=True)
    assert cf.get("k") == b"x" * 1000


def test_puts_writes_the_rest_and_names_every_existing_path(make: Any) -> None:
    cf = make()
    cf.puts([("a", b"old a"), ("c", b"old c")])
    with pytest.raises(cfx.ObjectExistsError) as info:
        cf.puts([("a", b"new a"), ("b", b"new b"), ("c", b"new c"), ("d", b"new d")], if_not_exists=True)
    assert info.value.paths == ["a", "c"] and "a, c" in str(info.value)
    assert cf.get(["a", "b", "c", "d"], return_dict=True) == {
        "a": b"old a", "b": b"new b", "c": b"old c", "d": b"new d"}
    # the per-item dict field overrides the keyword, both ways
    with pytest.raises(cfx.ObjectExistsError) as info:
        cf.puts([{"path": "a", "content": b"forced"}, {"path": "b", "content": b"no", "if_not_exists": True},
                 ("e", b"e")])
    assert info.value.paths == ["b"]
    assert cf.get(["a", "b", "e"], return_dict=True) == {"a": b"forced", "b": b"new b", "e": b"e"}
    cf.puts([{"path": "a", "content": b"again", "if_not_exists": False}], if_not_exists=True)
    assert cf.get("a") == b"again"


@pytest.mark.parametrize("scheme", ["s3-seaweed", "s3-moto", "gs"])
def test_large_uploads_are_conditional_too(scheme: str, request: pytest.FixtureRequest,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Multipart (S3: If-None-Match on CompleteMultipartUpload) and composite (GCS: on the compose)."""
    d = f"big{next(_counter)}"
    if scheme == "gs":
        emulator = request.getfixturevalue("gcs_emulator")
        monkeypatch.setenv("STORAGE_EMULATOR_HOST", emulator.url)
        cf = CloudFiles(f"gs://{BUCKET}/{d}", composite_upload_threshold=1 * MiB)
    else:
        if scheme == "s3-seaweed":
            seaweed = request.getfixturevalue("seaweed")
            endpoint, secrets = seaweed.endpoint, seaweed.secrets
        else:
            endpoint, secrets = request.getfixturevalue("moto_endpoint"), MOTO_SECRETS
        cf = CloudFiles(f"s3://{endpoint}/{BUCKET}/{d}", secrets=secrets, composite_upload_threshold=5 * MiB)
    big = bytes(range(256)) * (6 * MiB // 256)
    cf.put("big", big, if_not_exists=True)
    assert cf.get("big") == big
    with pytest.raises(cfx.ObjectExistsError):
        cf.put("big", b"z" * len(big), if_not_exists=True)
    # The race the early existence check cannot see: another writer creates the object while the parts
    # upload. The server refuses the final step, and no part or temporary object is left behind.
    cf.delete("big")
    iface = cf.interface
    monkeypatch.setattr(iface, "exists_files", lambda paths: iter([(p, False, None) for p in paths]))
    other = CloudFiles(cf.cloudpath, secrets=cf.secrets)
    other.put("big", b"the other writer")
    with pytest.raises(cfx.ObjectExistsError):
        cf.put("big", big, if_not_exists=True)
    assert cf.get("big") == b"the other writer"
    assert list(cf.list()) == ["big"]


def test_racing_conditional_writers_one_wins(make: Any) -> None:
    cf = make()
    outcomes: list[str] = []
    barrier = threading.Barrier(6)

    def write(n: int) -> None:
        barrier.wait()
        try:
            cf.put("contested", f"writer {n}".encode(), if_not_exists=True)
            outcomes.append(f"writer {n}")
        except cfx.ObjectExistsError:
            outcomes.append("refused")

    threads = [threading.Thread(target=write, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [o for o in outcomes if o != "refused"]
    assert len(winners) == 1 and outcomes.count("refused") == 5
    assert cf.get("contested") == winners[0].encode()


def test_the_shipped_gcs_emulator_ignores_if_generation_match(monkeypatch: pytest.MonkeyPatch) -> None:
    """Why the GCS cases use ``preconditions=True``: as shipped, the emulator overwrites."""
    with GCSEmulator(BUCKET) as shipped:
        monkeypatch.setenv("STORAGE_EMULATOR_HOST", shipped.url)
        cf = CloudFiles(f"gs://{BUCKET}/shipped")
        cf.put("k", b"first", if_not_exists=True)
        cf.put("k", b"second", if_not_exists=True)  # GCS would answer 412
        assert cf.get("k") == b"second"


def test_file_without_hard_links_is_still_exclusive(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A filesystem without hard links (link(2) says EPERM): the name is claimed with O_EXCL instead."""
    import errno
    import os

    def no_links(src: str, dst: str) -> None:
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    cf = CloudFiles(f"file://{tmp_path}")
    cf.put("k", b"first", if_not_exists=True)
    with pytest.raises(cfx.ObjectExistsError):
        cf.put("k", b"second", if_not_exists=True)
    assert cf.get("k") == b"first"
    assert sorted(os.listdir(tmp_path)) == ["k"]  # no temp file left behind


# -- fsspec: open(..., "xb") and pipe_file(..., mode="create") ----------------------------------------------
@pytest.fixture(params=["cffile", "cfmem", "cfs3"])
def fs_root(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Any, str]:
    fsspec = pytest.importorskip("fsspec")
    d = f"fs{next(_counter)}"
    if request.param == "cffile":
        return fsspec.filesystem("cffile"), f"{tmp_path}/{d}"
    if request.param == "cfmem":
        return fsspec.filesystem("cfmem"), f"{BUCKET}/{d}"
    seaweed = request.getfixturevalue("seaweed")
    fs = fsspec.filesystem("cfs3", endpoint=seaweed.endpoint, secrets=seaweed.secrets, skip_instance_cache=True)
    return fs, f"{BUCKET}/{d}"


def test_fsspec_exclusive_create(fs_root: tuple[Any, str]) -> None:
    fs, root = fs_root
    with fs.open(f"{root}/x", "xb") as f:
        f.write(b"created")
    assert fs.cat_file(f"{root}/x") == b"created"
    with pytest.raises(FileExistsError):
        fs.open(f"{root}/x", "xb")
    # Created by someone else between open and close: refused on close, nothing overwritten.
    f = fs.open(f"{root}/late", "xb")
    f.write(b"mine")
    fs.pipe_file(f"{root}/late", b"theirs")
    with pytest.raises(FileExistsError):
        f.close()
    assert fs.cat_file(f"{root}/late") == b"theirs"

    fs.pipe_file(f"{root}/p", b"one", mode="create")
    with pytest.raises(FileExistsError):
        fs.pipe_file(f"{root}/p", b"two", mode="create")
    assert fs.cat_file(f"{root}/p") == b"one"
    fs.pipe_file(f"{root}/p", b"three")  # mode="overwrite", the default
    assert fs.cat_file(f"{root}/p") == b"three"
    with pytest.raises(FileExistsError):
        fs.pipe({f"{root}/p": b"four", f"{root}/q": b"q"}, mode="create")
    assert fs.cat_file(f"{root}/p") == b"three" and fs.cat_file(f"{root}/q") == b"q"
