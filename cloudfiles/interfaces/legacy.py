"""cloud-files' per-file interface classes, as thin adapters over our batch interfaces.

cloud-files 6.4.3 exposed one class per scheme (``FileInterface``, ``MemoryInterface``,
``GoogleCloudStorageInterface``, ``S3Interface``, ``HttpInterface``, ``CaveInterface``) with one method
per file operation, and ``CloudFiles._get_connection()`` returned one of them. Code that used those
classes directly keeps working with these: each wraps the :class:`~cloudfiles.interfaces.base.StorageInterface`
serving the path (``.interface``) and turns every call into a one-item batch::

    with FileInterface(paths.extract("file:///tmp/x")) as conn:
        conn.put_file("a", b"...", content_type=None, compress=None)
        content, encoding, server_hash, hash_type = conn.get_file("a")

What the methods return is cloud-files' shapes (``get_file`` a 4-tuple, ``subtree_size`` a pair,
``list_files`` names or tuples, ``save_file``/``copy_file`` ``(found, nbytes)``); how they behave is
ours (SPEC section 9): writing one encoding of a key removes its other variants, ``mem://`` listings are
scoped to the directory, and so on. Errors are raised, never returned. ``release_connection`` and the
context manager are kept for their shape: the connections themselves live in the engine's per-thread
pools (see :func:`cloudfiles.reset_connection_pools`), so there is nothing to give back per object.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from .. import compression, paths
from ..paths import ExtractedPath
from .base import GetItem, InterfaceOptions, PutItem, StorageInterface, shaped_listing


def _bytes(content: Any) -> Any:
    if isinstance(content, (bytearray, memoryview)):
        return bytes(content)
    return content


def _raise(error: BaseException | None) -> None:
    if error is not None:
        raise error


class LegacyInterface:
    """Base of the adapters: cloud-files' per-file methods over one of our interfaces."""

    #: The protocols an adapter class is meant for (None: any); checked when building from a path.
    protocols: tuple[str, ...] | None = None

    def __init__(self, path: ExtractedPath | str, secrets: Any = None, request_payer: str | None = None, **kwargs: Any) -> None:
        self._build(path, secrets=secrets, request_payer=request_payer, **kwargs)

    def _build(
        self,
        path: ExtractedPath | str,
        *,
        secrets: Any = None,
        request_payer: str | None = None,
        locking: bool | None = None,
        lock_dir: str | None = None,
        composite_upload_threshold: int = int(1e8),
        no_sign_request: bool = False,
        endpoint: str | None = None,
        use_https: bool = False,
        **_ignored: Any,
    ) -> None:
        """Build our interface for ``path`` from cloud-files' constructor options (the ones a scheme
        does not use are ignored, as cloud-files' ``**kwargs`` did)."""
        if isinstance(path, str):
            path = paths.extract(paths.normalize(path))
        protocol = path.protocol or "file"
        if self.protocols is not None and protocol not in self.protocols:
            raise ValueError(f"{type(self).__name__} serves {'/'.join(self.protocols)}://, not {protocol}://")
        if request_payer is not None and protocol not in ("gs", "s3"):
            raise ValueError(
                f"Specifying a request payer for {type(self).__name__} is not supported. "
                f"request_payer must be None, got {request_payer!r}."
            )
        options = InterfaceOptions(
            secrets=secrets,
            request_payer=request_payer,
            locking=locking,
            lock_dir=lock_dir,
            composite_upload_threshold=composite_upload_threshold,
            no_sign_request=no_sign_request,
            use_https=use_https,
            endpoint=endpoint,
        )
        from . import get_interface_class

        self._path = path
        self.interface: StorageInterface = get_interface_class(protocol)(path, options)

    @classmethod
    def wrap(cls, interface: StorageInterface) -> LegacyInterface:
        """An adapter over an existing interface (shares it: nothing new is built or opened)."""
        self = cls.__new__(cls)
        self._path = interface.path
        self.interface = interface
        return self

    # -- cloud-files' connection protocol -------------------------------------------------------------
    @property
    def exists_batch_size(self) -> int:
        """Paths per existence request of the underlying scheme."""
        return self.interface.exists_batch_size

    @property
    def delete_batch_size(self) -> int:
        """Paths per delete request of the underlying scheme."""
        return self.interface.delete_batch_size

    def release_connection(self) -> None:
        """Nothing to release per object: connections are pooled per thread by the engine."""

    def __enter__(self) -> LegacyInterface:
        return self

    def __exit__(self, exception_type: Any, exception_value: Any, traceback: Any) -> None:
        self.release_connection()

    # -- paths -----------------------------------------------------------------------------------------
    def get_path_to_file(self, file_path: str) -> str:
        """The object's full key inside the bucket (a filesystem path for file://)."""
        return posixpath.join(self._path.path or "", file_path)

    # -- reads -----------------------------------------------------------------------------------------
    def get_file(
        self, file_path: str, start: int | None = None, end: int | None = None, part_size: int | None = None
    ) -> tuple[Any, str | None, str | None, str | None]:
        """``(stored bytes or None, encoding, server hash, hash type)`` of one object or byte range.

        The bytes are as stored (still compressed when ``encoding`` is set); ``end`` is exclusive.
        """
        item = GetItem(file_path, start=start, end=end, part_size=part_size)
        for res in self.interface.get_files([item]):
            _raise(res.error)
            return _bytes(res.content), res.encoding, res.server_hash, res.hash_type
        return None, None, None, None

    def head(self, file_path: str) -> dict[str, Any] | None:
        """The object's metadata dict, or None when it does not exist."""
        for res in self.interface.head_files([file_path]):
            _raise(res.error)
            return res.head
        return None

    def size(self, file_path: str) -> int | None:
        """Stored size in bytes, or None when missing."""
        for _path, nbytes, error in self.interface.size_files([file_path]):
            _raise(error)
            return nbytes
        return None

    def exists(self, file_path: str) -> bool:
        """True if the object exists (in any encoding)."""
        return self.files_exist([file_path])[file_path]

    def files_exist(self, file_paths: Iterable[str]) -> dict[str, bool]:
        """``{path: exists}`` for each path."""
        out: dict[str, bool] = {}
        for path, found, error in self.interface.exists_files(list(file_paths)):
            _raise(error)
            out[path] = found
        return out

    def get_file_acl(self, file_path: str) -> Any:
        """The object's access control (file: ``st_mode``; mem: None; gs/s3: their ACL)."""
        return self.interface.get_acl(file_path)

    # -- writes ----------------------------------------------------------------------------------------
    def put_file(
        self,
        file_path: str,
        content: Any,
        content_type: str | None,
        compress: Any,
        cache_control: str | None = None,
        storage_class: str | None = None,
    ) -> None:
        """Store ``content`` as is, labelled with the encoding ``compress`` names (it is not compressed
        here: cloud-files' callers compress first). A str is stored UTF-8 encoded."""
        if isinstance(content, str):
            content = content.encode("utf8")
        item = PutItem(
            file_path,
            content,
            content_type=content_type,
            encoding=compression.normalize_encoding(compress),
            cache_control=cache_control,
            storage_class=storage_class,
        )
        for res in self.interface.put_files([item]):
            _raise(res.error)

    def delete_file(self, file_path: str) -> None:
        """Delete the object (every encoding variant). A missing object is not an error."""
        self.delete_files([file_path])

    def delete_files(self, file_paths: Iterable[str]) -> None:
        """Delete each object; the first error is raised after the batch ran."""
        first: BaseException | None = None
        for res in self.interface.delete_files(list(file_paths)):
            first = first or res.error
        _raise(first)

    # -- listing ---------------------------------------------------------------------------------------
    def list_files(
        self,
        prefix: str,
        flat: bool = False,
        size: bool = False,
        return_resume_token: bool = False,
        resume_token: str | None = None,
    ) -> Iterator[Any]:
        """Names under ``prefix`` relative to the interface's path: ``name``, ``(name, size)``,
        ``(name, token)`` or ``(name, size, token)``."""
        entries = self.interface.list_files(prefix or "", flat=flat, size=size, resume_token=resume_token)
        yield from shaped_listing(entries, size=size, return_resume_token=return_resume_token)

    def subtree_size(self, prefix: str = "") -> tuple[int, int]:
        """``(number of files, stored bytes)`` under ``prefix``."""
        total = self.interface.subtree_size(prefix)
        return (total.N, total.num_bytes)

    # -- whole-object transfers ------------------------------------------------------------------------
    def save_file(self, src: str, dest: str, resumable: bool = False) -> tuple[bool, int]:
        """Download ``src`` to the local path ``dest`` (plus the codec suffix of a compressed object,
        e.g. ``dest.gz``). Returns ``(found, bytes written)``. ``resumable`` downloads http(s) objects
        through a ``.part`` file that a later call resumes."""
        if resumable and hasattr(self.interface, "url"):
            from ..download import PartDownload

            nbytes = PartDownload(self.interface, src, dest).run()  # type: ignore[arg-type]
            return (False, 0) if nbytes is None else (True, nbytes)
        content, encoding, _hash, _kind = self.get_file(src)
        if content is None:
            return (False, 0)
        target = dest + compression.FILE_SUFFIXES.get(encoding, "")
        parent = os.path.dirname(target)
        if parent:
            os.makedirs(parent, exist_ok=True)
        tmp = f"{target}.{os.getpid()}.tmp"
        with open(tmp, "wb") as f:
            f.write(content if isinstance(content, (bytes, bytearray, memoryview)) else bytes(content))
        os.replace(tmp, target)
        return (True, len(content))


class FileInterface(LegacyInterface):
    """``file://`` in cloud-files' per-file shape."""

    protocols = ("file",)

    def __init__(
        self,
        path: ExtractedPath | str,
        secrets: Any = None,
        request_payer: str | None = None,
        locking: bool | None = None,
        lock_dir: str | None = None,
        **kwargs: Any,
    ) -> None:
        self._build(path, secrets=secrets, request_payer=request_payer, locking=locking, lock_dir=lock_dir, **kwargs)

    def get_path_to_file(self, file_path: str) -> str:
        return os.path.join(self._path.path or "", file_path)

    @classmethod
    def get_encoded_file_path(cls, path: str) -> tuple[str, str | None]:
        """``(path + suffix, encoding)`` of the stored variant of the local ``path``; ``('', None)``."""
        from .file import ENCODING_SUFFIXES

        for encoding, suffix in ENCODING_SUFFIXES:
            if os.path.isfile(path + suffix):
                return path + suffix, encoding
        return "", None

    @classmethod
    def get_extension(cls, compress: Any) -> str:
        """The filename suffix that marks ``compress`` (``''`` for none). Unknown: ValueError."""
        return compression.FILE_SUFFIXES[compression.normalize_encoding(compress)]

    def io_with_lock(self, io_func: Callable[[], Any], target: str, exclusive: bool = False) -> Any:
        """Run ``io_func()`` holding the reader (or, if ``exclusive``, writer) lock of the local path
        ``target`` when this interface locks (``locking=True``); otherwise just run it."""
        lock = getattr(self.interface, "_lock", None)
        if lock is None:
            return io_func()
        with lock(target, write=exclusive):
            return io_func()


class MemoryInterface(LegacyInterface):
    """``mem://`` in cloud-files' per-file shape. ``_data`` is the bucket's dict in ``MEMORY_DATA``."""

    protocols = ("mem",)

    @property
    def _data(self) -> dict[str, Any]:
        """This bucket's store: keys are paths inside the bucket with their codec suffix (``dir/x.gz``),
        values the stored bytes. Live: writing to it writes to ``mem://``."""
        from .mem import _DATA as MEMORY_DATA  # the same dict connectionpools exports

        return MEMORY_DATA.setdefault(self._path.bucket or "", {})

    def copy_file(self, src_path: str, dest_bucket: str, dest_key: str) -> tuple[bool, int]:
        """Copy the stored object (any encoding, suffix kept) to ``dest_key`` of the ``mem://`` bucket
        ``dest_bucket``. Returns ``(found, nbytes)``."""
        from .file import ENCODING_SUFFIXES
        from .mem import _DATA as MEMORY_DATA  # the same dict connectionpools exports

        key = self.get_path_to_file(src_path)
        data = self._data
        for _encoding, suffix in ENCODING_SUFFIXES:
            if key + suffix in data:
                value = data[key + suffix]
                MEMORY_DATA.setdefault(dest_bucket, {})[dest_key + suffix] = value
                return (True, len(value) if isinstance(value, (bytes, bytearray)) else 0)
        return (False, 0)


class _ObjectStoreInterface(LegacyInterface):
    """gs:// and s3://: server-side copies between buckets of the same service."""

    def _sibling(self, bucket: str) -> StorageInterface:
        """Our interface for the root of ``bucket`` on the same service, with the same options."""
        path = self._path._replace(bucket=bucket, path="")
        return type(self.interface)(path, self.interface.options)

    def copy_file(self, src_path: str, dest_bucket: str, dest_key: str) -> tuple[bool, int]:
        """Copy the object to ``dest_key`` (a full key) in ``dest_bucket`` inside the service (no bytes
        pass through here). Returns ``(found, nbytes)``."""
        dest = self._sibling(dest_bucket)
        copy: Any = getattr(self.interface, "copy_files")  # noqa: B009 - per-scheme signature
        if self._path.protocol == "gs":
            for _src, found, error in copy([(src_path, dest_key)], dest):
                _raise(error)
                return (found, (LegacyInterface.wrap(dest).size(dest_key) or 0) if found else 0)
        else:
            for _src, _dst, found, nbytes, error in copy(dest, [(src_path, dest_key)]):
                _raise(error)
                return (found, nbytes if found else 0)
        return (False, 0)


class GoogleCloudStorageInterface(_ObjectStoreInterface):
    """``gs://`` in cloud-files' per-file shape."""

    protocols = ("gs",)


class S3Interface(_ObjectStoreInterface):
    """``s3://`` (and its aliases) in cloud-files' per-file shape."""

    protocols = ("s3",)

    def __init__(
        self,
        path: ExtractedPath | str,
        secrets: Any = None,
        request_payer: str | None = None,
        composite_upload_threshold: int = int(1e8),
        no_sign_request: bool = False,
        **kwargs: Any,
    ) -> None:
        self._build(
            path,
            secrets=secrets,
            request_payer=request_payer,
            composite_upload_threshold=composite_upload_threshold,
            no_sign_request=no_sign_request,
            **kwargs,
        )

    def copy_file(self, src_path: str, dest_bucket_name: str, dest_key: str) -> tuple[bool, int]:
        """Copy the object to ``dest_key`` (a full key) in ``dest_bucket_name`` inside the service (no
        bytes pass through here). Returns ``(found, nbytes)``."""
        return super().copy_file(src_path, dest_bucket_name, dest_key)


class HttpInterface(LegacyInterface):
    """``http(s)://`` in cloud-files' per-file shape (read-only: writes raise NotImplementedError)."""

    protocols: tuple[str, ...] | None = ("http", "https", "middleauth+https")

    def get_path_to_file(self, file_path: str) -> str:
        return posixpath.join(self._path.host or "", self._path.path or "", file_path)

    def default_headers(self) -> dict[str, str]:
        """Headers sent with every request (the authorization header when there are credentials)."""
        out: dict[str, str] = {}
        for line in getattr(self.interface, "auth_headers", []):
            name, _, value = line.partition(":")
            out[name.strip()] = value.strip()
        return out


class CaveInterface(HttpInterface):
    """``middleauth+https://`` (CAVE bearer token) in cloud-files' per-file shape."""

    protocols = ("middleauth+https",)

    def __init__(self, path: ExtractedPath | str, secrets: Any = None, **kwargs: Any) -> None:
        self._build(path, secrets=secrets, **kwargs)


#: protocol -> adapter class (official S3 aliases parse to protocol 's3').
ADAPTERS: dict[str, type[LegacyInterface]] = {
    "file": FileInterface,
    "mem": MemoryInterface,
    "gs": GoogleCloudStorageInterface,
    "s3": S3Interface,
    "http": HttpInterface,
    "https": HttpInterface,
    "middleauth+https": CaveInterface,
}


def adapter_for(interface: StorageInterface) -> LegacyInterface:
    """The per-file adapter of the right class over ``interface`` (shared, not copied)."""
    cls = ADAPTERS.get(interface.path.protocol or "file", LegacyInterface)
    return cls.wrap(interface)


__all__ = [
    "ADAPTERS",
    "CaveInterface",
    "FileInterface",
    "GoogleCloudStorageInterface",
    "HttpInterface",
    "LegacyInterface",
    "MemoryInterface",
    "S3Interface",
    "adapter_for",
]
