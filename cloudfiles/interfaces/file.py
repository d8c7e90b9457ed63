"""``file://``: objects are files under a root directory; the stored encoding is a filename suffix.

``x`` is stored as ``x`` (identity), ``x.gz``, ``x.br``, ``x.zstd``, ``x.xz`` or ``x.bz2``. Differences
from cloud-files, all deliberate (SPEC section 9):

* Writes are atomic: bytes go to a hidden temp file in the destination directory, are made durable,
  then ``os.replace``d over the name, so a reader -- even after a crash or power loss -- sees the old
  object or the new one, never half a file. Fsync policy (see :mod:`.file_writes`): batches of
  :data:`~.file_writes.SMALL_BATCH` or more objects (locking off) are synced with one ``syncfs`` per
  chunk of up to 512 objects and each touched directory is fsynced once per chunk; smaller batches,
  locked writes and non-Linux systems fsync each file before its rename. ``fsync='none'``
  (``CloudFiles(fsync=...)`` / ``$CLOUDFILES_FSYNC``) keeps the temp file + rename and skips every
  fsync: atomic for readers, durable only once the kernel writes the pages back.
* Writing one encoding removes every other variant of the same key (no stale ``x.gz`` beside a new
  ``x``); delete removes every variant.
* Listing streams with ``os.scandir`` (no materialize-and-sort) and only walks the prefix's directory.
* Keys cannot escape the root (``../``): :func:`paths.safe_local_join` rejects them.
* ``Last-Modified`` is a timezone-aware UTC datetime.
"""

from __future__ import annotations

import contextlib
import datetime
import errno
import functools
import io
import itertools
import os
import re
import shutil
import stat
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any

from .. import compression
from ..buffers import buffer_nbytes
from ..exceptions import object_exists
from ..paths import ExtractedPath, safe_local_join
from .base import (
    DeleteResult,
    GetItem,
    GetResult,
    HeadResult,
    InterfaceOptions,
    ListEntry,
    PutItem,
    PutResult,
    StorageInterface,
    empty_head,
    utc_from_timestamp,
)
from .file_writes import (
    HAVE_SYNCFS,
    SMALL_BATCH,
    TMP_SUFFIX,
    Staged,
    commit_chunks,
    fsync_policy,
    host_tag,
    write_temp,
)
from .fskind import is_local_disk
from .writers import threaded

#: Most threads writing (and fsyncing) files at once in one put batch.
MAX_WRITERS = 8
#: Temp files are ``.{name}.{host}-{pid}-{token}.cftmp`` in the destination directory; listings skip
#: them. The writer's host (crc32 of the hostname, hex) and pid let :meth:`FileInterface.clean_temp_files`
#: tell the leftovers of a killed writer from a write in progress.
_TMP_OWNER = re.compile(r"\.([0-9a-f]{8})-(\d+)-[0-9a-f]{12}\.cftmp\Z")
#: age after which a dead writer's temp file may be removed (seconds)
STALE_TEMP_AGE = 6 * 3600


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True

_MISSING_ERRNOS = (errno.ENOENT, errno.ENOTDIR, errno.EISDIR, errno.ENAMETOOLONG)


def _probe_order() -> tuple[tuple[str | None, str], ...]:
    # Identity first (the common case), then every codec's suffix.
    order: list[tuple[str | None, str]] = [(None, "")]
    order.extend((enc, compression.FILE_SUFFIXES[enc]) for enc in ("gzip", "br", "zstd", "xz", "bz2"))
    for other, suffix in compression.FILE_SUFFIXES.items():
        if suffix and (other, suffix) not in order:
            order.append((other, suffix))
    return tuple(order)


#: ``(encoding, suffix)`` in the order reads probe them.
ENCODING_SUFFIXES: tuple[tuple[str | None, str], ...] = _probe_order()
_SUFFIX_TO_ENCODING = {suffix: enc for enc, suffix in ENCODING_SUFFIXES if suffix}


def suffix_for(encoding: str | None) -> str:
    """The filename suffix that stores ``encoding`` (``''`` for identity)."""
    for enc, suffix in ENCODING_SUFFIXES:
        if enc == encoding:
            return suffix
    from ..exceptions import UnsupportedCompressionType

    raise UnsupportedCompressionType(f"no file suffix for encoding {encoding!r}")


def strip_suffix(name: str) -> tuple[str, str | None]:
    """``'x.gz'`` -> ``('x', 'gzip')``; a name without a codec suffix is returned unchanged."""
    dot = name.rfind(".")
    if dot > 0:
        enc = _SUFFIX_TO_ENCODING.get(name[dot:])
        if enc is not None:
            return name[:dot], enc
    return name, None


def is_temp_name(name: str) -> bool:
    """True for the hidden temp files of writes in progress."""
    return name.startswith(".") and name.endswith(TMP_SUFFIX)


def default_lock_dir() -> str:
    """``$CLOUD_FILES_LOCK_DIR``, else ``$CLOUD_FILES_DIR/locks``, else ``~/.cloudfiles/locks``."""
    env = os.environ.get("CLOUD_FILES_LOCK_DIR")
    if env:
        return os.path.expanduser(env)
    base = os.environ.get("CLOUD_FILES_DIR") or os.path.join("~", ".cloudfiles")
    return os.path.join(os.path.expanduser(base), "locks")


def _item_bytes(item: PutItem) -> int:
    return buffer_nbytes(item.content)


def _is_missing(err: OSError) -> bool:
    return err.errno in _MISSING_ERRNOS


#: flags of a read-only open (os.open makes descriptors non-inheritable by itself: no O_CLOEXEC needed)
_O_READ = os.O_RDONLY
#: files at least this large are read by FileIO.readall (one buffer, grown in place) instead of one read
_ONE_READ_MAX = 1 << 30


def read_stored(fname: str, start: int | None, end: int | None) -> bytes | None:
    """The bytes of ``fname`` in [start, end) (Python slice bounds; None, None: all of it), or None when
    there is no such file (or it is a directory).

    A descriptor, ``fstat`` and one ``read`` (or ``pread``) for a small file: no file object, no
    ``isatty`` probe and no second read to find the end (asking one byte more than the size finds it).
    """
    try:
        fd = os.open(fname, _O_READ)
    except OSError as err:
        if _is_missing(err):
            return None
        raise
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            return None
        size = st.st_size
        if start is None and end is None:
            return _read_to_end(fd, size)
        # Python slice semantics (negative = from the end), the same on every local scheme.
        lo, hi, _ = slice(start, end).indices(size)
        if hi <= lo:
            return b""
        return _pread_exact(fd, hi - lo, lo)
    finally:
        os.close(fd)


def _read_to_end(fd: int, size: int) -> bytes:
    if size < _ONE_READ_MAX:
        data = os.read(fd, size + 1)
        if len(data) == size:  # asked for one byte more and got the size: the end was reached
            return data
        # The file changed size while read (or a short read): read on to the end, as a file object would.
        rest = io.FileIO(fd, closefd=False).readall()
        return data + rest if rest else data
    return io.FileIO(fd, closefd=False).readall()


def _pread_exact(fd: int, n: int, offset: int) -> bytes:
    data = os.pread(fd, n, offset)
    if len(data) == n or not data:
        return data
    chunks = [data]  # a short read: > 2 GiB, or the file shrank meanwhile
    got = len(data)
    while got < n:
        chunk = os.pread(fd, n - got, offset + got)
        if not chunk:
            break
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


#: link(2) errors meaning "this filesystem has no hard links" (not "the name exists")
_NO_LINKS = frozenset({errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.ENOSYS, errno.EMLINK, errno.EXDEV})


def _link_exclusive(tmp: str, final: str) -> None:
    """Give the finished ``tmp`` the name ``final`` unless ``final`` exists (FileExistsError)."""
    try:
        os.link(tmp, final)
    except FileExistsError:
        raise
    except OSError as err:
        if err.errno not in _NO_LINKS:
            raise
        # No hard links here: claim the name with O_EXCL, then replace the empty claim atomically.
        os.close(os.open(final, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666))
        os.replace(tmp, final)
        return
    os.unlink(tmp)


class FileInterface(StorageInterface):
    """Local filesystem storage rooted at the cloudpath's directory."""

    def __init__(self, path: ExtractedPath, options: InterfaceOptions) -> None:
        super().__init__(path, options)
        self.root: str = path.path or ""
        self._order = ENCODING_SUFFIXES
        self._lock_dir_ready = False
        #: False under ``fsync='none'``: writes stay atomic (temp + rename) but are not fsynced.
        self.durable = fsync_policy(options.fsync) == "batch"

    # -- paths -------------------------------------------------------------------------------------
    def fullpath(self, key: str) -> str:
        """Absolute filesystem path of ``key`` (without an encoding suffix); rejects traversal."""
        return safe_local_join(self.root, key)

    def _find(self, base: str) -> tuple[str, str | None, os.stat_result] | None:
        """The stored variant of ``base``: (filename, encoding, stat), or None when missing."""
        order = self._order
        for i, (enc, suffix) in enumerate(order):
            fname = base + suffix
            try:
                st = os.stat(fname)
            except OSError as err:
                if _is_missing(err):
                    continue
                raise
            if stat.S_ISDIR(st.st_mode):
                continue
            if i:
                self._promote(i)
            return fname, enc, st
        return None

    def _promote(self, i: int) -> None:
        # Most-recently-found encoding first: a dataset is usually stored in one encoding, so this
        # saves failed probes. Replacing the tuple is atomic; racing threads only reorder harmlessly.
        order = list(self._order)
        order.insert(0, order.pop(i))
        self._order = tuple(order)

    # -- locking -----------------------------------------------------------------------------------
    def _lock(self, base: str, *, write: bool) -> contextlib.AbstractContextManager[Any]:
        if not self.options.locking:
            return contextlib.nullcontext()
        import fasteners

        lock_dir = self.options.lock_dir or default_lock_dir()
        if not self._lock_dir_ready:
            os.makedirs(lock_dir, exist_ok=True)
            self._lock_dir_ready = True
        # One lock per logical key (not per encoding variant), so readers and writers of x / x.gz
        # exclude each other.
        name = f"{os.path.basename(base)}.{zlib.crc32(os.path.abspath(base).encode('utf8'))}"
        lock = fasteners.InterProcessReaderWriterLock(os.path.join(lock_dir, name))
        ctx: contextlib.AbstractContextManager[Any] = lock.write_lock() if write else lock.read_lock()
        return ctx

    # -- reads -------------------------------------------------------------------------------------
    def get_files(self, items: Iterable[GetItem]) -> Iterator[GetResult]:
        for item in items:
            try:
                yield self._get(item)
            except Exception as err:  # noqa: BLE001 - one bad item must not end the batch
                yield GetResult(item=item, error=err)

    def _get(self, item: GetItem) -> GetResult:
        base = self.fullpath(item.path)
        with self._lock(base, write=False):
            for i, (enc, suffix) in enumerate(self._order):
                data = read_stored(base + suffix, item.start, item.end)
                if data is None:
                    continue
                if i:
                    self._promote(i)
                return GetResult(item=item, content=data, encoding=enc)
        return GetResult(item=item)

    def head_files(self, paths: Iterable[str]) -> Iterator[HeadResult]:
        for path in paths:
            try:
                yield HeadResult(path=path, head=self._head(path))
            except Exception as err:  # noqa: BLE001 - the failure is this item's result
                yield HeadResult(path=path, head=None, error=err)

    def _head(self, path: str) -> dict[str, Any] | None:
        base = self.fullpath(path)
        with self._lock(base, write=False):
            found = self._find(base)
        if found is None:
            return None
        _fname, enc, st = found
        head = empty_head()
        head["Content-Length"] = st.st_size
        head["Last-Modified"] = utc_from_timestamp(st.st_mtime)
        head["Content-Encoding"] = enc
        return head

    def legacy_head(self, head: dict[str, Any]) -> dict[str, Any]:
        out = super().legacy_head(head)
        modified = out.get("Last-Modified")
        if modified is not None and modified.tzinfo is not None:  # cloud-files: naive UTC
            out["Last-Modified"] = modified.astimezone(datetime.timezone.utc).replace(tzinfo=None)
        return out

    def size_files(self, paths: Iterable[str]) -> Iterator[tuple[str, int | None, BaseException | None]]:
        for path in paths:
            try:
                base = self.fullpath(path)
                with self._lock(base, write=False):
                    found = self._find(base)
                yield path, (None if found is None else found[2].st_size), None
            except Exception as err:  # noqa: BLE001 - the failure is this item's result
                yield path, None, err

    def exists_files(self, paths: Iterable[str]) -> Iterator[tuple[str, bool, BaseException | None]]:
        for path in paths:
            try:
                base = self.fullpath(path)
                with self._lock(base, write=False):
                    found = self._find(base)
                yield path, found is not None, None
            except Exception as err:  # noqa: BLE001 - the failure is this item's result
                yield path, False, err

    def get_acl(self, path: str) -> Any:
        """The stored file's ``st_mode`` (an int), or None when missing."""
        found = self._find(self.fullpath(path))
        return None if found is None else found[2].st_mode

    # -- writes ------------------------------------------------------------------------------------
    def put_files(self, items: Iterable[PutItem]) -> Iterator[PutResult]:
        """Writes run on up to :data:`MAX_WRITERS` threads (``num_threads`` caps it).

        A batch of :data:`~.file_writes.SMALL_BATCH` or more objects with locking off is staged
        into temp files and committed in chunks: one syncfs, the renames, one fsync per directory
        (:func:`~.file_writes.commit_chunks`). Smaller batches and locked writes fsync and rename
        each object on its own, under its lock. Writes that wait on no fsync of their own (the
        chunked path, or ``fsync='none'``) run on one thread on a local disk (:mod:`.fskind`).
        """
        workers = 1 if self.options.green else max(1, min(MAX_WRITERS, int(self.options.concurrency or 1)))
        it = iter(items)
        head = list(itertools.islice(it, SMALL_BATCH))
        if self.options.locking or len(head) < SMALL_BATCH:
            if not self.durable:
                workers = self._writers(workers)
            return threaded(self._put_one, itertools.chain(head, it), workers, cost=_item_bytes)
        suffixes = [suffix for _enc, suffix in ENCODING_SUFFIXES]
        if HAVE_SYNCFS or not self.durable:
            workers = self._writers(workers)
        staged = threaded(self._stage, itertools.chain(head, it), workers, cost=_item_bytes)
        return commit_chunks(staged, suffixes, self.root, durable=self.durable)

    def _writers(self, workers: int) -> int:
        """Writer threads for writes that wait on no fsync: one on a local disk, where every create
        in a directory takes its lock (more threads cost CPU, add nothing); ``workers`` elsewhere."""
        return 1 if is_local_disk(self.root or os.curdir) else workers

    def _put_one(self, item: PutItem) -> PutResult:
        try:
            nbytes = self._put(item)
        except Exception as err:  # noqa: BLE001 - the failure is this item's result
            return PutResult(path=item.path, error=err)
        return PutResult(path=item.path, nbytes=nbytes)

    def _target(self, item: PutItem) -> tuple[str, str]:
        """(base, final) filesystem paths of ``item``; rejects traversal and directory keys."""
        base = self.fullpath(item.path)
        if base == self.root or item.path.endswith(("/", os.sep)):
            raise IsADirectoryError(f"not a file key: {item.path!r}")
        return base, base + suffix_for(item.encoding)

    def _stage(self, item: PutItem) -> Staged | PutResult:
        """Write ``item`` to its temp file for a chunked commit; conditional writes and failures
        are settled here (their result is final)."""
        if item.if_not_exists:  # needs the exclusive link right away: not batched
            return self._put_one(item)
        try:
            base, final = self._target(item)
            # Without syncfs the chunk cannot be flushed at once: fsync each file as it is written.
            sync = self.durable and not HAVE_SYNCFS
            tmp, nbytes, made_dirs = write_temp(final, item.content, sync=sync)
        except Exception as err:  # noqa: BLE001 - the failure is this item's result
            return PutResult(path=item.path, error=err)
        return Staged(item.path, base, final, tmp, nbytes, made_dirs, synced=sync)

    def _put(self, item: PutItem) -> int:
        base, final = self._target(item)
        with self._lock(base, write=True):
            if item.if_not_exists:
                # Any stored encoding counts as "exists"; the variant written is created exclusively,
                # so of two racing conditional writers exactly one succeeds.
                if self._find(base) is not None:
                    raise object_exists(item.path)
                try:
                    return self.write_atomic(final, item.content, exclusive=True, sync=self.durable)
                except FileExistsError:
                    raise object_exists(item.path) from None
            nbytes = self.write_atomic(final, item.content, sync=self.durable)
            self._remove_variants(base, keep=final)
        return nbytes

    @staticmethod
    def write_atomic(final: str, content: Any, *, exclusive: bool = False, sync: bool = True) -> int:
        """Write ``content`` (bytes-like or a readable binary handle) to ``final`` atomically.

        The bytes go to a hidden temp file in the same directory (created, with parents, as needed),
        are fsynced (unless ``sync`` is False: the ``'none'`` policy), and are renamed over ``final``.
        Returns the number of bytes written.

        ``exclusive``: never replace an existing ``final`` (FileExistsError instead). The finished temp
        file is hard-linked to ``final`` (``link`` fails atomically when the name exists), so readers
        still see either nothing or the whole content. On a filesystem without hard links, ``final``
        is created empty with ``O_EXCL`` and then replaced by the temp file: still exclusive, but a
        reader may briefly see it empty.
        """
        tmp, nbytes, _made_dirs = write_temp(final, content, sync=sync)
        try:
            if exclusive:
                _link_exclusive(tmp, final)
            else:
                os.replace(tmp, final)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        return nbytes

    def _remove_variants(self, base: str, keep: str | None = None) -> bool:
        removed = False
        for _enc, suffix in ENCODING_SUFFIXES:
            fname = base + suffix
            if fname == keep:
                continue
            try:
                os.unlink(fname)
                removed = True
            except OSError as err:
                # a directory of that name is not a stored variant (unlink gives EISDIR or EPERM)
                if not (_is_missing(err) or os.path.isdir(fname)):
                    raise
        return removed

    def delete_files(self, paths: Iterable[str]) -> Iterator[DeleteResult]:
        for path in paths:
            try:
                base = self.fullpath(path)
                with self._lock(base, write=True):
                    self._remove_variants(base)
                yield DeleteResult(path=path)
            except Exception as err:  # noqa: BLE001 - the failure is this item's result
                yield DeleteResult(path=path, error=err)

    def touch_files(self, paths: Iterable[str]) -> Iterator[tuple[str, BaseException | None]]:
        """Refresh the mtime of each stored variant, or create an empty object when missing."""
        for path in paths:
            try:
                base = self.fullpath(path)
                with self._lock(base, write=True):
                    found = self._find(base)
                    if found is None:
                        self.write_atomic(base, b"", sync=self.durable)
                    else:
                        os.utime(found[0])
                yield path, None
            except Exception as err:  # noqa: BLE001 - the failure is this item's result
                yield path, err

    def stored_opener(self) -> Callable[[str], tuple[IO[bytes], str | None] | None]:
        """Objects here are files: :meth:`open_stored` hands them over open."""
        return self.open_stored

    def open_stored(self, key: str) -> tuple[IO[bytes], str | None] | None:
        """An open binary handle on ``key``'s stored file (whatever its codec suffix) and its encoding;
        None when missing. The caller closes the handle."""
        found = self._find(self.fullpath(key))
        if found is None:
            return None
        path, encoding, _stat = found
        return open(path, "rb"), encoding

    def is_dir(self, prefix: str) -> bool:
        """A real directory at ``prefix`` (the root for ``''``)."""
        return os.path.isdir(self.fullpath(prefix) if prefix else self.root)

    def renamer(self, dest: StorageInterface) -> Callable[[str, str], bool] | None:
        """file:// to file:// renames (see :meth:`move_to`); other destinations copy and delete."""
        return functools.partial(self.move_to, dest) if isinstance(dest, FileInterface) else None

    def move_to(self, dest: FileInterface, src_key: str, dest_key: str) -> bool:
        """Rename ``src_key`` (whatever its encoding) to ``dest_key`` under ``dest``'s root.

        Keeps the encoding suffix, creates parent directories, removes other variants at the
        destination. Returns False when the source is missing.
        """
        src_base = self.fullpath(src_key)
        dest_base = dest.fullpath(dest_key)
        with self._lock(src_base, write=True), dest._lock(dest_base, write=True):
            found = self._find(src_base)
            if found is None:
                return False
            fname, enc, _st = found
            final = dest_base + suffix_for(enc)
            if os.path.abspath(fname) == os.path.abspath(final):
                return True
            os.makedirs(os.path.dirname(final), exist_ok=True)
            try:
                os.replace(fname, final)
            except OSError as err:
                if err.errno != errno.EXDEV:
                    raise
                shutil.move(fname, final)
            dest._remove_variants(dest_base, keep=final)
        return True

    def clean_temp_files(self, prefix: str = "", *, max_age: float = STALE_TEMP_AGE) -> list[str]:
        """Remove temp files that writers killed mid-write left behind under ``prefix``'s directory.

        A temp file is removed only when all of these hold: its name records this host and a pid that
        is no longer running, and it was last modified more than ``max_age`` seconds ago. Temp files
        of other hosts (a shared filesystem), of live pids and of the old name format are kept: their
        writers may still be running. Returns the paths removed.
        """
        pdir = prefix.rpartition("/")[0]
        top = self.fullpath(pdir) if pdir else self.root
        host = host_tag()
        cutoff = time.time() - max_age
        removed: list[str] = []
        for dirpath, _dirs, names in os.walk(top):
            for name in names:
                owner = _TMP_OWNER.search(name) if is_temp_name(name) else None
                if owner is None or owner.group(1) != host or _pid_alive(int(owner.group(2))):
                    continue
                fname = os.path.join(dirpath, name)
                try:
                    if os.lstat(fname).st_mtime < cutoff:
                        os.unlink(fname)
                        removed.append(fname)
                except FileNotFoundError:
                    pass
        return removed

    # -- listing -----------------------------------------------------------------------------------
    def list_files(
        self, prefix: str, *, flat: bool, size: bool, resume_token: str | None = None
    ) -> Iterator[ListEntry]:
        """Stream names under ``prefix``; resume tokens do not apply to local files (ignored)."""
        prefix = prefix or ""
        pdir, _, name_filter = prefix.rpartition("/")
        dirpath = self.fullpath(pdir) if pdir else self.root
        rel = f"{pdir}/" if pdir else ""
        yield from self._scan(dirpath, rel, name_filter, flat=flat, size=size)

    def _scan(self, dirpath: str, rel: str, name_filter: str, *, flat: bool, size: bool) -> Iterator[ListEntry]:
        """Names under ``dirpath`` in lexicographic order of the full name, as cloud-files lists them.

        Only one directory's entries are held at a time: a subdirectory ``d`` sorts as ``d/``, and
        everything beneath it shares that prefix, so visiting each directory's entries in key order
        yields the whole tree sorted without materializing it.
        """
        try:
            it = os.scandir(dirpath)
        except OSError as err:
            if _is_missing(err):
                return
            raise
        # (sort key, kind, name, entry): kind 0 = file (key: name without its encoding suffix),
        # 1 = directory (key: name + "/").
        found: dict[str, tuple[int, str, os.DirEntry[str]]] = {}
        with it:
            for entry in it:
                name = entry.name
                if not name.startswith(name_filter) or is_temp_name(name):
                    continue
                if entry.is_dir():
                    if flat or not entry.is_symlink():  # like os.walk: do not follow directory symlinks
                        found[f"{name}/"] = (1, name, entry)
                    continue
                # The filter applies to the name on disk (as in cloud-files: prefix "x.gz" lists "x").
                base, _enc = strip_suffix(name)
                if base not in found:
                    found[base] = (0, name, entry)
        for key in sorted(found):
            kind, name, entry = found[key]
            if kind == 0:
                yield ListEntry(name=rel + key, size=self._entry_size(entry) if size else None)
            elif flat:
                yield ListEntry(name=rel + key)
            else:
                yield from self._scan(os.path.join(dirpath, name), rel + key, "", flat=False, size=size)

    @staticmethod
    def _entry_size(entry: os.DirEntry[str]) -> int | None:
        try:
            return entry.stat().st_size
        except FileNotFoundError:  # deleted while listing
            return None


__all__ = [
    "ENCODING_SUFFIXES",
    "STALE_TEMP_AGE",
    "FileInterface",
    "default_lock_dir",
    "is_temp_name",
    "strip_suffix",
    "suffix_for",
]
