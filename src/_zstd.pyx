# cython: language_level=3
"""Zstandard (RFC 8878) through the system libzstd.

Same contract as ``cloudfiles._gzip`` (see its module docstring): buffer-protocol input read in place,
one ``bytes`` result, GIL released on inputs of 64 KiB or more, ``max_size`` bomb guard, named errors.
When every frame header records its content size the output is allocated once at the exact size and
decoded in one call; otherwise (frames from a streaming compressor) it is decoded as a stream into a
buffer that grows by doubling, never past ``max_size`` (+1). Concatenated and skippable frames are fine.
"""

from cpython.buffer cimport PyBuffer_Release
from cpython.number cimport PyNumber_Index
from cpython.object cimport PyObject

from czstd cimport (
    ZSTD_c_checksumFlag,
    ZSTD_c_compressionLevel,
    ZSTD_CCtx,
    ZSTD_CCtx_setParameter,
    ZSTD_compress2,
    ZSTD_compressBound,
    ZSTD_CONTENTSIZE_ERROR,
    ZSTD_CONTENTSIZE_UNKNOWN,
    ZSTD_createCCtx,
    ZSTD_createDCtx,
    ZSTD_DCtx,
    ZSTD_DCtx_reset,
    ZSTD_decompressDCtx,
    ZSTD_decompressStream,
    ZSTD_defaultCLevel,
    ZSTD_findFrameCompressedSize,
    ZSTD_freeCCtx,
    ZSTD_freeDCtx,
    ZSTD_getErrorName,
    ZSTD_getFrameContentSize,
    ZSTD_inBuffer,
    ZSTD_isError,
    ZSTD_maxCLevel,
    ZSTD_minCLevel,
    ZSTD_outBuffer,
    ZSTD_reset_session_only,
    ZSTD_versionString,
)
from czstd_errors cimport ZSTD_error_memory_allocation, ZSTD_getErrorCode
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

DEFAULT_LEVEL = ZSTD_defaultCLevel()  # 3, what zstandard.ZstdCompressor() uses
MIN_LEVEL = ZSTD_minCLevel()
MAX_LEVEL = ZSTD_maxCLevel()
DEFAULT_MAX_SIZE = 4 * 1024 ** 3
ZSTD_VERSION = ZSTD_versionString().decode()

# A zstd block decodes to at most 128 KiB and costs at least 4 bytes (3-byte header + 1), so a frame
# of n bytes cannot hold more than 32768 * n bytes: a lying content-size field cannot make us over-allocate.
cdef enum:
    MAX_RATIO = 32768
    POOL_SLOTS = 4


# Context pools (GIL-protected; see _gzip): a ZSTD_CCtx costs ~1 MiB to set up, more than a small compress.
cdef ZSTD_CCtx* _cpool[POOL_SLOTS]
cdef int _cpool_n = 0
cdef ZSTD_DCtx* _dpool[POOL_SLOTS]
cdef int _dpool_n = 0


cdef ZSTD_CCtx* _take_cctx() except NULL:
    global _cpool_n
    if _cpool_n > 0:
        _cpool_n -= 1
        return _cpool[_cpool_n]
    cdef ZSTD_CCtx* c = ZSTD_createCCtx()
    if c == NULL:
        raise MemoryError("ZSTD_createCCtx failed")
    return c


cdef void _give_cctx(ZSTD_CCtx* c) noexcept:
    global _cpool_n
    if c == NULL:
        return
    if _cpool_n < POOL_SLOTS:
        _cpool[_cpool_n] = c
        _cpool_n += 1
    else:
        ZSTD_freeCCtx(c)


cdef ZSTD_DCtx* _take_dctx() except NULL:
    global _dpool_n
    if _dpool_n > 0:
        _dpool_n -= 1
        return _dpool[_dpool_n]
    cdef ZSTD_DCtx* d = ZSTD_createDCtx()
    if d == NULL:
        raise MemoryError("ZSTD_createDCtx failed")
    return d


cdef void _give_dctx(ZSTD_DCtx* d) noexcept:
    global _dpool_n
    if d == NULL:
        return
    if _dpool_n < POOL_SLOTS:
        _dpool[_dpool_n] = d
        _dpool_n += 1
    else:
        ZSTD_freeDCtx(d)


cdef object _zstd_error(size_t code, str what):
    cdef bytes name = ZSTD_getErrorName(code)
    if ZSTD_getErrorCode(code) == ZSTD_error_memory_allocation:
        return MemoryError(f"zstd: {name.decode()}")
    return DecompressionError(f"{what} ({name.decode()})")


cdef int _parse_level(object level) except? -1000000:
    if level is None:
        return DEFAULT_LEVEL
    if isinstance(level, bool):
        raise TypeError("zstd level must be an int, got bool")
    cdef object value = PyNumber_Index(level)
    if not (MIN_LEVEL <= value <= MAX_LEVEL):
        raise ValueError(f"zstd level must be in {MIN_LEVEL}..{MAX_LEVEL}, got {level!r}")
    return value


def compress(data, level=None, *, checksum=True):
    """Compress ``data`` to one zstd frame that records its content size (default level 3).

    With ``checksum`` (the default) the frame ends with a content checksum (4 bytes, xxhash), so that
    corrupted data is detected on decode instead of returning garbage.
    """
    cdef int lvl = _parse_level(level)
    cdef int check = 1 if checksum else 0
    cdef Py_buffer view
    cdef PyObject* out = NULL
    cdef ZSTD_CCtx* c = NULL
    cdef size_t bound, r
    cdef char* dst
    get_input(data, &view)
    try:
        c = _take_cctx()
        # Parameters are sticky on a pooled context: set both every time.
        r = ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, lvl)
        if not ZSTD_isError(r):
            r = ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, check)
        if ZSTD_isError(r):
            raise CompressionError("zstd: cannot set parameters: " + ZSTD_getErrorName(r).decode())
        bound = ZSTD_compressBound(<size_t>view.len)
        if ZSTD_isError(bound):
            raise MemoryError("zstd: input too large")
        out_new(&out, <Py_ssize_t>bound)
        dst = _bytes_ptr(out)
        if view.len >= NOGIL_THRESHOLD:
            with nogil:
                r = ZSTD_compress2(c, dst, bound, view.buf, <size_t>view.len)
        else:
            r = ZSTD_compress2(c, dst, bound, view.buf, <size_t>view.len)
        if ZSTD_isError(r):
            if ZSTD_getErrorCode(r) == ZSTD_error_memory_allocation:
                raise MemoryError("zstd: " + ZSTD_getErrorName(r).decode())
            raise CompressionError("zstd compression failed: " + ZSTD_getErrorName(r).decode())
        return out_take(&out, <Py_ssize_t>r)
    finally:
        out_free(&out)
        _give_cctx(c)
        PyBuffer_Release(&view)


cdef size_t _stream_step(ZSTD_DCtx* d, ZSTD_outBuffer* ob, ZSTD_inBuffer* ib, bint release_gil) noexcept:
    cdef size_t r
    if release_gil:
        with nogil:
            r = ZSTD_decompressStream(d, ob, ib)
    else:
        r = ZSTD_decompressStream(d, ob, ib)
    return r


def decompress(data, *, max_size=DEFAULT_MAX_SIZE):
    """Decompress every frame in ``data`` (concatenated and skippable frames are allowed)."""
    cdef Py_ssize_t limit = parse_max_size(max_size)
    cdef Py_buffer view
    cdef ZSTD_DCtx* d = NULL
    cdef const unsigned char* src
    cdef Py_ssize_t n, pos = 0
    cdef unsigned long long fcs, total = 0
    cdef size_t fsize
    cdef bint known = True
    get_input(data, &view)
    try:
        src = <const unsigned char*>view.buf
        n = view.len
        if n == 0:
            raise DecompressionError("cannot zstd-decompress an empty buffer")
        # Walk the frame headers (cheap: block headers only) to learn the total size when recorded.
        while pos < n:
            fcs = ZSTD_getFrameContentSize(src + pos, <size_t>(n - pos))
            if fcs == ZSTD_CONTENTSIZE_ERROR:
                if pos == 0:
                    raise DecompressionError(
                        "not zstd data: no zstd frame header at the start (first bytes %s)"
                        % bytes(src[:min(n, 4)]).hex()
                    )
                raise DecompressionError(f"trailing garbage after zstd frame (at byte {pos} of {n})")
            if fcs == ZSTD_CONTENTSIZE_UNKNOWN:
                known = False
            else:
                total += fcs
                if total > <unsigned long long>limit:
                    raise DecompressedSizeError(
                        f"zstd data declares more than max_size={limit} decompressed bytes"
                    )
            fsize = ZSTD_findFrameCompressedSize(src + pos, <size_t>(n - pos))
            if ZSTD_isError(fsize):
                raise _zstd_error(fsize, "corrupt or truncated zstd data")
            pos += <Py_ssize_t>fsize
        d = _take_dctx()
        if known:
            if total > <unsigned long long>n * MAX_RATIO + 65536:
                raise DecompressionError(
                    f"corrupt zstd data: frame headers declare {total} bytes, impossible for {n} input bytes"
                )
            return _decompress_known(d, src, n, <Py_ssize_t>total)
        return _decompress_stream(d, src, n, limit)
    finally:
        _give_dctx(d)
        PyBuffer_Release(&view)


cdef bytes _decompress_known(ZSTD_DCtx* d, const unsigned char* src, Py_ssize_t n, Py_ssize_t total):
    cdef PyObject* out = NULL
    cdef size_t r
    cdef char* dst
    try:
        out_new(&out, total)
        dst = _bytes_ptr(out)
        if n >= NOGIL_THRESHOLD or total >= NOGIL_THRESHOLD:
            with nogil:
                r = ZSTD_decompressDCtx(d, dst, <size_t>total, src, <size_t>n)
        else:
            r = ZSTD_decompressDCtx(d, dst, <size_t>total, src, <size_t>n)
        if ZSTD_isError(r):
            raise _zstd_error(r, "corrupt zstd data")
        if <Py_ssize_t>r != total:
            raise DecompressionError(
                f"corrupt zstd data: decoded {r} bytes but the frame headers declare {total}"
            )
        return out_take(&out, total)
    finally:
        out_free(&out)


cdef bytes _decompress_stream(ZSTD_DCtx* d, const unsigned char* src, Py_ssize_t n, Py_ssize_t limit):
    cdef PyObject* out = NULL
    cdef Py_ssize_t budget = limit + 1
    cdef Py_ssize_t cap = min(max(4 * n, <Py_ssize_t>16384), budget)
    cdef Py_ssize_t written = 0
    cdef ZSTD_inBuffer ib
    cdef ZSTD_outBuffer ob
    cdef size_t r
    cdef bint release_gil = n >= NOGIL_THRESHOLD
    ZSTD_DCtx_reset(d, ZSTD_reset_session_only)
    ib.src = src
    ib.size = <size_t>n
    ib.pos = 0
    try:
        out_new(&out, cap)
        while True:
            if written >= cap:
                if cap >= budget:
                    raise DecompressedSizeError(f"zstd data decompresses to more than max_size={limit} bytes")
                cap = grow(cap, 0, budget)
                out_resize(&out, cap)
                release_gil = release_gil or cap >= NOGIL_THRESHOLD
            ob.dst = _bytes_ptr(out)
            ob.size = <size_t>cap
            ob.pos = <size_t>written
            r = _stream_step(d, &ob, &ib, release_gil)
            written = <Py_ssize_t>ob.pos
            if ZSTD_isError(r):
                raise _zstd_error(r, "corrupt zstd data")
            if r == 0 and ib.pos == ib.size:
                break  # last frame complete and fully flushed
            if r != 0 and ib.pos == ib.size and ob.pos < ob.size:
                raise DecompressionError("truncated zstd data: input ends inside a frame")
        if written > limit:
            raise DecompressedSizeError(f"zstd data decompresses to more than max_size={limit} bytes")
        return out_take(&out, written)
    finally:
        ZSTD_DCtx_reset(d, ZSTD_reset_session_only)
        out_free(&out)


cdef class Decompressor:
    """Incremental zstd decoder for bodies that arrive in chunks (concatenated frames allowed).

    ``decompress(chunk)`` consumes the whole chunk and returns what it produced; ``finish()`` (alias
    ``flush()``) raises ``DecompressionError`` if the input ended inside a frame. ``eof`` is true when the
    input so far ends exactly at the end of a frame.
    """

    cdef ZSTD_DCtx* _d
    cdef bint _in_frame
    cdef bint _fed
    cdef bint _finished
    cdef bint _busy
    cdef Py_ssize_t _frames
    cdef Py_ssize_t _max_size
    cdef Py_ssize_t _total_out

    def __cinit__(self, *, max_size=DEFAULT_MAX_SIZE):
        self._max_size = parse_max_size(max_size)
        self._d = ZSTD_createDCtx()
        if self._d == NULL:
            raise MemoryError("ZSTD_createDCtx failed")

    def __dealloc__(self):
        if self._d != NULL:
            ZSTD_freeDCtx(self._d)
            self._d = NULL

    @property
    def eof(self):
        """True when the input consumed so far ends exactly at the end of a frame."""
        return self._frames > 0 and not self._in_frame

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
        cdef Py_ssize_t budget = self._max_size - self._total_out + 1
        cdef Py_ssize_t cap, written = 0
        cdef ZSTD_inBuffer ib
        cdef ZSTD_outBuffer ob
        cdef size_t r
        cdef bint release_gil = n >= NOGIL_THRESHOLD
        if n == 0:
            return b""
        self._fed = True
        ib.src = src
        ib.size = <size_t>n
        ib.pos = 0
        cap = min(max(4 * n, <Py_ssize_t>16384), budget)
        try:
            out_new(&out, cap)
            while True:
                if written >= cap:
                    if cap >= budget:
                        raise DecompressedSizeError(
                            f"zstd stream decompresses to more than max_size={self._max_size} bytes"
                        )
                    cap = grow(cap, 0, budget)
                    out_resize(&out, cap)
                    release_gil = release_gil or cap >= NOGIL_THRESHOLD
                ob.dst = _bytes_ptr(out)
                ob.size = <size_t>cap
                ob.pos = <size_t>written
                r = _stream_step(self._d, &ob, &ib, release_gil)
                written = <Py_ssize_t>ob.pos
                if ZSTD_isError(r):
                    raise _zstd_error(r, "corrupt zstd stream")
                if r == 0:
                    # A frame ended and is fully flushed (a call with no new input after a frame end
                    # is never made, so r == 0 cannot be a stale report).
                    self._frames += 1
                    self._in_frame = False
                    if ib.pos == ib.size:
                        break
                    continue
                self._in_frame = True
                if ib.pos == ib.size and ob.pos < ob.size:
                    break  # everything decodable so far is out; wait for more input
            if written > budget - 1:
                raise DecompressedSizeError(
                    f"zstd stream decompresses to more than max_size={self._max_size} bytes"
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
                raise DecompressionError("truncated zstd stream: no data")
            if self._in_frame or self._frames == 0:
                raise DecompressionError("truncated zstd stream: input ended inside a frame")
        return b""

    def flush(self):
        """Alias of :meth:`finish`."""
        return self.finish()
