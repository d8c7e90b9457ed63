"""``gs://``: Google Cloud Storage over its JSON API, every request through the engine.

Downloads are media GETs (``alt=media``) sent with ``Accept-Encoding: gzip``, so objects stored with
``Content-Encoding: gzip`` come back as stored (GCS would otherwise decompress them on the fly); the
facade decodes them unless ``raw=True``. The stored encoding is read from the response
(``x-goog-stored-content-encoding`` / ``Content-Encoding``). A server that reports neither (the
emulator) is asked for the object's metadata instead: after the first such answer, each download goes
out as a pair (metadata GET + media GET, in flight together). The whole-object hash comes from
``x-goog-hash``: md5 when the object has one, crc32c for composite objects; the facade verifies it.

Uploads are simple media uploads when only a Content-Type is needed (with ``X-Goog-Hash: crc32c=`` so
the server verifies the bytes), multipart uploads with JSON metadata (contentType, contentEncoding,
cacheControl, storageClass, crc32c) otherwise, and composite uploads (parts, then ``compose`` 32 at a
time, parts always deleted) above ``composite_upload_threshold``.

head/size/exists are metadata GETs with ``fields=``; delete is one DELETE per object, many in flight,
or JSON batch requests of 100 calls where the server takes them (exists too, on Google's endpoint: the
emulator answers every batched GET with 404). Listing streams page by page; every page request repeats
the prefix and delimiter. ``request_payer`` becomes ``userProject`` on every request.
"""

from __future__ import annotations

import datetime
import io
import os
import re
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, ClassVar
from urllib.parse import quote, urlencode

import orjson

from .. import engine, gcs_auth
from ..compression import encoding_header, normalize_encoding
from ..exceptions import CloudFilesError, CRC32CIntegrityError, http_error, object_exists
from ..lib import crc32c, crc32c_combine, crc32c_to_b64
from .base import (
    HEAD_KEYS,
    Copier,
    DeleteResult,
    GetItem,
    GetResult,
    HeadResult,
    InterfaceOptions,
    ListEntry,
    PutItem,
    PutResult,
    StorageInterface,
    empty_head,
)
from .remote import RemoteInterface, range_header

ACCEPT_GZIP = "Accept-Encoding: gzip"
#: calls per JSON batch request (the service's limit)
BATCH_SIZE = 100
#: objects per compose request (the service's limit)
COMPOSE_LIMIT = 32
#: entries per listing page (the service's maximum)
PAGE_SIZE = 1000
# Above this, multipart bodies are streamed from their parts instead of being concatenated.
_CONCAT_LIMIT = 1 << 20

HEAD_FIELDS = (
    "name,size,contentType,contentEncoding,contentDisposition,contentLanguage,cacheControl,etag,"
    "md5Hash,crc32c,storageClass,updated,timeCreated,componentCount,generation"
)
_MEDIA_META_FIELDS = "contentEncoding,md5Hash,crc32c,componentCount,generation"
_STATUS_RE = re.compile(rb"HTTP/\d(?:\.\d)?\s+(\d{3})")
_CONTENT_ID_RE = re.compile(rb"content-id:\s*<response-[^>]*?(\d+)>", re.IGNORECASE)
_BOUNDARY_RE = re.compile(r'boundary="?([^";]+)"?', re.IGNORECASE)


_PLAIN_NAME = re.compile(r"[A-Za-z0-9_.~/-]*\Z").match


def quote_name(name: str) -> str:
    """Percent-encode an object name as one URL path segment ('/' included), as the JSON API wants."""
    if _PLAIN_NAME(name):
        return name.replace("/", "%2F")  # the common case, without urllib's per-character work
    return quote(name, safe="")


class _Unknown:
    pass


_UNKNOWN = _Unknown()


def gcs_error(response: engine.Response) -> CloudFilesError:
    """The named exception for a failed JSON API response, with the service's message if it sent one."""
    if response.error is not None:
        return response.error
    return _status_error(response.status, response.request.url, response.body)


def _status_error(status: int, url: str, body: bytes | None) -> CloudFilesError:
    message = None
    if body:
        try:
            doc = orjson.loads(body)
            err = doc.get("error") if isinstance(doc, dict) else None
            if isinstance(err, dict):
                message = err.get("message")
            elif isinstance(err, str):
                message = doc.get("error_description") or err
        except orjson.JSONDecodeError:
            text = bytes(body[:300]).decode("utf-8", "replace").strip()
            message = text.splitlines()[0] if text and not text.startswith("<") else None
    return http_error(status, url, bytes(body[:4096]) if body else None, message)


def parse_goog_hash(value: str | None) -> dict[str, str]:
    """``x-goog-hash: crc32c=AAA==,md5=BBB==`` (possibly repeated) -> ``{'crc32c': 'AAA==', 'md5': ...}``."""
    out: dict[str, str] = {}
    if not value:
        return out
    for part in value.split(","):
        name, sep, digest = part.strip().partition("=")
        if sep:
            out[name.strip().lower()] = digest.strip()
    return out


def _server_hash(hashes: dict[str, str]) -> tuple[str | None, str | None]:
    # Composite objects have no md5: their integrity check is the crc32c.
    if hashes.get("md5"):
        return hashes["md5"], "md5"
    if hashes.get("crc32c"):
        return hashes["crc32c"], "crc32c"
    return None, None


def _parse_time(value: Any) -> datetime.datetime | None:
    if not value or not isinstance(value, str):
        return None
    try:
        return datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def head_from_metadata(meta: dict[str, Any]) -> dict[str, Any]:
    """A head dict (every HEAD_KEYS key) from a JSON API object resource."""
    head = empty_head()
    size = meta.get("size")
    head.update({
        "Cache-Control": meta.get("cacheControl"),
        "Content-Length": None if size is None else int(size),
        "Content-Type": meta.get("contentType"),
        "ETag": meta.get("etag"),
        # Last modification, not creation time (cloud-files reported time_created).
        "Last-Modified": _parse_time(meta.get("updated") or meta.get("timeCreated")),
        "Content-Md5": meta.get("md5Hash"),
        "Content-Crc32c": meta.get("crc32c"),
        "Content-Encoding": meta.get("contentEncoding"),
        "Content-Disposition": meta.get("contentDisposition"),
        "Content-Language": meta.get("contentLanguage"),
        "Storage-Class": meta.get("storageClass"),
        "Component-Count": None if meta.get("componentCount") is None else int(meta["componentCount"]),
    })
    return head


def _byte_range(item: GetItem, rng: str | None) -> tuple[int | None, int | None] | None:
    """What the engine checks a ranged answer against (None for a whole-object GET)."""
    return (item.start, item.end) if rng else None


def _nbytes(content: Any) -> int:
    try:
        return memoryview(content).nbytes
    except TypeError:
        return len(content)


def _remaining(fh: Any) -> int:
    pos = fh.tell()
    end = fh.seek(0, os.SEEK_END)
    fh.seek(pos)
    return int(end - pos)


class _ChainBody(io.RawIOBase):
    """A read-only, seekable concatenation of buffers and one file region, streamed to the engine.

    Lets a multipart upload of a large buffer or a file handle go out without joining it in memory.
    """

    def __init__(self, pieces: list[Any]) -> None:
        super().__init__()
        # Each piece: (kind, obj, offset, size); kind 'buf' or 'file'.
        self._pieces: list[tuple[str, Any, int, int]] = []
        for piece in pieces:
            if hasattr(piece, "read"):
                self._pieces.append(("file", piece, piece.tell(), _remaining(piece)))
            else:
                view = memoryview(piece).cast("B")
                self._pieces.append(("buf", view, 0, view.nbytes))
        self._size = sum(p[3] for p in self._pieces)
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self._pos, os.SEEK_END: self._size}[whence]
        self._pos = max(0, min(self._size, base + offset))
        return self._pos

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            n = self._size - self._pos
        out = bytearray()
        start = 0
        for kind, obj, offset, size in self._pieces:
            if len(out) >= n or self._pos >= self._size:
                break
            if self._pos < start + size:
                within = self._pos - start
                take = min(size - within, n - len(out))
                if kind == "buf":
                    out += obj[within : within + take]
                else:
                    obj.seek(offset + within)
                    out += obj.read(take)
                self._pos += take
            start += size
        return bytes(out)


class _Pair:
    """A download sent as metadata GET + media GET together (servers that do not report encodings)."""

    __slots__ = ("item", "meta", "media")

    def __init__(self, item: GetItem) -> None:
        self.item = item
        self.meta: engine.Response | None = None
        self.media: engine.Response | None = None


class GCSInterface(RemoteInterface):
    """Google Cloud Storage (``gs://bucket/path``) through the JSON API."""

    exists_batch_size = BATCH_SIZE
    delete_batch_size = BATCH_SIZE
    encoding_labels: ClassVar[Mapping[str | None, str | None]] = {}  # GCS stores bz2 as "bz2"
    legacy_delete_batch_size = 1000
    legacy_head_keys = tuple(k for k in HEAD_KEYS if k not in ("Request-Charged", "Parts-Count"))

    def __init__(self, path: Any, options: InterfaceOptions) -> None:
        super().__init__(path, options)
        if not path.bucket:
            raise ValueError("a gs:// path needs a bucket: gs://BUCKET/path")
        self.bucket: str = path.bucket
        self.base: str = (path.path or "").strip("/")
        self.endpoint = gcs_auth.endpoint_for(options.endpoint or path.host)
        self.emulated = gcs_auth.emulator_host() is not None
        self.project, self.auth = gcs_auth.credentials_source(self.bucket, options.secrets)
        bucket = quote(self.bucket, safe="")
        self.object_base = f"{self.endpoint}/storage/v1/b/{bucket}/o"
        self.upload_base = f"{self.endpoint}/upload/storage/v1/b/{bucket}/o"
        self.batch_url = f"{self.endpoint}/batch/storage/v1"
        self._batch_object_path = f"/storage/v1/b/{bucket}/o"
        payer = options.request_payer
        #: "&userProject=..." (or '') appended to every query string
        self.user_project_qs = f"&userProject={quote(payer, safe='')}" if payer else ""
        #: send deletes as JSON batch requests (turned off if the server refuses the batch endpoint)
        self.batch_deletes = True
        #: send exists as batch requests: only on Google's own endpoint (gcp-storage-emulator answers
        #: every batched GET 404, which would read as "missing")
        self.batch_reads = self.endpoint == gcs_auth.DEFAULT_ENDPOINT
        # Does this server say how downloads are encoded? None: not known yet; False: ask metadata.
        self._reports_encoding: bool | None = None
        self.composite_threshold = int(options.composite_upload_threshold or 0)

    # -- helpers -----------------------------------------------------------------------------------
    def key(self, path: str) -> str:
        """The object name of ``path`` (relative to this CloudFiles' directory)."""
        if not isinstance(path, str):
            raise TypeError(f"key must be a str. Got: {type(path).__name__}")
        return f"{self.base}/{path}" if self.base else path

    def object_url(self, key: str) -> str:
        """The JSON API URL of the object named ``key`` (a full object name)."""
        return f"{self.object_base}/{quote_name(key)}"

    def _auth(self) -> list[str]:
        try:
            return self.auth.headers()
        except Exception as err:
            raise gcs_auth.wrap_auth_error(err) from err

    def _metadata_request(self, key: str, fields: str, context: Any) -> engine.Request:
        url = f"{self.object_url(key)}?fields={fields}{self.user_project_qs}"
        return engine.Request("GET", url, self._auth(), context=context)

    def _one(self, request: engine.Request) -> engine.Response:
        return self.run_one(request)

    def _reauthorized(self, resp: engine.Response) -> engine.Response:
        """On a 401 with credentials, refresh the token and send the request once more."""
        if resp.error is not None or resp.status != 401 or self.auth is gcs_auth.ANONYMOUS:
            return resp
        req = resp.request
        if req.body is not None and hasattr(req.body, "read"):
            return resp  # a consumed stream cannot be replayed here
        auth_prefixes = ("authorization:", "x-goog-user-project:")
        self.auth.invalidate([h for h in req.headers if h.lower().startswith(auth_prefixes)])
        headers = [h for h in req.headers if not h.lower().startswith(auth_prefixes)]
        retry = engine.Request(
            req.method, req.url, [*self._auth(), *headers], req.body, context=req.context, split=req.split,
            byte_range=req.byte_range,
        )
        return self._one(retry)

    # -- reads -------------------------------------------------------------------------------------
    def get_files(self, items: Iterable[GetItem]) -> Iterator[GetResult]:
        immediate: deque[GetResult] = deque()

        def requests() -> Iterator[engine.Request]:
            for item in items:
                try:
                    rng = range_header(item.start, item.end)
                except ValueError as err:
                    immediate.append(GetResult(item=item, error=err))
                    continue
                if rng == "":
                    immediate.append(GetResult(item=item, content=b""))
                    continue
                key = self.key(item.path)
                headers = [*self._auth(), ACCEPT_GZIP]
                if rng is not None:
                    headers.append(rng)
                url = f"{self.object_url(key)}?alt=media{self.user_project_qs}"
                if self._reports_encoding is False:
                    pair = _Pair(item)
                    yield self._metadata_request(key, _MEDIA_META_FIELDS, (pair, "meta"))
                    yield engine.Request("GET", url, headers, context=(pair, "media"), split=rng is None,
                                         byte_range=_byte_range(item, rng))
                else:
                    yield engine.Request("GET", url, headers, context=item, split=rng is None,
                                         byte_range=_byte_range(item, rng))

        for resp in self.run(requests()):
            while immediate:
                yield immediate.popleft()
            ctx = resp.context
            if isinstance(ctx, tuple):
                pair, kind = ctx
                if kind == "meta":
                    pair.meta = resp
                else:
                    pair.media = resp
                if pair.meta is not None and pair.media is not None:
                    yield self._pair_result(pair)
            else:
                yield self._media_result(self._reauthorized(resp))
        while immediate:
            yield immediate.popleft()

    def _media_result(self, resp: engine.Response) -> GetResult:
        item: GetItem = resp.context
        status = resp.status
        if resp.error is not None or status not in (200, 206):
            return self._failed_get(item, resp)
        body = resp.body  # a 200 to a ranged GET (the Range ignored) was cut to the range by the engine
        hashes = parse_goog_hash(resp.header("x-goog-hash"))
        try:
            encoding = self._encoding_of(resp, hashes)
        except CloudFilesError as err:
            return GetResult(item=item, error=err)
        if isinstance(encoding, _Unknown):
            # This server does not say how bodies are encoded: ask the metadata for this one, and send
            # later downloads as metadata + media pairs.
            self._reports_encoding = False
            return self._sequential_get(item)
        if self._reports_encoding is None:
            self._reports_encoding = True
        server_hash, hash_type = _server_hash(hashes)
        return GetResult(item=item, content=body, encoding=encoding, server_hash=server_hash, hash_type=hash_type)

    @staticmethod
    def _encoding_of(resp: engine.Response, hashes: dict[str, str]) -> str | None | _Unknown:
        stored = resp.header("x-goog-stored-content-encoding")
        sent = resp.header("content-encoding")
        if stored is not None:
            encoding = normalize_encoding(sent)
            if normalize_encoding(stored) != encoding:
                # Decompressive transcoding happened after all: the body is not the stored bytes, so
                # the stored bytes' hash does not apply to it.
                hashes.clear()
            return encoding
        if sent is not None:
            return normalize_encoding(sent)
        return _UNKNOWN

    def _failed_get(self, item: GetItem, resp: engine.Response) -> GetResult:
        if resp.error is None and resp.status == 404:
            return GetResult(item=item)
        if resp.error is None and resp.status == 416:  # range starts past the end
            return GetResult(item=item, content=b"")
        return GetResult(item=item, error=gcs_error(resp))

    def _pair_result(self, pair: _Pair) -> GetResult:
        item = pair.item
        meta_resp, media = pair.meta, pair.media
        assert meta_resp is not None and media is not None
        if media.error is not None or media.status not in (200, 206):
            return self._failed_get(item, media)
        if meta_resp.error is not None or meta_resp.status != 200:
            if meta_resp.error is None and meta_resp.status == 404:
                return GetResult(item=item)  # deleted between the two requests
            return GetResult(item=item, error=gcs_error(meta_resp))
        meta = orjson.loads(meta_resp.body)
        hashes = parse_goog_hash(media.header("x-goog-hash"))
        if hashes.get("md5") and meta.get("md5Hash") and hashes["md5"] != meta["md5Hash"]:
            return self._sequential_get(item)  # overwritten between the two requests: try again
        return self._combine(item, media, meta, hashes)

    def _combine(
        self, item: GetItem, media: engine.Response, meta: dict[str, Any], hashes: dict[str, str]
    ) -> GetResult:
        body = media.body
        try:
            encoding = normalize_encoding(meta.get("contentEncoding"))
        except CloudFilesError as err:
            return GetResult(item=item, error=err)
        if not hashes:
            hashes = {k: v for k, v in (("md5", meta.get("md5Hash")), ("crc32c", meta.get("crc32c"))) if v}
        server_hash, hash_type = _server_hash(hashes)
        return GetResult(item=item, content=body, encoding=encoding, server_hash=server_hash, hash_type=hash_type)

    def _sequential_get(self, item: GetItem, attempts: int = 3) -> GetResult:
        """Metadata, then the media pinned to that generation (for servers without encoding headers)."""
        key = self.key(item.path)
        for _ in range(attempts):
            meta_resp = self._one(self._metadata_request(key, _MEDIA_META_FIELDS, item))
            if meta_resp.error is None and meta_resp.status == 404:
                return GetResult(item=item)
            if not meta_resp.ok:
                return GetResult(item=item, error=gcs_error(meta_resp))
            meta = orjson.loads(meta_resp.body)
            headers = [*self._auth(), ACCEPT_GZIP]
            rng = range_header(item.start, item.end)
            if rng:
                headers.append(rng)
            url = f"{self.object_url(key)}?alt=media{self.user_project_qs}"
            media = self._one(engine.Request("GET", url, headers, context=item, split=rng is None,
                                             byte_range=_byte_range(item, rng)))
            if media.error is not None or media.status not in (200, 206):
                return self._failed_get(item, media)
            hashes = parse_goog_hash(media.header("x-goog-hash"))
            if hashes.get("md5") and meta.get("md5Hash") and hashes["md5"] != meta["md5Hash"]:
                continue  # changed again between the two requests
            return self._combine(item, media, meta, hashes)
        return GetResult(item=item, error=CloudFilesError(f"{item.path} changed during every download attempt"))

    def _metadata(self, paths: Iterable[str], fields: str) -> Iterator[tuple[str, Any, BaseException | None]]:
        """``(path, object resource or None, error)`` per path, from metadata GETs, completion order."""
        requests = (self._metadata_request(self.key(p), fields, p) for p in paths)
        for resp in self.run(requests):
            resp = self._reauthorized(resp)
            path: str = resp.context
            if resp.ok:
                yield path, orjson.loads(resp.body), None
            elif resp.error is None and resp.status == 404:
                yield path, None, None
            else:
                yield path, None, gcs_error(resp)

    def head_files(self, paths: Iterable[str]) -> Iterator[HeadResult]:
        for path, meta, error in self._metadata(paths, HEAD_FIELDS):
            yield HeadResult(path, None if meta is None else head_from_metadata(meta), error)

    def size_files(self, paths: Iterable[str]) -> Iterator[tuple[str, int | None, BaseException | None]]:
        for path, meta, error in self._metadata(paths, "size"):
            size = None if meta is None or meta.get("size") is None else int(meta["size"])
            yield path, size, error

    def exists_files(self, paths: Iterable[str]) -> Iterator[tuple[str, bool, BaseException | None]]:
        if self.batch_reads:
            query = f"?fields=name{self.user_project_qs}"
            for path, status, body, error in self._batched("GET", paths, query):
                if error is None and status == 200:
                    yield path, True, None
                elif error is None and status == 404:
                    yield path, False, None
                else:
                    yield path, False, error or _status_error(status, self.object_url(self.key(path)), body)
            return
        for path, meta, error in self._metadata(paths, "name"):
            yield path, meta is not None, error

    def get_acl(self, path: str) -> Any:
        """The object's access control list (the ``items`` of objectAccessControls), None if missing."""
        url = f"{self.object_url(self.key(path))}/acl?{self.user_project_qs.lstrip('&')}".rstrip("?")
        resp = self._reauthorized(self._one(engine.Request("GET", url, self._auth())))
        if resp.error is None and resp.status == 404:
            return None
        if not resp.ok:
            raise gcs_error(resp)
        return orjson.loads(resp.body).get("items", [])

    # -- writes ------------------------------------------------------------------------------------
    def put_files(self, items: Iterable[PutItem]) -> Iterator[PutResult]:
        immediate: deque[PutResult] = deque()
        large: list[PutItem] = []

        def requests() -> Iterator[engine.Request]:
            for item in items:
                try:
                    size = _remaining(item.content) if hasattr(item.content, "read") else _nbytes(item.content)
                    if self.composite_threshold > 0 and size > self.composite_threshold:
                        large.append(item)
                        continue
                    yield self._upload_request(item, size)
                except Exception as err:
                    immediate.append(PutResult(item.path, error=err))

        for resp in self.run(requests()):
            while immediate:
                yield immediate.popleft()
            resp = self._reauthorized(resp)
            path, nbytes = resp.context
            if resp.error is None and resp.status == 412:  # only sent with ifGenerationMatch=0
                yield PutResult(path, object_exists(path))
                continue
            yield PutResult(path, None if resp.ok else gcs_error(resp), nbytes if resp.ok else 0)
        while immediate:
            yield immediate.popleft()
        for item in large:
            yield self._composite_upload(item)

    def _object_metadata(self, key: str, item: PutItem) -> dict[str, Any]:
        meta: dict[str, Any] = {"name": key, "contentType": item.content_type or "application/octet-stream"}
        stored = encoding_header(item.encoding, "gs")
        if stored:
            meta["contentEncoding"] = stored
        if item.cache_control:
            meta["cacheControl"] = item.cache_control
        if item.storage_class:
            meta["storageClass"] = item.storage_class
        return meta

    def _upload_request(self, item: PutItem, size: int, key: str | None = None) -> engine.Request:
        key = self.key(item.path) if key is None else key
        content: Any = item.content
        is_stream = hasattr(content, "read")
        checksum = None if is_stream else crc32c_to_b64(crc32c(content))
        meta = self._object_metadata(key, item)
        context = (item.path, size)
        # name and contentType only: a simple media upload. (The emulator fails on a media upload
        # that is empty or JSON-typed, which it parses as JSON; a multipart upload stores the bytes.)
        emulator_quirk = self.emulated and (size == 0 or meta["contentType"].startswith("application/json"))
        # ifGenerationMatch=0: "only if no live object has this name" (if_not_exists)
        condition = "&ifGenerationMatch=0" if item.if_not_exists else ""
        if len(meta) == 2 and not emulator_quirk:
            url = f"{self.upload_base}?uploadType=media&name={quote_name(key)}{condition}{self.user_project_qs}"
            headers = [*self._auth(), f"Content-Type: {meta['contentType']}"]
            if checksum is not None:
                headers.append(f"X-Goog-Hash: crc32c={checksum}")
            return engine.Request("POST", url, headers, content, context=context)
        if checksum is not None:
            meta["crc32c"] = checksum
        boundary = os.urandom(12).hex()
        head = (
            f"--{boundary}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n".encode()
            + orjson.dumps(meta)
            + f"\r\n--{boundary}\r\nContent-Type: {meta['contentType']}\r\n\r\n".encode()
        )
        tail = f"\r\n--{boundary}--\r\n".encode()
        body: Any
        if is_stream or size > _CONCAT_LIMIT:
            body = _ChainBody([head, content, tail])
        else:
            body = b"".join((head, content, tail))
        url = f"{self.upload_base}?uploadType=multipart{condition}{self.user_project_qs}"
        headers = [*self._auth(), f"Content-Type: multipart/related; boundary={boundary}"]
        return engine.Request("POST", url, headers, body, context=context)

    # -- composite uploads -----------------------------------------------------------------------------
    def _composite_upload(self, item: PutItem) -> PutResult:
        """Upload ``item`` as parts of ``composite_threshold`` bytes, compose them, delete the parts.

        Parts are read lazily and uploaded concurrently through the engine, then composed 32 at a time
        (intermediate composites when there are more than 32). The composite's crc32c is checked
        against one combined from the parts' CRCs. Every part and intermediate object is deleted
        afterwards, whether or not the upload succeeded.
        """
        key = self.key(item.path)
        if item.if_not_exists:
            # Fail before uploading any part when the object is there already; the compose below
            # carries the condition that counts (ifGenerationMatch=0).
            for _path, found, error in self.exists_files([item.path]):
                if error is None and found:
                    return PutResult(item.path, object_exists(item.path))
        content: Any = item.content
        part_size = max(1, self.composite_threshold)
        is_stream = hasattr(content, "read")
        start = content.tell() if is_stream else 0
        total = _remaining(content) if is_stream else _nbytes(content)
        view = None if is_stream else memoryview(content).cast("B")
        tag = os.urandom(6).hex()
        names = [f"{key}.{tag}.0.{n}.part" for n in range((total + part_size - 1) // part_size)]
        crcs: dict[str, tuple[int, int]] = {}
        created: list[str] = []

        def part_requests() -> Iterator[engine.Request]:
            for n, name in enumerate(names):
                offset = n * part_size
                length = min(part_size, total - offset)
                if view is None:
                    content.seek(start + offset)
                    chunk: Any = content.read(length)
                else:
                    chunk = view[offset : offset + length]
                crcs[name] = (crc32c(chunk), length)
                part = PutItem(path=name, content=chunk, storage_class="STANDARD")
                yield self._upload_request(part, length, key=name)

        try:
            failure: CloudFilesError | None = None
            for resp in self.run(part_requests()):
                name, _n = resp.context
                created.append(name)
                resp = self._reauthorized(resp)
                if not resp.ok and failure is None:
                    failure = gcs_error(resp)
            if failure is not None:
                return PutResult(item.path, failure)
            whole = 0
            for name in names:
                crc, length = crcs[name]
                whole = crc32c_combine(whole, crc, length)
            sources = names
            depth = 1
            while len(sources) > COMPOSE_LIMIT:
                groups = [sources[i : i + COMPOSE_LIMIT] for i in range(0, len(sources), COMPOSE_LIMIT)]
                targets = [f"{key}.{tag}.{depth}.{i}.part" for i in range(len(groups))]
                created.extend(targets)
                self._compose(list(zip(targets, groups, strict=True)), {"contentType": "application/octet-stream"})
                sources = targets
                depth += 1
            meta = self._object_metadata(key, item)
            del meta["name"]
            condition: dict[str, Any] = {"if_generation_match": 0} if item.if_not_exists else {}
            final = self._compose([(key, sources)], meta, **condition)[0]
            if final.get("crc32c") and final["crc32c"] != crc32c_to_b64(whole):
                for _res in self.delete_keys([key]):
                    pass
                return PutResult(item.path, CRC32CIntegrityError(
                    f"{item.path}: the composed object's crc32c {final['crc32c']} differs from its parts' "
                    f"{crc32c_to_b64(whole)}; it was deleted"
                ))
            return PutResult(item.path, None, total)
        except CloudFilesError as err:
            if item.if_not_exists and getattr(err, "status", None) == 412:
                return PutResult(item.path, object_exists(item.path))
            return PutResult(item.path, err)
        finally:
            if created:
                for _res in self.delete_keys(created):
                    pass  # best effort: a part that cannot be deleted is left to lifecycle rules

    def _compose(
        self, jobs: list[tuple[str, list[str]]], destination: dict[str, Any], if_generation_match: int | None = None
    ) -> list[dict[str, Any]]:
        """Compose each ``(target, sources)`` job (concurrently); the resulting object resources."""
        requests = []
        condition = f"&ifGenerationMatch={if_generation_match}" if if_generation_match is not None else ""
        for n, (target, sources) in enumerate(jobs):
            body = orjson.dumps({"sourceObjects": [{"name": s} for s in sources], "destination": destination})
            query = f"{condition}{self.user_project_qs}".lstrip("&")
            url = f"{self.object_url(target)}/compose?{query}".rstrip("?")
            headers = [*self._auth(), "Content-Type: application/json"]
            requests.append(engine.Request("POST", url, headers, body, context=n))
        results: list[dict[str, Any]] = [{} for _ in jobs]
        for resp in self.run(requests):
            resp = self._reauthorized(resp)
            if not resp.ok:
                raise gcs_error(resp)
            results[resp.context] = orjson.loads(resp.body)
        return results

    # -- server-side copy ----------------------------------------------------------------------------
    @classmethod
    def check_request_payer(cls, protocol: str, value: str | None) -> None:
        """Any project name: it is sent as ``userProject``."""

    def server_copier(self, dest: StorageInterface) -> Copier | None:
        """objects.rewrite, between any two gs:// buckets."""
        if not isinstance(dest, GCSInterface):
            return None
        return lambda pairs: self.copy_files(pairs, dest)

    def copy_files(
        self, pairs: Iterable[tuple[str, str]], dest: GCSInterface | None = None
    ) -> Iterator[tuple[str, bool, BaseException | None]]:
        """Copy objects inside Google's service (``objects.rewrite``): no bytes pass through here.

        ``pairs`` are ``(source path, destination path)``, relative to this interface and to ``dest``
        (another gs:// interface, default this one). Stored encoding and metadata are kept. Yields
        ``(source path, found, error)`` in completion order; a missing source is ``found=False``.
        Rewrites that the service answers in several steps (large objects, other locations or
        storage classes) are continued with their ``rewriteToken``.
        """
        target = dest if dest is not None else self
        qs = self.user_project_qs

        def rewrite_url(src_key: str, dest_key: str, token: str | None) -> str:
            query = (f"&rewriteToken={quote(token, safe='')}" if token else "") + qs
            return (
                f"{self.object_url(src_key)}/rewriteTo/b/{quote(target.bucket, safe='')}/o/"
                f"{quote_name(dest_key)}" + (f"?{query[1:]}" if query else "")
            )

        def request(src: str, src_key: str, dest_key: str, token: str | None) -> engine.Request:
            headers = [*self._auth(), "Content-Type: application/json"]
            return engine.Request(
                "POST", rewrite_url(src_key, dest_key, token), headers, b"{}", context=(src, src_key, dest_key)
            )

        requests = (request(src, self.key(src), target.key(dst), None) for src, dst in pairs)
        for resp in self.run(requests):
            while True:
                resp = self._reauthorized(resp)
                src, src_key, dest_key = resp.context
                if resp.error is None and resp.status == 404:
                    yield src, False, None
                    break
                if not resp.ok:
                    yield src, True, gcs_error(resp)
                    break
                answer = orjson.loads(resp.body)
                if answer.get("done", True):
                    yield src, True, None
                    break
                resp = self._one(request(src, src_key, dest_key, answer.get("rewriteToken")))

    # -- delete ------------------------------------------------------------------------------------
    def delete_files(self, paths: Iterable[str]) -> Iterator[DeleteResult]:
        keyed = ((p, self.key(p)) for p in paths)
        for path, error in self._delete(keyed):
            yield DeleteResult(path, error)

    def delete_keys(self, keys: Iterable[str]) -> Iterator[DeleteResult]:
        """Delete objects by full name (not relative to the base path)."""
        for key, error in self._delete((k, k) for k in keys):
            yield DeleteResult(key, error)

    def _delete(self, pairs: Iterable[tuple[str, str]]) -> Iterator[tuple[str, BaseException | None]]:
        query = f"?{self.user_project_qs.lstrip('&')}" if self.user_project_qs else ""
        if self.batch_deletes:
            for path, status, body, error in self._batched("DELETE", pairs, query, keyed=True):
                if error is None and (200 <= status < 300 or status == 404):
                    yield path, None
                else:
                    yield path, error or _status_error(status, self.batch_url, body)
            return
        requests = (engine.Request("DELETE", self.object_url(key) + query, self._auth(), context=path) for path, key in pairs)
        for resp in self.run(requests):
            resp = self._reauthorized(resp)
            ok = resp.error is None and (200 <= resp.status < 300 or resp.status == 404)
            yield resp.context, None if ok else gcs_error(resp)

    # -- JSON batch ----------------------------------------------------------------------------------
    def _batched(
        self, method: str, paths: Iterable[Any], query: str, keyed: bool = False
    ) -> Iterator[tuple[str, int, bytes, BaseException | None]]:
        """Run ``method`` on each object through batch requests of BATCH_SIZE calls.

        Yields ``(path, status, body, error)`` per path. Calls the service answers with a retryable
        status (429, 5xx), and every call of a batch the server refuses outright, are sent again one
        by one (the engine retries those); a refused batch endpoint is not tried again.
        """
        singles: list[tuple[str, str]] = []

        def chunks() -> Iterator[engine.Request]:
            block: list[tuple[str, str]] = []
            for entry in paths:
                block.append(entry if keyed else (entry, self.key(entry)))
                if len(block) == BATCH_SIZE:
                    yield self._batch_request(method, block, query)
                    block = []
            if block:
                yield self._batch_request(method, block, query)

        for resp in self.run(chunks()):
            block = resp.context
            if resp.error is not None:
                for path, _key in block:
                    yield path, 0, b"", resp.error
                continue
            parts = _parse_batch(resp) if resp.ok else None
            if parts is None:
                if resp.status in (400, 404, 405, 501) or resp.ok:
                    # No batch endpoint here (or an unreadable answer): one request per object.
                    if method == "DELETE":
                        self.batch_deletes = False
                    else:
                        self.batch_reads = False
                    singles.extend(block)
                else:
                    error = gcs_error(resp)
                    for path, _key in block:
                        yield path, resp.status, b"", error
                continue
            for (path, key), answer in zip(block, _match_parts(parts, len(block)), strict=True):
                if answer is None or answer[0] == 429 or answer[0] >= 500 or answer[0] == 401:
                    singles.append((path, key))  # unanswered or transient: again, on its own
                else:
                    yield path, answer[0], answer[1], None
        if singles:
            requests = (
                engine.Request(method, self.object_url(key) + query, self._auth(), context=path)
                for path, key in singles
            )
            for resp in self.run(requests):
                resp = self._reauthorized(resp)
                yield resp.context, resp.status, resp.body, resp.error

    def _batch_request(self, method: str, block: list[tuple[str, str]], query: str) -> engine.Request:
        boundary = "cloudfiles" + os.urandom(12).hex()
        out = []
        for n, (_path, key) in enumerate(block, 1):
            out.append(
                f"--{boundary}\r\nContent-Type: application/http\r\nContent-ID: <{n}>\r\n\r\n"
                f"{method} {self._batch_object_path}/{quote_name(key)}{query} HTTP/1.1\r\n\r\n"
            )
        out.append(f"--{boundary}--\r\n")
        body = "".join(out).encode("utf-8")
        headers = [*self._auth(), f"Content-Type: multipart/mixed; boundary={boundary}"]
        return engine.Request("POST", self.batch_url, headers, body, context=block)

    # -- listing -----------------------------------------------------------------------------------
    def list_files(
        self, prefix: str, *, flat: bool, size: bool, resume_token: str | None = None
    ) -> Iterator[ListEntry]:
        """Stream names page by page. Every page request repeats ``prefix`` and ``delimiter``.

        An entry's ``resume_token`` is the token of the page after the one it is on (None on the last
        page), as cloud-files gave: passing it back resumes after that page.
        """
        base = f"{self.base}/" if self.base else ""
        params = list_params(base + (prefix or ""), flat=flat, size=size)
        token = resume_token
        while True:
            query = urlencode(params + ([("pageToken", token)] if token else []), safe="(),")
            request = engine.Request("GET", f"{self.object_base}?{query}{self.user_project_qs}", self._auth())
            resp = self._reauthorized(self._one(request))
            if not resp.ok:
                raise gcs_error(resp)
            entries, token = parse_list_page(resp.body, len(base), size=size)
            yield from entries
            if not token:
                return


def list_params(full_prefix: str, *, flat: bool, size: bool) -> list[tuple[str, str]]:
    """Query parameters of a JSON API object listing (``pageToken`` is added per page)."""
    items = "items(name,size)" if size else "items(name)"
    params = [("fields", f"{items},prefixes,nextPageToken"), ("maxResults", str(PAGE_SIZE))]
    if full_prefix:
        params.append(("prefix", full_prefix))
    if flat:
        params.append(("delimiter", "/"))
    return params


def parse_list_page(body: bytes, strip: int, *, size: bool) -> tuple[list[ListEntry], str | None]:
    """A listing page's entries (names without their first ``strip`` characters; each carries the next
    page's token) and that token (None on the last page). As cloud-files listed a page: its prefixes
    ("dir/" entries of a flat listing) first, then its objects, in the server's order."""
    page = orjson.loads(body)
    token = page.get("nextPageToken") or None
    entries = [ListEntry(p[strip:], None, token) for p in page.get("prefixes") or ()]
    entries += [
        ListEntry(obj["name"][strip:], int(obj["size"]) if size and obj.get("size") is not None else None, token)
        for obj in page.get("items") or ()
    ]
    return entries, token


def _parse_batch(resp: engine.Response) -> list[tuple[int | None, int, bytes]] | None:
    """``[(content_id, status, body), ...]`` from a multipart/mixed batch answer; None if it is not one.

    Tolerates parts whose inner status line follows the part headers without a blank line (the
    emulator writes them so) and parts without Content-ID (then answers are in request order).
    """
    ctype = resp.header("content-type") or ""
    found = _BOUNDARY_RE.search(ctype)
    if "multipart" not in ctype.lower() or found is None:
        return None
    delimiter = b"--" + found.group(1).encode("latin-1")
    numbered: list[tuple[int | None, int, bytes]] = []
    for part in resp.body.split(delimiter)[1:]:
        if part.startswith(b"--"):
            break
        status = _STATUS_RE.search(part)
        if status is None:
            continue
        cid = _CONTENT_ID_RE.search(part[: status.start()])
        rest = part[status.end():]
        sep = rest.find(b"\r\n\r\n")
        body = rest[sep + 4:].strip() if sep >= 0 else b""
        numbered.append((int(cid.group(1)) if cid else None, int(status.group(1)), body))
    return numbered


def _match_parts(parts: list[tuple[int | None, int, bytes]], count: int) -> list[tuple[int, bytes] | None]:
    """Answers for calls 1..count: by Content-ID when every part has one, else by position."""
    if parts and all(cid is not None for cid, _s, _b in parts):
        by_id = {cid: (status, body) for cid, status, body in parts}
        return [by_id.get(n) for n in range(1, count + 1)]
    answers: list[tuple[int, bytes] | None] = [(status, body) for _cid, status, body in parts[:count]]
    return answers + [None] * (count - len(answers))


__all__ = ["GCSInterface", "gcs_error", "head_from_metadata", "list_params", "parse_goog_hash", "parse_list_page"]
