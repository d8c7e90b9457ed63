# cython: language_level=3
"""Response sinks and request-body sources for the transfer engine.

libcurl hands pycurl every header line and body chunk; pycurl calls back into Python for each. These
cdef classes make those callbacks cheap (no Python frame, no per-chunk allocation): headers are kept as
raw lines with the few fields the engine needs parsed on the fly, and a body is written straight into one
``bytes`` object sized from Content-Length, which is handed out without a copy when the body is complete.
"""

from cpython.buffer cimport PyBUF_SIMPLE, PyBuffer_Release, PyObject_GetBuffer
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize
from cpython.ref cimport Py_INCREF
from libc.string cimport memcpy

cdef extern from *:
    """
    #if defined(__linux__)
    #include <sys/mman.h>
    #include <unistd.h>
    #include <stdint.h>
    #endif
    /* Fault in [p, p + n) writable without changing its bytes (Linux >= 5.14), in steps of `step`.
       Returns 0 when done, -1 where unsupported or refused. */
    static int cf_populate(char* p, size_t n, size_t step) {
    #if defined(__linux__)
        #ifndef MADV_POPULATE_WRITE
        #define MADV_POPULATE_WRITE 23
        #endif
        uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
        uintptr_t start = ((uintptr_t)p + page - 1) & ~(page - 1);
        uintptr_t end = ((uintptr_t)p + n) & ~(page - 1);
        while (start < end) {
            size_t len = (size_t)(end - start) < step ? (size_t)(end - start) : step;
            if (madvise((void*)start, len, MADV_POPULATE_WRITE) != 0) return -1;
            start += len;
        }
        return 0;
    #else
        (void)p; (void)n; (void)step;
        return -1;
    #endif
    }
    """
    int cf_populate(char* p, size_t n, size_t step) nogil

cdef Py_ssize_t INITIAL_UNKNOWN = 64 * 1024


cdef inline bint _starts_with_ci(bytes line, const char* prefix, Py_ssize_t n):
    cdef const char* s = line
    cdef Py_ssize_t i
    cdef char c
    if len(line) < n:
        return False
    for i in range(n):
        c = s[i]
        if 65 <= c <= 90:  # ASCII upper -> lower
            c = c + 32
        if c != prefix[i]:
            return False
    return True


cdef long long _parse_int(bytes line, Py_ssize_t start):
    """Parse the decimal integer after ``start`` (skipping spaces); -1 when there is none."""
    cdef const char* s = line
    cdef Py_ssize_t i = start, n = len(line)
    cdef long long value = 0
    cdef bint seen = False
    while i < n and (s[i] == 32 or s[i] == 9):
        i += 1
    while i < n and 48 <= s[i] <= 57:
        value = value * 10 + (s[i] - 48)
        seen = True
        i += 1
    return value if seen else -1


cdef class BodySink:
    """Collects one response: header lines and a body written into a single preallocated buffer.

    ``split_threshold`` >= 0 asks the sink to refuse (abort) a 200 response whose Content-Length exceeds
    it when the server advertises byte ranges and a strong ETag (the parts are fetched ``If-Match`` it,
    so an object replaced mid-download is noticed); the engine then fetches it as parallel ranged parts.
    ``max_size`` is checked first: an object too large is refused, never split.
    """

    cdef object _buf          # the bytes object being filled, or None
    cdef char* _ptr
    cdef Py_ssize_t _pos
    cdef Py_ssize_t _cap
    cdef bint _fixed          # capacity came from Content-Length
    cdef public list header_lines
    cdef public long long content_length
    cdef public int status
    cdef public bint accept_ranges
    cdef public bint strong_etag
    cdef public long long split_threshold
    cdef public bint split_requested
    cdef public long long max_size
    cdef public bint too_large
    # part mode: write into a parent's buffer at [offset, offset + length)
    cdef BodySink _parent
    cdef Py_ssize_t _offset
    cdef Py_ssize_t _length
    cdef public bint part_mismatch

    def __cinit__(self):
        self._buf = None
        self._ptr = NULL
        self._pos = 0
        self._cap = 0
        self._fixed = False
        self.header_lines = []
        self.content_length = -1
        self.status = 0
        self.accept_ranges = False
        self.strong_etag = False
        self.split_threshold = -1
        self.split_requested = False
        self.max_size = -1
        self.too_large = False
        self._parent = None
        self._offset = 0
        self._length = 0
        self.part_mismatch = False

    def reset(self):
        """Forget everything received (used before a retry)."""
        if self._parent is None:
            self._buf = None
            self._ptr = NULL
            self._cap = 0
            self._fixed = False
        self._pos = 0
        self.header_lines = []
        self.content_length = -1
        self.status = 0
        self.accept_ranges = False
        self.strong_etag = False
        self.split_requested = False
        self.too_large = False
        self.part_mismatch = False

    def allocate(self, Py_ssize_t size):
        """Allocate the whole-object buffer up front (parts of a split GET then fill it)."""
        self._buf = PyBytes_FromStringAndSize(NULL, size)
        self._ptr = PyBytes_AS_STRING(self._buf)
        self._cap = size
        self._pos = size  # complete once every part has written its range
        self._fixed = True

    def attach(self, BodySink parent, Py_ssize_t offset, Py_ssize_t length):
        """Make this sink write a byte range of ``parent``'s buffer (a part of a split GET)."""
        self._parent = parent
        self._offset = offset
        self._length = length

    @property
    def buffer(self):
        """The body buffer (``bytes``) being filled, or None before the first byte or ``allocate``."""
        return self._buf

    @property
    def received(self):
        """Body bytes received so far."""
        return self._pos

    def header(self, bytes line):
        """pycurl HEADERFUNCTION."""
        if _starts_with_ci(line, b"http/", 5):
            # A new header block (redirect, 100-continue): start over.
            self.header_lines = []
            self.content_length = -1
            self.accept_ranges = False
            self.strong_etag = False
            self.status = <int>_parse_int(line, line.find(b" ") + 1) if line.find(b" ") > 0 else 0
            return None
        self.header_lines.append(line)
        if _starts_with_ci(line, b"content-length:", 15):
            self.content_length = _parse_int(line, 15)
        elif _starts_with_ci(line, b"accept-ranges:", 14):
            self.accept_ranges = b"bytes" in line.lower()
        elif _starts_with_ci(line, b"etag:", 5):
            # A weak validator (W/"...") never matches If-Match; an empty one validates nothing.
            value = line[5:].strip()
            self.strong_etag = len(value) > 0 and not value.startswith(b"W/")
        return None

    def write(self, bytes data):
        """pycurl WRITEFUNCTION. Returning 0 aborts the transfer (CURLE_WRITE_ERROR)."""
        cdef Py_ssize_t n = len(data)
        cdef Py_ssize_t newcap
        cdef object newbuf
        if self._parent is not None:
            return self._write_part(data)
        if self._buf is None:
            if self.content_length >= 0 and self.max_size >= 0 and self.content_length > self.max_size:
                self.too_large = True
                return 0
            if (self.split_threshold >= 0 and self.status == 200 and self.accept_ranges and self.strong_etag
                    and self.content_length > self.split_threshold):
                self.split_requested = True
                return 0
            if self.content_length >= 0:
                self._cap = <Py_ssize_t>self.content_length
                self._fixed = True
            else:
                self._cap = INITIAL_UNKNOWN if n < INITIAL_UNKNOWN else 2 * n
            self._buf = PyBytes_FromStringAndSize(NULL, self._cap)
            self._ptr = PyBytes_AS_STRING(self._buf)
            self._pos = 0
        if self._pos + n > self._cap:
            # Longer than announced, or length unknown: grow geometrically.
            newcap = self._cap * 2
            if newcap < self._pos + n:
                newcap = self._pos + n
            if self.max_size >= 0 and newcap > self.max_size:
                if self._pos + n > self.max_size:
                    self.too_large = True
                    return 0
                newcap = <Py_ssize_t>self.max_size
            newbuf = PyBytes_FromStringAndSize(NULL, newcap)
            memcpy(PyBytes_AS_STRING(newbuf), self._ptr, self._pos)
            self._buf = newbuf
            self._ptr = PyBytes_AS_STRING(newbuf)
            self._cap = newcap
            self._fixed = False
        memcpy(self._ptr + self._pos, <const char*>data, n)
        self._pos += n
        return None

    cdef object _write_part(self, bytes data):
        cdef Py_ssize_t n = len(data)
        if self.status != 206 or self._pos + n > self._length:
            # The server ignored our Range or sent more than asked: never write past the part.
            self.part_mismatch = True
            return 0
        memcpy(self._parent._ptr + self._offset + self._pos, <const char*>data, n)
        self._pos += n
        return None

    def body(self):
        """The body as ``bytes``: the buffer itself when it was filled exactly, else a trimmed copy."""
        if self._buf is None:
            return b""
        if self._pos == self._cap:
            return self._buf
        return PyBytes_FromStringAndSize(self._ptr, self._pos)

    def complete(self):
        """True when a known Content-Length was fully received (or a part got its whole range)."""
        if self._parent is not None:
            return self._pos == self._length
        if self.content_length < 0:
            return True
        return self._pos == self.content_length


cdef class BufferSource:
    """A pycurl READFUNCTION over any buffer-protocol object (bytes, bytearray, memoryview, numpy)."""

    cdef Py_buffer _view
    cdef bint _has_view
    cdef Py_ssize_t _pos
    cdef public Py_ssize_t size

    def __cinit__(self, object data):
        PyObject_GetBuffer(data, &self._view, PyBUF_SIMPLE)
        self._has_view = True
        self._pos = 0
        self.size = self._view.len

    def __dealloc__(self):
        if self._has_view:
            PyBuffer_Release(&self._view)
            self._has_view = False

    def rewind(self):
        self._pos = 0

    def read(self, Py_ssize_t size):
        cdef Py_ssize_t n = self._view.len - self._pos
        if n > size:
            n = size
        if n <= 0:
            return b""
        out = PyBytes_FromStringAndSize(<const char*>self._view.buf + self._pos, n)
        self._pos += n
        return out


def prefault(bytes buf, Py_ssize_t offset=0, Py_ssize_t length=-1):
    """Fault in the pages of ``buf[offset:offset + length]`` (all of it by default) without changing
    its bytes, with the GIL released, so another core pays the first-touch cost of a fresh buffer while
    the transfer loop fills it.

    Returns False where the kernel cannot (not Linux >= 5.14). ``buf`` stays referenced by this call's
    frame, so its memory cannot be freed while pages are being populated.
    """
    cdef Py_ssize_t size = len(buf)
    if offset < 0 or offset > size:
        raise ValueError(f"offset {offset} outside a buffer of {size} bytes")
    if length < 0 or length > size - offset:
        length = size - offset
    cdef char* p = PyBytes_AS_STRING(buf) + offset
    cdef int rc
    with nogil:
        rc = cf_populate(p, <size_t>length, <size_t>(4 * 1024 * 1024))
    return rc == 0


def keep_forever(object obj):
    """Take a reference to ``obj`` that is never released, so it is never freed (not even at interpreter
    shutdown). For what a forked child inherits and must not clean up: the parent's connections."""
    Py_INCREF(obj)
