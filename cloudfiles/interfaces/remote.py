"""Shared machinery of the network schemes (http, s3, gs): they build requests, the engine moves them.

A network interface only has to turn contract items into :class:`~cloudfiles.engine.Request` objects
(URL, headers, signing) and turn :class:`~cloudfiles.engine.Response` objects back into results. This
module holds what all of them share: running a lazy batch through the engine, the get loop, range
headers, sending a request again with fresh credentials, status -> exception mapping, and header ->
head-dict conversion. URL quoting is :mod:`cloudfiles.quoting`; upload bodies are :mod:`.bodies`.
"""

from __future__ import annotations

import email.utils
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any, ClassVar

import pycurl

from .. import engine
from ..exceptions import CloudFilesError, http_error
from ..quoting import quote_key
from ..retry import Retry, Timeout
from .base import GetItem, GetResult, InterfaceOptions, StorageInterface, empty_head

__all__ = [
    "CA_BUNDLE_ENV",
    "MAX_REDIRECTS",
    "RemoteInterface",
    "ca_options",
    "get_loop",
    "head_from_headers",
    "quote_key",
    "range_header",
    "response_error",
    "transport_options",
]

# Response header -> head-dict key, for the keys every scheme shares.
_HEADER_KEYS = {
    "cache-control": "Cache-Control",
    "content-length": "Content-Length",
    "content-type": "Content-Type",
    "etag": "ETag",
    "last-modified": "Last-Modified",
    "content-md5": "Content-Md5",
    "content-encoding": "Content-Encoding",
    "content-disposition": "Content-Disposition",
    "content-language": "Content-Language",
}


def range_header(start: int | None, end: int | None) -> str | None:
    """HTTP Range for the half-open byte range [start, end); None for the whole object.

    A negative ``start`` with no ``end`` asks for the last ``-start`` bytes (a suffix range).
    """
    if start is None and end is None:
        return None
    if start is not None and start < 0:
        if end is not None:
            raise ValueError(f"a negative start ({start}) needs an open end, got end={end}")
        return f"Range: bytes={start}"
    if end is not None and end < 0:
        raise ValueError(f"negative end ({end}) is not supported for remote reads")
    first = start or 0
    if end is None:
        return f"Range: bytes={first}-"
    if end <= first:
        return ""  # empty range: nothing to fetch
    return f"Range: bytes={first}-{end - 1}"


def get_loop(
    items: Iterable[GetItem],
    make: Callable[[GetItem, str | None], Any],
    send: Callable[[Iterable[Any]], Iterator[engine.Response]],
    finish: Callable[[engine.Response], GetResult | None],
) -> Iterator[GetResult]:
    """The get loop every network scheme runs: results in completion order, the input read lazily.

    For each item, ``make(item, range_header)`` gives what ``send`` turns into responses: one request
    (or a scheme's op), or a tuple of them. ``finish(response)`` gives the item's result (None while
    a result waits for another response of a tuple). Items that need no request are answered here: an
    invalid range (``ValueError``, also from ``make``: an unsafe key) with its error, an empty range
    with ``b""``; their results go out between the responses, in input order.
    """
    answered: deque[GetResult] = deque()

    def requests() -> Iterator[Any]:
        for item in items:
            try:
                rng = range_header(item.start, item.end)
                request = make(item, rng)
            except ValueError as err:
                answered.append(GetResult(item=item, error=err))
                continue
            if rng == "":
                answered.append(GetResult(item=item, content=b""))
            elif type(request) is tuple:
                yield from request
            else:
                yield request

    for resp in send(requests()):
        while answered:
            yield answered.popleft()
        result = finish(resp)
        if result is not None:
            yield result
    while answered:
        yield answered.popleft()


def parse_http_date(value: str | None) -> Any:
    if not value:
        return None
    try:
        return email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None


def head_from_headers(headers: dict[str, str]) -> dict[str, Any]:
    """A head dict with every HEAD_KEYS key, from lower-cased response headers."""
    head = empty_head()
    for name, key in _HEADER_KEYS.items():
        value = headers.get(name)
        if value is not None:
            head[key] = value
    if head["Content-Length"] is not None:
        head["Content-Length"] = int(head["Content-Length"])
    head["Last-Modified"] = parse_http_date(headers.get("last-modified"))
    return head


def response_error(response: engine.Response) -> CloudFilesError:
    """The named exception for a failed response (transport error or HTTP status)."""
    if response.error is not None:
        return response.error
    body = response.body[:4096] or None
    text = body[:300].decode("utf-8", "replace").strip() if body else ""
    # An HTML or XML error page makes a poor message; scheme-specific parsers extract codes from XML.
    message = None if not text or text.startswith("<") else text.splitlines()[0]
    return http_error(response.status, response.request.url, body, message)


#: Environment variables naming a CA bundle, first set wins: what ``requests`` reads (google-cloud-storage
#: and cloud-files' http used it), then OpenSSL's own variable (the libcurl in pycurl's wheels ignores it).
CA_BUNDLE_ENV: tuple[str, ...] = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE")
#: Redirects a plain web server may answer with before a request fails (requests allows 30).
MAX_REDIRECTS = 10


def ca_options(names: tuple[str, ...], environ: Any = None) -> tuple[tuple[int, Any], ...]:
    """``(pycurl option, value)`` pairs for the first of ``names`` set in the environment: its file
    becomes ``CAINFO`` (a directory, ``CAPATH``). Empty when none is set: libcurl's default store."""
    env = os.environ if environ is None else environ
    for name in names:
        value = env.get(name)
        if value:
            return ((pycurl.CAPATH if os.path.isdir(value) else pycurl.CAINFO, value),)
    return ()


def transport_options(ca_env: tuple[str, ...], follow_redirects: bool) -> tuple[tuple[int, Any], ...]:
    """The curl options every request of an interface carries (read once, when it is built)."""
    opts = ca_options(ca_env)
    if follow_redirects:
        # Only to http(s) (never file:// or other schemes a Location could name). libcurl drops an
        # Authorization header when a redirect leaves the host, as requests does.
        opts += (
            (pycurl.FOLLOWLOCATION, 1),
            (pycurl.MAXREDIRS, MAX_REDIRECTS),
            (pycurl.REDIR_PROTOCOLS, pycurl.PROTO_HTTP | pycurl.PROTO_HTTPS),
        )
    return opts


def _with_options(
    requests: Iterable[engine.Request], options: tuple[tuple[int, Any], ...]
) -> Iterator[engine.Request]:
    for request in requests:
        if not request.options:
            request.options = options
        yield request


class RemoteInterface(StorageInterface):
    """Base of the network schemes: holds the engine settings and runs batches through it."""

    #: where this scheme's CA bundle may be named (s3 puts ``AWS_CA_BUNDLE`` first, as boto3 does)
    ca_bundle_env: tuple[str, ...] = CA_BUNDLE_ENV
    #: follow redirects: plain web servers only; a signed S3/GCS request must not be replayed elsewhere
    follow_redirects: bool = False
    #: a request costs a round trip: merge nearby ranges of one object (see StorageInterface)
    coalesce_ranges: ClassVar[bool] = True

    def __init__(self, path: Any, options: InterfaceOptions) -> None:
        super().__init__(path, options)
        #: curl options of every request (CA bundle, redirects): read from the environment once, here
        self.curl_options = transport_options(self.ca_bundle_env, self.follow_redirects)
        self.retry = Retry()
        timeout = Timeout()
        if options.connect_timeout is not None or options.read_timeout is not None:
            timeout = Timeout(
                connect=options.connect_timeout if options.connect_timeout is not None else timeout.connect,
                read=options.read_timeout if options.read_timeout is not None else timeout.read,
            )
        self.timeout = timeout

    @classmethod
    def reset_connection_pools(cls) -> None:
        """Drop this thread's engines and their connections (``cloudfiles.reset_connection_pools``)."""
        engine.reset_engines()

    def run(self, requests: Iterable[engine.Request]) -> Iterator[engine.Response]:
        """Run a lazy batch of requests through this thread's engine, completion order."""
        if self.curl_options:
            requests = _with_options(requests, self.curl_options)
        return engine.transfer(
            requests,
            concurrency=max(1, int(self.options.concurrency or 1)),
            retry=self.retry,
            timeout=self.timeout,
            green=self.options.green,
            max_host_connections=self.options.max_host_connections,
        )

    def run_one(self, request: engine.Request) -> engine.Response:
        """Run one request to completion (with this interface's curl options)."""
        if not request.options:
            request.options = self.curl_options
        return engine.request_one(
            request, retry=self.retry, timeout=self.timeout, green=self.options.green,
            max_host_connections=self.options.max_host_connections,
        )

    def resend(self, response: engine.Response) -> engine.Response:
        """Send ``response``'s request once more, its headers signed again (``Request.resign``) with
        the credentials as they are now: after a 401 made the scheme drop a rejected token."""
        req = response.request
        if req.resign is None:
            raise ValueError("a request without a resign hook cannot be sent again with fresh credentials")
        again = engine.Request(
            req.method, req.url, req.resign(req, []), req.body, body_size=req.body_size, context=req.context,
            split=req.split, max_size=req.max_size, options=req.options, byte_range=req.byte_range,
            resign=req.resign, signing=req.signing,
        )
        return self.run_one(again)
