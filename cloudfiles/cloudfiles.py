"""The :class:`CloudFiles` facade: the cloud-files API over every scheme.

This layer owns input shapes (scalar vs iterable, tuples vs dicts), result shapes, errors, progress
bars, compression of uploads and decompression of downloads (on :mod:`cloudfiles.codecpool`), and
process-level ``parallel``. Everything that touches storage goes through one
:class:`~cloudfiles.interfaces.base.StorageInterface` per CloudFiles, in batch form: the facade hands
it a lazy iterable of requests and consumes results as they complete.

Deliberate differences from cloud-files 6.4.3 (SPEC section 9), each documented on its method:
``delete`` returns the number of paths deleted (not batches); ``parallel>1`` never changes a return
shape; ``get_acl``/``dl`` return scalars for scalar input; ``put_jsons`` forwards ``cache_control``;
``isdir`` always checks; ``endpoint`` and ``no_sign_request`` work; the ``compress`` key of a result is
None (not ``''``) for identity on every scheme.
"""

from __future__ import annotations

import builtins
import itertools
import multiprocessing
import os
import posixpath
import sys
from collections.abc import Generator, Iterable, Iterator
from typing import TYPE_CHECKING, Any, Literal, Union, cast, overload

import orjson

from . import compression, forksafe, paths, reads, transfers, writes
from .exceptions import CRC32CIntegrityError, MD5IntegrityError, UnsupportedProtocolError
from .interfaces import get_interface_class
from .interfaces.base import InterfaceOptions, StorageInterface
from .interfaces.file import FileInterface
from .lib import jsonify, sip, toiter
from .monitoring import IOEnum, TransmissionMonitor
from .parallel import run_facade
from .progress import Bar
from .reads import RESULT_KEYS
from .shapes import is_reiterable, item_dict, jsonify_item, path_of_get, put_items, totalfn, writable_view
from .typing import GetPathDict, GetResultDict, HeadDict

if TYPE_CHECKING:
    from .cloudfile import CloudFile

GetPathType = Union[str, dict[str, Any], Iterable[Any]]  # noqa: UP007 (a runtime alias)
PutType = Any


def _detect_green(green: bool | None) -> bool:
    if green is not None:
        return bool(green)
    monkey = sys.modules.get("gevent.monkey")
    return bool(monkey is not None and getattr(monkey, "saved", None))


# -- the facade ----------------------------------------------------------------------------------------
class CloudFiles:
    """A multi-threaded key-value client for one directory (cloudpath) on GCS, S3, HTTP(S), local
    files (``file://``) or memory (``mem://``).

    Methods accept one path (a ``str``, or a ``dict`` for ranged gets / puts) and return a scalar, or
    any iterable of paths (list, tuple, set, generator, iterator, another CloudFiles) and return a
    collection. Generators are consumed lazily.

    Parameters (all keyword-only after ``cloudpath``):
      progress: show tqdm bars for multi-item operations; a str is appended to the bar description.
      green: True uses gevent-friendly waits; None detects gevent monkey-patching; False uses threads.
      secrets: dict or JSON string of credentials overriding the secret files.
      num_threads: transfers in flight at once per call (forced 0 for mem://, which runs inline).
      use_https: rewrite gs:// and s3:// (and aliases) to their public https endpoints.
      endpoint: alternate S3 endpoint host (e.g. ``https://minio.local:9000``).
      parallel: default process count for get/puts/delete (0 = all cores).
      request_payer: requester-pays billing (gs: project id; s3: must be ``'requester'``).
      locking: file:// advisory reader/writer locks when truthy.
      lock_dir: where file:// locks live (default ``$CLOUD_FILES_LOCK_DIR`` or ``~/.cloudfiles/locks``).
      composite_upload_threshold: bytes above which GCS/S3 uploads are split into parts.
      no_sign_request: anonymous S3 requests.
      connect_timeout, read_timeout: seconds; None uses the engine defaults (cloudfiles extension).
      consistent_shapes: False (default) returns what cloud-files 6.4.3 returned; True opts in to
        shapes that never vary (README "Return shapes"): ``delete`` and ``puts`` count files (also with
        ``parallel > 1``), ``get_acl(str)`` returns the ACL itself, ``get(str)`` stays scalar with
        ``parallel > 1``, and ``head`` gives the same keys on every scheme with aware datetimes.
    """

    def __init__(
        self,
        cloudpath: str,
        *,
        progress: bool | str = False,
        green: bool | None = None,
        secrets: Any = None,
        num_threads: int = 20,
        use_https: bool = False,
        endpoint: str | None = None,
        parallel: int | bool = 1,
        request_payer: str | None = None,
        locking: bool | None = None,
        lock_dir: str | None = None,
        composite_upload_threshold: int = int(1e8),
        no_sign_request: bool = False,
        connect_timeout: float | None = None,
        read_timeout: float | None = None,
        consistent_shapes: bool = False,
    ) -> None:
        if not isinstance(cloudpath, str):
            raise TypeError(f"cloudpath must be a str, got {type(cloudpath).__name__}")
        cloudpath = paths.normalize(cloudpath)
        if use_https:
            cloudpath = paths.to_https_protocol(cloudpath)
        if request_payer is not None and not isinstance(request_payer, str):
            # Caught here: deep in URL building it surfaced as an unrelated urllib TypeError.
            raise TypeError(f"request_payer must be a str or None, got {type(request_payer).__name__}")
        parallel = int(parallel)
        if parallel < 0:
            raise ValueError(f"parallel must be >= 0. Got: {parallel}")

        self.cloudpath = cloudpath
        self.progress = progress
        self.secrets = secrets
        self.num_threads = num_threads
        self.green = _detect_green(green)
        self.parallel = parallel
        self.request_payer = request_payer
        self.locking = locking
        self.composite_upload_threshold = composite_upload_threshold
        self.no_sign_request = no_sign_request
        self.use_https = use_https
        self.endpoint = endpoint
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.consistent_shapes = consistent_shapes
        self._lock_dir = lock_dir

        self._path = paths.extract(cloudpath)
        if endpoint:
            self._path = self._path._replace(host=endpoint)
        self._interface_cls = get_interface_class(self._path.protocol or "file")
        self._interface_cls.check_request_payer(self._path.protocol or "file", request_payer)
        if self._interface_cls.in_process:
            self.num_threads = 0
        self._iface: StorageInterface | None = None
        self._iface_lock = forksafe.new_lock()

    # -- plumbing ----------------------------------------------------------------------------------
    def _options(self) -> InterfaceOptions:
        return InterfaceOptions(
            secrets=self.secrets,
            request_payer=self.request_payer,
            locking=self.locking,
            lock_dir=self.lock_dir if self.locking else self._lock_dir,
            composite_upload_threshold=self.composite_upload_threshold,
            no_sign_request=self.no_sign_request,
            use_https=self.use_https,
            endpoint=self.endpoint,
            concurrency=max(1, self.num_threads),
            green=self.green,
            connect_timeout=self.connect_timeout,
            read_timeout=self.read_timeout,
        )

    @property
    def interface(self) -> StorageInterface:
        """The scheme implementation serving this CloudFiles (created on first use)."""
        iface = self._iface
        if iface is None:
            with self._iface_lock:
                if self._iface is None:
                    self._iface = self._interface_cls(self._path, self._options())
                iface = self._iface
        return iface

    def _get_connection(self) -> Any:
        """cloud-files' per-file interface object over this CloudFiles' interface (shared, not a copy).

        It has cloud-files' methods (``get_file``, ``put_file``, ``head``, ``list_files``...) and works
        as a context manager (``with cf._get_connection() as conn:``); on ``mem://`` its ``_data`` is
        the bucket's live dict, keyed by path in the bucket with the codec suffix. See
        :mod:`cloudfiles.interfaces.legacy`.
        """
        from .interfaces.legacy import adapter_for

        return adapter_for(self.interface)

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_iface"] = None
        state.pop("_iface_lock", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._iface = None
        self._iface_lock = forksafe.new_lock()

    def __repr__(self) -> str:
        return f"CloudFiles({self.cloudpath!r})"

    def _progress(self, progress: Any) -> Any:
        return self.progress if progress is None else progress

    def _desc(self, prefix: str, progress: Any = None) -> str:
        label = progress if isinstance(progress, str) else self.progress
        if isinstance(label, str) and label:
            return f"{prefix} {label}"
        return prefix

    def _bar(self, progress: Any, total: int | None, prefix: str) -> Bar:
        progress = self._progress(progress)
        return Bar(progress, total, self._desc(prefix, progress))

    def _effective_parallel(self, parallel: int | bool | None) -> int:
        value = self.parallel if parallel is None else int(parallel)
        if value < 0:
            raise ValueError(f"parallel must be >= 0. Got: {value}")
        if value == 0:
            value = multiprocessing.cpu_count()
        # mem:// lives in this process's memory: other processes cannot see it, so it always runs here.
        if self._interface_cls.in_process:
            return 1
        return value

    # -- get ---------------------------------------------------------------------------------------
    @overload
    def get(
        self, paths: str | GetPathDict, *, total: int | None = ..., raw: bool = ..., progress: Any = ...,
        parallel: int | bool | None = ..., return_dict: Literal[False] = ..., raise_errors: bool = ...,
        part_size: int | None = ..., return_recording: Literal[False] = ...,
    ) -> Any: ...  # bytes or None; a list of result dicts with parallel > 1 (cloud-files 6.4.3)

    @overload
    def get(
        self, paths: Iterable[str | GetPathDict], *, total: int | None = ..., raw: bool = ..., progress: Any = ...,
        parallel: int | bool | None = ..., return_dict: Literal[False] = ..., raise_errors: bool = ...,
        part_size: int | None = ..., return_recording: Literal[False] = ...,
    ) -> list[GetResultDict]: ...

    @overload
    def get(
        self, paths: GetPathType, *, total: int | None = ..., raw: bool = ..., progress: Any = ...,
        parallel: int | bool | None = ..., return_dict: bool = ..., raise_errors: bool = ...,
        part_size: int | None = ..., return_recording: bool = ...,
    ) -> Any: ...  # return_dict / return_recording: see the docstring

    def get(
        self,
        paths: GetPathType,
        *,
        total: int | None = None,
        raw: bool = False,
        progress: Any = None,
        parallel: int | bool | None = None,
        return_dict: bool = False,
        raise_errors: bool = True,
        part_size: int | None = None,
        return_recording: bool = False,
    ) -> Any:
        """Download one or more files. Multiple results come in completion order, not input order.

        paths: a filename, a dict ``{'path', 'start', 'end', 'tags'}`` (``end`` exclusive, None =
          open; ``tags`` passed through), or an iterable of those (consumed lazily).
        total: size of the progress bar when ``paths`` has no ``len``.
        raw: return the stored bytes without decompressing.
        parallel: processes to spread the work over (default: the CloudFiles' ``parallel``).
        return_dict: return ``{path: content}`` (errors are raised).
        raise_errors: raise the first error instead of reporting it in the result's ``error``
          (always on for scalar input and ``return_dict``).
        part_size: S3 multipart part size, to check multipart ETags.
        return_recording: also return a :class:`TransmissionMonitor` of the transfers.

        Returns: scalar input -> bytes, or None if missing; ``return_dict`` -> ``{path: bytes}``;
        otherwise a list of dicts with exactly the keys ``path, content, byte_range, error,
        compress, raw, tags`` (``compress`` is the stored encoding, None for identity). With
        ``return_recording`` a tuple ``(that, TransmissionMonitor)``.
        """
        items, multiple = toiter(paths, is_iter=True)
        raise_errors = raise_errors or return_dict or not multiple
        total = totalfn(items, total)
        nproc = self._effective_parallel(parallel) if multiple else 1
        tm = TransmissionMonitor(IOEnum.RX)

        with self._bar(progress if multiple else False, total, "Downloading") as bar:
            if nproc > 1:
                kwargs = dict(raw=raw, raise_errors=raise_errors, part_size=part_size, return_recording=True)
                results: list[GetResultDict] = []
                recordings = [tm]
                for res, sub_tm in run_facade(self, "get", items, nproc, total, bar, kwargs):
                    results.extend(res)
                    recordings.append(sub_tm)
                tm = TransmissionMonitor.merge(recordings)
            else:
                gen = reads.iget(
                    self.interface, items, raw=raw, part_size=part_size, bar=bar, raise_errors=raise_errors,
                    tm=tm if return_recording else None, inline=self.green,
                )
                results = builtins.list(gen)

        ret: Any
        if return_dict:
            ret = {res["path"]: res["content"] for res in results}
        elif multiple:
            ret = results
        elif self._effective_parallel(parallel) > 1 and not self.consistent_shapes:
            ret = results  # cloud-files' process pool wrapped a scalar in a list and returned the dicts
        else:
            ret = results[0]["content"] if results else None
        return (ret, tm) if return_recording else ret

    def get_into(
        self,
        paths: str | dict[str, Any] | Iterable[dict[str, Any]],
        out: Any = None,
        *,
        start: int | None = None,
        end: int | None = None,
        raw: bool = False,
        part_size: int | None = None,
    ) -> Any:
        """Download into caller-owned buffers: numpy arrays, bytearrays, writable memoryviews, mmaps.

        Scalar form: ``get_into("key", arr)`` fills ``arr`` with the whole object,
        ``get_into("key", arr, start=0, end=4096)`` with a byte range (``end`` exclusive, as in
        :meth:`get`). Batch form: ``get_into([{"path", "out", "start", "end"}, ...])``, fetched as one
        batch like :meth:`get`.

        The decoded bytes (``raw=True``: as stored) are copied once into ``out``, which must be a
        writable, C-contiguous buffer at least that long; a shorter object fills only its prefix.

        Returns: bytes written (scalar), or a list of them in input order. Raises FileNotFoundError for
        a missing object and ValueError when an object does not fit its buffer (that buffer is left
        untouched).
        """
        if isinstance(paths, (str, dict)):
            if isinstance(paths, str):
                item = {"path": paths, "start": start, "end": end, "out": out}
            else:
                item = {"start": start, "end": end, "out": out, **paths}
            return self.get_into([item], raw=raw, part_size=part_size)[0]
        specs = builtins.list(paths)
        views = [writable_view(spec.get("out")) for spec in specs]
        requests = [
            {"path": spec["path"], "start": spec.get("start"), "end": spec.get("end"), "tags": i}
            for i, spec in enumerate(specs)
        ]
        return reads.fill_buffers(self.get(requests, raw=raw, part_size=part_size, parallel=1), views, self.abspath)

    def get_json(self, paths: GetPathType, total: int | None = None) -> Any:
        """Download and decode JSON files. Multiple results are returned **in input order**.

        Missing files decode to None. Scalar input returns one object.
        """
        items, multiple = toiter(paths, is_iter=True)
        decoded: list[Any] = []
        with self._bar(None if multiple else False, totalfn(items, total), "Downloading JSON") as bar:
            for chunk in sip(items, 2000):
                chunk = builtins.list(chunk)
                found = self.get(chunk, progress=bar, parallel=1)
                index = {(r["path"], *r["byte_range"]): r["content"] for r in found}
                for item in chunk:
                    key, start, end, _tags = path_of_get(item)
                    content = index[(key, start, end)]
                    decoded.append(None if content is None else orjson.loads(content))
        if multiple:
            return decoded
        return decoded[0] if decoded else None

    # -- put ---------------------------------------------------------------------------------------
    def puts(
        self,
        files: PutType,
        *,
        content_type: str | None = None,
        compress: Any = None,
        compression_level: int | None = None,
        cache_control: str | None = None,
        total: int | None = None,
        raw: bool = False,
        progress: Any = None,
        parallel: int | bool | None = None,
        storage_class: str | None = None,
        return_recording: bool = False,
        if_not_exists: bool = False,
    ) -> Any:
        """Write one or more files.

        files: one item or an iterable of items; an item is a ``(path, content)`` tuple or a dict
          ``{'path', 'content', 'content_type', 'compress', 'compression_level', 'cache_control',
          'storage_class', 'if_not_exists'}`` whose fields override the keyword arguments for that file. Content is
          bytes-like, a str (written as UTF-8), or a readable binary file handle (streamed when stored
          uncompressed). A non-generator batch naming one path twice raises ValueError.
        compress: None/False/'' (identity), True/'gzip', 'br', 'zstd', 'bz2', 'xz'; unknown -> ValueError.
        compression_level: codec level (gzip level, brotli quality, zstd level...).
        raw: content is already encoded: upload as-is, labelled with ``compress``.
        parallel: processes to spread the batch over (default: the CloudFiles' ``parallel``).
        return_recording: also return a :class:`TransmissionMonitor`.
        if_not_exists: write a file only if nothing is stored under its path yet (S3 ``If-None-Match: *``,
          GCS ``ifGenerationMatch=0``, an exclusive create on file://, a locked check on mem://). The
          other files are still written; then :class:`~cloudfiles.exceptions.ObjectExistsError` (a
          ``FileExistsError``) is raised naming every path that already existed (``err.paths``). Any
          other error of the batch takes precedence over it.

        Returns: the number of files written (also with ``parallel > 1``), or ``(count, monitor)``.
        """
        items, multiple = put_items(files)
        if is_reiterable(items):
            writes.check_batch(items, compress)
        total = totalfn(items, total)
        defaults = dict(
            content_type=content_type, compress=compress, compression_level=compression_level,
            cache_control=cache_control, storage_class=storage_class, if_not_exists=if_not_exists,
        )
        tm = TransmissionMonitor(IOEnum.TX)
        nproc = self._effective_parallel(parallel) if multiple else 1
        with self._bar(progress if multiple else False, total, "Uploading") as bar:
            if nproc > 1:
                kwargs = dict(defaults, raw=raw, return_recording=True)
                count = 0
                recordings = [tm]
                for sub_count, sub_tm in run_facade(self, "puts", items, nproc, total, bar, kwargs):
                    count += sub_count
                    recordings.append(sub_tm)
                tm = TransmissionMonitor.merge(recordings)
            else:
                count = writes.iputs(
                    self.interface, items, defaults, raw, bar, tm if return_recording else None, inline=self.green
                )
        ret = None if nproc > 1 and not self.consistent_shapes else count  # cloud-files: None from its pool
        return (ret, tm) if return_recording else ret

    def put(
        self,
        path: str,
        content: Any,
        content_type: str | None = None,
        compress: Any = None,
        compression_level: int | None = None,
        cache_control: str | None = None,
        raw: bool = False,
        storage_class: str | None = None,
        *,
        if_not_exists: bool = False,
    ) -> int:
        """Write one file (see :meth:`puts`). Returns 1.

        ``if_not_exists=True``: raise :class:`~cloudfiles.exceptions.ObjectExistsError` (a
        ``FileExistsError``) instead of overwriting when the path is already stored.
        """
        return cast(int, self.puts(
            {
                "path": path,
                "content": content,
                "content_type": content_type,
                "compress": compress,
                "compression_level": compression_level,
                "cache_control": cache_control,
                "storage_class": storage_class,
                "if_not_exists": if_not_exists,
            },
            raw=raw,
            parallel=1,
        ))

    def put_jsons(
        self,
        files: PutType,
        compress: Any = None,
        compression_level: int | None = None,
        cache_control: str | None = None,
        total: int | None = None,
        raw: bool = False,
        progress: Any = None,
        parallel: int | bool | None = None,
        storage_class: str | None = None,
        return_recording: bool = False,
        *,
        if_not_exists: bool = False,
    ) -> Any:
        """Write one or more Python objects as JSON (``application/json``); see :meth:`puts`.

        Unlike cloud-files, ``cache_control`` is forwarded. Input dicts are not modified.
        ``if_not_exists=True`` refuses to replace existing objects, as in :meth:`puts`.
        """
        items, _multiple = put_items(files)
        total = totalfn(items, total)
        if is_reiterable(items):
            writes.check_batch(items, compress)
        return self.puts(
            (jsonify_item(item_dict(file)) for file in items),
            content_type="application/json",
            compress=compress,
            compression_level=compression_level,
            cache_control=cache_control,
            total=total,
            raw=raw,
            progress=progress,
            parallel=parallel,
            storage_class=storage_class,
            return_recording=return_recording,
            if_not_exists=if_not_exists,
        )

    def put_json(
        self,
        path: str,
        content: Any,
        compress: Any = None,
        compression_level: int | None = None,
        cache_control: str | None = None,
        storage_class: str | None = None,
        *,
        if_not_exists: bool = False,
    ) -> int:
        """Write one Python object as JSON (``application/json``). Returns 1.

        ``if_not_exists=True``: raise :class:`~cloudfiles.exceptions.ObjectExistsError` instead of
        replacing an existing object (see :meth:`put`).
        """
        return cast(int, self.put_jsons(
            {
                "path": path,
                "content": content,
                "content_type": "application/json",
                "compress": compress,
                "compression_level": compression_level,
                "cache_control": cache_control,
                "storage_class": storage_class,
            },
            parallel=1,
            if_not_exists=if_not_exists,
        ))

    # -- metadata ----------------------------------------------------------------------------------
    @overload
    def exists(self, paths: str, total: int | None = None, progress: Any = None) -> bool: ...  # type: ignore[overload-overlap]
    @overload
    def exists(self, paths: Iterable[str], total: int | None = None, progress: Any = None) -> dict[str, bool]: ...

    def exists(self, paths: str | Iterable[str], total: int | None = None, progress: Any = None) -> Any:
        """Whether each file exists (in any encoding): bool, or ``{path: bool}`` for multiple."""
        items, multiple = toiter(paths, is_iter=True)
        out: dict[str, bool] = {}
        with self._bar(progress if multiple else False, totalfn(items, total), "Exists") as bar:
            first: BaseException | None = None
            for path, found, error in self.interface.exists_files(items):
                # One key's failure does not abandon the others in flight: the batch completes,
                # then the first error is raised.
                first = first or error
                out[path] = found
                bar.update(1)
        if first is not None:
            raise first
        return out if multiple else next(iter(out.values()), False)

    @overload
    def head(self, paths: str, total: int | None = None, progress: Any = None) -> HeadDict | None: ...  # type: ignore[overload-overlap]
    @overload
    def head(
        self, paths: Iterable[str], total: int | None = None, progress: Any = None
    ) -> dict[str, HeadDict | None]: ...

    def head(self, paths: str | Iterable[str], total: int | None = None, progress: Any = None) -> Any:
        """Metadata of each file: a dict, or None when missing. Multiple paths give ``{path: dict or None}``.

        The keys are those cloud-files 6.4.3 gave for the scheme (file:// ``Last-Modified`` a naive UTC
        datetime); with ``consistent_shapes=True`` every scheme gives every key of ``HEAD_KEYS`` and
        ``Last-Modified`` is timezone-aware.
        """
        items, multiple = toiter(paths, is_iter=True)
        out: dict[str, Any] = {}
        with self._bar(progress if multiple else False, totalfn(items, total), "Head") as bar:
            first: BaseException | None = None
            legacy = None if self.consistent_shapes else self.interface.legacy_head
            for res in self.interface.head_files(items):
                first = first or res.error
                out[res.path] = res.head if legacy is None or res.head is None else legacy(res.head)
                bar.update(1)
        if first is not None:
            raise first
        return out if multiple else next(iter(out.values()), None)

    @overload
    def size(  # type: ignore[overload-overlap]
        self, paths: str, total: int | None = None, progress: Any = None, return_sum: Literal[False] = False
    ) -> int | None: ...
    @overload
    def size(
        self, paths: Iterable[str], total: int | None = None, progress: Any = None, return_sum: Literal[False] = False
    ) -> dict[str, int | None]: ...
    @overload
    def size(
        self, paths: str | Iterable[str], total: int | None = None, progress: Any = None, return_sum: bool = False
    ) -> int | dict[str, int | None] | None: ...  # return_sum=True: the total, an int

    def size(
        self, paths: str | Iterable[str], total: int | None = None, progress: Any = None, return_sum: bool = False
    ) -> Any:
        """Stored (compressed) size in bytes: int or None; ``{path: size}``; or the sum (``return_sum``)."""
        items, multiple = toiter(paths, is_iter=True)
        out: dict[str, int | None] = {}
        with self._bar(progress if multiple else False, totalfn(items, total), "Measuring Sizes") as bar:
            first: BaseException | None = None
            for path, nbytes, error in self.interface.size_files(items):
                first = first or error
                out[path] = nbytes
                bar.update(1)
        if first is not None:
            raise first
        if return_sum:
            return sum(n for n in out.values() if n is not None)
        return out if multiple else next(iter(out.values()), None)

    def subtree_size(self, prefix: str | Iterable[str] = "") -> dict[str, int]:
        """``{"N": number of files, "num_bytes": stored bytes}`` under ``prefix`` (iterables are summed)."""
        prefixes, _multiple = toiter(prefix, is_iter=True)
        n = nbytes = 0
        for pre in prefixes:
            sub = self.interface.subtree_size(pre)
            n += sub.N
            nbytes += sub.num_bytes
        return {"N": n, "num_bytes": nbytes}

    def get_acl(
        self, paths: GetPathType, total: int | None = None, progress: Any = None, return_recording: bool = False
    ) -> Any:
        """Access control of each file: file:// gives ``st_mode``, mem:// None, gs/s3 their ACLs.

        Returns ``{path: acl}``, as cloud-files did, also for one path (``consistent_shapes=True``:
        the ACL itself for a scalar path). http(s) raises NotImplementedError.
        """
        items, multiple = toiter(paths, is_iter=True)
        out: dict[str, Any] = {}
        with self._bar(progress if multiple else False, totalfn(items, total), "ACL") as bar:
            for path in items:
                out[path] = self.interface.get_acl(path)
                bar.update(1)
        ret = out if multiple or not self.consistent_shapes else next(iter(out.values()), None)
        return (ret, TransmissionMonitor(IOEnum.RX)) if return_recording else ret

    # -- delete / touch ----------------------------------------------------------------------------
    def delete(
        self,
        paths: GetPathType,
        total: int | None = None,
        progress: Any = None,
        parallel: int | bool | None = None,
    ) -> int | None:
        """Delete one or more files (every stored encoding). Missing files are not errors.

        Returns what cloud-files 6.4.3 returned: the number of delete *requests* (one per file, or per
        batch of up to 1,000 keys on S3 and GCS), and None with ``parallel > 1``. With
        ``consistent_shapes=True``: the number of paths deleted (missing ones included), always.
        """
        items, multiple = toiter(paths, is_iter=True)
        total = totalfn(items, total)
        nproc = self._effective_parallel(parallel) if multiple else 1
        with self._bar(progress if multiple else False, total, "Deleting") as bar:
            if nproc > 1:
                deleted = sum(run_facade(self, "delete", items, nproc, total, bar, {}))
                return deleted if self.consistent_shapes else None
            count = 0
            first: BaseException | None = None
            for res in self.interface.delete_files(items):
                first = first or res.error
                count += 1
                bar.update(1)
        if first is not None:
            raise first
        if self.consistent_shapes:
            return count
        return -(-count // self.interface.legacy_delete_batch_size)

    def touch(
        self, paths: GetPathType, progress: Any = None, total: int | None = None, nocopy: bool = False
    ) -> None:
        """Create empty files where missing. On file:// existing files get a fresh mtime; on object
        stores existing objects are left alone (``nocopy`` is accepted for compatibility)."""
        items, multiple = toiter(paths, is_iter=True)
        total = totalfn(items, total)
        touch_files = getattr(self.interface, "touch_files", None)
        with self._bar(progress if multiple else False, total, "Touching") as bar:
            if touch_files is not None:
                for _path, error in touch_files(items):
                    if error is not None:
                        raise error
                    bar.update(1)
                return
            for block in sip(items, 1000):
                found = self.exists(block, progress=False)
                missing = [path for path, ok in found.items() if not ok]
                if missing:
                    self.puts([(path, b"") for path in missing], progress=False, parallel=1)
                bar.update(len(block))

    # -- listing -----------------------------------------------------------------------------------
    def list(
        self,
        prefix: str = "",
        flat: bool = False,
        size: bool = False,
        return_resume_token: bool = False,
        resume_token: str | None = None,
    ) -> Generator[Any, None, None]:
        """Stream file names relative to the cloudpath.

        prefix: ``'bigarr'`` matches names starting with it (``bigarray/...`` too);
          ``'bigarray/'`` lists inside that directory.
        flat: one level only; subdirectories appear once as ``'dir/'``.
        size: yield ``(name, size)``. return_resume_token: yield ``(name, token)`` (or
          ``(name, size, token)``); only gs/s3 have tokens, other schemes give None.
        """
        for entry in self.interface.list_files(prefix or "", flat=flat, size=size, resume_token=resume_token):
            if size and return_resume_token:
                yield (entry.name, entry.size, entry.resume_token)
            elif size:
                yield (entry.name, entry.size)
            elif return_resume_token:
                yield (entry.name, entry.resume_token)
            else:
                yield entry.name

    def isdir(self, prefix: str = "") -> bool:
        """Is there a directory at ``prefix``? file://: a real directory; object stores: at least one
        object under ``prefix/`` (checked, even when the path ends in '/')."""
        try:
            return self.interface.is_dir(prefix)
        except NotImplementedError:
            if prefix:
                return not self.exists(prefix.rstrip("/"))
            parent, name = self.cloudpath.rstrip("/").rsplit("/", 1)
            return not CloudFiles(parent, secrets=self.secrets).exists(name)

    # -- transfers ---------------------------------------------------------------------------------
    def _derive(self, cloudpath: str) -> CloudFiles:
        """A CloudFiles for another path; credentials carry over only within the same protocol."""
        other = paths.extract(paths.normalize(cloudpath))
        same = other.protocol == self._path.protocol
        return CloudFiles(
            cloudpath,
            green=self.green,
            num_threads=20 if self._interface_cls.in_process else self.num_threads,  # in-process: forced 0
            secrets=self.secrets if same else None,
            request_payer=self.request_payer if same else None,
            no_sign_request=self.no_sign_request if same else False,
            locking=self.locking if same else None,
            lock_dir=self._lock_dir if same else None,
            endpoint=self.endpoint if same else None,
            use_https=self.use_https if same else False,
        )

    def transfer_to(
        self,
        cf_dest: Any,
        paths: Any = None,
        block_size: int = 64,
        reencode: Any = None,
        content_type: str | None = None,
        allow_missing: bool = False,
        progress: Any = None,
        resumable: bool = False,
    ) -> TransmissionMonitor:
        """Copy files from this CloudFiles to ``cf_dest`` (a CloudFiles or a cloudpath); see
        :meth:`transfer_from`."""
        dest = self._derive(cf_dest) if isinstance(cf_dest, str) else cf_dest
        return dest.transfer_from(
            self, paths, block_size=block_size, reencode=reencode, content_type=content_type,
            allow_missing=allow_missing, progress=progress, resumable=resumable,
        )

    def transfer_from(
        self,
        cf_src: Any,
        paths: Any = None,
        block_size: int = 64,
        reencode: Any = None,
        content_type: str | None = None,
        allow_missing: bool = False,
        progress: Any = None,
        resumable: bool = False,
    ) -> TransmissionMonitor:
        """Copy files from ``cf_src`` (a CloudFiles or a cloudpath) into this CloudFiles.

        paths: None (everything ``cf_src`` lists), or an iterable of names, ``(src, dest)`` tuples or
          ``{'path', 'dest_path'}`` dicts.
        block_size: objects per block (small ones pipelined, large ones streamed in ranges).
        reencode: None keeps the stored encoding; False or '' stores decompressed; a codec name
          re-encodes.
        allow_missing: write an empty object for a missing source instead of raising FileNotFoundError.
        resumable: http(s) -> file downloads go to ``name.part`` and resume from it (Range + If-Range).

        Returns a :class:`TransmissionMonitor` of the downloads and uploads.
        """
        src = self._derive(cf_src) if isinstance(cf_src, str) else cf_src
        if paths is None:
            paths = ((name, name, size) for name, size in src.list(size=True))
        items = toiter(paths)
        with self._bar(progress, totalfn(items, None), "Transferring") as bar:
            return transfers.transfer(
                src, self, items, block_size=block_size, reencode=reencode, content_type=content_type,
                allow_missing=allow_missing, resumable=resumable, bar=bar,
            )

    def move(self, src: str, dest: str) -> None:
        """Move one file to ``dest``, a full cloudpath on any service."""
        dest = paths.normalize(dest)
        parent, name = dest.rsplit("/", 1)
        self.moves(parent, [(src, name)])

    def moves(
        self,
        cf_dest: Any,
        paths: Any,
        block_size: int = 64,
        total: int | None = None,
        progress: Any = None,
    ) -> None:
        """Move files into ``cf_dest``. Items: names, ``(src, dest)`` tuples or ``{'path', 'dest_path'}``.

        file:// to file:// renames (keeping the encoding suffix); otherwise each block is copied then
        deleted (not atomic across services). A missing source raises FileNotFoundError.
        """
        dest = self._derive(cf_dest) if isinstance(cf_dest, str) else cf_dest
        items = toiter(paths)
        total = totalfn(items, total)
        with self._bar(progress, total, "Moving") as bar:
            transfers.move(self, dest, items, block_size=block_size, bar=bar)

    # -- path helpers ------------------------------------------------------------------------------
    @property
    def protocol(self) -> str:
        """The scheme: 'file', 'mem', 'gs', 's3', 'http' or 'https'."""
        return cast(str, self._path.protocol)

    @property
    def sep(self) -> str:
        """Path separator of keys: ``os.sep`` for file://, '/' elsewhere."""
        return os.sep if self._path.protocol == "file" else "/"

    @property
    def lock_dir(self) -> str:
        """Directory of file:// lock files."""
        if self._lock_dir:
            return self._lock_dir
        from .interfaces.file import default_lock_dir

        return default_lock_dir()

    def join(self, *parts: str) -> str:
        """Join key components with this scheme's separator."""
        if not parts:
            return ""
        if self._path.protocol == "file":
            return os.path.join(*parts)
        return posixpath.join(*parts)

    def dirname(self, path: str) -> str:
        """Directory part of a key."""
        return os.path.dirname(path) if self._path.protocol == "file" else posixpath.dirname(path)

    def basename(self, path: str) -> str:
        """Last component of a key."""
        return os.path.basename(path) if self._path.protocol == "file" else posixpath.basename(path)

    def abspath(self, path: str) -> str:
        """Full ``protocol://...`` path of a key."""
        return self.sep.join((paths.asprotocolpath(self._path).rstrip("/"), path))

    def clear_locks(self) -> None:
        """Delete every lock file in :attr:`lock_dir`."""
        lock_dir = self.lock_dir
        try:
            names = os.listdir(lock_dir)
        except FileNotFoundError:
            return
        for name in names:
            try:
                os.remove(os.path.join(lock_dir, name))
            except (FileNotFoundError, IsADirectoryError, PermissionError):
                continue

    # -- container protocol ------------------------------------------------------------------------
    def __getitem__(self, key: Any) -> Any:
        """``cf['f']``, ``cf['f', 0:5]`` (byte range), ``cf[:]`` (all files), ``cf[10:20:2]``."""
        if isinstance(key, tuple) and len(key) == 2 and isinstance(key[1], slice) and isinstance(key[0], str):
            return self.get({"path": key[0], "start": key[1].start, "end": key[1].stop})
        if isinstance(key, slice):
            if key == slice(None, None, None):
                return self.get(self.list())
            return self.get(itertools.islice(self.list(), key.start, key.stop, key.step))
        return self.get(key)

    def __setitem__(self, key: Any, value: Any) -> None:
        """``cf['f'] = b'...'`` writes; ``cf[:] = other_cf`` transfers everything from it."""
        if isinstance(value, CloudFiles):
            if key == slice(None, None, None):
                self.transfer_from(value)
                return
            raise KeyError(f"Only the complete slice `:` can be assigned a CloudFiles. Got: {key}")
        if not isinstance(key, str):
            raise KeyError(f"keys are str paths. Got: {key!r}")
        self.put(key, value)

    def __delitem__(self, key: Any) -> None:
        self.delete(key)

    def __iter__(self) -> Iterator[str]:
        return self.list()


# -- module-level conveniences -------------------------------------------------------------------------
def dl(cloudpaths: GetPathType, raw: bool = False, **kwargs: Any) -> Any:
    """Download full paths (any mix of services and buckets) with one CloudFiles per bucket.

    As in cloud-files, paths are grouped by bucket (``paths.find_common_buckets``; on file:// the first
    directory), each result's ``path`` is relative to its bucket, and ``'fullpath'`` is the bucket's
    cloudpath joined with it (``precomputed://gs://b/k``). Items are full paths or dicts with ``path``
    and ``byte_range``. Scalar input returns that one result dict; with ``consistent_shapes=True`` the
    content (bytes or None), like ``get``.
    """
    items, multiple = toiter(cloudpaths, is_iter=True)
    groups = paths.find_common_buckets(items)
    progress = kwargs.pop("progress", False)
    total = sum(len(v) for v in groups.values())
    results: list[dict[str, Any]] = []
    with Bar(progress if total > 1 else False, total, "Downloading") as bar:
        for bucketpath, keys in groups.items():
            cf = CloudFiles(bucketpath, **kwargs)
            for res in cf.get(keys, raw=raw, progress=bar):
                res["fullpath"] = posixpath.join(bucketpath, res["path"])
                results.append(res)
    if multiple:
        return results
    if not results:
        return None
    if results[0]["error"] is not None:
        raise results[0]["error"]
    return results[0]["content"] if kwargs.get("consistent_shapes") else results[0]


def clear_memory() -> None:
    """Forget every ``mem://`` object in this process."""
    from .interfaces.mem import clear_memory as _clear

    _clear()


def reset_connection_pools() -> None:
    """Drop pooled connections of every loaded scheme and all ``mem://`` data, then collect garbage
    (:func:`cloudfiles.interfaces.reset_connection_pools`)."""
    from .interfaces import reset_connection_pools as reset

    reset()


# -- cloud-files 6.4.3's other public names of this module -----------------------------------------------
# (INTERFACES maps protocols to its per-file interface classes; FileInterface above stays the file://
# scheme this module uses, so here cloud-files' file class is only INTERFACES["file"].)
from . import gcs  # noqa: E402
from .interfaces.legacy import (  # noqa: E402
    ADAPTERS as _ADAPTERS,
)
from .interfaces.legacy import (  # noqa: E402
    CaveInterface,
    GoogleCloudStorageInterface,
    HttpInterface,
    MemoryInterface,
    S3Interface,
)
from .lib import (  # noqa: E402
    crc32c,
    decode_crc32c_b64,
    duplicates,
    first,
    md5,
    mkdir,
    nvl,
    path_to_byte_range_tags,
    scatter,
    touch,
)
from .parallel import parallel_execute, parallelize  # noqa: E402
from .paths import ALIASES, find_common_buckets  # noqa: E402
from .scheduler import schedule_jobs  # noqa: E402
from .threaded_queue import ThreadedQueue  # noqa: E402
from .typing import CompressType, ParallelType, PutScalarType, SecretsType  # noqa: E402

#: protocol -> cloud-files' per-file interface class (official S3 aliases included).
INTERFACES: dict[str, type[Any]] = {**_ADAPTERS, **dict.fromkeys(ALIASES, S3Interface)}


def __getattr__(name: str) -> Any:
    if name == "CloudFile":
        # Re-exported on first use: CloudFile is built on CloudFiles, so it cannot load before us.
        from .cloudfile import CloudFile

        return CloudFile
    # CLOUD_FILES_DIR / CLOUD_FILES_LOCK_DIR follow the environment (see cloudfiles.secrets).
    if name in ("CLOUD_FILES_DIR", "CLOUD_FILES_LOCK_DIR"):
        from . import secrets

        return getattr(secrets, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | {"CLOUD_FILES_DIR", "CLOUD_FILES_LOCK_DIR", "CloudFile"})


__all__ = [
    "ALIASES",
    "CLOUD_FILES_DIR",  # noqa: F822 - provided by the module __getattr__
    "CLOUD_FILES_LOCK_DIR",  # noqa: F822
    "INTERFACES",
    "RESULT_KEYS",
    "CRC32CIntegrityError",
    "CaveInterface",
    "CloudFile",  # noqa: F822 - provided by the module __getattr__
    "CloudFiles",
    "CompressType",
    "FileInterface",
    "GetPathType",
    "GoogleCloudStorageInterface",
    "HttpInterface",
    "IOEnum",
    "MD5IntegrityError",
    "MemoryInterface",
    "ParallelType",
    "PutScalarType",
    "PutType",
    "S3Interface",
    "SecretsType",
    "ThreadedQueue",
    "TransmissionMonitor",
    "UnsupportedProtocolError",
    "clear_memory",
    "compression",
    "crc32c",
    "decode_crc32c_b64",
    "dl",
    "duplicates",
    "find_common_buckets",
    "first",
    "gcs",
    "get_interface_class",
    "jsonify",
    "md5",
    "mkdir",
    "nvl",
    "parallel_execute",
    "parallelize",
    "path_to_byte_range_tags",
    "paths",
    "reset_connection_pools",
    "scatter",
    "schedule_jobs",
    "sip",
    "toiter",
    "totalfn",
    "touch",
]
