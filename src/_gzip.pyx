# cython: language_level=3
"""gzip (RFC 1952): whole buffers through libdeflate, streamed bodies through zlib.

Contract shared by the three codec modules (``_gzip``, ``_brotli``, ``_zstd``):

* ``compress(data, level=None) -> bytes`` and ``decompress(data, *, max_size=DEFAULT_MAX_SIZE) -> bytes``
  accept any buffer-protocol object (bytes, bytearray, memoryview, numpy arrays of any dtype) and read it
  in place. The result is a single ``bytes`` allocated once (sized from the gzip ISIZE trailer here).
* The GIL is released around every C library call on inputs of 64 KiB or more; a library context is
  never shared between two threads (contexts come from a small GIL-protected pool).
* Corrupt or truncated input raises ``DecompressionError``; output that would exceed ``max_size`` raises
  ``DecompressedSizeError`` before more than ``max_size`` (+1) bytes are allocated; ``max_size=None``
  means unlimited. A bad level raises ``ValueError``; allocation failure ``MemoryError``.
* ``Decompressor(max_size=...)`` decodes a stream fed in chunks. One instance must not be used by two
  threads at once (that raises ``RuntimeError``); separate instances are independent.
"""

from cpython.buffer cimport PyBuffer_Release
from cpython.number cimport PyNumber_Index
from cpython.object cimport PyObject
from libc.string cimport memset

from clibdeflate cimport (
    LIBDEFLATE_INSUFFICIENT_SPACE,
    LIBDEFLATE_SUCCESS,
    LIBDEFLATE_VERSION_STRING,
    libdeflate_alloc_compressor,
    libdeflate_alloc_decompressor,
    libdeflate_compressor,
    libdeflate_decompressor,
    libdeflate_free_compressor,
    libdeflate_free_decompressor,
    libdeflate_gzip_compress,
    libdeflate_gzip_compress_bound,
    libdeflate_gzip_decompress_ex,
    libdeflate_result,
)
from czlib cimport (
    Z_BUF_ERROR,
    Z_MEM_ERROR,
    Z_NO_FLUSH,
    Z_OK,
    Z_STREAM_END,
    inflate,
    inflateEnd,
    inflateInit2,
    inflateReset,
    uInt,
    z_stream,
    zlibVersion,
)
from _common cimport (
    NOGIL_THRESHOLD,
    _bytes_ptr,
    get_input,
    grow,
    out_free,
    out_new,
    out_resize,
    out_take,
    parse_max_size,
)

from cloudfiles.exceptions import CompressionError, DecompressedSizeError, DecompressionError

DEFAULT_LEVEL = 9  # cloud-files' gzip default
MIN_LEVEL = 0
MAX_LEVEL = 12  # libdeflate goes past zlib's 9
DEFAULT_MAX_SIZE = 4 * 1024 ** 3
LIBDEFLATE_VERSION = LIBDEFLATE_VERSION_STRING.decode()
ZLIB_VERSION = zlibVersion().decode()

# DEFLATE cannot expand more than 1032:1 (a 258-byte match in as little as 2 bits), so a member of n
# compressed bytes holds at most this many output bytes: a lying ISIZE cannot make us over-allocate.
cdef enum:
    MAX_RATIO = 1032
    POOL_SLOTS = 4
    N_LEVELS = 13

cdef uInt UINT_CHUNK = 1 << 30  # z_stream counts are 32-bit: feed huge buffers in slices


# ---------------------------------------------------------------------------------------------------
# Context pools. libdeflate contexts are reusable and allocating one (up to ~1 MiB for high levels)
# costs more than compressing a small object. Pop/push happen with the GIL held, so each context is
# used by one thread at a time; the C call itself runs without the GIL.

cdef libdeflate_compressor* _cpool[N_LEVELS][POOL_SLOTS]
cdef int _cpool_n[N_LEVELS]
cdef libdeflate_decompressor* _dpool[POOL_SLOTS]
cdef int _dpool_n = 0


cdef libdeflate_compressor* _take_compressor(int level) except NULL:
    global _cpool_n
    if _cpool_n[level] > 0:
        _cpool_n[level] -= 1
        return _cpool[level][_cpool_n[level]]
    cdef libdeflate_compressor* c = libdeflate_alloc_compressor(level)
    if c == NULL:
        raise MemoryError("libdeflate_alloc_compressor failed")
    return c


cdef void _give_compressor(int level, libdeflate_compressor* c) noexcept:
    if c == NULL:
        return
    if _cpool_n[level] < POOL_SLOTS:
        _cpool[level][_cpool_n[level]] = c
        _cpool_n[level] += 1
    else:
        libdeflate_free_compressor(c)


cdef libdeflate_decompressor* _take_decompressor() except NULL:
    global _dpool_n
    if _dpool_n > 0:
        _dpool_n -= 1
        return _dpool[_dpool_n]
    cdef libdeflate_decompressor* d = libdeflate_alloc_decompressor()
    if d == NULL:
        raise MemoryError("libdeflate_alloc_decompressor failed")
    return d


cdef void _give_decompressor(libdeflate_decompressor* d) noexcept:
    global _dpool_n
    if d == NULL:
        return
    if _dpool_n < POOL_SLOTS:
        _dpool[_dpool_n] = d
        _dpool_n += 1
    else:
        libdeflate_free_decompressor(d)


cdef int _parse_level(object level) except -1:
    if level is None:
        return DEFAULT_LEVEL
    if isinstance(level, bool):
        raise TypeError("gzip level must be an int, got bool")
    cdef object value = PyNumber_Index(level)
    if not (MIN_LEVEL <= value <= MAX_LEVEL):
        raise ValueError(f"gzip level must be in {MIN_LEVEL}..{MAX_LEVEL}, got {level!r}")
    return value


# ---------------------------------------------------------------------------------------------------
# One-shot

def compress(data, level=None):
    """Compress ``data`` to one gzip member with libdeflate (levels 0-12, default 9)."""
    cdef int lvl = _parse_level(level)
    cdef Py_buffer view
    cdef PyObject* out = NULL
    cdef libdeflate_compressor* c = NULL
    cdef size_t bound, written
    cdef char* dst
    get_input(data, &view)
    try:
        c = _take_compressor(lvl)
        bound = libdeflate_gzip_compress_bound(c, <size_t>view.len)
        out_new(&out, <Py_ssize_t>bound)
        dst = _bytes_ptr(out)
        if view.len >= NOGIL_THRESHOLD:
            with nogil:
                written = libdeflate_gzip_compress(c, view.buf, <size_t>view.len, dst, bound)
        else:
            written = libdeflate_gzip_compress(c, view.buf, <size_t>view.len, dst, bound)
        if written == 0:
            raise CompressionError("libdeflate_gzip_compress failed (output did not fit its bound)")
        return out_take(&out, <Py_ssize_t>written)
    finally:
        out_free(&out)
        _give_compressor(lvl, c)
        PyBuffer_Release(&view)


cdef inline unsigned int _le32(const unsigned char* p) noexcept nogil:
    return p[0] | (p[1] << 8) | (p[2] << 16) | (<unsigned int>p[3] << 24)


cdef libdeflate_result _gunzip_member(libdeflate_decompressor* d, const unsigned char* src, size_t n,
                                      char* dst, size_t avail, size_t* in_used, size_t* out_used,
                                      bint release_gil) noexcept:
    cdef libdeflate_result res
    if release_gil:
        with nogil:
            res = libdeflate_gzip_decompress_ex(d, src, n, dst, avail, in_used, out_used)
    else:
        res = libdeflate_gzip_decompress_ex(d, src, n, dst, avail, in_used, out_used)
    return res


def decompress(data, *, max_size=DEFAULT_MAX_SIZE):
    """Decompress a whole gzip stream (one or more concatenated members) with libdeflate.

    The output buffer is sized from the ISIZE trailer (bounded by ``max_size`` and by what DEFLATE can
    expand to) and grown only if ISIZE was wrong: wrapped modulo 2**32 or the data has several members.
    Zero bytes between or after members are skipped, as stdlib ``gzip`` does; anything else is an error.
    """
    cdef Py_ssize_t limit = parse_max_size(max_size)
    cdef Py_buffer view
    cdef PyObject* out = NULL
    cdef libdeflate_decompressor* d = NULL
    cdef const unsigned char* src
    cdef Py_ssize_t n, pos = 0, outpos = 0, cap, usable, bound
    cdef size_t in_used = 0, out_used = 0
    cdef unsigned int isize
    cdef libdeflate_result res
    cdef bint release_gil
    get_input(data, &view)
    try:
        src = <const unsigned char*>view.buf
        n = view.len
        if n == 0:
            raise DecompressionError("cannot gunzip an empty buffer")
        if n < 2 or src[0] != 0x1F or src[1] != 0x8B:
            raise DecompressionError(
                "not gzip data: the first bytes are %s, not the gzip magic 1f8b"
                % bytes(src[:min(n, 2)]).hex()
            )
        if n < 18:
            raise DecompressionError(f"truncated gzip data: {n} bytes is shorter than any gzip member")
        isize = _le32(src + n - 4)
        if isize > <size_t>limit:
            # Valid data decompresses to at least ISIZE bytes (its size modulo 2**32).
            raise DecompressedSizeError(
                f"gzip data declares {isize} decompressed bytes, more than max_size={limit}"
            )
        bound = limit
        if n < limit // MAX_RATIO:
            bound = n * MAX_RATIO + 1024
        cap = min(<Py_ssize_t>isize, bound)
        if cap < 64:
            cap = 64 if limit >= 64 else limit
        release_gil = n >= NOGIL_THRESHOLD or cap >= NOGIL_THRESHOLD
        d = _take_decompressor()
        out_new(&out, cap)
        usable = cap
        while True:
            res = _gunzip_member(d, src + pos, <size_t>(n - pos), _bytes_ptr(out) + outpos,
                                 <size_t>(usable - outpos), &in_used, &out_used, release_gil)
            if res == LIBDEFLATE_SUCCESS:
                pos += <Py_ssize_t>in_used
                outpos += <Py_ssize_t>out_used
                while pos < n and src[pos] == 0:
                    pos += 1
                if pos >= n:
                    break
                if n - pos < 2 or src[pos] != 0x1F or src[pos + 1] != 0x8B:
                    raise DecompressionError(f"trailing garbage after gzip member (at byte {pos} of {n})")
                continue  # next member; grows on demand below
            if res == LIBDEFLATE_INSUFFICIENT_SPACE:
                if usable >= limit:
                    raise DecompressedSizeError(f"gzip data decompresses to more than max_size={limit} bytes")
                usable = grow(usable, 4 * (n - pos), limit)
                if usable < 1:
                    usable = 1
                out_resize(&out, usable)
                release_gil = True if usable >= NOGIL_THRESHOLD else release_gil
                continue
            raise DecompressionError(
                "corrupt or truncated gzip data"
                + (f" (in the member starting at byte {pos})" if pos else "")
            )
        return out_take(&out, outpos)
    finally:
        out_free(&out)
        _give_decompressor(d)
        PyBuffer_Release(&view)


# ---------------------------------------------------------------------------------------------------
# Streaming

cdef class Decompressor:
    """Incremental gzip decoder (zlib inflate) for bodies that arrive in chunks.

    ``decompress(chunk)`` consumes the whole chunk and returns the bytes it produced; ``finish()``
    (alias ``flush()``) returns any remaining output and raises ``DecompressionError`` if the stream is
    truncated. Concatenated members and zero padding between them are accepted. ``eof`` is true when the
    input so far ends exactly at the end of a member.
    """

    cdef z_stream _strm
    cdef bint _initialized
    cdef bint _between_members  # the last member ended and no new one has started
    cdef bint _finished
    cdef bint _busy
    cdef bint _fed  # any input at all
    cdef Py_ssize_t _members
    cdef Py_ssize_t _max_size
    cdef Py_ssize_t _total_out

    def __cinit__(self, *, max_size=DEFAULT_MAX_SIZE):
        self._max_size = parse_max_size(max_size)
        memset(&self._strm, 0, sizeof(z_stream))
        cdef int rc = inflateInit2(&self._strm, 31)  # 15-bit window + gzip wrapper only
        if rc == Z_MEM_ERROR:
            raise MemoryError("inflateInit2 failed")
        if rc != Z_OK:
            raise CompressionError(f"inflateInit2 failed with code {rc}")
        self._initialized = True
        self._between_members = False

    def __dealloc__(self):
        if self._initialized:
            inflateEnd(&self._strm)
            self._initialized = False

    @property
    def eof(self):
        """True when the input consumed so far ends exactly at the end of a gzip member."""
        return self._between_members and self._members > 0

    @property
    def max_size(self):
        return self._max_size

    @property
    def total_out(self):
        """Decompressed bytes returned so far."""
        return self._total_out

    def decompress(self, data):
        """Feed one chunk; return the decompressed bytes it completes."""
        if self._busy:
            raise RuntimeError("this Decompressor is already in use by another thread")
        if self._finished:
            raise DecompressionError("decompress() called after finish()")
        cdef Py_buffer view
        get_input(data, &view)
        self._busy = True
        try:
            return self._feed(<const unsigned char*>view.buf, view.len)
        finally:
            self._busy = False
            PyBuffer_Release(&view)

    cdef bytes _feed(self, const unsigned char* src, Py_ssize_t n):
        cdef PyObject* out = NULL
        cdef Py_ssize_t pos = 0, written = 0, cap
        # One byte more than the remaining allowance: producing it proves the limit was crossed.
        cdef Py_ssize_t budget = self._max_size - self._total_out + 1
        cdef uInt in_chunk, out_chunk
        cdef Py_ssize_t consumed, produced
        cdef int rc
        cdef bint release_gil = n >= NOGIL_THRESHOLD
        if n == 0:
            return b""
        self._fed = True
        cap = min(max(4 * n, <Py_ssize_t>16384), budget)
        try:
            out_new(&out, cap)
            while True:
                if self._between_members:
                    while pos < n and src[pos] == 0:
                        pos += 1
                    if pos >= n:
                        break
                    if self._members > 0:
                        inflateReset(&self._strm)
                    self._between_members = False
                if written >= cap:
                    if cap >= budget:
                        raise DecompressedSizeError(
                            f"gzip stream decompresses to more than max_size={self._max_size} bytes"
                        )
                    cap = grow(cap, 0, budget)
                    out_resize(&out, cap)
                    release_gil = release_gil or cap >= NOGIL_THRESHOLD
                in_chunk = <uInt>min(n - pos, <Py_ssize_t>UINT_CHUNK)
                out_chunk = <uInt>min(cap - written, <Py_ssize_t>UINT_CHUNK)
                self._strm.next_in = <unsigned char*>(src + pos)
                self._strm.avail_in = in_chunk
                self._strm.next_out = <unsigned char*>_bytes_ptr(out) + written
                self._strm.avail_out = out_chunk
                if release_gil:
                    with nogil:
                        rc = inflate(&self._strm, Z_NO_FLUSH)
                else:
                    rc = inflate(&self._strm, Z_NO_FLUSH)
                consumed = in_chunk - self._strm.avail_in
                produced = out_chunk - self._strm.avail_out
                pos += consumed
                written += produced
                if rc == Z_STREAM_END:
                    self._members += 1
                    self._between_members = True
                    continue
                if rc == Z_OK or rc == Z_BUF_ERROR:
                    if self._strm.avail_out == 0:
                        continue  # output full: grow and go on
                    if pos >= n:
                        break  # all input consumed; waiting for the next chunk
                    if consumed == 0 and produced == 0:
                        raise DecompressionError("gzip stream made no progress (corrupt data)")
                    continue
                if rc == Z_MEM_ERROR:
                    raise MemoryError("zlib inflate ran out of memory")
                msg = self._strm.msg.decode("utf-8", "replace") if self._strm.msg != NULL else f"code {rc}"
                raise DecompressionError(f"corrupt gzip stream: {msg}")
            if written > budget - 1:
                raise DecompressedSizeError(
                    f"gzip stream decompresses to more than max_size={self._max_size} bytes"
                )
            self._total_out += written
            return out_take(&out, written)
        finally:
            out_free(&out)

    def finish(self):
        """End of input: return remaining output (always ``b""`` here) or raise if the stream is truncated."""
        if self._busy:
            raise RuntimeError("this Decompressor is already in use by another thread")
        if not self._finished:
            self._finished = True
            if not self._fed:
                raise DecompressionError("truncated gzip stream: no data")
            if not self._between_members:
                raise DecompressionError("truncated gzip stream: input ended inside a member")
        return b""

    def flush(self):
        """Alias of :meth:`finish`."""
        return self.finish()
