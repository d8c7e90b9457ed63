# libcurl as pycurl loaded it, for the engine's native callbacks (included by _sink.pyx and _loop.pyx).
#
# The functions are looked up in the libcurl that pycurl's extension module links (a pycurl wheel bundles
# its own copy under a private name): linking a libcurl of our own would put two libcurls in the process,
# and a handle made by one must never reach the other. The CURL* / CURLM* behind a pycurl object is read
# from pycurl's object at the field after its dict and weak-reference list, and accepted only when it
# carries libcurl's own magic number for that kind of handle (checked on every read).

cdef extern from *:
    """
    #include <dlfcn.h>
    #include <stdint.h>
    #include <stddef.h>

    typedef int (*cf_setopt_fn)(void*, int, ...);
    typedef int (*cf_socket_action_fn)(void*, int, int, int*);
    typedef const char* (*cf_version_fn)(void);

    static cf_setopt_fn cf_easy_setopt_p = NULL;
    static cf_setopt_fn cf_multi_setopt_p = NULL;
    static cf_socket_action_fn cf_socket_action_p = NULL;
    static cf_version_fn cf_version_p = NULL;

    /* Resolve the libcurl functions from the library at `path` (already loaded) and its dependencies.
       Returns NULL on success, else what went wrong. */
    static const char* cf_resolve(const char* path) {
        void* lib = dlopen(path, RTLD_NOW | RTLD_NOLOAD);
        if (lib == NULL) return "pycurl's extension module is not loaded";
        cf_easy_setopt_p = (cf_setopt_fn)dlsym(lib, "curl_easy_setopt");
        cf_multi_setopt_p = (cf_setopt_fn)dlsym(lib, "curl_multi_setopt");
        cf_socket_action_p = (cf_socket_action_fn)dlsym(lib, "curl_multi_socket_action");
        cf_version_p = (cf_version_fn)dlsym(lib, "curl_version");
        if (!cf_easy_setopt_p || !cf_multi_setopt_p || !cf_socket_action_p || !cf_version_p)
            return "libcurl's functions are not reachable from pycurl's extension module";
        return NULL;
    }

    #define CF_EASY_MAGIC 0xc0dedbadU
    #define CF_MULTI_MAGIC 0x000bab1eU
    /* pycurl's Curl and CurlMulti objects: PyObject_HEAD, dict, weakreflist, then the libcurl handle. */
    #define CF_HANDLE_OFFSET (sizeof(PyObject) + 2 * sizeof(void*))

    static void* cf_handle_of(PyObject* obj, unsigned int magic) {
        void* h = *(void**)((char*)obj + CF_HANDLE_OFFSET);
        if (h == NULL || *(unsigned int*)h != magic) return NULL;
        return h;
    }

    static int cf_easy_setopt_ptr(void* easy, int option, void* value) {
        return cf_easy_setopt_p(easy, option, value);
    }
    static int cf_multi_setopt_ptr(void* multi, int option, void* value) {
        return cf_multi_setopt_p(multi, option, value);
    }
    static int cf_socket_action(void* multi, int fd, int mask, int* running) {
        return cf_socket_action_p(multi, fd, mask, running);
    }
    """
    const char* cf_resolve(const char* path)
    void* cf_handle_of(object obj, unsigned int magic)
    unsigned int CF_EASY_MAGIC
    unsigned int CF_MULTI_MAGIC
    int cf_easy_setopt_ptr(void* easy, int option, void* value) nogil
    int cf_multi_setopt_ptr(void* multi, int option, void* value) nogil
    int cf_socket_action(void* multi, int fd, int mask, int* running) nogil
    const char* (*cf_version_p)()

# libcurl's option and constant values (curl.h; checked against pycurl's at import)
cdef enum:
    CURLOPT_WRITEDATA = 10001
    CURLOPT_READDATA = 10009
    CURLOPT_HEADERDATA = 10029
    CURLOPT_WRITEFUNCTION = 20011
    CURLOPT_READFUNCTION = 20012
    CURLOPT_HEADERFUNCTION = 20079
    CURLMOPT_SOCKETFUNCTION = 20001
    CURLMOPT_SOCKETDATA = 10002
    CURLMOPT_TIMERFUNCTION = 20004
    CURLMOPT_TIMERDATA = 10005
    CURL_SOCKET_TIMEOUT = -1
    CURL_POLL_IN = 1
    CURL_POLL_OUT = 2
    CURL_POLL_REMOVE = 4
    CURL_CSELECT_IN = 1
    CURL_CSELECT_OUT = 2
    CURL_CSELECT_ERR = 4
    CURL_READFUNC_ABORT = 0x10000000


cdef object _curl_type = None
cdef object _multi_type = None


def _bind_libcurl():
    """Resolve libcurl's functions from pycurl's module; raise ImportError naming what does not fit."""
    global _curl_type, _multi_type
    import pycurl

    module = getattr(pycurl, "_pycurl", pycurl)  # pycurl >= 7.46 is a package around _pycurl
    path = getattr(module, "__file__", None)
    if not path:
        raise ImportError("cloudfiles: cannot locate pycurl's extension module")
    problem = cf_resolve(path.encode())
    if problem != NULL:
        raise ImportError(f"cloudfiles: {problem.decode()} ({path})")
    ours = cf_version_p().decode("latin-1")
    expected = {
        "WRITEDATA": CURLOPT_WRITEDATA, "READDATA": CURLOPT_READDATA, "WRITEHEADER": CURLOPT_HEADERDATA,
        "WRITEFUNCTION": CURLOPT_WRITEFUNCTION, "READFUNCTION": CURLOPT_READFUNCTION,
        "HEADERFUNCTION": CURLOPT_HEADERFUNCTION, "M_SOCKETFUNCTION": CURLMOPT_SOCKETFUNCTION,
        "M_TIMERFUNCTION": CURLMOPT_TIMERFUNCTION, "SOCKET_TIMEOUT": CURL_SOCKET_TIMEOUT,
        "POLL_REMOVE": CURL_POLL_REMOVE, "CSELECT_ERR": CURL_CSELECT_ERR,
        "READFUNC_ABORT": CURL_READFUNC_ABORT,
    }
    for name, value in expected.items():
        if getattr(pycurl, name) != value:
            raise ImportError(f"cloudfiles: pycurl.{name} is {getattr(pycurl, name)}, libcurl's is {value}")
    if ours.split()[0] not in pycurl.version.split():
        raise ImportError(f"cloudfiles: resolved {ours!r}, but pycurl reports {pycurl.version!r}")
    # A handle of each kind must be found where pycurl keeps it.
    easy, multi = pycurl.Curl(), pycurl.CurlMulti()
    if cf_handle_of(easy, CF_EASY_MAGIC) == NULL or cf_handle_of(multi, CF_MULTI_MAGIC) == NULL:
        raise ImportError(f"cloudfiles: {pycurl.version} does not keep its libcurl handles where expected")
    easy.close()
    multi.close()
    _curl_type, _multi_type = pycurl.Curl, pycurl.CurlMulti


cdef void* easy_of(object curl) except NULL:
    """The CURL* of a pycurl.Curl (TypeError for anything else, ValueError once it is closed)."""
    if type(curl) is not _curl_type:
        raise TypeError(f"expected a pycurl.Curl, got {type(curl).__name__}")
    cdef void* h = cf_handle_of(curl, CF_EASY_MAGIC)
    if h == NULL:
        raise ValueError("the pycurl.Curl handle is closed")
    return h


cdef void* multi_of(object multi) except NULL:
    """The CURLM* of a pycurl.CurlMulti (TypeError for anything else, ValueError once it is closed)."""
    if type(multi) is not _multi_type:
        raise TypeError(f"expected a pycurl.CurlMulti, got {type(multi).__name__}")
    cdef void* h = cf_handle_of(multi, CF_MULTI_MAGIC)
    if h == NULL:
        raise ValueError("the pycurl.CurlMulti handle is closed")
    return h
