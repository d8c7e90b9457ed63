"""file:// write machinery: temp files, the fsync policy, and batched commits.

Fsync policy (why it looks like this): one fsync per object made a 10k x 4 KiB put 3-4x slower and
cost ~0.4 ms of kernel CPU per object (each fsync commits the ext4 journal). The promise kept is the
same -- an object's bytes are on disk before its name points at them, so after a crash or power loss
a reader finds the old content or the new, never a torn or empty file -- but it is paid once per
chunk of up to :data:`CHUNK_OBJECTS` objects / :data:`CHUNK_BYTES` bytes:

1. every object of the chunk is written to its hidden temp file (no fsync);
2. one ``syncfs(2)`` per filesystem flushes them all (Linux; elsewhere, and for batches of fewer than
   :data:`SMALL_BATCH` objects, each temp file is fsynced instead);
3. the temp files are renamed over their names, stale codec variants are removed, and each directory
   touched is fsynced once, so the new names are durable when ``puts`` returns.

An object becomes visible at step 3 of its chunk, never before its bytes are durable.

That is the ``'batch'`` policy. ``fsync='none'`` (``CloudFiles(fsync=...)`` or ``$CLOUDFILES_FSYNC``;
:func:`fsync_policy`) keeps the temp file + rename, so a reader never sees a half-written object,
but skips steps 2 and the directory fsyncs: the bytes reach the disk when the kernel writes them back
(within ~30 s on Linux defaults), and a crash or power loss before that may lose the newest objects
(or, on filesystems without ext4's rename heuristic, leave one empty). cloud-files 6.4.3 never fsyncs
(and writes in place, so even a live reader can see half a file).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import functools
import itertools
import os
import shutil
import socket
import zlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from .base import PutResult

#: Copy buffer for streamed file handles.
COPY_CHUNK = 1 << 20
#: Temp files are ``.{name}.{host}-{pid}-{token}.cftmp`` in the destination directory.
TMP_SUFFIX = ".cftmp"
#: Most objects (and encoded bytes) staged before one sync + rename round.
CHUNK_OBJECTS = 512
CHUNK_BYTES = 64 << 20
#: Directories whose ``st_size`` exceeds this are not listed to find stale codec variants; each object
#: probes its few variant names instead. A listing costs ~0.15 µs per entry and is made once per chunk,
#: a probe ~1 µs per suffix per object: past ~25k entries (ext4: ~1 MiB of directory) probing is cheaper,
#: and a directory of a million files (a CloudVolume mip level) would cost ~0.3 ms per object listed.
LIST_DIR_MAX_BYTES = 1 << 20
#: Below this many objects in a whole batch, fsync each file: a syncfs would flush every dirty page
#: of the filesystem (other processes' too) for a handful of objects.
SMALL_BATCH = 8
#: names the fsync policy used when ``CloudFiles(fsync=None)``
FSYNC_ENV = "CLOUDFILES_FSYNC"
#: ``'batch'``: durable when ``puts`` returns (module doc); ``'none'``: atomic, durable at writeback.
FSYNC_POLICIES = ("batch", "none")
DEFAULT_FSYNC = "batch"
_OPEN_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
_MASK48 = (1 << 48) - 1


def fsync_policy(option: str | None, environ: Mapping[str, str] | None = None) -> str:
    """The fsync policy of file:// writes: ``option``, else ``$CLOUDFILES_FSYNC``, else :data:`DEFAULT_FSYNC`.

    Raises ValueError for a name not in :data:`FSYNC_POLICIES`.
    """
    source = "fsync"
    if option is None:
        option = (os.environ if environ is None else environ).get(FSYNC_ENV, "").strip().lower() or DEFAULT_FSYNC
        source = FSYNC_ENV
    if option not in FSYNC_POLICIES:
        raise ValueError(f"{source} must be one of {', '.join(map(repr, FSYNC_POLICIES))}; got {option!r}")
    return option


@functools.lru_cache(maxsize=1)
def host_tag() -> str:
    """crc32 of the hostname (hex): part of every temp file's name."""
    # Cached: gethostname() is a syscall.
    return f"{zlib.crc32(socket.gethostname().encode()):08x}"


class _TempNames:
    """Unique temp-name tokens without a getpid() and getrandom() per file: a per-process random
    48-bit start plus a counter, reset in a forked child (which has a new pid)."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.pid = os.getpid()
        self.counter = itertools.count(int.from_bytes(os.urandom(6), "big"))

    def token(self) -> str:
        # next() on itertools.count is atomic under the GIL: threads never share a token.
        return f"{self.pid}-{next(self.counter) & _MASK48:012x}"


_NAMES = _TempNames()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_NAMES.reset)


def temp_path(final: str) -> str:
    """A fresh hidden temp path beside ``final``."""
    dirname, name = os.path.split(final)
    return os.path.join(dirname, f".{name}.{host_tag()}-{_NAMES.token()}{TMP_SUFFIX}")


def _write_all(fd: int, view: memoryview) -> int:
    """os.write until all of ``view`` is written (a write may be short); returns its length."""
    done, total = 0, view.nbytes
    while done < total:
        done += os.write(fd, view[done:])
    return total


def _as_buffer(content: Any) -> Any:
    if isinstance(content, (bytes, bytearray, memoryview)):
        return content
    return memoryview(content)  # numpy arrays and other buffer exporters; TypeError otherwise


def write_temp(final: str, content: Any, *, sync: bool) -> tuple[str, int, bool]:
    """Write ``content`` (bytes-like or a readable binary handle) to a new temp file beside ``final``.

    Returns (temp path, bytes written, whether parent directories had to be created). ``sync``
    fsyncs the file before closing it. On failure the temp file is removed and the error raised.
    """
    tmp = temp_path(final)
    made_dirs = False
    try:
        fd = os.open(tmp, _OPEN_FLAGS, 0o666)
    except FileExistsError:  # a dead writer's leftover with a recycled pid: pick another token
        tmp = temp_path(final)
        fd = os.open(tmp, _OPEN_FLAGS, 0o666)
    except FileNotFoundError:
        os.makedirs(os.path.dirname(final), exist_ok=True)
        made_dirs = True
        fd = os.open(tmp, _OPEN_FLAGS, 0o666)
    try:
        try:
            if hasattr(content, "read"):
                with open(fd, "wb", closefd=False) as out:
                    shutil.copyfileobj(content, out, COPY_CHUNK)
                    out.flush()
                    nbytes = out.tell()
            else:
                # Straight to the descriptor: a buffered file object adds a copy and ioctl/lseek calls.
                nbytes = _write_all(fd, memoryview(_as_buffer(content)).cast("B"))
            if sync:
                os.fsync(fd)
        finally:
            os.close(fd)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return tmp, nbytes, made_dirs


def _load_syncfs() -> Any:
    try:
        fn = ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError):  # not Linux/glibc
        return None
    fn.argtypes = [ctypes.c_int]
    fn.restype = ctypes.c_int
    return fn


_SYNCFS = _load_syncfs()
#: True where one syncfs(2) can flush a chunk (Linux); elsewhere every temp file is fsynced.
HAVE_SYNCFS = _SYNCFS is not None


def sync_filesystem_of(path: str) -> None:
    """syncfs(2) on the filesystem holding ``path`` (a directory). ctypes releases the GIL."""
    fd = os.open(path, os.O_RDONLY)
    try:
        if _SYNCFS(fd) != 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err), path)
    finally:
        os.close(fd)


def fsync_dir(path: str) -> None:
    """Make the entries of directory ``path`` durable (a no-op where directories cannot be opened)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # Windows: directories cannot be opened; renames there are journaled by NTFS
        return
    try:
        os.fsync(fd)
    except OSError as err:
        if err.errno not in (errno.EINVAL, errno.EBADF, errno.ENOTSUP, errno.EOPNOTSUPP):
            raise
    finally:
        os.close(fd)


@dataclass(slots=True)
class Staged:
    """One object whose bytes sit in a temp file, waiting for its chunk's sync and rename."""

    path: str  # the key, for the result
    base: str  # filesystem path without a codec suffix
    final: str  # base + the suffix of its encoding
    tmp: str
    nbytes: int
    made_dirs: bool
    synced: bool


def commit_chunks(
    staged: Iterable[Staged | PutResult], suffixes: Iterable[str], root: str, *, durable: bool = True
) -> Iterator[PutResult]:
    """Results for a stream of staged writes (and already-final results, passed through): stages are
    gathered into chunks, each synced, renamed into place and its directories fsynced (module doc).
    ``durable=False`` (the ``'none'`` policy) renames without the syncs."""
    suffixes = tuple(suffixes)
    chunk: list[Staged] = []
    nbytes = 0
    for item in staged:
        if isinstance(item, PutResult):
            yield item
            continue
        chunk.append(item)
        nbytes += item.nbytes
        if len(chunk) >= CHUNK_OBJECTS or nbytes >= CHUNK_BYTES:
            yield from _commit(chunk, suffixes, root, durable)
            chunk, nbytes = [], 0
    if chunk:
        yield from _commit(chunk, suffixes, root, durable)


def _commit(chunk: list[Staged], suffixes: tuple[str, ...], root: str, durable: bool) -> Iterator[PutResult]:
    failed: dict[int, BaseException] = {}
    try:
        if durable:
            _sync_data(chunk)
    except OSError as err:
        # Nothing of this chunk may become visible un-synced: every object of it fails.
        for st in chunk:
            with contextlib.suppress(OSError):
                os.unlink(st.tmp)
            yield PutResult(path=st.path, error=err)
        return
    # One listing per directory replaces a failed unlink per codec suffix per object; the set is
    # kept current as this chunk renames and unlinks, so a key written twice in one chunk (two
    # encodings) ends with one variant.
    present: dict[str, set[str] | None] = {}
    dirs: set[str] = set()
    for i, st in enumerate(chunk):
        dirname = os.path.dirname(st.final)
        try:
            if dirname in present:
                names = present[dirname]
            else:
                names = present[dirname] = _listing(dirname)
            os.replace(st.tmp, st.final)
            if names is None:
                _remove_probed_variants(st, suffixes)
            else:
                names.add(os.path.basename(st.final))
                _remove_listed_variants(st, suffixes, names)
        except OSError as err:
            with contextlib.suppress(OSError):
                os.unlink(st.tmp)
            failed[i] = err
        if not durable:
            continue
        dirs.add(dirname)
        if st.made_dirs:  # new directories' own entries live in their parents
            parent = dirname
            while parent.startswith(root) and parent != root:
                parent = os.path.dirname(parent)
                dirs.add(parent)
    dir_error: OSError | None = None
    for dirname in sorted(dirs):
        try:
            fsync_dir(dirname)
        except OSError as err:
            dir_error = err
    for i, st in enumerate(chunk):
        error = failed.get(i, dir_error)
        yield PutResult(path=st.path, error=error, nbytes=0 if error is not None else st.nbytes)


def _sync_data(chunk: list[Staged]) -> None:
    pending = [st for st in chunk if not st.synced]
    if not pending:
        return
    if HAVE_SYNCFS:
        # Usually one filesystem; one syncfs per distinct device.
        seen: set[int] = set()
        dirnames = {os.path.dirname(st.tmp) for st in pending}  # one stat per directory, not per file
        for dirname in sorted(dirnames):
            dev = os.stat(dirname).st_dev
            if dev not in seen:
                seen.add(dev)
                sync_filesystem_of(dirname)
        return
    for st in pending:  # pragma: no cover - non-Linux
        fd = os.open(st.tmp, os.O_RDWR)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _listing(dirname: str) -> set[str] | None:
    """The names in ``dirname``, or None when it is too large to list per chunk (probe instead)."""
    if os.stat(dirname).st_size > LIST_DIR_MAX_BYTES:
        return None
    return set(os.listdir(dirname))


def _remove_probed_variants(st: Staged, suffixes: tuple[str, ...]) -> None:
    """Unlink the other codec variants of ``st.base``, trying each name (large directories)."""
    for suffix in suffixes:
        fname = st.base + suffix
        if fname == st.final:
            continue
        try:
            os.unlink(fname)
        except FileNotFoundError:
            continue
        except OSError:
            # a directory of that name is not a stored variant (unlink gives EISDIR or EPERM)
            if not os.path.isdir(fname):
                raise


def _remove_listed_variants(st: Staged, suffixes: tuple[str, ...], names: set[str]) -> None:
    """Unlink the other codec variants of ``st.base`` that ``names`` (its directory) holds."""
    dirname, stem = os.path.split(st.base)
    keep = os.path.basename(st.final)
    for suffix in suffixes:
        name = stem + suffix
        if name == keep or name not in names:
            continue
        fname = os.path.join(dirname, name)
        try:
            os.unlink(fname)
        except OSError as err:
            # a directory of that name is not a stored variant (unlink gives EISDIR or EPERM)
            if err.errno != errno.ENOENT and not os.path.isdir(fname):
                raise
            if os.path.isdir(fname):
                continue
        names.discard(name)


__all__ = [
    "CHUNK_BYTES",
    "CHUNK_OBJECTS",
    "DEFAULT_FSYNC",
    "FSYNC_ENV",
    "FSYNC_POLICIES",
    "HAVE_SYNCFS",
    "LIST_DIR_MAX_BYTES",
    "SMALL_BATCH",
    "TMP_SUFFIX",
    "Staged",
    "commit_chunks",
    "fsync_dir",
    "fsync_policy",
    "host_tag",
    "temp_path",
    "write_temp",
]
