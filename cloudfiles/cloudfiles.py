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

import itertools
import multiprocessing
import posixpath
import sys
from collections.abc import Iterator
from typing import Any

from . import forksafe, paths
from .coalesce import max_gap_for
from .facade import compat as _compat
from .facade.compat import *  # noqa: F403 - cloud-files 6.4.3's other names of this module (see there)
from .facade.host import GetPathType, PutType
from .facade.listing import ListingMixin
from .facade.naming import NamingMixin
from .facade.reading import ReadingMixin
from .facade.writing import WritingMixin
from .interfaces import get_interface_class
from .interfaces.base import InterfaceOptions, StorageInterface
from .interfaces.file_writes import fsync_policy
from .lib import toiter
from .progress import Bar


def _detect_green(green: bool | None) -> bool:
    if green is not None:
        return bool(green)
    monkey = sys.modules.get("gevent.monkey")
    return bool(monkey is not None and getattr(monkey, "saved", None))


# -- the facade ----------------------------------------------------------------------------------------
# The public methods come by family from cloudfiles/facade/ (reading, writing, listing, naming); the
# class itself keeps the state, the plumbing they share, pickling, and what builds or recognises a
# CloudFiles (isdir's fallback, _derive, the container protocol).
class CloudFiles(ReadingMixin, WritingMixin, ListingMixin, NamingMixin):
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
      max_host_connections: cap on open connections to one host (``CURLMOPT_MAX_HOST_CONNECTIONS``);
        None uses ``$CLOUDFILES_MAX_HOST_CONNECTIONS`` or no cap (cloudfiles extension, README "Small
        and slow servers").
      coalesce_gap: ranged gets on network schemes merge two ranges of one object into one request
        when at most this many bytes lie between them (0: only touching ranges); None uses
        ``$CLOUDFILES_COALESCE_GAP`` or :data:`cloudfiles.coalesce.MAX_GAP` (cloudfiles extension;
        the cost model is in :mod:`cloudfiles.coalesce`).
      fsync: file:// writes: ``'batch'`` (durable when ``puts`` returns) or ``'none'`` (still atomic,
        not fsynced, as fast as cloud-files); None uses ``$CLOUDFILES_FSYNC`` or ``'batch'``
        (cloudfiles extension, README "Local writes").
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
        max_host_connections: int | None = None,
        coalesce_gap: int | None = None,
        fsync: str | None = None,
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
        if coalesce_gap is not None:
            max_gap_for(coalesce_gap)  # a bad value fails here, not at the first get
        if fsync is not None:
            fsync_policy(fsync)

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
        self.max_host_connections = max_host_connections
        self.coalesce_gap = coalesce_gap
        self.fsync = fsync
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
            max_host_connections=self.max_host_connections,
            coalesce_gap=self.coalesce_gap,
            fsync=self.fsync,
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

    # -- what builds or recognises a CloudFiles (so it stays with the class) ------------------------
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
            max_host_connections=self.max_host_connections if same else None,
            coalesce_gap=self.coalesce_gap,
            fsync=self.fsync,
        )

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
    "CLOUD_FILES_DIR",  # noqa: F405 - provided by the module __getattr__
    "CLOUD_FILES_LOCK_DIR",  # noqa: F405
    "CloudFile",  # noqa: F405 - provided by the module __getattr__
    "CloudFiles",
    "GetPathType",
    "PutType",
    "clear_memory",
    "dl",
    "reset_connection_pools",
]
__all__ += _compat.__all__
