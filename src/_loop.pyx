# cython: language_level=3
"""The engine's socket loop in C: epoll, libcurl's socket and timer callbacks, and ``socket_action``.

libcurl tells its multi handle's owner which sockets to watch (the socket callback) and when to call back
for timeouts (the timer callback); the owner waits on those sockets and calls ``curl_multi_socket_action``
for each ready one. Done through pycurl, each of those is a Python call that re-takes the GIL: about four
per request. Here all of it runs in C, with the GIL released for the whole wait-and-act step, so Python
runs only when transfers complete (the engine reads them with pycurl's ``info_read``).

A keep-alive socket libcurl stops watching when a transfer ends is usually watched again by the next
transfer a loop turn later: its removal from epoll is deferred to the end of the next turn, so reuse costs
one ``EPOLL_CTL_MOD`` instead of a DEL and an ADD. A stray event for a socket libcurl has forgotten is
harmless (``socket_action`` ignores unknown sockets).
"""

from libc.errno cimport ENOENT, errno
from libc.stdlib cimport free, realloc
from libc.string cimport memset
from posix.unistd cimport close as close_fd, getpid

include "_libcurl.pxi"

_bind_libcurl()

cdef extern from "<sys/epoll.h>" nogil:
    cdef union epoll_data_t:
        void* ptr
        int fd
        unsigned int u32
        unsigned long long u64

    cdef struct epoll_event:
        unsigned int events
        epoll_data_t data

    int epoll_create1(int flags)
    int epoll_ctl(int epfd, int op, int fd, epoll_event* event)
    int epoll_wait(int epfd, epoll_event* events, int maxevents, int timeout)
    int EPOLL_CLOEXEC, EPOLL_CTL_ADD, EPOLL_CTL_MOD, EPOLL_CTL_DEL
    unsigned int EPOLLIN, EPOLLOUT, EPOLLERR, EPOLLHUP

cdef extern from "<time.h>" nogil:
    ctypedef long time_t

    cdef struct timespec:
        time_t tv_sec
        long tv_nsec

    int clock_gettime(int clk_id, timespec* tp)
    int CLOCK_MONOTONIC

# Seconds of socket silence after which libcurl is asked to look at every socket: socket_action(TIMEOUT)
# runs only transfers whose own timer expired, and libcurl may not arm a silent transfer's low-speed
# check, so in a batch a stalled request would wait for its connect timeout instead of the read timeout.
cdef double SWEEP = 0.25
SWEEP_SECONDS = SWEEP  # for the gevent loop (cloudfiles.pollers), which sweeps the same way

cdef enum:
    MAX_EVENTS = 256  # epoll events taken per wait


cdef struct LoopState:
    int epfd
    unsigned char* watched       # fd -> 1 while registered with epoll
    long* removal_turn           # fd -> the turn its removal was deferred in, -1 when none
    int nfd                      # capacity of both arrays
    int* pending                 # fds with a deferred removal (may hold duplicates; checked on flush)
    int npending
    int pending_cap
    long turn
    double deadline              # libcurl's timer, monotonic seconds; < 0 when unset
    double last_sweep
    int running                  # transfers libcurl reported running after its last socket_action
    unsigned long actions        # socket_action calls so far
    int failed                   # an epoll_ctl or allocation failure seen in a callback (errno), 0 if none


cdef inline double _now() noexcept nogil:
    cdef timespec ts
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return ts.tv_sec + ts.tv_nsec * 1e-9


cdef int _grow(LoopState* st, int fd) noexcept nogil:
    cdef int cap = st.nfd if st.nfd else 1024
    cdef int i
    cdef unsigned char* watched
    cdef long* turns
    while cap <= fd:
        cap *= 2
    watched = <unsigned char*>realloc(st.watched, cap * sizeof(unsigned char))
    if watched == NULL:
        return -1
    st.watched = watched
    turns = <long*>realloc(st.removal_turn, cap * sizeof(long))
    if turns == NULL:
        return -1
    st.removal_turn = turns
    for i in range(st.nfd, cap):
        st.watched[i] = 0
        st.removal_turn[i] = -1
    st.nfd = cap
    return 0


cdef int _socket_callback(void* easy, int fd, int what, void* userp, void* socketp) noexcept nogil:
    cdef LoopState* st = <LoopState*>userp
    cdef epoll_event ev
    cdef int* grown
    if fd < 0:
        return 0
    if fd >= st.nfd and _grow(st, fd) != 0:
        st.failed = 12  # ENOMEM
        return -1
    if what == CURL_POLL_REMOVE:
        if st.watched[fd] and st.removal_turn[fd] < 0:
            if st.npending == st.pending_cap:
                grown = <int*>realloc(st.pending, (st.pending_cap * 2 + 64) * sizeof(int))
                if grown == NULL:
                    st.failed = 12
                    return -1
                st.pending = grown
                st.pending_cap = st.pending_cap * 2 + 64
            st.pending[st.npending] = fd
            st.npending += 1
            st.removal_turn[fd] = st.turn
        return 0
    st.removal_turn[fd] = -1
    ev.events = (EPOLLIN if what & CURL_POLL_IN else 0) | (EPOLLOUT if what & CURL_POLL_OUT else 0)
    ev.data.u64 = 0
    ev.data.fd = fd
    if st.watched[fd]:
        # Always MOD, even for an unchanged mask: if the fd was closed and its number reused, epoll
        # dropped the old registration and MOD fails, so the new socket is registered below.
        if epoll_ctl(st.epfd, EPOLL_CTL_MOD, fd, &ev) == 0:
            return 0
        if errno != ENOENT:
            st.failed = errno
            return -1
    if epoll_ctl(st.epfd, EPOLL_CTL_ADD, fd, &ev) != 0:
        st.failed = errno
        return -1
    st.watched[fd] = 1
    return 0


cdef int _timer_callback(void* multi, long timeout_ms, void* userp) noexcept nogil:
    cdef LoopState* st = <LoopState*>userp
    st.deadline = -1.0 if timeout_ms < 0 else _now() + timeout_ms / 1000.0
    return 0


cdef void _flush(LoopState* st) noexcept nogil:
    """Unregister sockets whose removal was deferred in an earlier turn and not taken back since."""
    cdef long turn = st.turn
    cdef int i, fd, kept = 0
    st.turn = turn + 1
    for i in range(st.npending):
        fd = st.pending[i]
        if st.removal_turn[fd] < 0:
            continue  # watched again meanwhile
        if st.removal_turn[fd] < turn:
            epoll_ctl(st.epfd, EPOLL_CTL_DEL, fd, NULL)  # may fail: libcurl closed it already
            st.watched[fd] = 0
            st.removal_turn[fd] = -1
        else:
            st.pending[kept] = fd
            kept += 1
    st.npending = kept


cdef void _turn(LoopState* st, void* multi, double max_wait, epoll_event* events) noexcept nogil:
    """One wait (up to ``max_wait``, the timer's deadline and the sweep interval) and what follows it."""
    cdef double now = _now()
    cdef double wait = SWEEP
    cdef int n, i, fd, flags
    cdef unsigned int ev
    if st.deadline >= 0:
        wait = st.deadline - now if st.deadline - now < wait else wait
    if max_wait < wait:
        wait = max_wait
    if wait < 0:
        wait = 0
    n = epoll_wait(st.epfd, events, MAX_EVENTS, <int>(wait * 1000.0 + 0.999))
    if n < 0:
        n = 0  # EINTR: as if nothing happened
    for i in range(n):
        ev = events[i].events
        flags = 0
        if ev & (EPOLLIN | EPOLLHUP):
            flags |= CURL_CSELECT_IN
        if ev & EPOLLOUT:
            flags |= CURL_CSELECT_OUT
        if ev & EPOLLERR:
            flags |= CURL_CSELECT_ERR
        cf_socket_action(multi, events[i].data.fd, flags, &st.running)
    st.actions += n
    if n == 0 and now - st.last_sweep >= SWEEP:
        st.last_sweep = now
        for fd in range(st.nfd):
            if st.watched[fd] and st.removal_turn[fd] < 0:
                cf_socket_action(multi, fd, 0, &st.running)  # bitmask 0: "check it yourself"
                st.actions += 1
    if st.deadline >= 0 and _now() >= st.deadline:
        st.deadline = -1.0
        cf_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &st.running)
        st.actions += 1
    _flush(st)


cdef void _step(
    LoopState* st, void* multi, double max_wait, int in_flight, epoll_event* events
) noexcept nogil:
    """Turns until a transfer of the ``in_flight`` ones has finished, or ``max_wait`` (the sweep interval
    when < 0) has passed: Python, which needs the GIL, runs only when it has a result to take."""
    cdef double start = _now()
    cdef double budget = max_wait if max_wait >= 0 else SWEEP
    cdef double left = budget
    cdef unsigned long before = st.actions
    while True:
        _turn(st, multi, left, events)
        # Only libcurl's own count after an action of this step says a transfer finished.
        if in_flight <= 0 or st.failed or (st.actions != before and st.running < in_flight):
            return
        left = budget - (_now() - start)
        if left <= 0:
            return


cdef class SocketLoop:
    """Drives one pycurl ``CurlMulti`` with epoll and libcurl's callbacks set in C.

    Owns the multi's socket and timer callbacks from construction until :meth:`close` (or until it is
    freed): nothing else may set ``M_SOCKETFUNCTION`` / ``M_TIMERFUNCTION`` on that multi meanwhile.
    """

    cdef LoopState st
    cdef object _multi
    cdef epoll_event _events[MAX_EVENTS]
    cdef int _pid

    def __cinit__(self, object multi):
        cdef void* handle = multi_of(multi)
        self.st.epfd = epoll_create1(EPOLL_CLOEXEC)
        if self.st.epfd < 0:
            raise OSError(errno, "epoll_create1 failed")
        self.st.deadline = -1.0
        self._multi = multi
        self._pid = getpid()
        cf_multi_setopt_ptr(handle, CURLMOPT_SOCKETFUNCTION, <void*>_socket_callback)
        cf_multi_setopt_ptr(handle, CURLMOPT_SOCKETDATA, <void*>&self.st)
        cf_multi_setopt_ptr(handle, CURLMOPT_TIMERFUNCTION, <void*>_timer_callback)
        cf_multi_setopt_ptr(handle, CURLMOPT_TIMERDATA, <void*>&self.st)

    def step(self, double max_wait=-1.0, int in_flight=0):
        """Let libcurl act on socket activity and its timer until one of the ``in_flight`` transfers on
        the multi has finished, or ``max_wait`` seconds have passed (the sweep interval, 0.25 s, when
        < 0); with ``in_flight`` 0, one wait and what follows it. The GIL is released throughout."""
        if self.st.epfd < 0:
            raise ValueError("the socket loop is closed")
        cdef void* handle = multi_of(self._multi)
        with nogil:
            _step(&self.st, handle, max_wait, in_flight, self._events)
        if self.st.failed:
            err, self.st.failed = self.st.failed, 0
            raise OSError(err, "the engine's socket loop could not watch a socket")

    @property
    def deadline(self):
        """libcurl's next timeout as ``time.monotonic()`` seconds, or None."""
        return None if self.st.deadline < 0 else self.st.deadline

    def watched(self):
        """The sockets being watched (their removal not pending), for diagnostics and tests."""
        return [fd for fd in range(self.st.nfd) if self.st.watched[fd] and self.st.removal_turn[fd] < 0]

    cdef void _release(self) noexcept:
        cdef void* handle
        if self._multi is not None and self._pid == getpid():
            # The multi may outlive this loop: it must never call back into freed state.
            handle = cf_handle_of(self._multi, CF_MULTI_MAGIC)
            if handle != NULL:
                cf_multi_setopt_ptr(handle, CURLMOPT_SOCKETFUNCTION, NULL)
                cf_multi_setopt_ptr(handle, CURLMOPT_SOCKETDATA, NULL)
                cf_multi_setopt_ptr(handle, CURLMOPT_TIMERFUNCTION, NULL)
                cf_multi_setopt_ptr(handle, CURLMOPT_TIMERDATA, NULL)
        self._multi = None
        if self.st.epfd >= 0:
            close_fd(self.st.epfd)
            self.st.epfd = -1
        if self.st.nfd:
            memset(self.st.watched, 0, self.st.nfd)
        self.st.npending = 0

    def close(self):
        """Stop driving the multi: its callbacks are unset and the epoll descriptor closed. Close the
        multi first when both go (its cleanup reports the sockets it closes to this loop)."""
        self._release()

    def __dealloc__(self):
        self._release()
        free(self.st.watched)
        free(self.st.removal_turn)
        free(self.st.pending)
