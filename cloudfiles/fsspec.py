"""fsspec filesystems backed by cloudfiles (``pip install cloudfiles[fsspec]``).

Protocols (registered through the ``fsspec.specs`` entry point, so ``fsspec.open("cfs3://b/k")`` works
without importing this module):

====================  ==========================  ===============================
fsspec URL            cloudfiles path             filesystem class
====================  ==========================  ===============================
``cfs3://bucket/k``   ``s3://bucket/k``           :class:`CloudFilesS3FileSystem`
``cfgs://bucket/k``   ``gs://bucket/k``           :class:`CloudFilesGCSFileSystem`
``cffile:///abs/k``   ``file:///abs/k``           :class:`CloudFilesLocalFileSystem`
``cfmem://bucket/k``  ``mem://bucket/k``          :class:`CloudFilesMemoryFileSystem`
``cfhttp(s)://h/k``   ``http(s)://h/k``           :class:`CloudFilesHTTPFileSystem`
====================  ==========================  ===============================

The ``cf`` prefix keeps these apart from s3fs/gcsfs (``s3://``, ``gs://``), so both can be installed.
Storage options are :class:`~cloudfiles.CloudFiles` keyword arguments (``secrets``, ``endpoint``,
``num_threads``, ``use_https``...), plus ``compress`` (codec for files written through this
filesystem; default None).

Reads of many objects go through the engine as one batch: ``cat([...])``, ``cat_ranges`` and a
recursive ``cat`` issue one :meth:`CloudFiles.get` per bucket, so a zarr or dask read of many chunks
keeps many requests in flight from one thread.

Objects stored compressed (``x.gz`` on file://, ``Content-Encoding`` on object stores) are decoded by
``cat``; ``info()['size']`` and ranged reads see the stored bytes, as object stores report them.
"""

from __future__ import annotations

import contextlib
import errno
import inspect
import os
from collections import defaultdict
from collections.abc import Iterable, Iterator
from typing import Any

from fsspec.spec import AbstractBufferedFile, AbstractFileSystem

from .cloudfiles import CloudFiles

__all__ = [
    "CloudFilesFileSystem",
    "CloudFilesGCSFileSystem",
    "CloudFilesHTTPFileSystem",
    "CloudFilesHTTPSFileSystem",
    "CloudFilesLocalFileSystem",
    "CloudFilesMemoryFileSystem",
    "CloudFilesS3FileSystem",
]

_FILE = "file"
_CLOUDFILES_OPTIONS = frozenset(inspect.signature(CloudFiles.__init__).parameters) - {"self", "cloudpath"}


class CloudFilesFileSystem(AbstractFileSystem):  # type: ignore[misc]  # fsspec has no type hints
    """An fsspec filesystem over one cloudfiles scheme; use the per-scheme subclasses.

    Paths inside the filesystem are ``bucket/key`` (``host:port/key`` for http, ``/abs/path`` for
    files). Each bucket is served by one cached :class:`CloudFiles`.
    """

    #: the cloudfiles scheme served ("s3", "gs", "file", "mem", "http", "https")
    scheme: str = ""
    protocol: str | tuple[str, ...] = ()
    root_marker = ""

    def __init__(self, *, compress: str | None = None, **cloudfiles_kwargs: Any) -> None:
        if not self.scheme:
            raise TypeError("use a per-scheme subclass (CloudFilesS3FileSystem, ...) or fsspec.filesystem('cfs3')")
        super().__init__(compress=compress, **cloudfiles_kwargs)
        self.compress = compress
        # fsspec adds its own options (asynchronous, loop, ...): keep only what CloudFiles takes
        self.cloudfiles_kwargs = {k: v for k, v in cloudfiles_kwargs.items() if k in _CLOUDFILES_OPTIONS}
        self._cfs: dict[str, CloudFiles] = {}

    # -- paths ---------------------------------------------------------------------------------------
    def _split(self, path: str) -> tuple[str, str]:
        """``(bucket, key)`` of an fsspec path; file:// has one bucket, ``""`` (the root directory)."""
        path = self._strip_protocol(path)
        if self.scheme == _FILE:
            return "", path.lstrip("/")
        bucket, _, key = path.partition("/")
        if not bucket:
            raise ValueError(f"{self.scheme}: a path needs a bucket (host for http): {path!r}")
        return bucket, key

    def _join(self, bucket: str, key: str) -> str:
        if self.scheme == _FILE:
            return "/" + key
        return f"{bucket}/{key}" if key else bucket

    def _cf(self, bucket: str) -> CloudFiles:
        """The CloudFiles serving one bucket (file://: the root directory), created once."""
        cf = self._cfs.get(bucket)
        if cf is None:
            cloudpath = "file:///" if self.scheme == _FILE else f"{self.scheme}://{bucket}/"
            # fsspec wants uniform metadata (aware datetimes, every head key), not cloud-files' shapes
            cf = CloudFiles(cloudpath, **{"consistent_shapes": True, **self.cloudfiles_kwargs})
            self._cfs[bucket] = cf
        return cf

    def _by_bucket(self, paths: Iterable[str]) -> dict[str, list[tuple[int, str]]]:
        groups: dict[str, list[tuple[int, str]]] = defaultdict(list)
        for i, path in enumerate(paths):
            bucket, key = self._split(path)
            groups[bucket].append((i, key))
        return groups

    # -- metadata ------------------------------------------------------------------------------------
    def info(self, path: str, **kwargs: Any) -> dict[str, Any]:
        """``{'name', 'size', 'type'}`` (+ ``LastModified``/``ContentType`` from a head when a file)."""
        bucket, key = self._split(path)
        name = self._join(bucket, key)
        if key:
            head = self._cf(bucket).head(key)
            if head is not None:
                size = head.get("Content-Length")
                if size is None:
                    size = self._cf(bucket).size(key)
                return {
                    "name": name,
                    "size": int(size) if size is not None else None,
                    "type": "file",
                    "LastModified": head.get("Last-Modified"),
                    "ContentType": head.get("Content-Type"),
                    "ContentEncoding": head.get("Content-Encoding"),
                }
        if not key or self._cf(bucket).isdir(key):
            return {"name": name, "size": 0, "type": "directory"}
        raise FileNotFoundError(name)

    def modified(self, path: str) -> Any:
        """Last-Modified of a file (a timezone-aware datetime)."""
        return self.info(path)["LastModified"]

    def ls(self, path: str, detail: bool = True, **kwargs: Any) -> list[Any]:
        """One level of listing: files with sizes and ``dir/`` entries as directories."""
        bucket, key = self._split(path)
        prefix = f"{key.rstrip('/')}/" if key else ""
        out: list[dict[str, Any]] = []
        for name, size in self._cf(bucket).list(prefix=prefix, flat=True, size=True):
            if name.endswith("/"):
                out.append({"name": self._join(bucket, name.rstrip("/")), "size": 0, "type": "directory"})
            else:
                out.append({"name": self._join(bucket, name), "size": size, "type": "file"})
        if not out:
            info = self.info(path)  # a file lists as itself; a missing path raises FileNotFoundError
            out = [info] if info["type"] == "file" else []
        out.sort(key=lambda e: e["name"])
        return out if detail else [e["name"] for e in out]

    def find(
        self, path: str, maxdepth: int | None = None, withdirs: bool = False, detail: bool = False, **kwargs: Any
    ) -> Any:
        """Every file under ``path`` from one recursive listing (no per-directory round trips)."""
        if maxdepth is not None or withdirs:
            return super().find(path, maxdepth=maxdepth, withdirs=withdirs, detail=detail, **kwargs)
        bucket, key = self._split(path)
        prefix = f"{key.rstrip('/')}/" if key else ""
        found: dict[str, dict[str, Any]] = {}
        for name, size in self._cf(bucket).list(prefix=prefix, size=True):
            full = self._join(bucket, name)
            found[full] = {"name": full, "size": size, "type": "file"}
        if not found and key:
            try:
                info = self.info(path)
            except FileNotFoundError:
                info = None
            if info is not None and info["type"] == "file":
                found[info["name"]] = info
        names = sorted(found)
        return {n: found[n] for n in names} if detail else names

    # -- reads ---------------------------------------------------------------------------------------
    def _range(self, bucket: str, key: str, start: int | None, end: int | None) -> tuple[int | None, int | None]:
        """Negative offsets count from the end: file/mem read them natively, remote schemes need the size."""
        if self.scheme in (_FILE, "mem") or ((start or 0) >= 0 and (end is None or end >= 0)):
            return start, end
        size = self._cf(bucket).size(key)
        if size is None:
            raise FileNotFoundError(self._join(bucket, key))
        if start is not None and start < 0:
            start = max(0, size + start)
        if end is not None and end < 0:
            end = max(0, size + end)
        return start, end

    def _get_many(
        self, paths: list[str], starts: list[int | None] | None = None, ends: list[int | None] | None = None
    ) -> list[bytes | BaseException]:
        """Fetch many (ranged) objects: one batched ``CloudFiles.get`` per bucket; results in input order."""
        out: list[bytes | BaseException] = [FileNotFoundError(p) for p in paths]
        for bucket, items in self._by_bucket(paths).items():
            requests: list[dict[str, Any]] = []
            for i, key in items:
                start = starts[i] if starts is not None else None
                end = ends[i] if ends is not None else None
                try:
                    start, end = self._range(bucket, key, start, end)
                except FileNotFoundError as err:
                    out[i] = err
                    continue
                # tags carry the input index back: results arrive in completion order
                requests.append({"path": key, "start": start, "end": end, "tags": i})
            for res in self._cf(bucket).get(requests, raise_errors=False):
                i = res["tags"]
                if res["error"] is not None:
                    out[i] = res["error"]
                elif res["content"] is None:
                    out[i] = FileNotFoundError(paths[i])
                else:
                    out[i] = res["content"]
        return out

    def cat_file(self, path: str, start: int | None = None, end: int | None = None, **kwargs: Any) -> bytes:
        """The bytes of one object, or of ``[start, end)`` (Python slice rules, negatives from the end)."""
        (res,) = self._get_many([path], [start], [end])
        if isinstance(res, BaseException):
            raise res
        return res

    def cat(self, path: str | list[str], recursive: bool = False, on_error: str = "raise", **kwargs: Any) -> Any:
        """Contents of one or many files; many files are fetched as one batch through the engine."""
        if recursive:
            paths = []
            for p in [path] if isinstance(path, str) else path:
                paths.extend(self.find(p))
        else:
            paths = self.expand_path(path, recursive=False)
        results = self._get_many(paths)
        if len(paths) > 1 or isinstance(path, list) or paths[0] != self._strip_protocol(path):
            out: dict[str, Any] = {}
            for p, res in zip(paths, results, strict=True):
                if isinstance(res, BaseException):
                    if on_error == "raise":
                        raise res
                    if on_error == "omit":
                        continue
                out[p] = res
            return out
        if isinstance(results[0], BaseException):
            raise results[0]
        return results[0]

    def cat_ranges(
        self,
        paths: list[str],
        starts: int | list[int | None] | None,
        ends: int | list[int | None] | None,
        max_gap: int | None = None,
        on_error: str = "return",
        **kwargs: Any,
    ) -> list[Any]:
        """Many byte ranges in one batch; errors are returned in place (or raised with ``on_error='raise'``)."""
        n = len(paths)
        starts_l = starts if isinstance(starts, list) else [starts] * n
        ends_l = ends if isinstance(ends, list) else [ends] * n
        if len(starts_l) != n or len(ends_l) != n:
            raise ValueError("paths, starts and ends must have the same length")
        results = self._get_many(list(paths), starts_l, ends_l)
        if on_error == "raise":
            for res in results:
                if isinstance(res, BaseException):
                    raise res
        return list(results)

    # -- writes --------------------------------------------------------------------------------------
    def pipe_file(self, path: str, value: Any, mode: str = "overwrite", **kwargs: Any) -> None:
        """Write one object (any bytes-like value, numpy arrays included, without a copy).

        ``mode="create"``: FileExistsError (:class:`~cloudfiles.exceptions.ObjectExistsError`) when the
        object exists, decided by the store itself (``put(..., if_not_exists=True)``), not by a
        separate exists() call that another writer could race.
        """
        bucket, key = self._split(path)
        if not key:
            raise IsADirectoryError(path)
        self._cf(bucket).put(
            key, value, compress=kwargs.get("compress", self.compress), if_not_exists=_create_only(mode)
        )

    def pipe(self, path: str | dict[str, Any], value: Any = None, **kwargs: Any) -> None:
        """Write one object, or a ``{path: bytes}`` dict as one batched upload per bucket.

        ``mode="create"`` as for :meth:`pipe_file` (the other objects are still written).
        """
        files = {path: value} if isinstance(path, str) else path
        names = list(files)
        create = _create_only(kwargs.get("mode", "overwrite"))
        for bucket, items in self._by_bucket(names).items():
            self._cf(bucket).puts(
                [(key, files[names[i]]) for i, key in items],
                compress=kwargs.get("compress", self.compress),
                if_not_exists=create,
            )

    def rm_file(self, path: str) -> None:
        bucket, key = self._split(path)
        self._cf(bucket).delete(key)

    def rm(self, path: str | list[str], recursive: bool = False, maxdepth: int | None = None) -> None:
        """Delete files (a directory needs ``recursive=True``) in one batch per bucket."""
        targets: list[str] = []
        for p in [path] if isinstance(path, str) else path:
            if recursive:
                found = self.find(p)
                if not found and not self.exists(p):
                    raise FileNotFoundError(p)
                targets.extend(found)
            else:
                targets.append(self._strip_protocol(p))
        for bucket, items in self._by_bucket(targets).items():
            self._cf(bucket).delete([key for _i, key in items])
        if self.scheme == _FILE and recursive:
            for p in [path] if isinstance(path, str) else path:
                _remove_empty_dirs(self._strip_protocol(p))

    def cp_file(self, path1: str, path2: str, **kwargs: Any) -> None:
        """Copy one object (through this process; server-side copies are ``CloudFiles.transfer_to``)."""
        self.pipe_file(path2, self.cat_file(path1))

    def mkdir(self, path: str, create_parents: bool = True, **kwargs: Any) -> None:
        """Object stores have no directories (no-op); file:// creates one."""
        if self.scheme == _FILE:
            os.makedirs(self._strip_protocol(path), exist_ok=True)

    def makedirs(self, path: str, exist_ok: bool = False) -> None:
        self.mkdir(path)

    def rmdir(self, path: str) -> None:
        if self.scheme == _FILE:
            os.rmdir(self._strip_protocol(path))

    def _open(
        self,
        path: str,
        mode: str = "rb",
        block_size: int | None = None,
        autocommit: bool = True,
        cache_options: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> CloudFilesBufferedFile:
        """``"xb"`` (exclusive create) fails at once when the object exists, and again on close if
        another writer created it meanwhile: the object is written with ``if_not_exists=True``."""
        if mode == "xb" and self.exists(path):
            raise FileExistsError(errno.EEXIST, "the object exists (mode 'xb')", path)
        return CloudFilesBufferedFile(
            self, path, mode=mode, block_size=block_size or "default", autocommit=autocommit,
            cache_options=cache_options, **kwargs,
        )


def _create_only(mode: str) -> bool:
    """fsspec's pipe modes: "overwrite" (default) or "create" (fail if the object exists)."""
    if mode not in ("overwrite", "create"):
        raise ValueError(f"mode must be 'overwrite' or 'create', got {mode!r}")
    return mode == "create"


def _remove_empty_dirs(root: str) -> None:
    """After a recursive rm on file://, drop the directories it emptied (object stores have none)."""
    if not os.path.isdir(root):
        return
    for dirpath, _dirnames, _files in os.walk(root, topdown=False):
        with contextlib.suppress(OSError):  # not empty: something else lives there
            os.rmdir(dirpath)


class CloudFilesBufferedFile(AbstractBufferedFile):  # type: ignore[misc]  # fsspec has no type hints
    """A file opened through a CloudFiles filesystem.

    Reads fetch blocks with ranged gets (fsspec's read-ahead cache by default). Writes are buffered in
    memory and stored as one object on close: object stores have no appends, and a partially written
    object must never become visible.
    """

    fs: CloudFilesFileSystem

    def _fetch_range(self, start: int, end: int) -> bytes:
        return self.fs.cat_file(self.path, start, end)

    def _initiate_upload(self) -> None:
        self._parts: list[bytes] = []

    def _upload_chunk(self, final: bool = False) -> bool:
        self._parts.append(self.buffer.getvalue())
        if final:
            data = self._parts[0] if len(self._parts) == 1 else b"".join(self._parts)
            self._parts = []
            self.fs.pipe_file(self.path, data, mode="create" if self.mode == "xb" else "overwrite")
        return True


class CloudFilesS3FileSystem(CloudFilesFileSystem):
    """``cfs3://bucket/key``: S3 and S3-compatible stores (``endpoint=`` for a custom host)."""

    scheme = "s3"
    protocol = ("cfs3",)


class CloudFilesGCSFileSystem(CloudFilesFileSystem):
    """``cfgs://bucket/key``: Google Cloud Storage."""

    scheme = "gs"
    protocol = ("cfgs",)


class CloudFilesLocalFileSystem(CloudFilesFileSystem):
    """``cffile:///absolute/path``: local files (atomic writes; ``x.gz`` variants read decoded)."""

    scheme = _FILE
    protocol = ("cffile",)
    root_marker = "/"

    @classmethod
    def _strip_protocol(cls, path: Any) -> str:
        path = super()._strip_protocol(path)
        return "/" + str(path).lstrip("/")


class CloudFilesMemoryFileSystem(CloudFilesFileSystem):
    """``cfmem://bucket/key``: cloudfiles' process-wide memory store (the same data as ``mem://``)."""

    scheme = "mem"
    protocol = ("cfmem",)


class CloudFilesHTTPFileSystem(CloudFilesFileSystem):
    """``cfhttp://host:port/path``: plain web servers (reads; writes need a WebDAV-style server)."""

    scheme = "http"
    protocol = ("cfhttp",)


class CloudFilesHTTPSFileSystem(CloudFilesFileSystem):
    """``cfhttps://host/path``: web servers over TLS."""

    scheme = "https"
    protocol = ("cfhttps",)


def iter_protocols() -> Iterator[tuple[str, type[CloudFilesFileSystem]]]:
    """``(fsspec protocol, class)`` for every filesystem defined here."""
    for cls in (
        CloudFilesS3FileSystem, CloudFilesGCSFileSystem, CloudFilesLocalFileSystem,
        CloudFilesMemoryFileSystem, CloudFilesHTTPFileSystem, CloudFilesHTTPSFileSystem,
    ):
        yield cls.protocol[0], cls
