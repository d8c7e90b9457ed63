"""The storage contract: what every scheme (file, mem, http, s3, gs) implements.

Every operation is batch-shaped: it takes an iterable (consumed lazily, never turned into a list) and
yields one result per input item as it completes, so the network schemes can keep many requests in
flight through the engine while the local ones simply loop. Interfaces deal in *stored* bytes: they
never compress or decompress; the facade does that (on the codec pool) using the ``encoding`` they report.

Missing objects are not errors: ``GetResult.content is None`` with ``error is None``; head/size give None.
Any other failure of one item is reported in that item's ``error`` (a :class:`CloudFilesError`) while the
rest of the batch carries on; the facade decides whether to raise.
"""

from __future__ import annotations

import abc
import datetime
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import IO, Any, ClassVar

from ..paths import ExtractedPath

# Content a put may carry: a whole buffer (bytes, bytearray, memoryview, numpy array...) or a readable,
# seekable binary file handle that is streamed.
PutContent = bytes | bytearray | memoryview | IO[bytes] | Any

# Keys every head() dict has, on every scheme (None where the scheme has no value). Fixing the old
# library's per-backend key sets: a caller can rely on one shape.
HEAD_KEYS: tuple[str, ...] = (
    "Cache-Control",
    "Content-Length",
    "Content-Type",
    "ETag",
    "Last-Modified",
    "Content-Md5",
    "Content-Crc32c",
    "Content-Encoding",
    "Content-Disposition",
    "Content-Language",
    "Storage-Class",
    "Request-Charged",
    "Parts-Count",
    "Component-Count",
)


#: The head() keys cloud-files 6.4.3 gave on file://, mem:// and S3 (GCS: see GCSInterface).
LEGACY_HEAD_KEYS: tuple[str, ...] = tuple(k for k in HEAD_KEYS if k not in ("Content-Crc32c", "Component-Count"))


def empty_head() -> dict[str, Any]:
    """A head dict with every key present and None."""
    return dict.fromkeys(HEAD_KEYS)


@dataclass(slots=True)
class InterfaceOptions:
    """Constructor options of CloudFiles that reach the scheme implementation."""

    secrets: Any = None
    request_payer: str | None = None
    locking: bool | None = None
    lock_dir: str | None = None
    composite_upload_threshold: int = int(1e8)
    no_sign_request: bool = False
    use_https: bool = False
    endpoint: str | None = None
    # Most transfers in flight at once for one batch (the engine's concurrency).
    concurrency: int = 20
    green: bool | None = None
    # Seconds; None means the engine's defaults.
    connect_timeout: float | None = None
    read_timeout: float | None = None
    # Most connections to one host at once (libcurl's CURLMOPT_MAX_HOST_CONNECTIONS); None reads
    # CLOUDFILES_MAX_HOST_CONNECTIONS, 0 is no cap.
    max_host_connections: int | None = None
    # Ranged gets: merge two ranges of one object when at most this many bytes lie between them
    # (:mod:`cloudfiles.coalesce`); None reads CLOUDFILES_COALESCE_GAP, else coalesce.MAX_GAP.
    coalesce_gap: int | None = None
    # file:// writes: 'batch' (durable when puts returns) or 'none' (atomic only); None reads
    # CLOUDFILES_FSYNC, else 'batch' (interfaces/file_writes.py).
    fsync: str | None = None


@dataclass(slots=True)
class GetItem:
    """One object (or byte range of it) to fetch. ``end`` is exclusive; None means open."""

    path: str
    start: int | None = None
    end: int | None = None
    tags: Any = None
    part_size: int | None = None


@dataclass(slots=True)
class GetResult:
    """Stored bytes of one object as the server/disk holds them (still compressed if ``encoding``)."""

    item: GetItem
    content: bytes | bytearray | memoryview | None = None
    encoding: str | None = None  # normalized: None, 'gzip', 'br', 'zstd', 'bz2', 'xz'
    server_hash: str | None = None
    hash_type: str | None = None  # 'md5' | 'crc32c' | None
    error: BaseException | None = None
    #: ``server_hash`` was checked already (by the interface, while the parts of a split GET arrived)
    verified: bool = False


@dataclass(slots=True)
class PutItem:
    """One object to store. ``content`` is already encoded; ``encoding`` labels it (None = identity)."""

    path: str
    content: PutContent
    content_type: str | None = None
    encoding: str | None = None
    cache_control: str | None = None
    storage_class: str | None = None
    #: write only if no object is stored under ``path`` (in any encoding); else the result's error is
    #: an ObjectExistsError and nothing is written. Atomic where the store allows it (see README).
    if_not_exists: bool = False


@dataclass(slots=True)
class PutResult:
    path: str
    error: BaseException | None = None
    nbytes: int = 0


@dataclass(slots=True)
class ListEntry:
    """One listing entry. ``name`` is relative to the interface's base path; directories end in '/'."""

    name: str
    size: int | None = None
    resume_token: str | None = None


def shaped_listing(entries: Iterable[ListEntry], *, size: bool, return_resume_token: bool) -> Iterator[Any]:
    """Listing entries in the shape cloud-files' ``list`` yields: ``name``, ``(name, size)``,
    ``(name, token)`` or ``(name, size, token)``."""
    for entry in entries:
        if size and return_resume_token:
            yield (entry.name, entry.size, entry.resume_token)
        elif size:
            yield (entry.name, entry.size)
        elif return_resume_token:
            yield (entry.name, entry.resume_token)
        else:
            yield entry.name


@dataclass(slots=True)
class HeadResult:
    path: str
    head: dict[str, Any] | None
    error: BaseException | None = None


@dataclass(slots=True)
class DeleteResult:
    path: str
    error: BaseException | None = None


@dataclass(slots=True)
class SubtreeSize:
    N: int = 0
    num_bytes: int = 0


#: see :meth:`StorageInterface.server_copier`
Copier = Callable[[list[tuple[str, str]]], Iterator[tuple[str, bool, BaseException | None]]]


class StorageInterface(abc.ABC):
    """Base class of every scheme. One instance per CloudFiles object (not per file)."""

    #: how many paths one exists/delete request may carry (S3 DeleteObjects: 1000, GCS batch: 100)
    exists_batch_size: int = 1
    delete_batch_size: int = 1
    #: False for schemes that cannot write (http)
    writable: bool = True
    #: How cloud-files 6.4.3 names a stored encoding in get results' ``compress`` where that differs
    #: from our canonical name (file/mem say ``'bzip2'``; S3 says ``''`` for an uncompressed object).
    encoding_labels: ClassVar[Mapping[str | None, str | None]] = {"bz2": "bzip2"}
    #: keys of cloud-files 6.4.3's head() on this scheme (None: every key we have)
    legacy_head_keys: ClassVar[tuple[str, ...] | None] = LEGACY_HEAD_KEYS
    #: keys per delete request in cloud-files 6.4.3, whose delete() counted requests
    legacy_delete_batch_size: ClassVar[int] = 1
    #: True where put stores the content object itself (mem://), so the facade leaves it as given
    stores_objects: ClassVar[bool] = False

    #: True where objects live in this process's memory (mem://): no worker threads or processes help
    in_process: ClassVar[bool] = False
    #: True where each request costs a round trip (network schemes): the get loop then merges nearby
    #: byte ranges of one object into fewer requests (:mod:`cloudfiles.coalesce`). Local reads gain
    #: nothing from it.
    coalesce_ranges: ClassVar[bool] = False

    def __init__(self, path: ExtractedPath, options: InterfaceOptions) -> None:
        self.path = path
        self.options = options

    @classmethod
    def check_request_payer(cls, protocol: str, value: str | None) -> None:
        """Raise ValueError when ``request_payer=value`` means nothing to this scheme."""
        if value is not None:
            raise ValueError(f"request_payer is not supported for {protocol}://")

    def server_copier(self, dest: StorageInterface) -> Copier | None:
        """A function copying ``(src, dest)`` name pairs from this store into ``dest`` inside the
        service (no bytes pass through this process), or None when the service cannot. It yields
        ``(source name, found, error)`` in completion order."""
        return None

    def renamer(self, dest: StorageInterface) -> Callable[[str, str], bool] | None:
        """A function renaming ``src`` in this store to ``dest_key`` in ``dest`` (True when done, False
        when the source is missing), or None when the two stores cannot rename between them: the
        caller then copies and deletes."""
        return None

    def stored_opener(self) -> Callable[[str], tuple[IO[bytes], str | None] | None] | None:
        """Where stored objects are files this process can open (file://): a function giving, for a
        key, an open binary handle on the stored bytes and their encoding (None when missing), so a
        copy streams from the descriptor. None elsewhere: the caller reads with :meth:`get_files`."""
        return None

    def is_dir(self, prefix: str) -> bool:
        """Is there a directory at ``prefix``? Object stores: at least one object under ``prefix/``
        (checked, even when the path ends in '/'). Raises NotImplementedError where nothing lists."""
        dirprefix = prefix if (not prefix or prefix.endswith("/")) else prefix + "/"
        return next(iter(self.list_files(dirprefix, flat=False, size=False)), None) is not None

    def legacy_head(self, head: dict[str, Any]) -> dict[str, Any]:
        """``head`` cut to the keys cloud-files 6.4.3 gave on this scheme, encodings named as it did."""
        keys = self.legacy_head_keys
        if keys is None:
            return head
        out = {key: head.get(key) for key in keys}
        encoding = out.get("Content-Encoding")
        if encoding is not None:
            out["Content-Encoding"] = self.encoding_labels.get(encoding, encoding)
        return out

    def encoding_label(self, encoding: str | None, found: bool) -> str | None:
        """The ``compress`` value of a get result, as cloud-files 6.4.3 reports it (None when missing)."""
        if not found:
            return None
        return self.encoding_labels.get(encoding, encoding)

    # -- reads -------------------------------------------------------------------------------------
    @abc.abstractmethod
    def get_files(self, items: Iterable[GetItem]) -> Iterator[GetResult]:
        """Fetch stored bytes for each item; yields in completion order."""

    @abc.abstractmethod
    def head_files(self, paths: Iterable[str]) -> Iterator[HeadResult]:
        """Metadata (a dict with every key of HEAD_KEYS) or None when missing."""

    def size_files(self, paths: Iterable[str]) -> Iterator[tuple[str, int | None, BaseException | None]]:
        """Stored (compressed) size in bytes, or None when missing."""
        for res in self.head_files(paths):
            size = None if res.head is None else res.head.get("Content-Length")
            yield res.path, (None if size is None else int(size)), res.error

    def exists_files(self, paths: Iterable[str]) -> Iterator[tuple[str, bool, BaseException | None]]:
        for res in self.head_files(paths):
            yield res.path, res.head is not None, res.error

    # -- writes ------------------------------------------------------------------------------------
    @abc.abstractmethod
    def put_files(self, items: Iterable[PutItem]) -> Iterator[PutResult]:
        """Store each item; yields in completion order."""

    @abc.abstractmethod
    def delete_files(self, paths: Iterable[str]) -> Iterator[DeleteResult]:
        """Delete each path (every stored encoding variant). Missing paths are not errors."""

    # -- listing -----------------------------------------------------------------------------------
    @abc.abstractmethod
    def list_files(
        self, prefix: str, *, flat: bool, size: bool, resume_token: str | None = None
    ) -> Iterator[ListEntry]:
        """Stream names under ``prefix`` (relative to the base path).

        ``flat=True`` lists one level only: objects directly under the prefix's directory, plus one
        ``dir/`` entry per subdirectory. ``size`` asks for sizes where the listing carries them.
        """

    def subtree_size(self, prefix: str) -> SubtreeSize:
        total = SubtreeSize()
        for entry in self.list_files(prefix, flat=False, size=True):
            total.N += 1
            total.num_bytes += entry.size or 0
        return total

    def get_acl(self, path: str) -> Any:
        raise NotImplementedError(f"ACLs are not available for {self.path.protocol}://")

    def close(self) -> None:  # noqa: B027 - a no-op default, not an abstract method
        """Release connections or handles. Idempotent."""

    # cloud-files' connection protocol: ``with iface as conn`` and ``release_connection``. An interface
    # serves its CloudFiles for its whole life and its connections live in the engine's per-thread pools,
    # so there is nothing to hand back per use (close() is what releases resources).
    def release_connection(self) -> None:  # noqa: B027 - deliberately nothing to do
        """Nothing to give back: connections are pooled per thread by the engine (see close())."""

    def __enter__(self) -> StorageInterface:
        return self

    def __exit__(self, exception_type: Any, exception_value: Any, traceback: Any) -> None:
        self.release_connection()


def utc_from_timestamp(ts: float) -> datetime.datetime:
    """Timezone-aware UTC datetime (the old library returned naive ones via a deprecated call)."""
    return datetime.datetime.fromtimestamp(ts, tz=datetime.timezone.utc)


def consume(it: Iterator[Any]) -> None:
    for _ in it:
        pass


__all__ = [
    "HEAD_KEYS",
    "DeleteResult",
    "GetItem",
    "GetResult",
    "HeadResult",
    "InterfaceOptions",
    "ListEntry",
    "PutContent",
    "PutItem",
    "PutResult",
    "StorageInterface",
    "SubtreeSize",
    "consume",
    "empty_head",
    "utc_from_timestamp",
]
