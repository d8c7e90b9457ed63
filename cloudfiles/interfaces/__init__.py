"""The scheme registry: which :class:`StorageInterface` class serves each protocol.

Classes are registered by *module path* and imported on first use, so ``import cloudfiles`` never
imports pycurl, botocore or google-auth unless a CloudFiles for that scheme is actually built.

This module also carries every public name of cloud-files' ``cloudfiles.interfaces``: its constants
(``COMPRESSION_EXTENSIONS``, ``EXT_TEST_SEQUENCE``, ``S3_ACLS``...), its per-bucket connection pool
registries (``S3_POOL``, ``GC_POOL``, ``MEM_POOL``, rebuilt by :func:`reset_connection_pools`) and its
per-file interface classes (``FileInterface``, ``S3Interface``...: adapters from
:mod:`cloudfiles.interfaces.legacy`, imported on first access).
"""

from __future__ import annotations

import importlib
import re
from collections import defaultdict, namedtuple
from collections.abc import Callable
from typing import Any, cast

from .. import forksafe
from ..compression import COMPRESSION_TYPES
from ..exceptions import AuthorizationError, CompressionError, MD5IntegrityError, UnsupportedProtocolError
from ..lib import encode_crc32c_b64, md5, mkdir, retry, retrying, sip, validate_s3_multipart_etag
from ..secrets import cave_credentials, http_credentials
from .base import StorageInterface
from .mem import _DATA as MEMORY_DATA

# protocol -> "module:ClassName". S3 aliases (matrix://, nokura://, ...) parse to protocol 's3', so
# they need no entry of their own.
_TARGETS: dict[str, str] = {
    "file": "cloudfiles.interfaces.file:FileInterface",
    "mem": "cloudfiles.interfaces.mem:MemoryInterface",
    "http": "cloudfiles.interfaces.http:HttpInterface",
    "https": "cloudfiles.interfaces.http:HttpInterface",
    "middleauth+https": "cloudfiles.interfaces.http:CaveInterface",
    "s3": "cloudfiles.interfaces.s3:S3Interface",
    "gs": "cloudfiles.interfaces.gs:GCSInterface",
}

_LOADED: dict[str, type[StorageInterface]] = {}
_LOCK = forksafe.new_lock()


def register_interface(protocol: str, target: str | type[StorageInterface]) -> None:
    """Serve ``protocol`` with ``target``: a class, or a lazily imported ``"module:ClassName"``."""
    with _LOCK:
        _LOADED.pop(protocol, None)
        if isinstance(target, str):
            _TARGETS[protocol] = target
        else:
            _TARGETS[protocol] = f"{target.__module__}:{target.__qualname__}"
            _LOADED[protocol] = target


def supported_protocols() -> list[str]:
    """Every protocol with a registered interface (whether or not its module is importable)."""
    return sorted(_TARGETS)


def get_interface_class(protocol: str) -> type[StorageInterface]:
    """The interface class for ``protocol``; imports its module on first use.

    Raises :class:`UnsupportedProtocolError` for an unknown protocol, or when the module that should
    serve it is missing or lacks the class (e.g. a scheme not built yet).
    """
    cls = _LOADED.get(protocol)
    if cls is not None:
        return cls
    target = _TARGETS.get(protocol)
    if target is None:
        raise UnsupportedProtocolError(
            f"Unsupported protocol {protocol!r}. Supported: {', '.join(supported_protocols())}."
        )
    module_name, _, class_name = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        if err.name is not None and module_name.startswith(err.name):
            raise UnsupportedProtocolError(
                f"The {protocol}:// scheme is not available in this build ({module_name} is missing)."
            ) from err
        raise UnsupportedProtocolError(
            f"The {protocol}:// scheme needs the {err.name!r} package, which is not installed."
        ) from err
    cls = getattr(module, class_name, None)
    if not (isinstance(cls, type) and issubclass(cls, StorageInterface)):
        raise UnsupportedProtocolError(
            f"The {protocol}:// scheme is not available in this build ({target} is missing)."
        )
    with _LOCK:
        _LOADED[protocol] = cls
    return cls


def loaded_interface_classes() -> list[type[StorageInterface]]:
    """Interface classes imported so far (used to reset their connection pools)."""
    with _LOCK:
        return list(dict.fromkeys(_LOADED.values()))


# -- cloud-files' interfaces module names --------------------------------------------------------------

#: Filename suffixes that mark a compressed object on file:// and mem:// (cloud-files' order).
COMPRESSION_EXTENSIONS = (".gz", ".br", ".zstd", ".bz2", ".xz")
#: ``compress=`` values that mean gzip.
GZIP_TYPES = (True, "gzip", 1)
#: ``(suffix, encoding)`` in the order reads probe a key's stored variants (the same order ours use).
EXT_TEST_SEQUENCE: list[tuple[str, str | None]] = [
    ("", None),
    (".gz", "gzip"),
    (".br", "br"),
    (".zstd", "zstd"),
    (".xz", "xz"),
    (".bz2", "bzip2"),
]
EXT_TEST_SEQUENCE_LOCK = forksafe.new_lock()
#: S3 ETags of this shape are synthetic (NFS-backed stores such as Dell ECS), not MD5s: never checked.
NFS_ETAG_REGEXP = re.compile(r"\d+\-$")
#: The canned ACL objects get on put/copy: per alias, else DEFAULT_S3_ACL.
S3_ACLS = {"tigerdata": "private", "nokura": "public-read"}
DEFAULT_S3_ACL = "bucket-owner-full-control"


class keydefaultdict(defaultdict[Any, Any]):
    """A defaultdict whose factory receives the missing key (``factory(key)``)."""

    def __init__(self, default_factory: Callable[[Any], Any] | None = None, *args: Any, **kwargs: Any) -> None:
        super().__init__(cast("Callable[[], Any] | None", default_factory), *args, **kwargs)

    def __missing__(self, key: Any) -> Any:
        if self.default_factory is None:
            raise KeyError(key)
        factory: Callable[[Any], Any] = self.default_factory  # type: ignore[assignment]
        value = self[key] = factory(key)
        return value


S3ConnectionPoolParams = namedtuple("S3ConnectionPoolParams", "service bucket_name request_payer")
GCloudBucketPoolParams = namedtuple("GCloudBucketPoolParams", "bucket_name request_payer")
MemoryPoolParams = namedtuple("MemoryPoolParams", "bucket_name")

GCS_BUCKET_POOL_LOCK = forksafe.new_lock()
S3_BUCKET_POOL_LOCK = forksafe.new_lock()
MEM_BUCKET_POOL_LOCK = forksafe.new_lock()

#: Per-bucket pools, made on first use: ``S3_POOL[S3ConnectionPoolParams(service, bucket, payer)]``...
def _s3_pool(params: Any) -> Any:
    from ..connectionpools import S3ConnectionPool

    return S3ConnectionPool(params.service, params.bucket_name)


def _gc_pool(params: Any) -> Any:
    from ..connectionpools import GCloudBucketPool

    return GCloudBucketPool(params.bucket_name, params.request_payer)


def _mem_pool(params: Any) -> Any:
    from ..connectionpools import MemoryPool

    return MemoryPool(params.bucket_name)


S3_POOL: keydefaultdict = keydefaultdict(_s3_pool)
GC_POOL: keydefaultdict = keydefaultdict(_gc_pool)
MEM_POOL: keydefaultdict = keydefaultdict(_mem_pool)


def _new_pools() -> None:
    global S3_POOL, GC_POOL, MEM_POOL
    old = []
    with S3_BUCKET_POOL_LOCK:
        old += list(S3_POOL.values())
        S3_POOL = keydefaultdict(_s3_pool)
    with GCS_BUCKET_POOL_LOCK:
        old += list(GC_POOL.values())
        GC_POOL = keydefaultdict(_gc_pool)
    with MEM_BUCKET_POOL_LOCK:
        old += list(MEM_POOL.values())
        MEM_POOL = keydefaultdict(_mem_pool)
    for pool in old:
        pool.reset_pool()


def reset_connection_pools() -> None:
    """Close every pooled connection and forget all ``mem://`` data, then collect garbage.

    Closes this thread's engines (their kept-alive HTTP connections) and whatever the loaded scheme
    classes pool, rebuilds the per-bucket pool registries (S3_POOL, GC_POOL, MEM_POOL) and clears
    ``MEMORY_DATA``.
    """
    import gc

    for cls in loaded_interface_classes():
        reset: Callable[[], None] | None = getattr(cls, "reset_connection_pools", None)
        if reset is not None:
            reset()
    _new_pools()
    with MEM_BUCKET_POOL_LOCK:
        from .mem import clear_memory

        clear_memory()
    gc.collect()


def retry_if_not(exception_type: type[BaseException] | list[type[BaseException]]) -> Callable[[Any], Any]:
    """A retry decorator (see :func:`cloudfiles.connectionpools.retry`) that does not retry exceptions
    of ``exception_type`` (a class or a list of classes): those are raised at once.

    (cloud-files combined a list with "or", so it retried all but exceptions of every listed type.)
    """
    types = tuple(exception_type) if isinstance(exception_type, list) else (exception_type,)
    return retrying(no_retry=types)


def read_file(
    path: str, encoding: str | None, start: int | None, end: int | None
) -> tuple[bytes, str | None, None, None]:
    """Bytes ``[start, end)`` of the local file ``path`` (``end`` exclusive, None = to the end) as
    ``(data, encoding, None, None)``: a get_file result with no server hash."""
    with open(path, "rb") as f:
        if start is not None:
            f.seek(start)
        data = f.read() if end is None else f.read(max(0, end - (start or 0)))
    return data, encoding, None, None


# The per-file interface classes (cloudfiles.interfaces.legacy) and the environment-dependent
# directories are looked up on access: the classes stay unimported until used.
_LEGACY_CLASSES = (
    "CaveInterface",
    "FileInterface",
    "GoogleCloudStorageInterface",
    "HttpInterface",
    "MemoryInterface",
    "S3Interface",
)
_SECRETS_DIRS = ("CLOUD_FILES_DIR", "CLOUD_FILES_LOCK_DIR")
_POOL_CLASSES = ("GCloudBucketPool", "MemoryPool", "S3ConnectionPool")


def __getattr__(name: str) -> Any:
    if name in _LEGACY_CLASSES:
        from . import legacy

        return getattr(legacy, name)
    if name in _POOL_CLASSES:
        from .. import connectionpools

        return getattr(connectionpools, name)
    if name in _SECRETS_DIRS:
        from .. import secrets

        return getattr(secrets, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LEGACY_CLASSES) | set(_SECRETS_DIRS) | set(_POOL_CLASSES))


__all__ = [
    "CLOUD_FILES_DIR",
    "CLOUD_FILES_LOCK_DIR",
    "COMPRESSION_EXTENSIONS",
    "COMPRESSION_TYPES",
    "DEFAULT_S3_ACL",
    "EXT_TEST_SEQUENCE",
    "EXT_TEST_SEQUENCE_LOCK",
    "GCS_BUCKET_POOL_LOCK",
    "GC_POOL",
    "GZIP_TYPES",
    "MEMORY_DATA",
    "MEM_BUCKET_POOL_LOCK",
    "MEM_POOL",
    "NFS_ETAG_REGEXP",
    "S3_ACLS",
    "S3_BUCKET_POOL_LOCK",
    "S3_POOL",
    "AuthorizationError",
    "CaveInterface",
    "CompressionError",
    "FileInterface",
    "GCloudBucketPool",
    "GCloudBucketPoolParams",
    "GoogleCloudStorageInterface",
    "HttpInterface",
    "MD5IntegrityError",
    "MemoryInterface",
    "MemoryPool",
    "MemoryPoolParams",
    "S3ConnectionPool",
    "S3ConnectionPoolParams",
    "S3Interface",
    "StorageInterface",
    "cave_credentials",
    "encode_crc32c_b64",
    "get_interface_class",
    "http_credentials",
    "keydefaultdict",
    "loaded_interface_classes",
    "md5",
    "mkdir",
    "read_file",
    "register_interface",
    "reset_connection_pools",
    "retry",
    "retry_if_not",
    "sip",
    "supported_protocols",
    "validate_s3_multipart_etag",
]
