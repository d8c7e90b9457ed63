"""``http://`` and ``https://``: read-only access to plain web servers through the engine.

GET (whole or ranged), HEAD for exists/size/head, basic auth from secrets, and listing of servers that
publish HTML directory indexes (nginx ``autoindex``, Apache). Stored compression is reported from the
``Content-Encoding`` header and decoded by the facade; bytes are never decoded by libcurl.

* Redirects are followed (at most ``remote.MAX_REDIRECTS``, to http(s) only), for GET and HEAD alike;
  a longer chain or a loop fails with a NetworkError naming the limit.
* ``https://storage.googleapis.com/BUCKET/dir`` (what ``gs://`` becomes with ``use_https=True``) lists
  through the GCS JSON API, page by page. With ``STORAGE_EMULATOR_HOST`` set, that host's requests
  (downloads and listing) go to the emulator instead, as they do for ``gs://``.
* ``middleauth+https://`` (:class:`CaveInterface`) sends ``Authorization: Bearer <token>``.
"""

from __future__ import annotations

import base64
import html.parser
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, ClassVar
from urllib.parse import unquote, urlencode, urljoin, urlsplit

from .. import engine
from ..compression import normalize_encoding
from ..exceptions import CloudFilesError, UnsafePathError
from ..quoting import quote_key, quote_name
from .base import (
    DeleteResult,
    GetItem,
    GetResult,
    HeadResult,
    InterfaceOptions,
    ListEntry,
    PutItem,
    PutResult,
)
from .remote import RemoteInterface, get_loop, head_from_headers, response_error

# Statuses that mean "no such object" for a plain web server. 403 is included because public
# buckets served over HTTPS answer 403 for keys that do not exist (cloud-files does the same).
MISSING_STATUSES = frozenset({403, 404, 410})
ACCEPT_ENCODING = "Accept-Encoding: gzip, br, zstd"
#: the host whose URLs are GCS objects (``gs://`` with ``use_https=True``): listed through the JSON API
GCS_HOST = "storage.googleapis.com"


class _LinkParser(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            for name, value in attrs:
                if name == "href" and value:
                    self.links.append(value)


class HttpInterface(RemoteInterface):
    """Read-only HTTP(S) scheme."""

    writable = False
    encoding_labels: ClassVar[Mapping[str | None, str | None]] = {}  # the server's own names
    legacy_head_keys = None  # cloud-files gave the raw response headers; ours has them and HEAD_KEYS
    follow_redirects = True
    #: statuses that read as "no such object" (None / False) rather than an error
    missing_statuses = MISSING_STATUSES

    def __init__(self, path: Any, options: InterfaceOptions) -> None:
        super().__init__(path, options)
        if options.request_payer is not None:
            raise ValueError("request_payer is only meaningful for gs:// and s3://")
        base = (path.host or "").rstrip("/")
        key = (path.path or "").strip("/")
        #: (JSON API endpoint, bucket, object-name prefix) when the host is GCS, else None
        self.gcs: tuple[str, str, str] | None = None
        if (urlsplit(base).hostname or "").lower() == GCS_HOST and key:
            from ..gcs_auth import emulator_host

            bucket, _, prefix = key.partition("/")
            api = emulator_host() or base
            self.gcs = (api, unquote(bucket), unquote(prefix))
            base = api
        self.base_url = f"{base}/{quote_key(key)}" if key else base
        self.auth_headers = self._auth_headers(options.secrets)

    @staticmethod
    def _auth_headers(secrets: Any) -> list[str]:
        from ..secrets import http_credentials

        creds = http_credentials(secrets)
        if not creds:
            return []
        user, password = creds
        token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
        return [f"Authorization: Basic {token}"]

    def url(self, key: str) -> str:
        """The URL of ``key``. A key with a ``..`` segment is refused (:class:`UnsafePathError`, as on
        file://): the request is sent as written, and a server or proxy would resolve it to another
        object, outside this CloudFiles' directory."""
        key = key.lstrip("/")
        _refuse_dot_dot(key)
        return f"{self.base_url}/{quote_key(key)}" if key else self.base_url

    # -- reads -------------------------------------------------------------------------------------
    def get_files(self, items: Iterable[GetItem]) -> Iterator[GetResult]:
        return get_loop(items, self._get_request, self.run, self._get_result)

    def _get_request(self, item: GetItem, rng: str | None) -> engine.Request:
        url = self.url(item.path)  # first: an unsafe key is refused (UnsafePathError) whatever the range
        if rng is None:
            return engine.Request("GET", url, [*self.auth_headers, ACCEPT_ENCODING], context=item, split=True)
        return engine.Request("GET", url, [*self.auth_headers, rng], context=item, byte_range=(item.start, item.end))

    def _get_result(self, resp: engine.Response) -> GetResult:
        item: GetItem = resp.context
        if resp.error is None and resp.status in (200, 206):
            return GetResult(item=item, content=resp.body, encoding=normalize_encoding(resp.header("content-encoding")))
        if resp.error is None and resp.status in self.missing_statuses:
            return GetResult(item=item)
        if resp.error is None and resp.status == 416:  # range starts past the end
            return GetResult(item=item, content=b"")
        return GetResult(item=item, error=self._error(resp))

    def _error(self, resp: engine.Response) -> CloudFilesError:
        return response_error(resp)

    def head_files(self, paths: Iterable[str]) -> Iterator[HeadResult]:
        # Accept-Encoding as for a GET, so a server that stores a compressed variant (nginx
        # gzip_static) describes the object a GET would return.
        headers = [*self.auth_headers, ACCEPT_ENCODING]
        refused: list[HeadResult] = []

        def requests() -> Iterator[engine.Request]:
            for p in paths:
                try:
                    yield engine.Request("HEAD", self.url(p), headers, context=p)
                except UnsafePathError as err:
                    refused.append(HeadResult(p, None, err))

        for resp in self.run(requests()):
            yield from _drain(refused)
            path: str = resp.context
            if resp.error is None and 200 <= resp.status < 300:
                head = head_from_headers(resp.headers)
                for name, value in resp.headers.items():
                    head.setdefault(name.title(), value)
                yield HeadResult(path, head)
            elif resp.error is None and resp.status in self.missing_statuses:
                yield HeadResult(path, None)
            else:
                yield HeadResult(path, None, self._error(resp))
        yield from _drain(refused)

    # -- writes: a plain web server is read-only here ------------------------------------------------
    def put_files(self, items: Iterable[PutItem]) -> Iterator[PutResult]:
        raise NotImplementedError("http(s):// is read-only: put is not supported")

    def delete_files(self, paths: Iterable[str]) -> Iterator[DeleteResult]:
        raise NotImplementedError("http(s):// is read-only: delete is not supported")

    # -- listing from HTML directory indexes ---------------------------------------------------------
    def _index(self, directory: str) -> list[str]:
        """Hrefs of the index page of ``directory`` (relative to the base; '' or ending in '/')."""
        url = self.url(directory)
        if not url.endswith("/"):
            url += "/"
        resp = self.run_one(engine.Request("GET", url, self.auth_headers))
        if resp.error is None and resp.status in self.missing_statuses:
            return []
        if not resp.ok:
            raise self._error(resp)
        if "html" not in (resp.header("content-type") or ""):
            raise NotImplementedError(f"{url} does not serve an HTML directory index: cannot list")
        parser = _LinkParser()
        parser.feed(resp.body.decode("utf-8", "replace"))
        base_path = urlsplit(url).path
        names = []
        for href in parser.links:
            target = urlsplit(urljoin(url, href))
            if target.query or target.fragment or not target.path.startswith(base_path):
                continue  # sort links, parent directory, other sites
            rel = unquote(target.path[len(base_path):])
            if rel and rel not in ("./", "../"):
                names.append(rel)
        return names

    def list_files(
        self, prefix: str, *, flat: bool, size: bool, resume_token: str | None = None
    ) -> Iterator[ListEntry]:
        prefix = prefix.lstrip("/")
        _refuse_dot_dot(prefix)
        if self.gcs is not None:
            yield from self._list_gcs(prefix, flat=flat, size=size, resume_token=resume_token)
            return
        stack = [prefix[: prefix.rfind("/") + 1]]
        while stack:
            current = stack.pop()
            files = []
            for name in self._index(current):
                full = current + name
                if name.endswith("/"):
                    if flat and full.startswith(prefix):
                        yield ListEntry(full)
                    elif not flat and (full.startswith(prefix) or prefix.startswith(full)):
                        stack.append(full)
                elif full.startswith(prefix):
                    files.append(full)
            if not size:
                yield from (ListEntry(name) for name in files)
                continue
            for res in self.head_files(files):
                if res.error is not None:
                    raise res.error
                yield ListEntry(res.path, size=None if res.head is None else res.head["Content-Length"])

    def _list_gcs(self, prefix: str, *, flat: bool, size: bool, resume_token: str | None) -> Iterator[ListEntry]:
        """List a GCS bucket through the JSON API (anonymous unless secrets give a header), page by page.

        Names are relative to the CloudFiles' directory, as for every scheme; ``flat`` lists one level
        (``delimiter=/``, subdirectories as ``dir/``). An entry's ``resume_token`` is the token of the
        next page (None on the last), as for ``gs://``.
        """
        from .gs import list_params, parse_list_page

        if self.gcs is None:  # only called when the URL named storage.googleapis.com
            raise NotImplementedError("listing needs a GCS JSON API URL")
        api, bucket, base = self.gcs
        base = base.strip("/")
        params = list_params(f"{base}/{prefix}" if base else prefix, flat=flat, size=size)
        url = f"{api}/storage/v1/b/{quote_name(bucket)}/o"
        token = resume_token
        while True:
            query = urlencode(params + ([("pageToken", token)] if token else []), safe="(),")
            resp = self.run_one(engine.Request("GET", f"{url}?{query}", self.auth_headers))
            if not resp.ok:
                raise self._error(resp)
            entries, token = parse_list_page(resp.body, len(base) + 1 if base else 0, size=size)
            yield from entries
            if not token:
                return

    def close(self) -> None:
        pass


class CaveInterface(HttpInterface):
    """``middleauth+https://host/path``: a CAVE service (https://github.com/CAVEconnectome), read-only.

    Every request carries ``Authorization: Bearer <token>``. The token is ``secrets=`` (``{'token': ...}``
    as a dict or JSON string; cloud-files ignored it), else ``token`` of ``{server}-cave-secret.json``,
    else of ``cave-secret.json`` (``server`` is the URL's host, with its port if any), looked up in the
    usual secrets directories. Unlike a public web server, 401 and 403 are errors
    (:class:`~cloudfiles.exceptions.AuthorizationError`), never "missing".
    """

    missing_statuses = frozenset({404, 410})

    def __init__(self, path: Any, options: InterfaceOptions) -> None:
        super().__init__(path, options)
        from ..secrets import cave_credentials

        self.server = urlsplit(path.host or "").netloc
        found = cave_credentials(self.server, options.secrets)
        self.has_token = found is not None
        if found is not None:
            # The bearer token replaces basic auth from http-secret.json: one Authorization header.
            self.auth_headers = [f"Authorization: Bearer {found['token']}"]

    def _error(self, resp: engine.Response) -> CloudFilesError:
        error = response_error(resp)
        if resp.error is None and resp.status == 401 and not self.has_token:
            error.args = (
                f"{error.args[0]} (no CAVE token: pass secrets={{'token': ...}} or put "
                f"{self.server}-cave-secret.json or cave-secret.json in a secrets directory)",
                *error.args[1:],
            )
        return error

    def __repr__(self) -> str:
        return f"CaveInterface({self.base_url})"


def _refuse_dot_dot(key: str) -> None:
    if ".." in key and ".." in key.split("/"):
        raise UnsafePathError(f"Unsafe key {key!r}: '..' would escape the root directory.")


def _drain(results: list[Any]) -> Iterator[Any]:
    while results:
        yield results.pop(0)


__all__ = ["CaveInterface", "HttpInterface"]
