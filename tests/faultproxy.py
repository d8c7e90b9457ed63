"""A fault-injecting HTTP/1.1 proxy for the tests and the soak benchmark (loopback only).

``FaultProxy(upstream_port)`` listens on 127.0.0.1 and forwards every request, unchanged (the Host
header included, so SigV4 signatures made for the proxy's address still verify upstream), to a real
server on 127.0.0.1: SeaweedFS (S3), the GCS emulator or nginx. Keep-alive, Content-Length and chunked
bodies, HEAD, 1xx/204/304 are forwarded as HTTP/1.1 expects. Point the client at ``proxy.url``.

Faults are chosen per request, first by scripted rules, then by an optional random rate:

* ``proxy.script(Fault.status(503), None, match=on(method="GET", path="k1"))``: the next matching
  requests get these faults in order (``None`` = forward untouched); ``repeat=True`` keeps the last.
* ``proxy.set_rate(0.05, kinds, seed=1)``: each request gets a random fault with probability 0.05.
* ``proxy.drop_every = 7``: every 7th accepted connection is reset on its first request;
  ``proxy.max_requests_per_connection = 50`` closes kept-alive connections now and then (so new
  connections keep being accepted for ``drop_every`` to act on).

A fault either replaces the exchange before the request reaches the server (``forward=False``, the
default for statuses and resets) or acts on the server's real answer (``forward=True``: the server did
the work, the client never hears it; used to prove retried writes are idempotent). Kinds:
status (500/502/503/429 + Retry-After, S3 SlowDown XML), reset (RST before headers), reset_mid_body,
short_body (fewer bytes than Content-Length, then FIN), stall (never answer), stall_mid_body, corrupt
(one body byte flipped, length kept), wrong_hash (ETag / Content-MD5 / x-goog-hash / JSON md5Hash and
crc32c replaced by wrong but well-formed values), and range and validator faults: strip_header (the
request is forwarded without a header: ``Fault.strip_header("Range")`` makes the server ignore the range),
shift_range (the request asks one byte further: the server truthfully answers another range),
lie_content_range (the answer's Content-Range names another range than the bytes it carries),
weak_etag / no_etag (the answer's ETag made weak / removed).

Every applied fault is counted in ``proxy.injected`` (by kind) and logged in ``proxy.log``.
"""

from __future__ import annotations

import base64
import collections
import contextlib
import hashlib
import random
import re
import socket
import struct
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

HOST = "127.0.0.1"
_NO_BODY_STATUSES = frozenset({204, 304})


class _Closed(Exception):
    """The peer closed the connection where a message should have started."""


@dataclass
class Message:
    """One parsed HTTP message. ``body`` is decoded (de-chunked); ``chunked`` says how it came."""

    start: bytes  # request line or status line, without CRLF
    headers: list[tuple[str, str]]
    body: bytes = b""
    chunked: bool = False
    until_close: bool = False  # a response framed by closing the connection

    def header(self, name: str) -> str | None:
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return None

    def set_header(self, name: str, value: str | None) -> None:
        low = name.lower()
        self.headers = [(k, v) for k, v in self.headers if k.lower() != low]
        if value is not None:
            self.headers.append((name, value))

    @property
    def method(self) -> str:
        return self.start.split(b" ", 1)[0].decode("latin-1")

    @property
    def target(self) -> str:
        parts = self.start.split(b" ")
        return parts[1].decode("latin-1") if len(parts) > 1 else ""

    @property
    def status(self) -> int:
        parts = self.start.split(b" ")
        return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0

    def wants_close(self) -> bool:
        conn = (self.header("connection") or "").lower()
        return "close" in conn or self.start.endswith(b"HTTP/1.0") or self.start.startswith(b"HTTP/1.0")

    def head_bytes(self, *, framing: str | None = None) -> bytes:
        """Start line + headers. ``framing``: 'length' rewrites to Content-Length, 'chunked' to
        Transfer-Encoding, None keeps the headers as they are."""
        headers = self.headers
        if framing is not None:
            headers = [(k, v) for k, v in headers if k.lower() not in ("content-length", "transfer-encoding")]
            if framing == "length":
                headers.append(("Content-Length", str(len(self.body))))
            else:
                headers.append(("Transfer-Encoding", "chunked"))
        lines = [self.start] + [f"{k}: {v}".encode("latin-1") for k, v in headers]
        return b"\r\n".join(lines) + b"\r\n\r\n"


def _read_line(rfile: Any) -> bytes:
    line = rfile.readline(65537)
    if not line:
        raise _Closed()
    return line.rstrip(b"\r\n")


def _read_headers(rfile: Any) -> list[tuple[str, str]]:
    headers = []
    while True:
        line = rfile.readline(65537)
        if not line:
            raise _Closed()
        line = line.rstrip(b"\r\n")
        if not line:
            return headers
        name, _, value = line.decode("latin-1").partition(":")
        headers.append((name.strip(), value.strip()))


def _read_exact(rfile: Any, n: int) -> bytes:
    data = rfile.read(n)
    if data is None or len(data) < n:
        raise _Closed()
    return bytes(data)


def _read_chunked(rfile: Any) -> bytes:
    out = bytearray()
    while True:
        size_line = _read_line(rfile)
        size = int(size_line.split(b";")[0].strip() or b"0", 16)
        if size == 0:
            while _read_line(rfile):  # trailers, then the blank line
                pass
            return bytes(out)
        out += _read_exact(rfile, size)
        _read_line(rfile)  # CRLF after the chunk


def read_message(rfile: Any, *, request_method: str | None = None) -> Message:
    """Read one request (``request_method`` None) or the response to a ``request_method`` request."""
    while True:
        start = _read_line(rfile)
        if request_method is None and not start:
            continue  # tolerate stray CRLF between requests (RFC 9112 2.2)
        headers = _read_headers(rfile)
        msg = Message(start, headers)
        if request_method is not None and 100 <= msg.status < 200:
            continue  # interim response (100 Continue): skip it, the final one follows
        break
    te = (msg.header("transfer-encoding") or "").lower()
    length = msg.header("content-length")
    if request_method is not None and (
        request_method == "HEAD" or msg.status in _NO_BODY_STATUSES
    ):
        return msg
    if "chunked" in te:
        msg.body = _read_chunked(rfile)
        msg.chunked = True
    elif length is not None:
        msg.body = _read_exact(rfile, int(length))
    elif request_method is not None:
        msg.body = bytes(rfile.read())  # framed by close
        msg.until_close = True
    return msg


# -- faults ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Fault:
    """One injected failure. Build them with the class methods."""

    kind: str
    status: int = 0
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()
    forward: bool = False  # let the server process the request first

    @classmethod
    def http(cls, status: int, *, retry_after: float | None = None, forward: bool = False,
             body: bytes = b"") -> Fault:
        headers = (("Retry-After", f"{retry_after:g}"),) if retry_after is not None else ()
        return cls("status", status, body, headers, forward)

    @classmethod
    def slowdown(cls, *, forward: bool = False) -> Fault:
        """S3's throttling answer: 503 with an XML SlowDown error."""
        body = (b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code>'
                b"<Message>Please reduce your request rate.</Message></Error>")
        return cls("status", 503, body, (("Content-Type", "application/xml"),), forward)

    @classmethod
    def throttle(cls, retry_after: float = 0, *, forward: bool = False) -> Fault:
        return cls.http(429, retry_after=retry_after, forward=forward)

    @classmethod
    def reset(cls, *, forward: bool = False) -> Fault:
        """Reset the connection (RST) before any response byte."""
        return cls("reset", forward=forward)

    @classmethod
    def reset_mid_body(cls) -> Fault:
        return cls("reset_mid_body", forward=True)

    @classmethod
    def short_body(cls) -> Fault:
        return cls("short_body", forward=True)

    @classmethod
    def stall(cls, *, forward: bool = False) -> Fault:
        return cls("stall", forward=forward)

    @classmethod
    def stall_mid_body(cls) -> Fault:
        return cls("stall_mid_body", forward=True)

    @classmethod
    def corrupt(cls) -> Fault:
        return cls("corrupt", forward=True)

    @classmethod
    def wrong_hash(cls) -> Fault:
        return cls("wrong_hash", forward=True)

    @classmethod
    def strip_header(cls, name: str) -> Fault:
        """Forward the request without header ``name`` (e.g. Range: the server sends the whole object)."""
        return cls("strip_header", headers=((name, ""),), forward=True)

    @classmethod
    def shift_range(cls) -> Fault:
        """Forward the request with its Range moved one byte on; the server answers that other range."""
        return cls("shift_range", forward=True)

    @classmethod
    def lie_content_range(cls) -> Fault:
        """The real answer, its Content-Range moved one byte on (the bytes are the ones asked for)."""
        return cls("lie_content_range", forward=True)

    @classmethod
    def weak_etag(cls) -> Fault:
        return cls("weak_etag", forward=True)

    @classmethod
    def no_etag(cls) -> Fault:
        return cls("no_etag", forward=True)

    @property
    def label(self) -> str:
        if self.kind == "status":
            slow = "slowdown" if b"SlowDown" in self.body else ""
            return f"{slow or self.status}{'+fwd' if self.forward else ''}"
        if self.kind == "strip_header":
            return f"strip_header:{self.headers[0][0].lower()}"
        return self.kind + ("+fwd" if self.forward and self.kind in ("status", "reset", "stall") else "")


#: the mixed faults of the soak (and of ``set_rate`` by default)
ALL_KINDS: tuple[Fault, ...] = (
    Fault.http(500), Fault.http(502), Fault.http(503), Fault.slowdown(), Fault.throttle(0),
    Fault.http(500, forward=True), Fault.reset(), Fault.reset(forward=True), Fault.reset_mid_body(),
    Fault.short_body(), Fault.corrupt(), Fault.wrong_hash(),
)


Matcher = Callable[[Message], bool]


def on(*, method: str | None = None, path: str | None = None, query: str | None = None,
       body: bytes | None = None) -> Matcher:
    """Match requests by method, substring of the (decoded) path, of the query string, of the body."""
    from urllib.parse import unquote

    def match(req: Message) -> bool:
        if method is not None and req.method != method:
            return False
        target_path, _, target_query = req.target.partition("?")
        if path is not None and path not in unquote(target_path):
            return False
        if query is not None and query not in unquote(target_query):
            return False
        return body is None or body in req.body

    return match


@dataclass
class _Rule:
    match: Matcher
    faults: collections.deque[Fault | None]
    repeat: bool


@dataclass
class Stats:
    requests: int = 0
    connections: int = 0
    injected: collections.Counter[str] = field(default_factory=collections.Counter)


class FaultProxy:
    """A threaded HTTP/1.1 proxy on 127.0.0.1 in front of ``127.0.0.1:upstream_port``."""

    def __init__(self, upstream_port: int, *, upstream_host: str = HOST) -> None:
        self.upstream = (upstream_host, upstream_port)
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((HOST, 0))
        self._sock.listen(1024)
        self.port = int(self._sock.getsockname()[1])
        self.url = f"http://{HOST}:{self.port}"
        self._lock = threading.Lock()
        self._rules: list[_Rule] = []
        self._rate = 0.0
        self._kinds: tuple[Fault, ...] = ALL_KINDS
        self._rng = random.Random(0)
        self._rate_filter: Matcher | None = None
        self._allow: Callable[[Fault, Message], bool] | None = None
        self.drop_every = 0
        self.max_requests_per_connection = 0
        self.stats = Stats()
        self.log: list[tuple[str, str, str]] = []  # (method, target, fault label) of applied faults
        self._seen: list[Message] = []
        #: remember requests for :meth:`hits` (the soak turns this off)
        self.keep_seen = True
        self._release = threading.Event()
        self._stopped = threading.Event()
        self._conns: set[socket.socket] = set()
        self._thread = threading.Thread(target=self._accept_loop, name="faultproxy", daemon=True)

    # -- control -------------------------------------------------------------------------------------
    def start(self) -> FaultProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        self._release.set()
        with contextlib.suppress(OSError):
            self._sock.close()
        with self._lock:
            conns = list(self._conns)
        for conn in conns:
            _close(conn)

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def script(self, *faults: Fault | None, match: Matcher | None = None, repeat: bool = False) -> None:
        """Give the next requests matching ``match`` these faults in order (None: pass through)."""
        with self._lock:
            self._rules.append(_Rule(match or (lambda _r: True), collections.deque(faults), repeat))

    def always(self, fault: Fault, match: Matcher | None = None) -> None:
        """Every matching request gets ``fault`` (until :meth:`clear`)."""
        self.script(fault, match=match, repeat=True)

    def set_rate(self, rate: float, kinds: Iterable[Fault] | None = None, *, seed: int = 0,
                 match: Matcher | None = None, allow: Callable[[Fault, Message], bool] | None = None) -> None:
        """Inject a random fault of ``kinds`` into each (matching) request with probability ``rate``.
        ``allow(fault, request)`` narrows the kinds per request (e.g. corruption on object GETs only)."""
        with self._lock:
            self._rate = rate
            self._kinds = tuple(kinds) if kinds is not None else ALL_KINDS
            self._rng = random.Random(seed)
            self._rate_filter = match
            self._allow = allow

    def clear(self) -> None:
        """No more faults, counters and logs emptied; stalled connections are let go."""
        with self._lock:
            self.stats.injected.clear()
            self.log.clear()
            self._seen.clear()
            self._rules.clear()
            self._rate = 0.0
            self.drop_every = 0
            self.max_requests_per_connection = 0
        self._release.set()
        self._release = threading.Event()

    def release_stalls(self) -> None:
        self._release.set()
        self._release = threading.Event()

    def count(self, label: str | None = None) -> int:
        """Applied faults (of one label, e.g. '503', 'reset', 'corrupt')."""
        with self._lock:
            if label is None:
                return sum(self.stats.injected.values())
            return self.stats.injected[label]

    def hits(self, match: Matcher) -> int:
        """How many requests seen so far match (for asserting a retry happened)."""
        with self._lock:
            return sum(1 for req in self._seen if match(req))

    def seen(self, match: Matcher | None = None) -> list[Message]:
        """The requests seen so far (start line and headers as received; body up to 4 KiB), in order."""
        with self._lock:
            return [req for req in self._seen if match is None or match(req)]

    def _choose(self, req: Message) -> Fault | None:
        with self._lock:
            self.stats.requests += 1
            if self.keep_seen:
                self._seen.append(Message(req.start, req.headers, req.body[:4096]))
            for rule in self._rules:
                if rule.faults and rule.match(req):
                    fault = rule.faults[0]
                    if not (rule.repeat and len(rule.faults) == 1):
                        rule.faults.popleft()
                    return fault
            if (
                self._rate
                and (self._rate_filter is None or self._rate_filter(req))
                and self._rng.random() < self._rate
            ):
                kinds = self._kinds
                if self._allow is not None:
                    kinds = tuple(k for k in kinds if self._allow(k, req))
                return self._rng.choice(kinds) if kinds else None
        return None

    def _record(self, req: Message, fault: Fault) -> None:
        with self._lock:
            self.stats.injected[fault.label] += 1
            self.log.append((req.method, req.target, fault.label))

    # -- serving -------------------------------------------------------------------------------------
    def _accept_loop(self) -> None:
        n = 0
        while not self._stopped.is_set():
            try:
                conn, _addr = self._sock.accept()
            except OSError:
                return
            n += 1
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self._conns.add(conn)
                self.stats.connections += 1
            drop = bool(self.drop_every) and n % self.drop_every == 0
            threading.Thread(target=self._serve, args=(conn, drop), daemon=True).start()

    def _serve(self, client: socket.socket, drop: bool) -> None:
        upstream: socket.socket | None = None
        up_rfile: Any = None
        rfile = client.makefile("rb")
        served = 0
        try:
            while not self._stopped.is_set():
                try:
                    req = read_message(rfile)
                except (_Closed, OSError, ValueError):
                    return
                if "100" in (req.header("expect") or ""):
                    client.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
                    req.set_header("Expect", None)
                if drop:
                    self._choose(req)
                    self._record(req, Fault("drop_connection"))
                    _reset(client)
                    return
                fault = self._choose(req)
                served += 1
                if fault is not None and fault.kind in _REQUEST_REWRITES:
                    if _rewrite_request(req, fault):
                        self._record(req, fault)
                    fault = None  # forwarded as rewritten, answered untouched
                if fault is not None and not fault.forward:
                    self._record(req, fault)
                    if fault.kind == "status":
                        client.sendall(_synth(fault, req))
                        continue
                    if fault.kind == "reset":
                        _reset(client)
                        return
                    if fault.kind == "stall":
                        self._stall()
                        return
                # Forward; a kept-alive upstream connection that went stale is reopened once.
                resp: Message | None = None
                for attempt in range(2):
                    if upstream is None:
                        upstream = socket.create_connection(self.upstream, timeout=300)
                        upstream.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                        up_rfile = upstream.makefile("rb")
                    try:
                        upstream.sendall(_request_bytes(req))
                        resp = read_message(up_rfile, request_method=req.method)
                        break
                    except (_Closed, OSError):
                        _close(upstream)
                        upstream, up_rfile = None, None
                        if attempt:
                            _reset(client)
                            return
                assert resp is not None
                if resp.until_close or resp.wants_close():
                    _close(upstream) if upstream is not None else None
                    upstream, up_rfile = None, None
                close_after = resp.until_close or req.wants_close() or resp.wants_close() or (
                    self.max_requests_per_connection and served >= self.max_requests_per_connection
                )
                if close_after:
                    resp.set_header("Connection", "close")
                if fault is not None and not self._apply(client, req, resp, fault):
                    return
                if fault is None:
                    client.sendall(_response_bytes(resp, req.method))
                if close_after:
                    client.shutdown(socket.SHUT_RDWR)
                    return
        except OSError:
            return
        finally:
            with self._lock:
                self._conns.discard(client)
            _close(client)
            if upstream is not None:
                _close(upstream)

    def _stall(self) -> None:
        release = self._release
        release.wait(300)

    def _apply(self, client: socket.socket, req: Message, resp: Message, fault: Fault) -> bool:
        """Apply a fault to a real response. Returns False when the client connection is finished."""
        has_body = bool(resp.body) and req.method != "HEAD"
        kind = fault.kind
        if kind in ("reset_mid_body", "short_body", "stall_mid_body", "corrupt") and not has_body:
            # Nothing to cut or flip: the answer goes through untouched (not counted as a fault).
            client.sendall(_response_bytes(resp, req.method))
            return True
        if kind == "wrong_hash" and not _falsify_hashes(resp):
            client.sendall(_response_bytes(resp, req.method))
            return True
        if kind in _RESPONSE_REWRITES:
            if _rewrite_response(resp, fault):
                self._record(req, fault)
            client.sendall(_response_bytes(resp, req.method))
            return True
        self._record(req, fault)
        if kind == "status":
            client.sendall(_synth(fault, req))
            return True
        if kind == "reset":
            _reset(client)
            return False
        if kind == "stall":
            self._stall()
            return False
        if kind == "corrupt":
            body = bytearray(resp.body)
            body[len(body) // 2] ^= 0x55
            resp.body = bytes(body)
            client.sendall(_response_bytes(resp, req.method))
            return True
        if kind == "wrong_hash":
            client.sendall(_response_bytes(resp, req.method))
            return True
        # The rest cut the body: send it framed by Content-Length, then only part of it.
        half = len(resp.body) // 2
        client.sendall(resp.head_bytes(framing="length") + resp.body[:half])
        if kind == "reset_mid_body":
            _reset(client)
        elif kind == "short_body":
            client.shutdown(socket.SHUT_RDWR)
        else:
            self._stall()
        return False


_REQUEST_REWRITES = frozenset({"strip_header", "shift_range"})
_RESPONSE_REWRITES = frozenset({"lie_content_range", "weak_etag", "no_etag"})
_RANGE = re.compile(r"bytes=(\d*)-(\d*)$")
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)$")


def _rewrite_request(req: Message, fault: Fault) -> bool:
    """Apply a request-side fault; False when the request has nothing it applies to."""
    if fault.kind == "strip_header":
        name = fault.headers[0][0]
        if req.header(name) is None:
            return False
        req.set_header(name, None)
        return True
    match = _RANGE.match(req.header("range") or "")
    if match is None:
        return False
    first, last = match.groups()
    if not first:  # a suffix: one byte more
        req.set_header("Range", f"bytes=-{int(last) + 1}")
    else:
        req.set_header("Range", f"bytes={int(first) + 1}-{int(last) + 1 if last else ''}")
    return True


def _rewrite_response(resp: Message, fault: Fault) -> bool:
    """Apply a response-side header fault; False when the answer has nothing it applies to."""
    if fault.kind == "lie_content_range":
        match = _CONTENT_RANGE.match(resp.header("content-range") or "")
        if match is None:
            return False
        first, last, total = match.groups()
        resp.set_header("Content-Range", f"bytes {int(first) + 1}-{int(last) + 1}/{total}")
        return True
    etag = resp.header("etag")
    if not etag:
        return False
    resp.set_header("ETag", None if fault.kind == "no_etag" else f"W/{etag}")
    return True


def _request_bytes(req: Message) -> bytes:
    if req.chunked:
        body = (f"{len(req.body):x}\r\n".encode() + req.body + b"\r\n" if req.body else b"") + b"0\r\n\r\n"
        return req.head_bytes() + body
    return req.head_bytes() + req.body


def _response_bytes(resp: Message, method: str) -> bytes:
    if method == "HEAD" or resp.status in _NO_BODY_STATUSES:
        return resp.head_bytes()
    if resp.until_close:
        return resp.head_bytes(framing="length") + resp.body
    if resp.chunked:
        chunk = f"{len(resp.body):x}\r\n".encode() + resp.body + b"\r\n" if resp.body else b""
        return resp.head_bytes(framing="chunked") + chunk + b"0\r\n\r\n"
    return resp.head_bytes(framing="length") + resp.body


_REASONS = {429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway",
            503: "Service Unavailable", 504: "Gateway Timeout"}


def _synth(fault: Fault, req: Message) -> bytes:
    reason = _REASONS.get(fault.status, "Error")
    headers = [f"HTTP/1.1 {fault.status} {reason}", f"Content-Length: {len(fault.body)}"]
    headers += [f"{k}: {v}" for k, v in fault.headers]
    head = ("\r\n".join(headers) + "\r\n\r\n").encode("latin-1")
    return head + (b"" if req.method == "HEAD" else fault.body)


_WRONG_MD5 = hashlib.md5(b"not the body").digest()
_WRONG_CRC = struct.pack(">I", 0x0BADC0DE)


def _falsify_hashes(resp: Message) -> bool:
    """Replace every integrity value in ``resp`` by a wrong but well-formed one. False if none."""
    changed = False
    etag = resp.header("etag")
    if etag and re.fullmatch(r'"?[0-9a-fA-F]{32}"?', etag):
        resp.set_header("ETag", f'"{_WRONG_MD5.hex()}"')
        changed = True
    if resp.header("content-md5"):
        resp.set_header("Content-MD5", base64.b64encode(_WRONG_MD5).decode())
        changed = True
    if resp.header("x-amz-checksum-crc32c"):
        resp.set_header("x-amz-checksum-crc32c", base64.b64encode(_WRONG_CRC).decode())
        changed = True
    goog = resp.header("x-goog-hash")
    if goog:
        parts = []
        for part in goog.split(","):
            name = part.strip().partition("=")[0]
            wrong = _WRONG_MD5 if name == "md5" else _WRONG_CRC
            parts.append(f"{name}={base64.b64encode(wrong).decode()}")
        resp.set_header("x-goog-hash", ",".join(parts))
        changed = True
    ctype = resp.header("content-type") or ""
    if "json" in ctype and resp.body and (b'"md5Hash"' in resp.body or b'"crc32c"' in resp.body):
        body = re.sub(rb'("md5Hash"\s*:\s*")[^"]*"', b'\\g<1>' + base64.b64encode(_WRONG_MD5) + b'"', resp.body)
        body = re.sub(rb'("crc32c"\s*:\s*")[^"]*"', b'\\g<1>' + base64.b64encode(_WRONG_CRC) + b'"', body)
        changed = changed or body != resp.body
        resp.body = body
    return changed


def _reset(sock: socket.socket) -> None:
    """Close with an RST (SO_LINGER 0) instead of a FIN."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    _close(sock)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.close()


__all__ = ["ALL_KINDS", "Fault", "FaultProxy", "Message", "on", "read_message"]
