# cython: language_level=3
"""Brotli (RFC 7932) through the system libbrotlienc/libbrotlidec.

Same contract as ``cloudfiles._gzip`` (see its module docstring): buffer-protocol input read in place,
one ``bytes`` result, GIL released on inputs of 64 KiB or more, ``max_size`` bomb guard, named errors.
Brotli streams carry no decompressed size, so output grows by doubling, never past ``max_size`` (+1).
"""

from cpython.buffer cimport PyBuffer_Release
from cpython.number cimport PyNumber_Index
from cpython.object cimport PyObject
from libc.stdint cimport uint8_t

from cbrotli_decode cimport (
    BROTLI_DECODER_RESULT_NEEDS_MORE_INPUT,
    BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT,
    BROTLI_DECODER_RESULT_SUCCESS,
    BrotliDecoderCreateInstance,
    BrotliDecoderDecompressStream,
    BrotliDecoderDestroyInstance,
    BrotliDecoderErrorCode,
    BrotliDecoderErrorString,
    BrotliDecoderGetErrorCode,
    BrotliDecoderResult,
    BrotliDecoderState,
    BrotliDecoderVersion,
)
from cbrotli_encode cimport (
    BROTLI_DEFAULT_WINDOW,
    BROTLI_MAX_QUALITY,
    BROTLI_MAX_WINDOW_BITS,
    BROTLI_MIN_QUALITY,
    BROTLI_MIN_WINDOW_BITS,
    BROTLI_MODE_GENERIC,
    BrotliEncoderCompress,
    BrotliEncoderMaxCompressedSize,
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

DEFAULT_LEVEL = 5  # cloud-files' brotli quality: a good speed/ratio balance
MIN_LEVEL = BROTLI_MIN_QUALITY
MAX_LEVEL = BROTLI_MAX_QUALITY
DEFAULT_WINDOW = BROTLI_DEFAULT_WINDOW
DEFAULT_MAX_SIZE = 4 * 1024 ** 3


def _version_string(unsigned int v):
    return f"{v >> 24}.{(v >> 12) & 0xFFF}.{v & 0xFFF}"


BROTLI_VERSION = _version_string(BrotliDecoderVersion())


cdef int _parse_level(object level) except -100:
    if level is None:
        return DEFAULT_LEVEL
    if isinstance(level, bool):
        raise TypeError("brotli quality must be an int, got bool")
    cdef object value = PyNumber_Index(level)
    if not (MIN_LEVEL <= value <= MAX_LEVEL):
        raise ValueError(f"brotli quality must be in {MIN_LEVEL}..{MAX_LEVEL}, got {level!r}")
    return value


def compress(data, level=None, *, window=None):
    """Compress ``data`` to one brotli stream (quality 0-11, default 5; window 10-24 bits, default 22)."""
    cdef int quality = _parse_level(level)
    cdef int lgwin = BROTLI_DEFAULT_WINDOW
    if window is not None:
        lgwin = PyNumber_Index(window)
        if not (BROTLI_MIN_WINDOW_BITS <= lgwin <= BROTLI_MAX_WINDOW_BITS):
            raise ValueError(
                f"brotli window must be in {BROTLI_MIN_WINDOW_BITS}..{BROTLI_MAX_WINDOW_BITS}, got {window!r}"
            )
    cdef Py_buffer view
    cdef PyObject* out = NULL
    cdef size_t bound, encoded
    cdef int ok
    cdef uint8_t* dst
    get_input(data, &view)
    try:
        bound = BrotliEncoderMaxCompressedSize(<size_t>view.len)
        if bound == 0:
            raise MemoryError("brotli: input too large")
        out_new(&out, <Py_ssize_t>bound)
        dst = <uint8_t*>_bytes_ptr(out)
        encoded = bound
        if view.len >= NOGIL_THRESHOLD:
            with nogil:
                ok = BrotliEncoderCompress(quality, lgwin, BROTLI_MODE_GENERIC, <size_t>view.len,
                                           <const uint8_t*>view.buf, &encoded, dst)
        else:
            ok = BrotliEncoderCompress(quality, lgwin, BROTLI_MODE_GENERIC, <size_t>view.len,
                                       <const uint8_t*>view.buf, &encoded, dst)
        if not ok:
            raise CompressionError("BrotliEncoderCompress failed")
        return out_take(&out, <Py_ssize_t>encoded)
    finally:
        out_free(&out)
        PyBuffer_Release(&view)


cdef BrotliDecoderResult _decode(BrotliDecoderState* s, size_t* avail_in, const uint8_t** next_in,
                                 size_t* avail_out, uint8_t** next_out, bint release_gil) noexcept:
    cdef BrotliDecoderResult res
    if release_gil:
        with nogil:
            res = BrotliDecoderDecompressStream(s, avail_in, next_in, avail_out, next_out, NULL)
    else:
        res = BrotliDecoderDecompressStream(s, avail_in, next_in, avail_out, next_out, NULL)
    return res


cdef object _decoder_error(BrotliDecoderState* s):
    cdef BrotliDecoderErrorCode code = BrotliDecoderGetErrorCode(s)
    cdef bytes name = BrotliDecoderErrorString(code)
    if -30 <= <int>code <= -21:  # BROTLI_DECODER_ERROR_ALLOC_*
        return MemoryError(f"brotli decoder allocation failed ({name.decode()})")
    return DecompressionError(f"corrupt brotli data ({name.decode()})")


cdef BrotliDecoderState* _new_decoder() except NULL:
    cdef BrotliDecoderState* s = BrotliDecoderCreateInstance(NULL, NULL, NULL)
    if s == NULL:
        raise MemoryError("BrotliDecoderCreateInstance failed")
    return s


def decompress(data, *, max_size=DEFAULT_MAX_SIZE):
    """Decompress one whole brotli stream; trailing bytes after it are an error."""
    cdef Py_ssize_t limit = parse_max_size(max_size)
    cdef Py_ssize_t budget = limit + 1
    cdef Py_buffer view
    cdef PyObject* out = NULL
    cdef BrotliDecoderState* s = NULL
    cdef size_t avail_in, avail_out
    cdef const uint8_t* next_in
    cdef uint8_t* next_out
    cdef Py_ssize_t cap, written = 0
    cdef BrotliDecoderResult res
    cdef bint release_gil
    get_input(data, &view)
    try:
        if view.len == 0:
            raise DecompressionError("cannot brotli-decompress an empty buffer")
        next_in = <const uint8_t*>view.buf
        avail_in = <size_t>view.len
        cap = min(max(4 * view.len, <Py_ssize_t>16384), budget)
        release_gil = view.len >= NOGIL_THRESHOLD
        s = _new_decoder()
        out_new(&out, cap)
        while True:
            next_out = <uint8_t*>_bytes_ptr(out) + written
            avail_out = <size_t>(cap - written)
            res = _decode(s, &avail_in, &next_in, &avail_out, &next_out, release_gil)
            written = cap - <Py_ssize_t>avail_out
            if res == BROTLI_DECODER_RESULT_SUCCESS:
                if avail_in != 0:
                    raise DecompressionError(
                        f"trailing garbage after the brotli stream ({avail_in} bytes)"
                    )
                break
            if res == BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT:
                if cap >= budget:
                    raise DecompressedSizeError(
                        f"brotli data decompresses to more than max_size={limit} bytes"
                    )
                cap = grow(cap, 0, budget)
                out_resize(&out, cap)
                release_gil = release_gil or cap >= NOGIL_THRESHOLD
                continue
            if res == BROTLI_DECODER_RESULT_NEEDS_MORE_INPUT:
                raise DecompressionError("truncated brotli data: the stream ends before its last block")
            raise _decoder_error(s)
        if written > limit:
            raise DecompressedSizeError(f"brotli data decompresses to more than max_size={limit} bytes")
        return out_take(&out, written)
    finally:
        out_free(&out)
        if s != NULL:
            BrotliDecoderDestroyInstance(s)
        PyBuffer_Release(&view)


cdef class Decompressor:
    """Incremental brotli decoder for bodies that arrive in chunks.

    ``decompress(chunk)`` consumes the whole chunk and returns what it produced; ``finish()`` (alias
    ``flush()``) raises ``DecompressionError`` if the stream has not ended. Bytes after the end of the
    stream are an error. ``eof`` is true once the stream's last block has been decoded.
    """

    cdef BrotliDecoderState* _s
    cdef bint _eof
    cdef bint _fed
    cdef bint _finished
    cdef bint _busy
    cdef Py_ssize_t _max_size
    cdef Py_ssize_t _total_out

    def __cinit__(self, *, max_size=DEFAULT_MAX_SIZE):
        self._max_size = parse_max_size(max_size)
        self._s = _new_decoder()

    def __dealloc__(self):
        if self._s != NULL:
            BrotliDecoderDestroyInstance(self._s)
            self._s = NULL

    @property
    def eof(self):
        """True once the end of the brotli stream has been reached."""
        return self._eof

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
            return self._feed(<const uint8_t*>view.buf, view.len)
        finally:
            self._busy = False
            PyBuffer_Release(&view)

    cdef bytes _feed(self, const uint8_t* src, Py_ssize_t n):
        cdef PyObject* out = NULL
        cdef Py_ssize_t budget = self._max_size - self._total_out + 1
        cdef Py_ssize_t cap, written = 0
        cdef size_t avail_in = <size_t>n, avail_out
        cdef const uint8_t* next_in = src
        cdef uint8_t* next_out
        cdef BrotliDecoderResult res
        cdef bint release_gil = n >= NOGIL_THRESHOLD
        if n == 0:
            return b""
        if self._eof:
            raise DecompressionError(f"trailing garbage after the brotli stream ({n} bytes)")
        self._fed = True
        cap = min(max(4 * n, <Py_ssize_t>16384), budget)
        try:
            out_new(&out, cap)
            while True:
                next_out = <uint8_t*>_bytes_ptr(out) + written
                avail_out = <size_t>(cap - written)
                res = _decode(self._s, &avail_in, &next_in, &avail_out, &next_out, release_gil)
                written = cap - <Py_ssize_t>avail_out
                if res == BROTLI_DECODER_RESULT_SUCCESS:
                    self._eof = True
                    if avail_in != 0:
                        raise DecompressionError(
                            f"trailing garbage after the brotli stream ({avail_in} bytes)"
                        )
                    break
                if res == BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT:
                    if cap >= budget:
                        raise DecompressedSizeError(
                            f"brotli stream decompresses to more than max_size={self._max_size} bytes"
                        )
                    cap = grow(cap, 0, budget)
                    out_resize(&out, cap)
                    release_gil = release_gil or cap >= NOGIL_THRESHOLD
                    continue
                if res == BROTLI_DECODER_RESULT_NEEDS_MORE_INPUT:
                    break
                raise _decoder_error(self._s)
            if written > budget - 1:
                raise DecompressedSizeError(
                    f"brotli stream decompresses to more than max_size={self._max_size} bytes"
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
                raise DecompressionError("truncated brotli stream: no data")
            if not self._eof:
                raise DecompressionError("truncated brotli stream: input ended before the last block")
        return b""

    def flush(self):
        """Alias of :meth:`finish`."""
        return self.finish()
