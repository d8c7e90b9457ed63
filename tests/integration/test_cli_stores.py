"""The installed ``cloudfiles`` executable against the real object stores: SeaweedFS (S3, signatures
checked) and the GCS emulator, in a subprocess that finds them the way a user's shell would
(``AWS_ENDPOINT_URL_S3`` + keys, ``STORAGE_EMULATOR_HOST``). Every copy is read back through the API.
"""

# ruff: noqa: F811 - the seaweed/gcs/nginx fixtures are imported and named as test parameters
from __future__ import annotations

import hashlib
import itertools
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import google_crc32c
import pytest
from test_cli import (
    ALL_FILES,
    BINARY,
    FILES,
    assert_user_error,
    check_copy,
    contents,
    run,
    seed,
    src,  # noqa: F401 - the fixture: a local tree of FILES plus a gzip-stored file
    stored_encoding,
)

from cloudfiles import CloudFiles

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from gcs_emulator import GCSEmulator
from seaweed import SeaweedFS
from test_gcs import BUCKET as GS_BUCKET
from test_gcs import gcs  # noqa: F401
from test_s3 import BUCKET as S3_BUCKET
from test_s3 import seaweed  # noqa: F401

CLI_CODECS = ["same", "none", "gzip", "br", "zstd"]
_counter = itertools.count()


@pytest.fixture
def env(seaweed: SeaweedFS, gcs: GCSEmulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """What a user exports to reach these servers; the subprocess inherits it."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", seaweed.endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", seaweed.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", seaweed.secret_key)
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", gcs.url)
    yield


def s3_path() -> str:
    return f"s3://{S3_BUCKET}/cli{next(_counter)}"


def gs_path() -> str:
    return f"gs://{GS_BUCKET}/cli{next(_counter)}"


def api(path: str) -> CloudFiles:
    """The API view of a path (credentials and endpoints from the same environment)."""
    return CloudFiles(path)


@pytest.mark.parametrize("codec", CLI_CODECS)
def test_cp_every_direction_every_codec(env: None, src: Path, tmp_path: Path, codec: str) -> None:
    s3a, gsa, s3b = f"{s3_path()}/copy", f"{gs_path()}/copy", f"{s3_path()}/copy"
    run("cp", "-r", "-c", codec, str(src), s3a)  # file -> s3
    check_copy(api(s3a), codec)
    run("cp", "-r", "-c", codec, s3a, gsa)  # s3 -> gs
    check_copy(api(gsa), codec)
    run("cp", "-r", "-c", codec, gsa, s3b)  # gs -> s3
    check_copy(api(s3b), codec)
    run("cp", "-r", "-c", codec, s3b, str(tmp_path / "from-s3"))  # s3 -> file
    check_copy(CloudFiles(f"file://{tmp_path}/from-s3"), codec)
    run("cp", "-r", "-c", codec, gsa, str(tmp_path / "from-gs"))  # gs -> file
    check_copy(CloudFiles(f"file://{tmp_path}/from-gs"), codec)


@pytest.mark.parametrize("codec", ["same", "gzip", "zstd"])
def test_cp_same_service_copies(env: None, src: Path, codec: str) -> None:
    """s3 -> s3 and gs -> gs (server-side when the encoding is kept)."""
    s3a, s3b, gsa, gsb = f"{s3_path()}/a", f"{s3_path()}/b", f"{gs_path()}/a", f"{gs_path()}/b"
    run("cp", "-r", str(src), s3a)
    run("cp", "-r", "-c", codec, s3a, s3b)
    check_copy(api(s3b), codec)
    run("cp", "-r", str(src), gsa)
    run("cp", "-r", "-c", codec, gsa, gsb)
    check_copy(api(gsb), codec)


def test_cp_http_to_object_stores(env: None, nginx: Any) -> None:
    d = f"clis{next(_counter)}"
    seed(CloudFiles(f"file://{nginx.root}/{d}"))
    for dest, codec in ((f"{s3_path()}/web", "br"), (f"{gs_path()}/web", "gzip")):
        run("cp", "-r", "-c", codec, f"{nginx.url}/{d}", dest)
        check_copy(api(dest), codec, FILES)


def test_cp_single_objects_stdout_and_globs(env: None, src: Path, tmp_path: Path) -> None:
    base = s3_path()
    run("cp", "-r", str(src), base)
    assert run("cp", f"{base}/binary.bin", "-").stdout == BINARY
    run("cp", f"{base}/binary.bin", str(tmp_path / "one.bin"))
    assert (tmp_path / "one.bin").read_bytes() == BINARY
    gdir = gs_path()
    run("cp", f"{base}/*.txt", f"{gdir}/")
    assert contents(api(gdir)) == {"plain.txt": FILES["plain.txt"]}
    run("cp", "-r", f"{base}/nested/**", f"{gdir}/deep/")
    assert api(gdir).get("deep/deeper/leaf.json") == FILES["nested/deeper/leaf.json"]


def test_ls_du_cat_rm_on_object_stores(env: None, src: Path) -> None:
    for base in (s3_path(), gs_path()):
        run("cp", "-r", str(src), base)
        # 'base/' is the directory; 'base' alone would be a prefix (cli1 also matches cli10/...)
        assert set(run("ls", "--shortpath", f"{base}/").stdout.decode().split()) == set(ALL_FILES)
        assert set(run("ls", f"{base}/").stdout.decode().split()) == {f"{base}/{k}" for k in ALL_FILES}
        _bucket, name = base.rsplit("/", 1)
        assert set(run("ls", "--shortpath", base).stdout.decode().split()) >= {f"{name}/{k}" for k in ALL_FILES}
        assert f"{name}/" in run("ls", "--shortpath", "--flat", base).stdout.decode().split()
        assert run("ls", "--shortpath", f"{base}/pla").stdout.decode() == "plain.txt\n"
        flat = set(run("ls", "--shortpath", "--flat", f"{base}/").stdout.decode().split())
        assert flat == {"plain.txt", "binary.bin", "empty", "packed", "nested/"}
        assert set(run("ls", "--shortpath", f"{base}/**.json").stdout.decode().split()) == {"nested/deeper/leaf.json"}
        assert run("cat", f"{base}/binary.bin").stdout == BINARY
        assert run("cat", "-r", "10-20", f"{base}/binary.bin").stdout == BINARY[10:20]
        assert run("cat", f"{base}/packed").stdout == ALL_FILES["packed"]
        stored = sum(api(base).size(list(ALL_FILES)).values())
        assert int(run("du", "-s", f"{base}/").stdout.decode().split()[0]) == stored
        assert_user_error(run("--strict", "rm", f"{base}/nested", check=False), "directory")
        assert run("rm", f"{base}/nested/").stdout.decode() == f"cloudfiles: {base}/nested/: is a directory.\n"
        run("rm", f"{base}/nested")  # without '/': an object name, as in cloud-files (there is none)
        assert api(base).exists("nested/deeper/leaf.json")
        run("rm", f"{base}/plain.txt")
        assert not api(base).exists("plain.txt")
        run("rm", "-r", f"{base}/nested")
        assert not api(base).exists("nested/deeper/leaf.json")
        assert api(base).exists("binary.bin")
        run("rm", "-r", base)
        assert list(api(base).list()) == []


def test_hash_and_head_use_the_objects(env: None, src: Path) -> None:
    md5 = hashlib.md5(BINARY).hexdigest()
    crc = google_crc32c.Checksum(BINARY).digest().hex()
    for base in (s3_path(), gs_path()):
        run("cp", str(src / "binary.bin"), f"{base}/binary.bin")
        out = run("hash", "-a", "md5", "-a", "crc32c", f"{base}/binary.bin").stdout.decode()
        assert out == f"md5:{md5} crc32c:{crc}  {base}/binary.bin\n"
        assert str(len(BINARY)) in run("head", f"{base}/binary.bin").stdout.decode()


def test_sync_between_stores_copies_only_differences(env: None, src: Path, tmp_path: Path) -> None:
    s3d, gsd = s3_path(), gs_path()
    assert run("sync", str(src), s3d).stdout.decode() == f"{len(ALL_FILES)} copied, 0 up to date\n"
    assert run("sync", s3d, gsd).stdout.decode() == f"{len(ALL_FILES)} copied, 0 up to date\n"
    assert run("sync", s3d, gsd).stdout.decode() == f"0 copied, {len(ALL_FILES)} up to date\n"
    (src / "plain.txt").write_bytes(b"changed")
    assert run("sync", str(src), s3d).stdout.decode().startswith("1 copied")
    assert run("sync", s3d, gsd).stdout.decode().startswith("1 copied")
    assert api(gsd).get("plain.txt") == b"changed"
    assert stored_encoding(api(gsd), "packed") == "gzip"


def test_mv_between_stores(env: None, src: Path, tmp_path: Path) -> None:
    s3d, gsd = s3_path(), gs_path()
    run("cp", "-r", str(src), s3d)
    run("mv", s3d, gsd)
    assert contents(api(gsd)) == ALL_FILES
    assert list(api(s3d).list()) == []
    run("mv", gsd, str(tmp_path / "home"))
    assert contents(CloudFiles(f"file://{tmp_path}/home")) == ALL_FILES
    assert list(api(gsd).list()) == []


def test_large_object_streams_through_the_cli(env: None, tmp_path: Path) -> None:
    """Above the stream threshold (16 MiB) objects move in ranges; bytes and names survive."""
    big = os.urandom(17 << 20)
    (tmp_path / "big.bin").write_bytes(big)
    s3d, gsd = s3_path(), gs_path()
    run("cp", str(tmp_path / "big.bin"), f"{s3d}/big.bin")
    run("cp", f"{s3d}/big.bin", f"{gsd}/big.bin")
    run("cp", f"{gsd}/big.bin", str(tmp_path / "back.bin"))
    assert (tmp_path / "back.bin").read_bytes() == big
    assert not [p for p in os.listdir(tmp_path) if p.endswith((".part", ".cftmp"))]


def test_cp_resumable_http_download(nginx: Any, tmp_path: Path) -> None:
    """--resumable: a .part left by an earlier run for the same object version is completed, not redone."""
    d = f"clis{next(_counter)}"
    data = os.urandom(300_000)
    CloudFiles(f"file://{nginx.root}/{d}").put("blob", data)
    url = f"{nginx.url}/{d}/blob"
    run("cp", "--resumable", url, str(tmp_path / "first"))
    assert (tmp_path / "first").read_bytes() == data
    etag = CloudFiles(f"{nginx.url}/{d}").head("blob")["ETag"]
    (tmp_path / "second.part").write_bytes(data[:100_000])
    (tmp_path / "second.part.json").write_text(
        json.dumps({"url": url, "validator": etag, "size": len(data)}))
    run("cp", "--resumable", url, str(tmp_path / "second"))
    assert (tmp_path / "second").read_bytes() == data
    assert sorted(os.listdir(tmp_path)) == ["first", "second"]
