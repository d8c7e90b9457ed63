"""Small helpers shared by every layer: hashing, iteration, JSON, colours and local filesystem chores.

The names match ``cloudfiles.lib`` of cloud-files 6.4.3 where users plausibly import them (``md5``,
``crc32c``, ``md5_equal``, ``calc_s3_multipart_etag``, ``toiter``, ``sip``, ``mkdir``, ``touch``,
``jsonify``, ``first``, ``nvl``, ``duplicates``, ``scatter``, ``colorize``...).

CRC32C uses ``google_crc32c`` (or the ``crc32c`` package) when one is installed. Otherwise it falls back
to a numpy implementation that exploits CRC linearity: the buffer is cut into many equal chunks whose
CRC registers advance together, one vectorised step per 4-byte word, and the per-chunk registers are
then folded pairwise with precomputed "advance over N zero bytes" operators. That runs at hundreds of
MB/s where a byte-at-a-time Python loop manages ~15 MB/s.
"""

from __future__ import annotations

import base64 as _b64
import binascii
import functools
import hashlib
import itertools
import math
import os
import random
import struct
import threading
import time
import types
from collections.abc import Callable, Generator, Iterable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, cast

import orjson

from . import forksafe

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])

# Kept for compatibility with code written against cloud-files (it tested ``isinstance(x, STRING_TYPES)``).
STRING_TYPES = (str,)

COLORS = {
    "RESET": "\033[m",
    "YELLOW": "\033[1;93m",
    "RED": "\033[1;91m",
    "GREEN": "\033[1;92m",
}


def colorize(color: str, text: str) -> str:
    """Wrap ``text`` in the ANSI escape codes of ``color`` (red, green or yellow)."""
    return COLORS[color.upper()] + text + COLORS["RESET"]


def green(text: str) -> str:
    """``text`` in bold green."""
    return colorize("green", text)


def yellow(text: str) -> str:
    """``text`` in bold yellow."""
    return colorize("yellow", text)


def red(text: str) -> str:
    """``text`` in bold red."""
    return colorize("red", text)


# ---------------------------------------------------------------------------------------------------------
# Local filesystem
# ---------------------------------------------------------------------------------------------------------


def toabs(path: str) -> str:
    """Expand ``~`` and make ``path`` absolute (relative to the current directory); drops a trailing '/'."""
    return os.path.abspath(os.path.expanduser(path))


def mkdir(path: str) -> str:
    """Create directory ``path`` and its parents if missing (race-safe). Returns the absolute path."""
    path = toabs(path)
    if path:
        # exist_ok makes concurrent creators (threads, processes) safe without retry loops.
        os.makedirs(path, exist_ok=True)
    return path


def touch(path: str) -> None:
    """Create ``path`` (and its parent directories) if missing, and set its modification time to now."""
    mkdir(os.path.dirname(toabs(path)))
    with open(path, "a"):
        pass
    # Opening in append mode does not change the mtime of an existing file; touch semantics require it.
    os.utime(path, None)


# ---------------------------------------------------------------------------------------------------------
# Iteration helpers
# ---------------------------------------------------------------------------------------------------------


def nvl(*args: Any) -> Any:
    """Return the leftmost argument that is not None (the last argument if all are None)."""
    if len(args) < 2:
        raise IndexError("nvl takes at least two arguments.")
    for arg in args:
        if arg is not None:
            return arg
    return args[-1]


def sip(iterable: Iterable[T], block_size: int) -> Generator[list[T], None, None]:
    """Lazily cut ``iterable`` into lists of ``block_size`` items (the last one may be shorter).

    Only one block is held in memory at a time, so generators of any length can be streamed.
    """
    if block_size < 1:
        raise ValueError(f"block_size must be at least 1. Got: {block_size}")
    iterator = iter(iterable)
    while True:
        block = list(itertools.islice(iterator, block_size))
        if not block:
            return
        yield block


def first(lst: Iterable[T]) -> T | None:
    """The first element of a sequence, iterator or generator (consumed from generators); None if empty."""
    if isinstance(lst, types.GeneratorType):
        return cast(T, next(lst, None))
    try:
        return cast(Sequence[T], lst)[0]
    except IndexError:
        return None
    except (TypeError, KeyError):
        return next(iter(lst), None)


def toiter(obj: Any, is_iter: bool = False) -> Any:
    """Turn a scalar into a one-element list and leave iterables alone.

    ``str`` and ``dict`` count as scalars (a path, or a ``{'path': ..}`` item); anything else iterable
    (list, tuple, set, generator, iterator, a CloudFiles listing...) counts as multiple items.

    With ``is_iter=True`` returns ``(iterable, is_multiple)`` where ``is_multiple`` is False for a
    scalar input, exactly as cloud-files does; otherwise just the iterable.
    """
    if isinstance(obj, (str, dict)):
        return ([obj], False) if is_iter else [obj]
    try:
        iter(obj)
    except TypeError:
        return ([obj], False) if is_iter else [obj]
    return (obj, True) if is_iter else obj


#: cloud-files' retry policy for these helpers: 7 tries, waits drawn from [0, 0.5 * 2**n] (max 60 s).
RETRY_ATTEMPTS = 7
RETRY_BASE_SEC = 0.5
RETRY_MAX_SEC = 60.0


def retrying(
    no_retry: tuple[type[BaseException], ...] = (), attempts: int = RETRY_ATTEMPTS
) -> Callable[[F], F]:
    """A decorator that calls the function again when it raises, up to ``attempts`` tries in all.

    Waits before retry n (0-based) are drawn uniformly from ``[0, min(60, 0.5 * 2**n)]`` (full-jitter
    exponential backoff). Exceptions of the ``no_retry`` types are raised at once; after the last try
    the last exception is raised as is.
    """

    def decorate(fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            for attempt in range(attempts):
                try:
                    return fn(*args, **kwargs)
                except no_retry:
                    raise
                except Exception:
                    if attempt + 1 >= attempts:
                        raise
                    time.sleep(random.uniform(0.0, min(RETRY_MAX_SEC, RETRY_BASE_SEC * 2**attempt)))
            raise AssertionError("unreachable")  # pragma: no cover

        return cast(F, wrapper)

    return decorate


def retry(f: F) -> F:
    """cloud-files' ``@retry``: retry ``f`` on any exception (7 tries, jittered exponential backoff)."""
    return retrying()(f)


def path_to_byte_range_tags(path: str | dict[str, Any]) -> tuple[str, int | None, int | None, Any]:
    """A ``get`` item as ``(path, start, end, tags)``: a str is the whole object, a dict may carry
    ``start``/``end`` (end exclusive) and ``tags``."""
    if isinstance(path, str):
        return (path, None, None, None)
    return (path["path"], path.get("start"), path.get("end"), path.get("tags"))


def duplicates(lst: Iterable[T]) -> set[T]:
    """The set of elements that occur more than once in ``lst``."""
    seen: set[T] = set()
    dupes: set[T] = set()
    for elem in lst:
        if elem in seen:
            dupes.add(elem)
        else:
            seen.add(elem)
    return dupes


def scatter(sequence: Iterable[T], n: int) -> Generator[list[T], None, None]:
    """Deal the elements of ``sequence`` round-robin into ``n`` lists (a generator of ``n`` lists)."""
    if n < 1:
        raise ValueError(f"n cannot be less than one. Got: {n}")
    items = list(sequence)
    for i in range(n):
        yield items[i::n]


def totalfn(files: Any, total: int | None) -> int | None:
    """``total`` if given, else ``len(files)`` if it has a length, else None (for progress bars)."""
    if total is not None:
        return total
    try:
        return len(files)
    except TypeError:
        return None


def floating(lst: Iterable[Any]) -> bool:
    """True if any element of ``lst`` is a float."""
    return any(isinstance(x, float) for x in lst)


def human_size(num_bytes: float, binary: bool = True, precision: int = 2) -> str:
    """Format a byte count for people: ``1536 -> '1.50 KiB'`` (``binary=False``: powers of 1000, kB...)."""
    base = 1024.0 if binary else 1000.0
    units = (
        ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB")
        if binary
        else ("B", "kB", "MB", "GB", "TB", "PB", "EB")
    )
    value = float(num_bytes)
    if abs(value) < base:
        return f"{int(value)} B" if value == int(value) else f"{value:.{precision}f} B"
    for unit in units[1:]:
        value /= base
        if abs(value) < base or unit == units[-1]:
            return f"{value:.{precision}f} {unit}"
    raise AssertionError("unreachable")  # pragma: no cover


# ---------------------------------------------------------------------------------------------------------
# JSON
# ---------------------------------------------------------------------------------------------------------

_JSON_OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS


def jsonify(obj: Any, **kwargs: Any) -> bytes:
    """Serialise ``obj`` to JSON with orjson, numpy arrays/scalars and non-string keys allowed.

    Returns ``bytes`` (UTF-8), as cloud-files 6.4.3 does (it returns ``orjson.dumps`` output directly).
    Extra orjson options may be passed as ``option=`` and are OR-ed in; ``default=`` is forwarded.
    """
    option = _JSON_OPTIONS | int(kwargs.pop("option", 0) or 0)
    return orjson.dumps(obj, option=option, **kwargs)


# ---------------------------------------------------------------------------------------------------------
# MD5 and S3 ETags
# ---------------------------------------------------------------------------------------------------------


def _as_buffer(binary: Any) -> Any:
    if isinstance(binary, str):
        return binary.encode("utf8")
    return binary


def md5(binary: Any, base: int = 64, base64: bool | None = None) -> str:
    """MD5 of ``binary`` (bytes-like; a ``str`` is UTF-8 encoded).

    ``base=64`` (default) gives the base64 digest (the GCS ``md5Hash`` / ``Content-MD5`` form),
    ``base=16`` the hex digest (the S3 ETag form); anything else is a ValueError. ``base64=True/False``
    is accepted as a synonym for ``base=64/16``.
    """
    if base64 is not None:
        base = 64 if base64 else 16
    digest = hashlib.md5(_as_buffer(binary))
    if base == 64:
        return _b64.b64encode(digest.digest()).decode("utf8")
    if base == 16:
        return digest.hexdigest()
    raise ValueError(f"base {base} must be 16 or 64.")


def _md5_digest_bytes(value: str | bytes) -> bytes | None:
    """Raw 16-byte digest from a hex (optionally quoted ETag) or base64 MD5 string; None if neither."""
    if isinstance(value, bytes):
        if len(value) == 16:
            return value
        value = value.decode("utf8", "replace")
    text = value.strip().strip('"')
    if len(text) == 32:
        try:
            return bytes.fromhex(text)
        except ValueError:
            return None
    try:
        # Some servers strip base64 padding; restore it before decoding.
        raw = _b64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw if len(raw) == 16 else None


def md5_equal(hash_a: str | bytes | None, hash_b: str | bytes | None) -> bool:
    """True if two MD5 digests are the same, whichever forms they are given in.

    Accepts hex (S3 ETags, with or without quotes), base64 (with or without padding) or raw 16-byte
    digests. None or an unparseable value compares unequal to everything.
    """
    if hash_a is None or hash_b is None:
        return False
    d1 = _md5_digest_bytes(hash_a)
    d2 = _md5_digest_bytes(hash_b)
    return d1 is not None and d1 == d2


def calc_s3_multipart_etag(content: Any, partsize: int) -> str:
    """The ETag S3 gives an object uploaded in parts of ``partsize`` bytes: ``'<hex>-<nparts>'``.

    It is the hex MD5 of the concatenated binary MD5s of the parts, followed by the part count
    (no surrounding quotes). ``content`` is any bytes-like object.
    """
    if partsize <= 0:
        raise ValueError(f"partsize must be positive. Got: {partsize}")
    view = memoryview(_as_buffer(content)).cast("B")
    nparts = max(1, math.ceil(len(view) / partsize))
    parts = [view[i * partsize : (i + 1) * partsize] for i in range(nparts)]
    digests = b"".join(_md5_digests(parts))
    return f"{hashlib.md5(digests).hexdigest()}-{nparts}"


def _md5_digests(parts: list[memoryview]) -> Iterable[bytes]:
    """MD5 of each part; big inputs on the codec workers (hashlib releases the GIL), so a multipart
    ETag check of a large download uses every core instead of one."""
    from . import codecpool

    if (
        len(parts) < 2
        or sum(p.nbytes for p in parts) < PARALLEL_MD5_MIN
        or codecpool.num_workers() < 2
        or threading.current_thread().name.startswith(codecpool.THREAD_PREFIX)  # no waiting on our own pool
    ):
        return [hashlib.md5(part).digest() for part in parts]
    return codecpool.get_pool().map(lambda part: hashlib.md5(part).digest(), parts)


#: Multipart ETags of at least this many bytes are hashed on the codec workers.
PARALLEL_MD5_MIN = 32 * 1024 * 1024


MiB = 1 << 20
# Part sizes common S3 clients use: aws-cli/boto3 (8 MiB) and s3cmd (15 MiB).
COMMON_S3_PART_SIZES = (8 * MiB, 15 * MiB)


def validate_s3_multipart_etag(content: Any, etag: str, part_size: int | None = None) -> bool:
    """True if ``etag`` (``'<hex>-<N>'``, quotes allowed) is the multipart ETag of ``content``.

    The uploader's part size is unknown, so plausible ones are tried: ``part_size`` if given, 8 MiB,
    15 MiB, and ``len/N`` rounded up to a whole MiB; only sizes consistent with ``N`` parts are tried.
    """
    etag = etag.strip().strip('"')
    head, sep, tail = etag.rpartition("-")
    if not sep or not tail.isdigit() or not head:
        return False
    num_parts = int(tail)
    size = len(memoryview(_as_buffer(content)).cast("B"))
    if num_parts < 1:
        return False
    candidates = ([] if part_size is None else [part_size]) + list(COMMON_S3_PART_SIZES)
    per_part = -(-size // num_parts)  # ceil(size / N)
    candidates.append(-(-per_part // MiB) * MiB)  # rounded up to a whole MiB
    candidates.append((size // num_parts // MiB + 1) * MiB)  # the next MiB above (cloud-files' guess)
    tried: set[int] = set()
    for partsize in candidates:
        if partsize <= 0 or partsize in tried:
            continue
        tried.add(partsize)
        if max(1, -(-size // partsize)) != num_parts:
            continue
        if calc_s3_multipart_etag(content, partsize) == etag.lower():
            return True
    return False


# ---------------------------------------------------------------------------------------------------------
# CRC32C (Castagnoli)
# ---------------------------------------------------------------------------------------------------------

_CRC32C_POLY = 0x82F63B78  # reflected form of 0x1EDC6F41
_MASK32 = 0xFFFFFFFF
_CRC_SLICE = 1 << 20

# Which implementation ``crc32c`` uses: "google_crc32c", "crc32c" or "numpy".
CRC32C_BACKEND: str

_native_crc32c: Callable[[Any, int], int] | None = None
try:  # pragma: no cover - depends on the environment
    import google_crc32c as _google_crc32c

    def _google_extend(data: Any, crc: int) -> int:
        if isinstance(data, bytes):
            return int(_google_crc32c.extend(crc, data))
        # google_crc32c takes only bytes: feed other buffers (numpy arrays, bytearrays, memoryviews) in
        # 1 MiB slices, so checksumming a large array never copies all of it at once.
        view = memoryview(data).cast("B")
        for pos in range(0, view.nbytes, _CRC_SLICE):
            crc = _google_crc32c.extend(crc, view[pos : pos + _CRC_SLICE].tobytes())
        return int(crc)

    _native_crc32c = _google_extend
    CRC32C_BACKEND = "google_crc32c"
except ImportError:
    try:  # pragma: no cover - depends on the environment
        import crc32c as _crc32c_pkg

        def _pkg_extend(data: Any, crc: int) -> int:
            return int(_crc32c_pkg.crc32c(data, crc))

        _native_crc32c = _pkg_extend
        CRC32C_BACKEND = "crc32c"
    except ImportError:
        CRC32C_BACKEND = "numpy"


def _byte_table() -> list[int]:
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ _CRC32C_POLY if c & 1 else c >> 1
        table.append(c)
    return table


_TABLE: list[int] = _byte_table()


class _Crc32cNumpy:
    """Vectorised software CRC32C (built lazily on first use; thread-safe)."""

    # Inputs shorter than this go through the pure-Python word loop: numpy's per-call overhead wins
    # below a few KiB.
    SMALL = 4096
    # Vectorised path: words per chunk (a power of two) and the fewest chunks worth a numpy step.
    WORDS_PER_CHUNK = 128
    MIN_CHUNKS = 256
    MAX_CHUNKS = 65536
    SEGMENT = 16 << 20

    def __init__(self) -> None:
        import numpy as np

        t = np.array(_TABLE, dtype=np.uint32)
        # Slicing-by-4 tables: t4[k][b] advances byte b through k more zero bytes.
        t4 = [t]
        for _ in range(3):
            prev = t4[-1]
            t4.append((prev >> np.uint32(8)) ^ t[prev & np.uint32(0xFF)])
        idx = np.arange(65536, dtype=np.uint32)
        lo, hi = idx & np.uint32(0xFF), idx >> np.uint32(8)
        # After ``s ^= word`` the register's byte 0 is the oldest data byte: it needs 3 more byte steps.
        self.lo16 = t4[3][lo] ^ t4[2][hi]
        self.hi16 = t4[1][lo] ^ t4[0][hi]
        self.lo16_list: list[int] = self.lo16.tolist()
        self.hi16_list: list[int] = self.hi16.tolist()
        # One-zero-byte advance as a 32x32 GF(2) matrix; powers of two are squared on demand.
        self._pow2: list[npt.NDArray[np.uint8]] = [self._matrix_of(lambda x: _TABLE[x & 0xFF] ^ (x >> 8))]
        self._lock = forksafe.new_lock()
        self._pow2_lists: dict[int, list[list[int]]] = {}
        self._fold_cache: dict[tuple[int, int], npt.NDArray[np.uint32]] = {}

    # -- GF(2) linear operators on 32-bit registers, as 32x32 0/1 matrices (column j = image of bit j).
    def _matrix_of(self, fn: Callable[[int], int]) -> npt.NDArray[np.uint8]:
        import numpy as np

        cols = [fn(1 << j) for j in range(32)]
        bits = (np.array(cols, dtype=np.uint64)[None, :] >> np.arange(32, dtype=np.uint64)[:, None]) & 1
        return bits.astype(np.uint8)

    def _mul(self, a: npt.NDArray[np.uint8], b: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
        import numpy as np

        return ((a.astype(np.int32) @ b.astype(np.int32)) & 1).astype(np.uint8)

    def _power(self, k: int) -> npt.NDArray[np.uint8]:
        with self._lock:
            while len(self._pow2) <= k:
                self._pow2.append(self._mul(self._pow2[-1], self._pow2[-1]))
            return self._pow2[k]

    def zeros_operator(self, nbytes: int) -> npt.NDArray[np.uint8]:
        """Matrix advancing a register over ``nbytes`` zero bytes."""
        import numpy as np

        m = np.eye(32, dtype=np.uint8)
        k = 0
        while nbytes:
            if nbytes & 1:
                m = self._mul(self._power(k), m)
            nbytes >>= 1
            k += 1
        return m

    def _pow2_tables(self, k: int) -> list[list[int]]:
        """Python byte tables of the 2**k-zero-byte operator (cached)."""
        cache = self._pow2_lists
        if k not in cache:
            tables = self._byte_tables(self._power(k))
            cache[k] = [t.tolist() for t in tables]
        return cache[k]

    def advance_zeros(self, x: int, nbytes: int) -> int:
        """Advance register ``x`` over ``nbytes`` zero bytes (O(log nbytes) table lookups)."""
        k = 0
        while nbytes and x:
            if nbytes & 1:
                t0, t1, t2, t3 = self._pow2_tables(k)
                x = t0[x & 0xFF] ^ t1[(x >> 8) & 0xFF] ^ t2[(x >> 16) & 0xFF] ^ t3[x >> 24]
            nbytes >>= 1
            k += 1
        return x

    def _fold_tables(self, chunk: int, level: int) -> npt.NDArray[np.uint32]:
        key = (chunk, level)
        tables = self._fold_cache.get(key)
        if tables is None:
            tables = self._byte_tables(self.zeros_operator(chunk << level))
            with self._lock:
                if len(self._fold_cache) > 256:
                    self._fold_cache.clear()
                self._fold_cache[key] = tables
        return tables

    def _byte_tables(self, m: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint32]:
        """4x256 lookup tables applying ``m`` byte by byte: ``m(x) = XOR_j T[j][byte_j(x)]``."""
        import numpy as np

        cols = (m.astype(np.uint64) << np.arange(32, dtype=np.uint64)[:, None]).sum(axis=0)
        cols = cols.astype(np.uint32).reshape(4, 8)
        b = np.arange(256, dtype=np.uint32)
        sel = ((b[:, None] >> np.arange(8, dtype=np.uint32)[None, :]) & 1).astype(bool)  # (256, 8)
        tables = np.zeros((4, 256), dtype=np.uint32)
        for j in range(4):
            tables[j] = np.bitwise_xor.reduce(np.where(sel, cols[j][None, :], 0).astype(np.uint32), axis=1)
        return tables

    def _apply_tables(
        self, tables: npt.NDArray[np.uint32], x: npt.NDArray[np.uint32]
    ) -> npt.NDArray[np.uint32]:
        import numpy as np

        ff = np.uint32(0xFF)
        out = (
            tables[0][x & ff]
            ^ tables[1][(x >> np.uint32(8)) & ff]
            ^ tables[2][(x >> np.uint32(16)) & ff]
            ^ tables[3][x >> np.uint32(24)]
        )
        return np.asarray(out, dtype=np.uint32)

    def raw_small(self, data: memoryview, reg: int) -> int:
        """Advance register ``reg`` over ``data`` (pure Python, 4 bytes per step)."""
        lo, hi = self.lo16_list, self.hi16_list
        n = len(data)
        nwords = n // 4
        if nwords:
            for (w,) in struct.iter_unpack("<I", data[: nwords * 4]):
                reg ^= w
                reg = lo[reg & 0xFFFF] ^ hi[reg >> 16]
        for byte in data[nwords * 4 :]:
            reg = _TABLE[(reg ^ byte) & 0xFF] ^ (reg >> 8)
        return reg

    def extend(self, data: memoryview, crc: int) -> int:
        """CRC32C of ``data`` continuing from ``crc``."""
        # Segments bound the temporary copies and keep the vectorised working set in cache.
        seg = self.SEGMENT
        start = 0
        while len(data) - start > seg:
            crc = self._extend(data[start : start + seg], crc)
            start += seg
        return self._extend(data[start:], crc)

    def _extend(self, data: memoryview, crc: int) -> int:
        n = len(data)
        reg = (crc ^ _MASK32) & _MASK32
        if n < self.SMALL:
            return self.raw_small(data, reg) ^ _MASK32
        import numpy as np

        # K chunks of ``words`` 4-byte words advance together, one vectorised step per word. Chunk
        # sizes come from a small set (powers of two) so the fold tables below are reused across calls.
        words = self.WORDS_PER_CHUNK
        while words > 16 and n < 4 * words * self.MIN_CHUNKS:
            words //= 2
        # Past ~64K chunks the per-step arrays fall out of cache: lengthen chunks instead.
        while n > 4 * words * self.MAX_CHUNKS:
            words *= 2
        chunk = 4 * words
        kchunks = -(-n // chunk)
        pad = kchunks * chunk - n
        # Zero bytes in front of a zero register leave it zero, so the first chunk is padded in front;
        # the real initial register is added back at the end by advancing it over n zero bytes.
        buf = np.empty(kchunks * chunk, dtype=np.uint8)
        buf[:pad] = 0
        buf[pad:] = np.frombuffer(data, dtype=np.uint8)
        cols = np.ascontiguousarray(buf.view("<u4").reshape(kchunks, words).T)  # (words, K)
        state = np.zeros(kchunks, dtype=np.uint32)
        tmp = np.empty(kchunks, dtype=np.uint32)
        lo16, hi16 = self.lo16, self.hi16
        mask16, sh16 = np.uint32(0xFFFF), np.uint32(16)
        for row in cols:
            np.bitwise_xor(state, row, out=state)
            np.right_shift(state, sh16, out=tmp)
            hi = hi16[tmp]
            np.bitwise_and(state, mask16, out=tmp)
            np.bitwise_xor(lo16[tmp], hi, out=state)
        # Fold neighbours: reg(left||right) = Z_len(right)(reg(left)) ^ reg(right). An odd count gets a
        # zero register in front, which is neutral (a zero register over zeros stays zero).
        level = 0
        while state.size > 1:
            if state.size & 1:
                state = np.concatenate([np.zeros(1, dtype=np.uint32), state])
            state = self._apply_tables(self._fold_tables(chunk, level), state[0::2]) ^ state[1::2]
            level += 1
        return (self.advance_zeros(reg, n) ^ int(state[0])) ^ _MASK32


_numpy_impl: _Crc32cNumpy | None = None
_numpy_impl_lock = forksafe.new_lock()


def _software() -> _Crc32cNumpy:
    global _numpy_impl
    if _numpy_impl is None:
        with _numpy_impl_lock:
            if _numpy_impl is None:
                _numpy_impl = _Crc32cNumpy()
    return _numpy_impl


def crc32c(binary: Any, crc: int = 0) -> int:
    """CRC32C (Castagnoli) of ``binary`` as an unsigned int; ``crc`` continues a previous value.

    ``crc32c(b"123456789") == 0xE3069283``; ``crc32c(b, crc32c(a)) == crc32c(a + b)``.
    A ``str`` is UTF-8 encoded. Which implementation runs is named by ``CRC32C_BACKEND``.
    """
    data = _as_buffer(binary)
    if _native_crc32c is not None:  # pragma: no cover - depends on the environment
        return _native_crc32c(data, crc)
    return _software().extend(memoryview(data).cast("B"), crc)


def crc32c_combine(crc1: int, crc2: int, len2: int) -> int:
    """CRC32C of ``a + b`` from ``crc1 = crc32c(a)``, ``crc2 = crc32c(b)`` and ``len2 = len(b)``.

    Lets parts fetched in parallel (ranged GETs) be checked against a whole-object CRC32C.
    """
    if len2 == 0:
        return crc1
    # By linearity the init/xorout terms cancel: crc(a+b) = Z_len2(crc1) ^ crc2, Z = advance over zeros.
    return _software().advance_zeros(crc1 & _MASK32, len2) ^ crc2


def decode_crc32c_b64(b64digest: str) -> int:
    """Decode a GCS ``crc32c`` field (base64 of the big-endian value, padding optional) to an int."""
    b64digest += "=" * (-len(b64digest) % 4)
    return int(struct.unpack(">I", _b64.b64decode(b64digest))[0])


def encode_crc32c_b64(binary: Any) -> bytes:
    """CRC32C of ``binary`` encoded the way GCS reports it: base64 of the 4 big-endian bytes (as bytes,
    like cloud-files)."""
    return _b64.b64encode(struct.pack(">I", crc32c(binary)))


def crc32c_to_b64(value: int) -> str:
    """Encode a CRC32C integer the way GCS reports it: base64 of its 4 big-endian bytes."""
    return _b64.b64encode(struct.pack(">I", value & _MASK32)).decode("utf8")


__all__ = [
    "COLORS",
    "CRC32C_BACKEND",
    "STRING_TYPES",
    "calc_s3_multipart_etag",
    "COMMON_S3_PART_SIZES",
    "colorize",
    "crc32c",
    "crc32c_combine",
    "crc32c_to_b64",
    "decode_crc32c_b64",
    "duplicates",
    "encode_crc32c_b64",
    "first",
    "floating",
    "green",
    "human_size",
    "jsonify",
    "md5",
    "md5_equal",
    "mkdir",
    "nvl",
    "path_to_byte_range_tags",
    "red",
    "retry",
    "retrying",
    "scatter",
    "sip",
    "toabs",
    "toiter",
    "totalfn",
    "touch",
    "validate_s3_multipart_etag",
    "yellow",
]
