# Helpers shared by the codec extensions (inline only, so cimporting this file adds no runtime module).
#
# Input: any object exporting the buffer protocol is read in place (PyBUF_SIMPLE, read-only is fine).
# A non-contiguous buffer (e.g. a strided numpy view) is copied once to C order, as ``arr.tobytes()``
# would be, because the C libraries need one flat span.
#
# Output: every result is one ``bytes`` object allocated up front and resized in place
# (``_PyBytes_Resize`` is a realloc, which for large blocks remaps pages instead of copying).
# The object is held as a raw owned ``PyObject*`` so it can be resized; callers free it on error.

from cpython.buffer cimport PyBUF_SIMPLE, PyObject_GetBuffer
from cpython.number cimport PyNumber_Index
from cpython.object cimport PyObject
from cpython.ref cimport Py_XDECREF

cdef extern from "Python.h":
    PyObject* _new_bytes "PyBytes_FromStringAndSize" (const char* v, Py_ssize_t n) except NULL
    int _PyBytes_Resize(PyObject** bytes, Py_ssize_t newsize) except -1
    char* _bytes_ptr "PyBytes_AS_STRING" (PyObject* o) nogil
    Py_ssize_t PY_SSIZE_T_MAX

cdef extern from *:
    """
    #if defined(__linux__)
    #include <sys/mman.h>
    #include <stdint.h>
    #endif
    /* Ask for transparent huge pages on the 2 MiB-aligned part of a large, not yet touched buffer.
       Filling a fresh 64 MiB output otherwise takes 16k page faults, which cost about as much CPU
       as decoding into it. A hint only: ignored where unsupported or disabled. */
    static void cf_advise_huge(char* p, size_t n) {
    #if defined(__linux__) && defined(MADV_HUGEPAGE)
        const uintptr_t huge = (uintptr_t)2 << 20;
        uintptr_t start = ((uintptr_t)p + huge - 1) & ~(huge - 1);
        uintptr_t end = ((uintptr_t)p + n) & ~(huge - 1);
        if (end > start) (void)madvise((void*)start, (size_t)(end - start), MADV_HUGEPAGE);
    #else
        (void)p; (void)n;
    #endif
    }
    """
    void cf_advise_huge(char* p, size_t n) nogil

# Inputs at least this large are processed with the GIL released. Below it the release/re-acquire
# round trip (and the risk of waiting a whole switch interval to get the GIL back) costs more than it frees.
cdef enum:
    NOGIL_THRESHOLD = 64 * 1024
    HUGE_PAGE_THRESHOLD = 8 * 1024 * 1024


cdef inline int get_input(object data, Py_buffer* view) except -1:
    """Fill ``view`` with a flat read-only view of ``data``; the caller must PyBuffer_Release it."""
    if isinstance(data, str):
        raise TypeError("expected a bytes-like object, got str (encode it first)")
    try:
        PyObject_GetBuffer(data, view, PyBUF_SIMPLE)
    except (BufferError, ValueError):
        # Strided/non-contiguous exporter: fall back to one C-order copy.
        flat = memoryview(data).tobytes()
        PyObject_GetBuffer(flat, view, PyBUF_SIMPLE)
    return 0


cdef inline Py_ssize_t parse_max_size(object max_size) except -1:
    """``None`` means no limit; otherwise a non-negative int."""
    if max_size is None:
        return PY_SSIZE_T_MAX - 1
    cdef object value = PyNumber_Index(max_size)
    if value < 0:
        raise ValueError(f"max_size must be >= 0, got {max_size!r}")
    if value >= PY_SSIZE_T_MAX:
        return PY_SSIZE_T_MAX - 1
    return value


cdef inline Py_ssize_t grow(Py_ssize_t cap, Py_ssize_t hint, Py_ssize_t limit) noexcept nogil:
    """Next capacity: at least double (and at least ``hint`` more), never above ``limit``."""
    cdef Py_ssize_t new_cap
    if cap > limit // 2:
        return limit
    new_cap = cap * 2
    if hint > 0 and cap < limit - hint and cap + hint > new_cap:
        new_cap = cap + hint
    if new_cap < 16384:
        new_cap = 16384
    if new_cap > limit:
        new_cap = limit
    return new_cap


cdef inline int out_new(PyObject** out, Py_ssize_t n) except -1:
    """Allocate an uninitialised bytes object of ``n`` (>= 1) bytes into ``*out``."""
    if n < 1:
        n = 1  # never hand out (and later resize) the shared empty-bytes singleton
    out[0] = _new_bytes(NULL, n)
    if n >= HUGE_PAGE_THRESHOLD:
        cf_advise_huge(_bytes_ptr(out[0]), <size_t>n)
    return 0


cdef inline int out_resize(PyObject** out, Py_ssize_t n) except -1:
    # On failure _PyBytes_Resize frees the object, sets *out to NULL and raises MemoryError.
    _PyBytes_Resize(out, n)
    if n >= HUGE_PAGE_THRESHOLD:
        cf_advise_huge(_bytes_ptr(out[0]), <size_t>n)
    return 0


cdef inline bytes out_take(PyObject** out, Py_ssize_t n):
    """Shrink ``*out`` to ``n`` bytes and return it, transferring ownership to the caller."""
    _PyBytes_Resize(out, n)
    cdef bytes result = <bytes>out[0]
    Py_XDECREF(out[0])
    out[0] = NULL
    return result


cdef inline void out_free(PyObject** out) noexcept:
    Py_XDECREF(out[0])
    out[0] = NULL
