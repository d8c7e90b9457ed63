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

import base64
import builtins
import collections.abc
import functools
import hashlib
import itertools
import math
import multiprocessing
import os
import posixpath
import sys
from collections.abc import Callable, Generator, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any, Union, cast

import orjson

from . import codecpool, compression, forksafe, paths
from .copying import BlockCopier
from .exceptions import (
    CRC32CIntegrityError,
    IntegrityError,
    MD5IntegrityError,
    ObjectExistsError,
    UnsupportedProtocolError,
)
from .interfaces import get_interface_class
from .interfaces.base import (
    GetItem,
    GetResult,
    InterfaceOptions,
    PutItem,
    StorageInterface,
)
from .interfaces.file import FileInterface
from .lib import jsonify, sip, toiter
from .monitoring import IOEnum, TransmissionMonitor
from .streaming import plan_sizes

GetPathType = Union[str, dict[str, Any], Iterable[Any]]  # noqa: UP007 (a runtime alias)
PutType = Any

#: Keys of every multi-item ``get`` result dict, in this order.
RESULT_KEYS = ("path", "content", "byte_range", "error", "compress", "raw", "tags")

_LOCAL_PROTOCOLS = ("file", "mem")


# -- small helpers -----------------------------------------------------------------------------------
def totalfn(files: Any, total: int | None) -> int | None:
    """``total`` if given, else ``len(files)`` when the input has a length, else None."""
    if total is not None:
        if total < 0:
            raise ValueError(f"total must be >= 0. Got: {total}")
        return total
    try:
        return len(files)
    except TypeError:
        return None


def _put_items(files: Any) -> tuple[Any, bool]:
    """``toiter(files, is_iter=True)`` for puts: a ``(path, content)`` tuple is one item, not two."""
    if isinstance(files, tuple) and len(files) == 2 and isinstance(files[0], str):
        return [files], False
    return cast("tuple[Any, bool]", toiter(files, is_iter=True))


def _is_reiterable(obj: Any) -> bool:
    """True for collections that can be iterated twice (lists, tuples, sets, dict views...)."""
    return isinstance(obj, collections.abc.Collection) and not isinstance(obj, collections.abc.Iterator)


def _to_bytes(content: Any) -> Any:
    if type(content) is bytes or content is None:
        return content
    if isinstance(content, (bytearray, memoryview)):
        return bytes(content)
    return content  # Python objects stored raw on mem://


def _writable_view(out: Any) -> memoryview:
    """A flat byte view of a caller's output buffer (no copy); TypeError when it cannot be written."""
    if out is None:
        raise TypeError("get_into needs an output buffer (out=)")
    view = memoryview(out)
    if view.readonly:
        raise TypeError(f"the output buffer ({type(out).__name__}) is read-only")
    if not view.c_contiguous:
        raise TypeError(f"the output buffer ({type(out).__name__}) is not C-contiguous")
    return view.cast("B") if view.format != "B" or view.ndim != 1 else view


def _nbytes(content: Any) -> int:
    if isinstance(content, (bytes, bytearray)):
        return len(content)
    if isinstance(content, memoryview):
        return content.nbytes
    return 0


class _NullBar:
    """Stand-in for a disabled tqdm bar (cheaper than constructing one)."""

    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


class _Bar:
    """Context manager yielding a tqdm bar (or a no-op); closes only bars it created."""

    def __init__(self, progress: Any, total: int | None, desc: str | None) -> None:
        self.bar: Any
        self.owned = False
        # isinstance first: tqdm instances define __eq__ and raise when compared with a str.
        if progress is None or progress is False or (isinstance(progress, str) and progress == ""):
            self.bar = _NullBar()
        elif hasattr(progress, "update") and hasattr(progress, "close"):
            self.bar = progress  # a caller's tqdm: share it, leave it open
        else:
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc=desc)
            self.owned = True

    def __enter__(self) -> Any:
        return self.bar

    def __exit__(self, *exc: object) -> None:
        if self.owned:
            self.bar.close()


def _path_of_get(item: Any) -> tuple[str, int | None, int | None, Any]:
    if isinstance(item, str):
        return item, None, None, None
    if isinstance(item, dict) and isinstance(item.get("path"), str):
        return item["path"], item.get("start"), item.get("end"), item.get("tags")
    raise TypeError(f"a get path is a str or a dict with 'path'; got {type(item).__name__}")


def _check_integrity(res: GetResult, content: Any) -> None:
    """Compare the server's hash of a whole object with the downloaded bytes."""
    if res.server_hash is None or res.item.start is not None or res.item.end is not None:
        return
    if res.hash_type == "md5":
        digest = base64.b64encode(hashlib.md5(content).digest()).decode("ascii")
        if digest.rstrip("=") != res.server_hash.rstrip("="):
            raise MD5IntegrityError(
                f"{res.item.path} failed its md5 check. server md5: {res.server_hash} computed md5: {digest}"
            )
    elif res.hash_type == "crc32c":
        from . import lib

        server = int.from_bytes(base64.b64decode(res.server_hash), "big")
        computed = lib.crc32c(content)
        if computed != server:
            raise CRC32CIntegrityError(
                f"crc32c mismatch for {res.item.path}: server {server} ; client {computed}"
            )


def _finish_get(
    res: GetResult, raw: bool, label: Callable[[str | None, bool], str | None] | None = None
) -> dict[str, Any]:
    """Turn one interface result into the public result dict (verify + decompress).

    ``label`` names the stored encoding in ``compress`` as the scheme's cloud-files did
    (``StorageInterface.encoding_label``); without it the canonical name is given.
    """
    item = res.item
    content = res.content
    error = res.error
    if error is None and content is not None:
        try:
            _check_integrity(res, content)
            if not raw and res.encoding is not None:
                content = compression.decompress(content, res.encoding, filename=item.path)
            content = _to_bytes(content)
        except Exception as err:
            error = err
            content = None
    elif error is not None:
        content = None
    return {
        "path": item.path,
        "content": content,
        "byte_range": (item.start, item.end),
        "error": error,
        "compress": res.encoding if label is None else label(res.encoding, res.content is not None),
        "raw": raw,
        "tags": item.tags,
    }


def _refetch(done: dict[str, Any], again: list[GetItem], part_size: int | None) -> bool:
    """Queue a result that failed its integrity check for one more download; True if queued."""
    if not isinstance(done["error"], IntegrityError):
        return False
    start, end = done["byte_range"]
    again.append(GetItem(path=done["path"], start=start, end=end, tags=done["tags"], part_size=part_size))
    return True


def _decode_cost(res: GetResult, raw: bool) -> int:
    # Only worth a worker thread when there is codec or hashing work on a large body.
    if res.content is None or res.error is not None:
        return 0
    if (raw or res.encoding is None) and res.server_hash is None:
        return 0
    return _nbytes(res.content)


def _parallel_worker(state: dict[str, Any], method: str, block: list[Any], kwargs: dict[str, Any]) -> Any:
    """Runs in a spawned process: rebuild the CloudFiles and run one block serially."""
    cf = CloudFiles.__new__(CloudFiles)
    cf.__setstate__(state)
    return getattr(cf, method)(block, **kwargs)


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

    def _bar(self, progress: Any, total: int | None, prefix: str) -> _Bar:
        progress = self._progress(progress)
        return _Bar(progress, total, self._desc(prefix, progress))

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

    def _run_parallel(
        self,
        method: str,
        items: Iterable[Any],
        parallel: int,
        total: int | None,
        bar: Any,
        kwargs: dict[str, Any],
    ) -> list[Any]:
        """Spread blocks of ``items`` over ``parallel`` spawned processes; results in completion order.

        Spawn (not fork) is used because forking a process that holds threads (codec pool, curl
        handles, gevent hubs) is unsafe. Items are pickled, so file handles cannot be sent.
        """
        block_size = 250
        if total is not None:
            block_size = min(1250, max(20, math.ceil(total / parallel)))
        state = self.__getstate__()
        kwargs = dict(kwargs, parallel=1, progress=False)
        results: list[Any] = []
        ctx = multiprocessing.get_context("spawn")

        def harvest(pending: set[Future[Any]], block: bool) -> set[Future[Any]]:
            done, rest = wait(pending, return_when=FIRST_COMPLETED) if block else (set(), pending)
            for fut in done:
                res = fut.result()
                results.append(res)
                bar.update(self._block_count(res, kwargs))
            return rest

        with ProcessPoolExecutor(max_workers=parallel, mp_context=ctx) as pool:
            pending: set[Future[Any]] = set()
            for block in sip(items, block_size):
                pending.add(pool.submit(_parallel_worker, state, method, list(block), kwargs))
                while len(pending) >= 2 * parallel:
                    pending = harvest(pending, True)
            while pending:
                pending = harvest(pending, True)
        return results

    @staticmethod
    def _block_count(res: Any, kwargs: dict[str, Any]) -> int:
        if kwargs.get("return_recording"):
            res = res[0]
        if isinstance(res, int):
            return res
        return len(res)

    # -- get ---------------------------------------------------------------------------------------
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
                results: list[dict[str, Any]] = []
                recordings = [tm]
                for res, sub_tm in self._run_parallel("get", items, nproc, total, bar, kwargs):
                    results.extend(res)
                    recordings.append(sub_tm)
                tm = TransmissionMonitor.merge(recordings)
            else:
                gen = self._iget(
                    items, raw=raw, part_size=part_size, bar=bar, raise_errors=raise_errors,
                    tm=tm if return_recording else None,
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

    def _iget(
        self,
        items: Iterable[Any],
        *,
        raw: bool,
        part_size: int | None,
        bar: Any,
        raise_errors: bool,
        tm: TransmissionMonitor | None,
    ) -> Iterator[dict[str, Any]]:
        """Stream result dicts in completion order; decoding overlaps with transfers in flight."""
        requests: Iterator[GetItem] = (self._get_item(p, part_size) for p in items)
        flights: dict[int, Any] = {}
        if tm is not None:
            requests = self._recorded(requests, tm, flights)
        queue: codecpool.CompletionQueue[dict[str, Any]] = codecpool.CompletionQueue(inline=self.green)
        results = self.interface.get_files(requests)
        label = self.interface.encoding_label
        # Bytes that fail their hash are fetched once more before the error stands: a corrupted
        # transfer should not fail the caller when a second read is clean.
        again: list[GetItem] = []
        try:
            for res in results:
                if tm is not None:
                    self._land(res, tm, flights)
                queue.submit(functools.partial(_finish_get, res, raw, label), _decode_cost(res, raw))
                for done in queue.ready():
                    if not _refetch(done, again, part_size):
                        yield self._account(done, bar, raise_errors)
            for done in queue.drain():
                if not _refetch(done, again, part_size):
                    yield self._account(done, bar, raise_errors)
            if again:
                for res in self.interface.get_files(again):
                    yield self._account(_finish_get(res, raw, label), bar, raise_errors)
        finally:
            queue.cancel()
            close = getattr(results, "close", None)
            if close is not None:
                close()

    @staticmethod
    def _get_item(path: Any, part_size: int | None) -> GetItem:
        key, start, end, tags = _path_of_get(path)
        return GetItem(path=key, start=start, end=end, tags=tags, part_size=part_size)

    @staticmethod
    def _recorded(
        requests: Iterator[GetItem], tm: TransmissionMonitor, flights: dict[int, Any]
    ) -> Iterator[GetItem]:
        # A flight starts when the interface takes the request, and ends when its result is ready.
        for item in requests:
            flights[id(item)] = tm.start_io(0)
            yield item

    @staticmethod
    def _land(res: GetResult, tm: TransmissionMonitor, flights: dict[int, Any]) -> None:
        flight = flights.pop(id(res.item), None)
        if flight is None:
            return
        if res.error is None:
            tm.end_io(flight, _nbytes(res.content))
        else:
            tm.end_error(flight)

    @staticmethod
    def _account(res: dict[str, Any], bar: Any, raise_errors: bool) -> dict[str, Any]:
        bar.update(1)
        if raise_errors and res["error"] is not None:
            raise res["error"]
        return res

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
        views = [_writable_view(spec.get("out")) for spec in specs]
        requests = [
            {"path": spec["path"], "start": spec.get("start"), "end": spec.get("end"), "tags": i}
            for i, spec in enumerate(specs)
        ]
        written = [0] * len(specs)
        for res in self.get(requests, raw=raw, part_size=part_size, parallel=1):
            i = res["tags"]
            content = res["content"]
            if content is None:
                raise FileNotFoundError(f"{self.abspath(res['path'])} does not exist")
            view = views[i]
            n = len(content)
            if n > view.nbytes:
                raise ValueError(
                    f"{res['path']}: {n} bytes do not fit the {view.nbytes}-byte buffer given as out"
                )
            view[:n] = content
            written[i] = n
        return written

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
                    key, start, end, _tags = _path_of_get(item)
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
        items, multiple = _put_items(files)
        if _is_reiterable(items):
            self._check_batch(items, compress)
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
                for sub_count, sub_tm in self._run_parallel("puts", items, nproc, total, bar, kwargs):
                    count += sub_count
                    recordings.append(sub_tm)
                tm = TransmissionMonitor.merge(recordings)
            else:
                count = self._iputs(items, defaults, raw, bar, tm if return_recording else None)
        ret = None if nproc > 1 and not self.consistent_shapes else count  # cloud-files: None from its pool
        return (ret, tm) if return_recording else ret

    @staticmethod
    def _item_dict(file: Any) -> dict[str, Any]:
        if isinstance(file, dict):
            return file
        if isinstance(file, (tuple, builtins.list)) and len(file) == 2:
            return {"path": file[0], "content": file[1]}
        raise TypeError(f"a put item is a (path, content) tuple or a dict; got {type(file).__name__}")

    def _check_batch(self, items: Iterable[Any], compress: Any) -> None:
        """Reject duplicate paths and unknown codecs before anything is written."""
        seen: set[str] = set()
        dupes: list[str] = []
        for file in items:
            spec = self._item_dict(file)
            path = spec["path"]
            if path in seen:
                dupes.append(path)
            seen.add(path)
            _normalize_compress(spec.get("compress", compress))
        if dupes:
            raise ValueError(
                "Cannot write the same file multiple times in one pass. This causes a race condition. "
                "Files: " + ", ".join(sorted(set(dupes)))
            )

    def _iputs(
        self,
        items: Iterable[Any],
        defaults: dict[str, Any],
        raw: bool,
        bar: Any,
        tm: TransmissionMonitor | None,
    ) -> int:
        keep_objects = self.interface.stores_objects

        def prepare(file: Any) -> PutItem:
            return _prepare_put(self._item_dict(file), defaults, raw, keep_objects)

        def size_of(file: Any) -> int:
            spec = self._item_dict(file)
            content = spec.get("content")
            needs_codec = not raw and _normalize_compress(spec.get("compress", defaults["compress"]))
            if not needs_codec:
                return 0
            return _nbytes(content) if not hasattr(content, "read") else codecpool.INLINE_LIMIT

        prepared: Iterator[PutItem] = codecpool.imap_ordered(prepare, items, size_of=size_of, inline=self.green)
        flights: dict[str, list[Any]] = {}
        if tm is not None:
            prepared = self._recorded_puts(prepared, tm, flights)
        count = 0
        first: BaseException | None = None
        existed: list[ObjectExistsError] = []
        results = self.interface.put_files(prepared)
        try:
            for res in results:
                if tm is not None:
                    ids = flights.get(res.path)
                    if ids:
                        flight = ids.pop(0)
                        if res.error is None:
                            tm.end_io(flight, res.nbytes)
                        else:
                            tm.end_error(flight)
                if isinstance(res.error, ObjectExistsError):
                    existed.append(res.error)  # if_not_exists: reported together after the batch
                    continue
                if res.error is not None:
                    # The other files of the batch are still written; the first error is raised after.
                    first = first or res.error
                    continue
                count += 1
                bar.update(1)
        finally:
            close = getattr(results, "close", None)
            if close is not None:
                close()
        if first is not None:
            raise first
        if existed:
            raise _exists_error(existed)
        return count

    @staticmethod
    def _recorded_puts(
        prepared: Iterator[PutItem], tm: TransmissionMonitor, flights: dict[str, list[Any]]
    ) -> Iterator[PutItem]:
        for item in prepared:
            flights.setdefault(item.path, []).append(tm.start_io(_nbytes(item.content)))
            yield item

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
        items, _multiple = _put_items(files)
        total = totalfn(items, total)
        if _is_reiterable(items):
            self._check_batch(items, compress)
        return self.puts(
            (_jsonify_item(self._item_dict(file)) for file in items),
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
    def exists(self, paths: GetPathType, total: int | None = None, progress: Any = None) -> Any:
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

    def head(self, paths: GetPathType, total: int | None = None, progress: Any = None) -> Any:
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

    def size(
        self, paths: GetPathType, total: int | None = None, progress: Any = None, return_sum: bool = False
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
                deleted = sum(self._run_parallel("delete", items, nproc, total, bar, {}))
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
        iface = self.interface
        if isinstance(iface, FileInterface):
            return os.path.isdir(iface.fullpath(prefix) if prefix else iface.root)
        dirprefix = prefix if (not prefix or prefix.endswith("/")) else prefix + "/"
        try:
            return next(iter(self.list(prefix=dirprefix)), None) is not None
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
            num_threads=self.num_threads if self._path.protocol != "mem" else 20,
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
        total = totalfn(items, None)
        target = None if reencode is None else _normalize_compress(reencode)
        copier = src.interface.server_copier(self.interface) if reencode is None and content_type is None else None
        with self._bar(progress, total, "Transferring") as bar:
            if copier is not None:
                for block in sip(items, block_size):
                    self._server_copy_block(src, copier, [_transfer_pair(p)[:2] for p in block], allow_missing)
                    bar.update(len(block))
                return TransmissionMonitor(IOEnum.TX)
            if resumable and src.protocol in ("http", "https") and self.protocol == "file":
                from .download import download_files

                download_files(src.interface, self.interface, (_transfer_pair(p)[:2] for p in items),
                               allow_missing=allow_missing, bar=bar)
                return TransmissionMonitor(IOEnum.RX)
            blocks = BlockCopier(
                src, self, reencode=reencode is not None, target=target, content_type=content_type,
                allow_missing=allow_missing,
            )
            for block in sip(items, block_size):
                triples = (_transfer_pair(p) for p in block)
                # mem:// objects are never streamed, so their sizes are not worth a lookup.
                blocks.copy(list(plan_sizes(src.interface, triples, lookup=src.protocol != "mem")))
                bar.update(len(block))
        return TransmissionMonitor.merge(blocks.recordings)

    def _server_copy_block(
        self, src: CloudFiles, copier: Callable[[builtins.list[tuple[str, str]]], Iterator[Any]],
        pairs: builtins.list[tuple[str, str]], allow_missing: bool,
    ) -> None:
        missing = []
        for name, found, error in copier(pairs):
            if error is not None:
                raise error
            if not found:
                missing.append(name)
        if missing and not allow_missing:
            raise FileNotFoundError(f"{src.abspath(missing[0])} does not exist in the source")
        dests = dict(pairs)
        if missing:
            self.puts([(dests[name], b"") for name in missing], progress=False, parallel=1)

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
            src_iface, dest_iface = self.interface, dest.interface
            if isinstance(src_iface, FileInterface) and isinstance(dest_iface, FileInterface):
                for item in items:
                    src_key, dest_key, _size = _transfer_pair(item)
                    if not src_iface.move_to(dest_iface, src_key, dest_key):
                        raise FileNotFoundError(f"{self.abspath(src_key)} does not exist")
                    bar.update(1)
                return
            for block in sip(items, block_size):
                pairs = [_transfer_pair(p) for p in block]
                self.transfer_to(dest, pairs, block_size=block_size, progress=False)
                self.delete([pair[0] for pair in pairs], progress=False, parallel=1)
                bar.update(len(pairs))

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


# -- one file ----------------------------------------------------------------------------------------------
class CloudFile:
    """One file at a full cloudpath: a thin wrapper over ``CloudFiles(dirname(path))``.

    Differences from cloud-files: ``locking`` defaults to None (off) instead of True, so plain reads do
    not create lock files; ``get(ranges=[slice(...)])`` works; ``f[key] = content`` writes;
    ``get_acl()`` returns ``{filename: acl}``, as cloud-files did.
    """

    def __init__(
        self,
        path: str,
        *,
        cache_meta: bool = False,
        secrets: Any = None,
        composite_upload_threshold: int = int(1e8),
        locking: bool | None = None,
        lock_dir: str | None = None,
        endpoint: str | None = None,
        no_sign_request: bool = False,
        request_payer: str | None = None,
        use_https: bool = False,
    ) -> None:
        parent, name = _split_fullpath(path)
        self.cf = CloudFiles(
            parent,
            secrets=secrets,
            composite_upload_threshold=composite_upload_threshold,
            locking=locking,
            lock_dir=lock_dir,
            endpoint=endpoint,
            no_sign_request=no_sign_request,
            request_payer=request_payer,
            use_https=use_https,
        )
        self.filename = name
        self.cache_meta = cache_meta
        self._size: int | None = None
        self._head: dict[str, Any] | None = None

    def __repr__(self) -> str:
        return f"CloudFile({self.abspath()!r})"

    @property
    def sep(self) -> str:
        """Key separator of the scheme."""
        return self.cf.sep

    @property
    def protocol(self) -> str:
        """The scheme of the file."""
        return self.cf.protocol

    @property
    def lock_dir(self) -> str:
        """Directory of file:// lock files."""
        return self.cf.lock_dir

    def abspath(self) -> str:
        """The file's full cloudpath."""
        return self.cf.abspath(self.filename)

    def exists(self) -> bool:
        """Does the file exist?"""
        return cast(bool, self.cf.exists(self.filename))

    def delete(self) -> None:
        """Delete the file (every stored encoding)."""
        self.cf.delete(self.filename)
        self._size = None
        self._head = None

    def touch(self) -> None:
        """Create the file if missing (file:// also refreshes the mtime)."""
        self.cf.touch(self.filename)

    def get(self, ranges: Any = None, raw: bool = False) -> Any:
        """The whole file (bytes or None), or for ``ranges`` (slices or ``{'start', 'end'}`` dicts) a
        list of ``get`` result dicts in the order given."""
        if ranges is None:
            content = self.cf.get(self.filename, raw=raw)
            if raw and content is not None:
                self._size = len(content)
            return content
        reqs = []
        for rng in ranges:
            if isinstance(rng, slice):
                reqs.append({"path": self.filename, "start": rng.start, "end": rng.stop})
            else:
                reqs.append(dict(rng, path=self.filename))
        results = self.cf.get(reqs, raw=raw)
        order = {(r.get("start"), r.get("end")): i for i, r in enumerate(reqs)}
        return sorted(results, key=lambda r: order.get(r["byte_range"], 0))

    def get_json(self) -> Any:
        """The file decoded from JSON (None if missing)."""
        return self.cf.get_json(self.filename)

    def get_acl(self) -> Any:
        """The file's ACL (file:// gives ``st_mode``)."""
        return self.cf.get_acl(self.filename)

    def put(self, content: Any, *args: Any, **kwargs: Any) -> int:
        """Write the file; arguments as :meth:`CloudFiles.put`."""
        # Invalidate rather than record len(content): the stored size differs when compressed.
        self._size = None
        self._head = None
        return self.cf.put(self.filename, content, *args, **kwargs)

    def put_json(self, content: Any, *args: Any, **kwargs: Any) -> int:
        """Write the file as JSON; arguments as :meth:`CloudFiles.put_json`."""
        self._size = None
        self._head = None
        return self.cf.put_json(self.filename, content, *args, **kwargs)

    def head(self) -> dict[str, Any] | None:
        """Metadata (cached when ``cache_meta``)."""
        if self.cache_meta and self._head is not None:
            return self._head
        head = self.cf.head(self.filename)
        if self.cache_meta:
            self._head = head
        return cast("dict[str, Any] | None", head)

    def size(self) -> int | None:
        """Stored size in bytes (cached when ``cache_meta``)."""
        if self.cache_meta and self._size is not None:
            return self._size
        size = self.cf.size(self.filename)
        if self.cache_meta:
            self._size = size
        return cast("int | None", size)

    def move(self, dest: str) -> None:
        """Move the file to ``dest`` (a full cloudpath on any service)."""
        self.cf.move(self.filename, dest)

    def transfer_to(self, cloudpath: str, reencode: Any = None) -> TransmissionMonitor:
        """Copy the file to the full cloudpath ``cloudpath``."""
        parent, name = _split_fullpath(cloudpath)
        return self.cf.transfer_to(parent, paths=[(self.filename, name)], reencode=reencode)

    def transfer_from(self, cloudpath: str, reencode: Any = None) -> TransmissionMonitor:
        """Replace this file with a copy of the file at ``cloudpath``."""
        parent, name = _split_fullpath(cloudpath)
        return self.cf.transfer_from(parent, paths=[(name, self.filename)], reencode=reencode)

    def join(self, *paths: str) -> str:
        """Join path components with the scheme's separator."""
        return self.cf.join(*paths)

    def dirname(self, path: str) -> str:
        """Directory part of ``path``."""
        return self.cf.dirname(path)

    def basename(self, path: str) -> str:
        """Last component of ``path``."""
        return self.cf.basename(path)

    def clear_locks(self) -> None:
        """Delete every lock file in the lock directory."""
        self.cf.clear_locks()

    def __len__(self) -> int:
        size = self.size()
        if size is None:
            raise FileNotFoundError(self.abspath())
        return size

    def __getitem__(self, rng: slice) -> Any:
        return self.cf.get({"path": self.filename, "start": rng.start, "end": rng.stop})

    def __setitem__(self, key: Any, content: Any) -> None:
        """``f[:] = content`` (any key) writes the whole file."""
        self.put(content)


# -- put helpers ---------------------------------------------------------------------------------------
def _normalize_compress(value: Any) -> str | None:
    """Validate a ``compress`` value and return the encoding name (None for identity).

    Raises UnsupportedCompressionType (a ValueError) for an unknown codec.
    """
    return compression.normalize_encoding(value)


def _prepare_put(spec: dict[str, Any], defaults: dict[str, Any], raw: bool, keep_objects: bool = False) -> PutItem:
    """Validate and (unless raw) compress one put item.

    ``keep_objects`` (mem://): ``raw=True`` content is kept as the very object given (a numpy array
    comes back as that array, as cloud-files' memory store did; CloudVolume relies on it). Otherwise
    buffers are snapshotted as bytes, so later changes to the caller's buffer do not leak in.
    """
    def pick(name: str) -> Any:
        return spec.get(name, defaults[name])

    if not isinstance(spec.get("path"), str):
        # Caught here for every scheme: gs would otherwise have formatted a number into a key.
        raise TypeError(f"a put path must be a str, got {type(spec.get('path')).__name__}")
    encoding = _normalize_compress(pick("compress"))
    content = spec["content"]
    if isinstance(content, str):
        content = content.encode("utf8")
    elif not isinstance(content, (bytes, bytearray)) and not hasattr(content, "read"):
        if not (keep_objects and raw):
            content = _contiguous(content)
    if not raw and encoding is not None:
        if hasattr(content, "read"):
            content = content.read()
        level = pick("compression_level")
        content = compression.compress(content, method=encoding, compress_level=level)
    if keep_objects and not raw and not isinstance(content, bytes) and not hasattr(content, "read"):
        content = _snapshot(content)
    return PutItem(
        path=spec["path"],
        content=content,
        content_type=pick("content_type"),
        encoding=encoding,
        cache_control=pick("cache_control"),
        storage_class=pick("storage_class"),
        if_not_exists=bool(spec.get("if_not_exists", defaults.get("if_not_exists", False))),
    )


def _exists_error(errors: list[ObjectExistsError]) -> ObjectExistsError:
    """One ObjectExistsError for every path of a batch that ``if_not_exists`` found already stored."""
    if len(errors) == 1:
        return errors[0]
    paths = sorted({p for err in errors for p in err.paths})
    shown = ", ".join(paths[:20]) + (f" ... ({len(paths) - 20} more)" if len(paths) > 20 else "")
    return ObjectExistsError(
        f"{len(paths)} paths already exist (if_not_exists=True: not overwritten; the rest were written): {shown}",
        paths=paths,
    )


def _snapshot(content: Any) -> Any:
    """A bytes copy of a buffer (the caller may change it later); other objects as they are."""
    try:
        return memoryview(content).tobytes()
    except TypeError:
        return content


def _contiguous(content: Any) -> Any:
    """Buffer-protocol content (numpy arrays...) as-is when C-contiguous (sent without a copy); a strided
    view is copied once into bytes, the only way to send it as one body."""
    try:
        view = memoryview(content)
    except TypeError:
        return content  # a Python object stored raw on mem://
    return content if view.c_contiguous else view.tobytes()


def _jsonify_item(spec: dict[str, Any]) -> dict[str, Any]:
    out = dict(spec)
    out["content"] = jsonify(spec["content"])
    return out


def _transfer_pair(item: Any) -> tuple[str, str, int | None]:
    """``(source name, destination name, stored size or None)`` of one transfer path item."""
    if isinstance(item, str):
        return item, item, None
    if isinstance(item, dict):
        return item["path"], item.get("dest_path") or item["path"], item.get("size")
    if isinstance(item, (tuple, builtins.list)) and len(item) in (2, 3):
        return item[0], item[1], (item[2] if len(item) == 3 else None)
    raise TypeError(f"a transfer path is a str, (src, dest) or {{'path', 'dest_path'}}; got {item!r}")


# -- module-level conveniences -------------------------------------------------------------------------
def _split_fullpath(fullpath: str) -> tuple[str, str]:
    """``'gs://b/dir/f'`` -> ``('gs://b/dir', 'f')``: the CloudFiles directory and the key."""
    norm = paths.normalize(fullpath)
    parent, _, name = norm.rstrip("/").rpartition("/")
    if parent.endswith("file://"):
        parent += "/"  # a file directly under the filesystem root
    if not name or not parent or parent.endswith(":/"):
        raise UnsupportedProtocolError(f"{fullpath!r} does not name a file")
    return parent, name


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
    with _Bar(progress if total > 1 else False, total, "Downloading") as bar:
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
    # CLOUD_FILES_DIR / CLOUD_FILES_LOCK_DIR follow the environment (see cloudfiles.secrets).
    if name in ("CLOUD_FILES_DIR", "CLOUD_FILES_LOCK_DIR"):
        from . import secrets

        return getattr(secrets, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | {"CLOUD_FILES_DIR", "CLOUD_FILES_LOCK_DIR"})


__all__ = [
    "ALIASES",
    "CLOUD_FILES_DIR",  # noqa: F822 - provided by the module __getattr__
    "CLOUD_FILES_LOCK_DIR",  # noqa: F822
    "INTERFACES",
    "RESULT_KEYS",
    "CRC32CIntegrityError",
    "CaveInterface",
    "CloudFile",
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
