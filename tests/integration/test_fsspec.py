"""The fsspec filesystems (cloudfiles.fsspec) on real stores: file://, mem:// and S3 (SeaweedFS).

Each test runs against every store through the registered protocol names (cffile://, cfmem://, cfs3://),
and zarr (v3), dask.array and xarray read and write through them.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dask.array as da
import fsspec
import numpy as np
import pytest
import xarray as xr
import zarr

import cloudfiles
from cloudfiles import CloudFiles
from cloudfiles.fsspec import CloudFilesFileSystem

_counter = itertools.count()


class Store:
    """One fsspec root on a real store: ``url(name)`` gives a fresh URL, ``options`` the storage options."""

    def __init__(self, fs: CloudFilesFileSystem, root: str, options: dict[str, Any]) -> None:
        self.fs = fs
        self.root = root
        self.options = options

    def url(self, name: str) -> str:
        return f"{self.root}/{name}"


@pytest.fixture(params=["file", "mem", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    n = next(_counter)
    if request.param == "file":
        options: dict[str, Any] = {}
        root = f"cffile://{tmp_path}/fs{n}"
    elif request.param == "mem":
        options = {}
        root = f"cfmem://fsspec-test/t{n}"
    else:
        server = request.getfixturevalue("s3_server")
        options = {"endpoint": server.endpoint, "secrets": server.secrets}
        root = f"cfs3://eco/fsspec{n}"
    fs, _ = fsspec.url_to_fs(root, **options)
    yield Store(fs, root, options)
    cloudfiles.clear_memory()


def test_protocols_are_registered() -> None:
    for proto, cls_name in [
        ("cfs3", "CloudFilesS3FileSystem"), ("cfgs", "CloudFilesGCSFileSystem"),
        ("cffile", "CloudFilesLocalFileSystem"), ("cfmem", "CloudFilesMemoryFileSystem"),
        ("cfhttp", "CloudFilesHTTPFileSystem"), ("cfhttps", "CloudFilesHTTPSFileSystem"),
    ]:
        assert fsspec.get_filesystem_class(proto).__name__ == cls_name
    # the names fsspec, s3fs and gcsfs use are left alone
    ours = {p for cls in CloudFilesFileSystem.__subclasses__() for p in cls.protocol}
    assert len(ours) == 6
    assert not ours & {"s3", "s3a", "gs", "gcs", "file", "local", "memory", "http", "https"}


def test_pipe_cat_ls_find_info_rm(store: Store) -> None:
    fs, url = store.fs, store.url
    fs.pipe(url("a"), b"hello world")
    fs.pipe({url("d/b"): b"1", url("d/e/c"): b"22"})
    assert fs.cat(url("a")) == b"hello world"
    assert fs.cat_file(url("a"), 6) == b"world"
    assert fs.cat_file(url("a"), 0, 5) == b"hello"
    assert fs.cat_file(url("a"), -5) == b"world"
    assert fs.cat_file(url("a"), 2, -6) == b"llo"

    root = fs._strip_protocol(store.root)
    assert fs.ls(store.root, detail=False) == [f"{root}/a", f"{root}/d"]
    listing = {e["name"]: e for e in fs.ls(url("d"))}
    assert listing[f"{root}/d/b"]["type"] == "file" and listing[f"{root}/d/b"]["size"] == 1
    assert listing[f"{root}/d/e"]["type"] == "directory"
    assert fs.find(store.root) == [f"{root}/a", f"{root}/d/b", f"{root}/d/e/c"]
    assert fs.info(url("d/e/c"))["size"] == 2
    assert fs.info(url("d"))["type"] == "directory"
    assert fs.isfile(url("a")) and fs.isdir(url("d")) and not fs.exists(url("nope"))
    with pytest.raises(FileNotFoundError):
        fs.info(url("nope"))
    with pytest.raises(FileNotFoundError):
        fs.cat_file(url("nope"))

    # many paths: a dict, missing ones per on_error
    got = fs.cat([url("a"), url("d/b"), url("nope")], on_error="omit")
    assert got == {f"{root}/a": b"hello world", f"{root}/d/b": b"1"}
    got = fs.cat([url("a"), url("nope")], on_error="return")
    assert isinstance(got[f"{root}/nope"], FileNotFoundError)
    with pytest.raises(FileNotFoundError):
        fs.cat([url("a"), url("nope")])
    assert fs.cat(url("d"), recursive=True) == {f"{root}/d/b": b"1", f"{root}/d/e/c": b"22"}

    assert fs.cat_ranges([url("a"), url("a"), url("d/e/c")], [0, 6, 1], [5, None, 2]) == [b"hello", b"world", b"2"]

    fs.rm(url("d"), recursive=True)
    assert fs.find(store.root) == [f"{root}/a"]
    fs.rm(url("a"))
    assert not fs.exists(url("a"))


def test_cat_of_many_paths_is_one_batched_get(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    fs, url = store.fs, store.url
    fs.pipe({url(f"k{i}"): bytes([i]) * (i + 1) for i in range(50)})
    calls: list[int] = []
    real_get = CloudFiles.get

    def counting_get(self: CloudFiles, paths: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real_get(self, paths, **kwargs)

    monkeypatch.setattr(CloudFiles, "get", counting_get)
    got = fs.cat([url(f"k{i}") for i in range(50)])
    root = store.fs._strip_protocol(store.root)
    assert got == {f"{root}/k{i}": bytes([i]) * (i + 1) for i in range(50)}
    assert len(calls) == 1
    fs.cat_ranges([url(f"k{i}") for i in range(50)], 0, 1)
    assert len(calls) == 2


def test_open_read_ranged_and_write(store: Store) -> None:
    fs, url = store.fs, store.url
    payload = np.random.default_rng(1).integers(0, 256, 3 * 2**20 + 17, dtype=np.uint8).tobytes()
    with fs.open(url("big"), "wb", block_size=2**20) as f:
        for i in range(0, len(payload), 700_000):
            f.write(payload[i : i + 700_000])
    assert fs.info(url("big"))["size"] == len(payload)
    with fs.open(url("big"), "rb", block_size=2**18) as f:
        f.seek(2**20 + 5)
        assert f.read(1000) == payload[2**20 + 5 : 2**20 + 1005]
        f.seek(-10, 2)
        assert f.read() == payload[-10:]
    with fsspec.open(url("big"), "rb", **store.options) as f:
        assert f.read() == payload


def test_zarr_v3_roundtrip(store: Store) -> None:
    assert zarr.__version__.split(".")[0] == "3"
    data = np.arange(60 * 70, dtype="int32").reshape(60, 70)
    z = zarr.open_array(store.url("z"), mode="w", shape=data.shape, chunks=(16, 16), dtype="int32",
                        storage_options=store.options)
    z[:] = data
    back = zarr.open_array(store.url("z"), mode="r", storage_options=store.options)
    np.testing.assert_array_equal(back[:], data)
    np.testing.assert_array_equal(back[5:40, 33:69], data[5:40, 33:69])
    # chunk objects really are on the store
    assert any("/c/" in p for p in store.fs.find(store.url("z")))


def test_dask_array_to_and_from_zarr(store: Store) -> None:
    x = da.from_array(np.random.default_rng(2).random((64, 48)), chunks=(16, 16))
    da.to_zarr(x, store.url("dz"), storage_options=store.options, overwrite=True)
    back = da.from_zarr(store.url("dz"), storage_options=store.options)
    assert back.chunks == x.chunks
    np.testing.assert_array_equal(back.compute(), x.compute())
    assert float((back * 2).sum().compute()) == pytest.approx(float(x.sum().compute()) * 2)


def test_xarray_to_and_open_zarr(store: Store) -> None:
    ds = xr.Dataset(
        {"temp": (("t", "y"), np.random.default_rng(3).random((30, 20))), "n": ("t", np.arange(30))},
        coords={"t": np.arange(30), "y": np.linspace(0, 1, 20)},
        attrs={"title": "eco"},
    )
    ds.chunk({"t": 10}).to_zarr(store.url("xz"), mode="w", storage_options=store.options, consolidated=False)
    back = xr.open_zarr(store.url("xz"), storage_options=store.options, consolidated=False)
    assert back.attrs["title"] == "eco"
    assert back.temp.chunks is not None  # lazily loaded through dask
    xr.testing.assert_identical(back.load(), ds)
