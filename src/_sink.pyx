# cython: language_level=3
"""Response sinks and request-body sources for the transfer engine.

libcurl calls these sinks and sources directly, as C callbacks set on the easy handle (``attach_to``),
with the GIL released: no Python frame, no argument tuple, no GIL hand-off per header line or chunk.
Headers are kept as raw lines with the few fields the engine needs parsed as they pass; a small body is
received into C memory and copied out once, a large one into one ``bytes`` object sized from
Content-Length, handed out without a copy when complete.
"""

from cpython.buffer cimport PyBUF_SIMPLE, PyBuffer_Release, PyObject_GetBuffer
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize
from cpython.ref cimport Py_INCREF
from libc.stdlib cimport free, malloc, realloc
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

include "_libcurl.pxi"

_bind_libcurl()

cdef Py_ssize_t INITIAL_UNKNOWN = 64 * 1024
# Bodies up to this size (and bodies of unknown length) are received into C memory, so the callbacks need
# no GIL, and copied into a bytes object once, at the end; larger ones take the GIL once to allocate the
# bytes object they are written into (the copy would cost more than that wait).
cdef Py_ssize_t SMALL_BODY = 256 * 1024


cdef struct SinkState:
    # header lines after the status line, concatenated as received (each ends with its "\n")
    char* hdr
    Py_ssize_t hdr_len
    Py_ssize_t hdr_cap
    unsigned long hdr_gen        # bumped on every change, so the Python list is rebuilt only when stale
    long long content_length
    int status
    bint accept_ranges
    bint strong_etag
    long long split_threshold
    bint split_requested
    long long max_size
    bint too_large
    bint alloc_failed
    # the body: `ptr` is malloc'd when `heap`, else the inside of the sink's bytes object
    char* ptr
    Py_ssize_t pos
    Py_ssize_t cap
    bint heap
    # part mode: write [0, part_len) at part_base, inside a parent sink's buffer
    bint is_part
    char* part_base
    Py_ssize_t part_len
    bint part_mismatch
    void* owner                  # the BodySink (borrowed), for allocations that need the GIL


cdef inline bint _starts_with_ci(
    const char* s, Py_ssize_t n, const char* prefix, Py_ssize_t k
) noexcept nogil:
    cdef Py_ssize_t i
    cdef char c
    if n < k:
        return False
    for i in range(k):
        c = s[i]
        if 65 <= c <= 90:  # ASCII upper -> lower
            c = c + 32
        if c != prefix[i]:
            return False
    return True


cdef inline bint _is_space(char c) noexcept nogil:
    return c == 32 or c == 9 or c == 10 or c == 13 or c == 11 or c == 12


cdef long long _parse_int(const char* s, Py_ssize_t n, Py_ssize_t i) noexcept nogil:
    """The decimal integer at ``s[i:]`` after spaces; -1 when there is none."""
    cdef long long value = 0
    cdef bint seen = False
    while i < n and (s[i] == 32 or s[i] == 9):
        i += 1
    while i < n and 48 <= s[i] <= 57:
        value = value * 10 + (s[i] - 48)
        seen = True
        i += 1
    return value if seen else -1


cdef bint _contains_ci(const char* s, Py_ssize_t n, const char* word, Py_ssize_t k) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(n - k + 1):
        if _starts_with_ci(s + i, n - i, word, k):
            return True
    return False


cdef str _stripped_value(const char* s, Py_ssize_t i, Py_ssize_t j):
    while i < j and _is_space(s[i]):
        i += 1
    while j > i and _is_space(s[j - 1]):
        j -= 1
    return s[i:j].decode("latin-1")


cdef int _on_header(SinkState* st, const char* line, Py_ssize_t n) noexcept nogil:
    """One header line (libcurl hands them over whole). Returns -1 when out of memory."""
    cdef Py_ssize_t sp, i, j, need
    cdef char* grown
    if _starts_with_ci(line, n, b"http/", 5):
        # A new header block (redirect, 100-continue): start over.
        st.hdr_len = 0
        st.hdr_gen += 1
        st.content_length = -1
        st.accept_ranges = False
        st.strong_etag = False
        st.status = 0
        for sp in range(1, n):
            if line[sp] == 32:
                st.status = <int>_parse_int(line, n, sp + 1)
                break
        return 0
    need = st.hdr_len + n
    if need > st.hdr_cap:
        grown = <char*>realloc(st.hdr, need * 2 if need > 512 else 1024)
        if grown == NULL:
            return -1
        st.hdr = grown
        st.hdr_cap = need * 2 if need > 512 else 1024
    memcpy(st.hdr + st.hdr_len, line, n)
    st.hdr_len = need
    st.hdr_gen += 1
    if _starts_with_ci(line, n, b"content-length:", 15):
        st.content_length = _parse_int(line, n, 15)
    elif _starts_with_ci(line, n, b"accept-ranges:", 14):
        st.accept_ranges = _contains_ci(line, n, b"bytes", 5)
    elif _starts_with_ci(line, n, b"etag:", 5):
        # A weak validator (W/"...") never matches If-Match; an empty one validates nothing.
        i, j = 5, n
        while i < j and _is_space(line[i]):
            i += 1
        while j > i and _is_space(line[j - 1]):
            j -= 1
        st.strong_etag = j > i and not (j - i >= 2 and line[i] == 87 and line[i + 1] == 47)  # "W/"
    return 0


cdef Py_ssize_t _on_body(SinkState* st, const char* data, Py_ssize_t n) noexcept nogil:
    """A body chunk; returns ``n``, or 0 to abort the transfer (CURLE_WRITE_ERROR)."""
    cdef Py_ssize_t cap, newcap
    cdef char* grown
    if st.is_part:
        if st.status != 206 or st.pos + n > st.part_len:
            # The server ignored our Range or sent more than asked: never write past the part.
            st.part_mismatch = True
            return 0
        memcpy(st.part_base + st.pos, data, n)
        st.pos += n
        return n
    if st.ptr == NULL:
        if st.content_length >= 0 and st.max_size >= 0 and st.content_length > st.max_size:
            st.too_large = True
            return 0
        if (st.split_threshold >= 0 and st.status == 200 and st.accept_ranges and st.strong_etag
                and st.content_length > st.split_threshold):
            st.split_requested = True
            return 0
        st.pos = 0
        if st.content_length > SMALL_BODY:
            with gil:
                if not (<BodySink>st.owner)._allocate_bytes(<Py_ssize_t>st.content_length):
                    st.alloc_failed = True
                    return 0
        else:
            cap = <Py_ssize_t>st.content_length if st.content_length >= 0 else (
                INITIAL_UNKNOWN if n < INITIAL_UNKNOWN else 2 * n)
            st.ptr = <char*>malloc(cap if cap > 0 else 1)
            if st.ptr == NULL:
                st.alloc_failed = True
                return 0
            st.cap = cap
            st.heap = True
    if st.max_size >= 0 and st.pos + n > st.max_size:
        st.too_large = True
        return 0
    if st.pos + n > st.cap:
        # Longer than announced, or length unknown: grow geometrically, in C memory.
        newcap = st.cap * 2
        if newcap < st.pos + n:
            newcap = st.pos + n
        if st.max_size >= 0 and newcap > st.max_size:
            newcap = <Py_ssize_t>st.max_size  # enough: a body past max_size was refused above
        if st.heap:
            grown = <char*>realloc(st.ptr, newcap)
            if grown == NULL:
                st.alloc_failed = True
                return 0
        else:
            grown = <char*>malloc(newcap)
            if grown == NULL:
                st.alloc_failed = True
                return 0
            memcpy(grown, st.ptr, st.pos)
            with gil:
                (<BodySink>st.owner)._buf = None
        st.ptr = grown
        st.cap = newcap
        st.heap = True
    memcpy(st.ptr + st.pos, data, n)
    st.pos += n
    return n


cdef size_t _header_callback(char* buf, size_t size, size_t nitems, void* userdata) noexcept nogil:
    cdef Py_ssize_t n = <Py_ssize_t>(size * nitems)
    if _on_header(<SinkState*>userdata, buf, n) != 0:
        return 0
    return <size_t>n


cdef size_t _write_callback(char* buf, size_t size, size_t nitems, void* userdata) noexcept nogil:
    return <size_t>_on_body(<SinkState*>userdata, buf, <Py_ssize_t>(size * nitems))


cdef class BodySink:
    """Collects one response: header lines and a body written into a single buffer.

    libcurl calls this sink's C callbacks directly (:meth:`attach_to`), with the GIL released: header
    lines are kept as raw bytes with the few fields the engine needs parsed as they pass, and the body
    goes into C memory (small or unknown length) or into one ``bytes`` object sized from Content-Length.

    ``split_threshold`` >= 0 asks the sink to refuse (abort) a 200 response whose Content-Length exceeds
    it when the server advertises byte ranges and a strong ETag (the parts are fetched ``If-Match`` it,
    so an object replaced mid-download is noticed); the engine then fetches it as parallel ranged parts.
    ``max_size`` is checked first: an object too large is refused, never split.

    :meth:`header` and :meth:`write` feed the same parser from Python (tests, and pycurl callbacks).
    """

    cdef SinkState st
    cdef object _buf            # the bytes object being filled (large bodies, a split's whole buffer)
    cdef BodySink _parent       # part mode: the sink whose buffer this one writes into
    cdef object _lines          # the header_lines list last built, valid while st.hdr_gen == _lines_gen
    cdef unsigned long _lines_gen

    def __cinit__(self):
        self.st.content_length = -1
        self.st.split_threshold = -1
        self.st.max_size = -1
        self.st.owner = <void*>self
        self._lines_gen = <unsigned long>-1

    def __dealloc__(self):
        free(self.st.hdr)
        if self.st.heap:
            free(self.st.ptr)

    cdef bint _allocate_bytes(self, Py_ssize_t size) noexcept:
        try:
            self._buf = PyBytes_FromStringAndSize(NULL, size)
        except (MemoryError, OverflowError, SystemError):  # an announced length too large to hold
            return False
        self.st.ptr = PyBytes_AS_STRING(self._buf)
        self.st.cap = size
        self.st.heap = False
        return True

    cdef void _drop_body(self):
        """Let go of the body memory (a part's belongs to its parent)."""
        if self.st.is_part:
            return
        if self.st.heap:
            free(self.st.ptr)
        self._buf = None
        self.st.ptr = NULL
        self.st.cap = 0
        self.st.heap = False

    def reset(self):
        """Forget everything received (used before a retry)."""
        self._drop_body()
        self.st.pos = 0
        self.st.hdr_len = 0
        self.st.hdr_gen += 1
        self._lines = None
        self.st.content_length = -1
        self.st.status = 0
        self.st.accept_ranges = False
        self.st.strong_etag = False
        self.st.split_requested = False
        self.st.too_large = False
        self.st.alloc_failed = False
        self.st.part_mismatch = False

    def attach_to(self, object curl):
        """Make libcurl hand ``curl``'s (a pycurl.Curl) header lines and body to this sink directly. The
        caller keeps this sink alive while the handle can run: libcurl holds only a pointer to it."""
        cdef void* easy = easy_of(curl)
        cf_easy_setopt_ptr(easy, CURLOPT_HEADERFUNCTION, <void*>_header_callback)
        cf_easy_setopt_ptr(easy, CURLOPT_HEADERDATA, <void*>&self.st)
        cf_easy_setopt_ptr(easy, CURLOPT_WRITEFUNCTION, <void*>_write_callback)
        cf_easy_setopt_ptr(easy, CURLOPT_WRITEDATA, <void*>&self.st)

    def allocate(self, Py_ssize_t size):
        """Allocate the whole-object buffer up front (parts of a split GET then fill it)."""
        if not self._allocate_bytes(size):
            raise MemoryError(f"no memory for a buffer of {size} bytes")
        self.st.pos = size  # complete once every part has written its range

    def attach(self, BodySink parent, Py_ssize_t offset, Py_ssize_t length):
        """Make this sink write a byte range of ``parent``'s buffer (a part of a split GET)."""
        if parent._buf is None or offset < 0 or length < 0 or offset + length > parent.st.cap:
            raise ValueError("a part must lie inside its parent's allocated buffer")
        self._parent = parent  # keeps the parent's buffer alive
        self.st.is_part = True
        self.st.part_base = parent.st.ptr + offset
        self.st.part_len = length

    @property
    def header_lines(self):
        """The header lines received after the status line (raw ``bytes``, line endings kept)."""
        cdef Py_ssize_t start = 0, i
        if self._lines is not None and self._lines_gen == self.st.hdr_gen:
            return self._lines
        lines = []
        for i in range(self.st.hdr_len):
            if self.st.hdr[i] == 10:  # "\n"
                lines.append(PyBytes_FromStringAndSize(self.st.hdr + start, i + 1 - start))
                start = i + 1
        if start < self.st.hdr_len:
            lines.append(PyBytes_FromStringAndSize(self.st.hdr + start, self.st.hdr_len - start))
        self._lines = lines
        self._lines_gen = self.st.hdr_gen
        return lines

    @property
    def content_length(self):
        return self.st.content_length

    @property
    def status(self):
        return self.st.status

    @property
    def accept_ranges(self):
        return self.st.accept_ranges

    @property
    def strong_etag(self):
        return self.st.strong_etag

    @property
    def split_threshold(self):
        return self.st.split_threshold

    @split_threshold.setter
    def split_threshold(self, long long value):
        self.st.split_threshold = value

    @property
    def split_requested(self):
        return self.st.split_requested

    @property
    def max_size(self):
        return self.st.max_size

    @max_size.setter
    def max_size(self, long long value):
        self.st.max_size = value

    @property
    def too_large(self):
        return self.st.too_large

    @property
    def part_mismatch(self):
        return self.st.part_mismatch

    @property
    def alloc_failed(self):
        """No memory could be had for the body (the transfer was aborted)."""
        return self.st.alloc_failed

    @property
    def buffer(self):
        """The body buffer (``bytes``) being filled, or None before the first byte or ``allocate``. A
        small body kept in C memory is returned as a copy of what has arrived."""
        if self._buf is not None:
            return self._buf
        if self.st.heap:
            return PyBytes_FromStringAndSize(self.st.ptr, self.st.pos)
        return None

    @property
    def received(self):
        """Body bytes received so far."""
        return self.st.pos

    def header(self, bytes line):
        """pycurl HEADERFUNCTION (and tests): one header line."""
        if _on_header(&self.st, line, len(line)) != 0:
            raise MemoryError("no memory for a header line")
        return None

    def write(self, bytes data):
        """pycurl WRITEFUNCTION (and tests). Returning 0 aborts the transfer (CURLE_WRITE_ERROR)."""
        cdef Py_ssize_t n = len(data)
        if _on_body(&self.st, data, n) != n and n:
            return 0
        return None

    def header_value(self, bytes name):
        """Value of header ``name`` (lower-case bytes) among the received lines, stripped and decoded as
        latin-1 (the first such line wins); None when absent. Scans the raw lines, builds no list."""
        cdef Py_ssize_t n = len(name), start = 0, i
        cdef const char* want = name
        cdef const char* line
        for i in range(self.st.hdr_len):
            if self.st.hdr[i] != 10:  # "\n" ends a line
                continue
            line = self.st.hdr + start
            if i + 1 - start > n and line[n] == 58 and _starts_with_ci(line, n, want, n):  # 58: ":"
                return _stripped_value(line, n + 1, i + 1 - start)
            start = i + 1
        return None

    def pick_headers(self, dict wanted):
        """:func:`pick_headers` over the received lines, read in place (no list of lines is built)."""
        cdef dict found = {}
        cdef Py_ssize_t start = 0, i
        for i in range(self.st.hdr_len):
            if self.st.hdr[i] == 10:  # "\n" ends a line
                _pick_line(self.st.hdr + start, i + 1 - start, wanted, found)
                start = i + 1
        if start < self.st.hdr_len:
            _pick_line(self.st.hdr + start, self.st.hdr_len - start, wanted, found)
        return found

    def take_body(self):
        """The body as :meth:`body` gives it, after which this sink holds no body memory (headers stay)."""
        out = self.body()
        self._drop_body()
        return out

    def body(self):
        """The body as ``bytes``: the buffer itself when it was filled exactly, else a trimmed copy."""
        if self.st.ptr == NULL:
            return b""
        if self._buf is not None and self.st.pos == self.st.cap:
            return self._buf
        return PyBytes_FromStringAndSize(self.st.ptr, self.st.pos)

    def complete(self):
        """True when a known Content-Length was fully received (or a part got its whole range)."""
        if self.st.is_part:
            return self.st.pos == self.st.part_len
        if self.st.content_length < 0:
            return True
        return self.st.pos == self.st.content_length


cdef struct SourceState:
    const char* data
    Py_ssize_t size
    Py_ssize_t pos


cdef size_t _buffer_read_callback(char* buf, size_t size, size_t nitems, void* userdata) noexcept nogil:
    cdef SourceState* src = <SourceState*>userdata
    cdef Py_ssize_t n = src.size - src.pos
    cdef Py_ssize_t room = <Py_ssize_t>(size * nitems)
    if n > room:
        n = room
    if n <= 0:
        return 0
    memcpy(buf, src.data + src.pos, n)
    src.pos += n
    return <size_t>n


cdef class BufferSource:
    """A request body read from any buffer-protocol object (bytes, bytearray, memoryview, numpy) by
    libcurl directly (:meth:`attach_to`), or through :meth:`read` (a pycurl READFUNCTION)."""

    cdef Py_buffer _view
    cdef bint _has_view
    cdef SourceState src

    def __cinit__(self, object data):
        PyObject_GetBuffer(data, &self._view, PyBUF_SIMPLE)
        self._has_view = True
        self.src.data = <const char*>self._view.buf
        self.src.size = self._view.len
        self.src.pos = 0

    def __dealloc__(self):
        if self._has_view:
            PyBuffer_Release(&self._view)
            self._has_view = False

    @property
    def size(self):
        return self.src.size

    def rewind(self):
        self.src.pos = 0

    def attach_to(self, object curl):
        """Make libcurl read ``curl``'s upload body from this source directly (kept alive by the caller)."""
        cdef void* easy = easy_of(curl)
        cf_easy_setopt_ptr(easy, CURLOPT_READFUNCTION, <void*>_buffer_read_callback)
        cf_easy_setopt_ptr(easy, CURLOPT_READDATA, <void*>&self.src)

    def read(self, Py_ssize_t size):
        cdef Py_ssize_t n = self.src.size - self.src.pos
        if n > size:
            n = size
        if n <= 0:
            return b""
        out = PyBytes_FromStringAndSize(self.src.data + self.src.pos, n)
        self.src.pos += n
        return out


cdef size_t _file_read_callback(char* buf, size_t size, size_t nitems, void* userdata) noexcept nogil:
    cdef size_t room = size * nitems
    with gil:
        return (<FileSource>userdata)._fill(buf, room)


cdef class FileSource:
    """A request body read from a binary file object: libcurl calls in (:meth:`attach_to`) and this
    takes the GIL to call ``read``. An exception aborts the transfer and is kept in :attr:`error`."""

    cdef object _read
    cdef public object error

    def __cinit__(self, object read):
        self._read = read
        self.error = None

    cdef size_t _fill(self, char* buf, size_t room) noexcept:
        cdef const unsigned char[::1] view
        try:
            data = self._read(room)
            if not data:
                return 0
            view = memoryview(data).cast("B")
            if <size_t>view.shape[0] > room:
                raise ValueError(f"read({room}) returned {view.shape[0]} bytes")
            memcpy(buf, &view[0], view.shape[0])
            return <size_t>view.shape[0]
        except BaseException as err:  # noqa: BLE001 - handed to the engine, which reports it
            self.error = err
            return CURL_READFUNC_ABORT

    def attach_to(self, object curl):
        """Make libcurl read ``curl``'s upload body through this source (kept alive by the caller)."""
        cdef void* easy = easy_of(curl)
        cf_easy_setopt_ptr(easy, CURLOPT_READFUNCTION, <void*>_file_read_callback)
        cf_easy_setopt_ptr(easy, CURLOPT_READDATA, <void*>self)


def header_value(list lines, bytes name):
    """Value of header ``name`` (lower-case bytes) in raw header lines, stripped and decoded as latin-1;
    the first such line wins. None when absent."""
    cdef Py_ssize_t n = len(name)
    cdef const char* want = name
    cdef const char* s
    cdef bytes line
    for item in lines:
        line = <bytes?>item
        s = line
        if len(line) > n and s[n] == 58 and _starts_with_ci(s, n, want, n):  # 58: ":"
            return _stripped_value(s, n + 1, len(line))
    return None


def pick_headers(list lines, dict wanted):
    """``{wanted[name]: value}`` for each line whose lower-cased name (bytes) is a key of ``wanted``;
    values stripped and decoded as latin-1, a later line winning over an earlier one."""
    cdef dict found = {}
    cdef bytes line
    for item in lines:
        line = <bytes?>item
        _pick_line(line, len(line), wanted, found)
    return found


cdef inline void _pick_line(const char* s, Py_ssize_t n, dict wanted, dict found) except *:
    # One raw header line: if its name (lower-cased, up to 128 bytes) is wanted, its value goes in found.
    cdef char lowered[128]
    cdef Py_ssize_t colon = -1, i
    cdef char c
    for i in range(n if n < 128 else 128):
        c = s[i]
        if c == 58:  # ":"
            colon = i
            break
        lowered[i] = c + 32 if 65 <= c <= 90 else c
    if colon <= 0:
        return
    key = wanted.get(lowered[:colon])
    if key is not None:
        found[key] = _stripped_value(s, colon + 1, n)


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
