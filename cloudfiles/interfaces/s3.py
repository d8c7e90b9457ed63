"""``s3://`` and every S3-compatible store (aliases, ``s3://https://host/``, ``endpoint=``) on the engine.

Requests are built and signed here (SigV4, :mod:`cloudfiles.sigv4`) and moved by the engine; botocore is
used for nothing but its credential chain, and only when no credentials are found in the usual places.

* Endpoint, first found: the ``endpoint=`` option, the host in the path (``s3://https://host/b``, an
  alias), ``$AWS_ENDPOINT_URL_S3``, ``$AWS_ENDPOINT_URL``, else AWS (``https://s3.amazonaws.com``,
  virtual-hosted addressing for DNS-compatible buckets). Custom endpoints use path-style addressing.
* Credentials (``secrets.aws_credentials``): ``secrets=``, secret files, env, ``~/.aws/credentials``;
  then botocore's chain (SSO, assume-role, containers, instance roles), whose expiring credentials are
  asked for again at most a second apart (never used past their expiry). Every request is signed when
  it is sent: each retry and each part of a split GET gets a fresh signature with the current
  credentials. With none at all, or ``no_sign_request=True``, requests go out unsigned.
* get: ranges; ``Content-Encoding`` reported normalized (``aws-chunked`` stripped); a single-part ETag
  is handed to the facade as the MD5 to verify; a multipart ETag is recomputed here (the part size is
  learned from the server when the usual guesses fail) and a mismatch is retried once before
  :class:`MD5IntegrityError`. Ranged reads are not verified.
* put: one PUT with ``Content-MD5`` or ``x-amz-checksum-crc32c``; above ``composite_upload_threshold``
  a multipart upload whose parts go through the engine in parallel, aborted on any failure. File
  handles are streamed (parts read with ``pread``), never read whole into memory.
* delete: DeleteObjects, 1,000 keys per request, several requests in flight; per-key errors reported.
* list: ListObjectsV2 page by page (each page's names are yielded before the next is requested).
* S3 XML errors become named exceptions whose message is ``Code: Message``; secrets never appear.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import unquote_plus, urlsplit

from .. import engine, forksafe, lib
from ..compression import encoding_header
from ..exceptions import (
    AuthorizationError,
    CloudFilesError,
    HTTPAuthorizationError,
    HTTPError,
    MD5IntegrityError,
    UnsupportedCompressionType,
    http_error,
    object_exists,
)
from ..sigv4 import EMPTY_SHA256, UNSIGNED_PAYLOAD, SigV4Signer, encode_query, uri_encode
from .base import (
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
)
from .remote import CA_BUNDLE_ENV, RemoteInterface, head_from_headers, range_header

__all__ = [
    "DEFAULT_ACL",
    "DEFAULT_ENDPOINT",
    "S3Interface",
    "parse_s3_error",
    "resolve_endpoint",
    "s3_error",
]

DEFAULT_ENDPOINT = "https://s3.amazonaws.com"
#: canned ACL sent with puts and copies (cloud-files' default), per alias where it differs
DEFAULT_ACL = "bucket-owner-full-control"
ALIAS_ACLS = {"tigerdata": "private", "nokura": "public-read"}
MiB = 1 << 20
DEFAULT_PART_SIZE = 8 * MiB
MIN_PART_SIZE = 5 * MiB
MAX_PARTS = 10_000
#: single-request copy limit; larger objects are copied with UploadPartCopy
MAX_COPY_SIZE = 5 * 1024**3
COPY_PART_SIZE = 512 * MiB
#: over http, bodies up to this size are signed with their real SHA-256; larger ones (and streams) are
#: sent as UNSIGNED-PAYLOAD, protected by their Content-MD5 / CRC32C header instead
SIGNED_PAYLOAD_LIMIT = 1 * MiB
DELETE_BATCH = 1000
_HASH_CHUNK = 4 * MiB
_S3_NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"
# Dell ECS reports synthetic "<digits>-" ETags for objects written over NFS: not a hash, skip it.
_SYNTHETIC_ETAG = re.compile(r"^\d+-$")
_HEX_MD5 = re.compile(r"^[0-9a-fA-F]{32}$")
# Characters XML 1.0 cannot carry at all: such keys are deleted one by one instead of in a batch.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_DNS_BUCKET = re.compile(r"^[a-z0-9][a-z0-9\-]{1,61}[a-z0-9]$")
#: S3 error codes that mean "your credentials are wrong or insufficient" whatever the status
AUTH_CODES = frozenset({
    "AccessDenied", "SignatureDoesNotMatch", "InvalidAccessKeyId", "ExpiredToken", "InvalidToken",
    "TokenRefreshRequired", "AllAccessDisabled", "AccountProblem", "InvalidSecurity",
    "AuthorizationHeaderMalformed", "MissingSecurityHeader", "RequestTimeTooSkewed",
})
# Per-key DeleteObjects error codes -> the status a request would have had.
_CODE_STATUS = {"AccessDenied": 403, "InternalError": 500, "SlowDown": 503, "NoSuchBucket": 404}


# ---------------------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------------------
def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _xml(body: bytes | bytearray | memoryview | None) -> ET.Element | None:
    if not body:
        return None
    try:
        return ET.fromstring(bytes(body))
    except ET.ParseError:
        return None


def _child_text(elem: ET.Element, name: str) -> str | None:
    for child in elem:
        if _local(child.tag) == name:
            return child.text or ""
    return None


def parse_s3_error(body: bytes | bytearray | memoryview | None) -> tuple[str | None, str | None]:
    """``(Code, Message)`` of an S3 XML error body; ``(None, None)`` when it is not one."""
    root = _xml(body[:65536] if body else body)
    if root is None or _local(root.tag) != "Error":
        return None, None
    return _child_text(root, "Code"), _child_text(root, "Message")


def _message(code: str | None, message: str | None, status: int, extra: str = "") -> str:
    if code:
        text = f"{code}: {message}" if message else code
    elif status in (401, 403):
        text = f"access denied or bad credentials (HTTP {status} without an S3 error body)"
    else:
        text = f"request failed with status {status}"
    return text + extra


def s3_error(response: engine.Response, extra: str = "") -> CloudFilesError:
    """The named exception for a failed S3 response: transport errors as they are; HTTP errors with the
    S3 ``Code: Message`` as their message. Credential codes (``SignatureDoesNotMatch``, ``AccessDenied``,
    ``InvalidAccessKeyId``, ``ExpiredToken``...) give an :class:`AuthorizationError` whatever the status."""
    if response.error is not None:
        return response.error
    body = bytes(response.body[:65536]) if response.body else None
    code, message = parse_s3_error(body)
    url = response.request.url
    text = _message(code, message, response.status, extra)
    if code in AUTH_CODES and response.status not in (401, 403):
        return HTTPAuthorizationError(text, url=url, status=response.status, body=body)
    return http_error(response.status, url, body, text)


def _key_error(code: str, message: str, url: str) -> HTTPError:
    status = _CODE_STATUS.get(code, 400)
    text = f"{code}: {message}" if message else code
    if code in AUTH_CODES:
        return HTTPAuthorizationError(text, url=url, status=403)
    return http_error(status, url, None, text)


# ---------------------------------------------------------------------------------------------------------
# Endpoints
# ---------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Endpoint:
    """Where a bucket's requests go. ``origin`` + ``bucket_path`` + encoded key = the request URL."""

    origin: str  # scheme://host[:port]
    host: str  # the Host header: lower-case, default port dropped
    bucket_path: str  # URL path of the bucket ('/prefix/bucket' path-style, '' virtual-hosted)
    is_aws: bool  # the default AWS endpoint (virtual-hosted addressing, region redirects)


def _split_endpoint(url: str) -> tuple[str, str, str]:
    """``'https://Host:443/p/'`` -> ``('https', 'host', '/p')``; a bare ``host:port`` means https."""
    url = url.strip()
    if "://" not in url:
        url = "https://" + url
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"S3 endpoint must be http:// or https://, got {parts.scheme}://")
    if parts.username is not None or parts.password is not None:
        raise ValueError("S3 endpoint must not contain credentials; use secrets=")
    hostname = parts.hostname
    if not hostname:
        raise ValueError("S3 endpoint has no host name")
    host = f"[{hostname}]" if ":" in hostname else hostname
    port = parts.port
    if port is not None and port != {"http": 80, "https": 443}[parts.scheme]:
        host = f"{host}:{port}"
    return parts.scheme, host, parts.path.rstrip("/")


def resolve_endpoint(
    bucket: str, host: str | None, option: str | None, region: str, environ: Any = None
) -> Endpoint:
    """The endpoint for ``bucket``: ``option`` (``endpoint=``), ``host`` (from the path), then
    ``$AWS_ENDPOINT_URL_S3``, ``$AWS_ENDPOINT_URL``, else AWS in ``region``."""
    env = os.environ if environ is None else environ
    custom = option or host or env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL")
    if custom:
        scheme, netloc, prefix = _split_endpoint(custom)
        return Endpoint(f"{scheme}://{netloc}", netloc, f"{prefix}/{uri_encode(bucket)}", False)
    netloc = "s3.amazonaws.com" if region in ("us-east-1", "") else f"s3.{region}.amazonaws.com"
    if _DNS_BUCKET.match(bucket) and ".." not in bucket:
        vhost = f"{bucket}.{netloc}"
        return Endpoint(f"https://{vhost}", vhost, "", True)
    return Endpoint(f"https://{netloc}", netloc, f"/{uri_encode(bucket)}", True)


# ---------------------------------------------------------------------------------------------------------
# Credentials
# ---------------------------------------------------------------------------------------------------------
_CHAIN_LOCK = forksafe.new_lock()
_CHAIN: dict[str, Any] = {}
#: profile -> the error botocore's chain raised (swallowed as "no credentials", named in messages)
_CHAIN_ERRORS: dict[str, BaseException] = {}


def _botocore_chain(profile: str) -> Any:
    """botocore's resolved credentials for ``profile`` (None when the chain finds nothing), cached per
    process so the chain (which may probe an instance-metadata address) runs once. A chain that raises
    means "no credentials"; its error is kept in ``_CHAIN_ERRORS`` for the eventual error message."""
    with _CHAIN_LOCK:
        if profile in _CHAIN:
            return _CHAIN[profile]
        creds = None
        _CHAIN_ERRORS.pop(profile, None)
        try:
            import botocore.session

            session = botocore.session.Session(profile=profile if profile != "default" else None)
            creds = session.get_credentials()
        except Exception as err:  # no botocore, a broken profile or config file: no credentials
            creds = None
            _CHAIN_ERRORS[profile] = err
        _CHAIN[profile] = creds
        return creds


#: seconds frozen refreshable credentials are reused before botocore is asked again (its
#: get_frozen_credentials costs ~11 µs, three signatures' worth; it refreshes minutes before expiry)
CREDENTIALS_REUSE = 1.0


def _reuse_seconds(creds: Any) -> float:
    """How long credentials just frozen from ``creds`` may be reused: :data:`CREDENTIALS_REUSE`, less
    when they expire sooner, 0 within a second of their expiry."""
    try:
        remaining = float(creds._seconds_remaining())  # botocore's RefreshableCredentials
    except Exception:  # credentials that do not expire (or another kind of object)
        return CREDENTIALS_REUSE
    return max(0.0, min(CREDENTIALS_REUSE, remaining - CREDENTIALS_REUSE))


# ---------------------------------------------------------------------------------------------------------
# Bodies
# ---------------------------------------------------------------------------------------------------------
class _FileSlice:
    """``length`` bytes of a file at ``offset``, read with ``os.pread``: many parts of one file can be
    uploaded at once without sharing a file position. Has what the engine needs: read/tell/seek."""

    __slots__ = ("fd", "offset", "length", "pos")

    def __init__(self, fd: int, offset: int, length: int) -> None:
        self.fd = fd
        self.offset = offset
        self.length = length
        self.pos = 0

    def read(self, n: int = -1) -> bytes:
        left = self.length - self.pos
        if n < 0 or n > left:
            n = left
        if n <= 0:
            return b""
        data = os.pread(self.fd, n, self.offset + self.pos)
        self.pos += len(data)
        return data

    def tell(self) -> int:
        return self.pos

    def seek(self, pos: int, whence: int = 0) -> int:
        base = {0: 0, 1: self.pos, 2: self.length}[whence]
        self.pos = max(0, min(self.length, base + pos))
        return self.pos


def _fileno(fh: Any) -> int | None:
    try:
        fd = fh.fileno()
        os.fstat(fd)
        return int(fd)
    except (AttributeError, OSError, ValueError, TypeError):
        return None


@dataclass
class _Body:
    """Upload source: a buffer (``view``) or a file (``fd`` + ``offset``) or any other readable handle."""

    size: int
    view: memoryview | None = None
    fd: int | None = None
    offset: int = 0
    handle: Any = None

    def part(self, offset: int, length: int) -> Any:
        """A request body for ``[offset, offset + length)`` of this source."""
        if self.view is not None:
            return self.view[offset : offset + length]
        if self.fd is not None:
            return _FileSlice(self.fd, self.offset + offset, length)
        # A handle without a file descriptor: read the part now (parts are pulled in order).
        return self.handle.read(length)

    def whole(self) -> Any:
        return self.part(0, self.size)

    def chunks(self, offset: int, length: int) -> Iterator[Any]:
        if self.view is not None:
            yield self.view[offset : offset + length]
            return
        if self.fd is not None:
            end = offset + length
            while offset < end:
                data = os.pread(self.fd, min(_HASH_CHUNK, end - offset), self.offset + offset)
                if not data:
                    break
                yield data
                offset += len(data)
            return
        raise TypeError("a stream without a file descriptor cannot be hashed in place")


def _body_of(content: Any) -> _Body:
    if isinstance(content, (bytes, bytearray, memoryview)) or not hasattr(content, "read"):
        view = memoryview(content)
        if view.ndim != 1 or view.itemsize != 1 or not view.c_contiguous:
            view = view.cast("B") if view.c_contiguous else memoryview(view.tobytes())
        return _Body(size=view.nbytes, view=view)
    getbuffer = getattr(content, "getbuffer", None)
    if getbuffer is not None:  # BytesIO: its buffer, from the current position
        view = getbuffer()[content.tell():]
        return _Body(size=view.nbytes, view=view)
    fd = _fileno(content)
    if fd is not None:
        pos = content.tell()
        size = os.fstat(fd).st_size - pos
        return _Body(size=max(0, size), fd=fd, offset=pos)
    pos = content.tell()
    end = content.seek(0, os.SEEK_END)
    content.seek(pos)
    if end - pos <= 64 * MiB:
        data = content.read()
        view = memoryview(data)
        return _Body(size=view.nbytes, view=view)
    return _Body(size=end - pos, handle=content)


def _md5_b64(body: _Body, offset: int, length: int, data: Any = None) -> str:
    digest = hashlib.md5()
    if data is not None and not hasattr(data, "read"):
        digest.update(data)
    else:
        for chunk in body.chunks(offset, length):
            digest.update(chunk)
    return base64.b64encode(digest.digest()).decode("ascii")


def _xml_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")


def _normalize_encoding(value: str | None) -> str | None:
    if not value:
        return None
    from ..compression import normalize_encoding

    return normalize_encoding(value)


def _strip_chunked(value: str | None) -> str | None:
    if not value:
        return None
    tokens = [t.strip() for t in value.split(",") if t.strip() and t.strip().lower() != "aws-chunked"]
    return ",".join(tokens) or None


# ---------------------------------------------------------------------------------------------------------
# The interface
# ---------------------------------------------------------------------------------------------------------
class _Op:
    """One request's worth of work; ``make`` rebuilds its (freshly signed) request, e.g. after the
    region was corrected."""

    __slots__ = ("make", "item", "data")

    def __init__(self, make: Callable[[_Op], engine.Request], item: Any = None,
                 data: dict[str, Any] | None = None) -> None:
        self.make = make
        self.item = item
        self.data: dict[str, Any] = {} if data is None else data

    def request(self) -> engine.Request:
        return self.make(self)


class S3Interface(RemoteInterface):
    """S3 and S3-compatible object stores. One instance per CloudFiles; safe to share across threads."""

    exists_batch_size = 1
    delete_batch_size = DELETE_BATCH
    encoding_labels: ClassVar[Mapping[str | None, str | None]] = {None: "", "bz2": "bzip2"}
    legacy_delete_batch_size = 1000
    #: boto3 reads AWS_CA_BUNDLE, then (botocore) REQUESTS_CA_BUNDLE
    ca_bundle_env = ("AWS_CA_BUNDLE", *CA_BUNDLE_ENV)

    def __init__(self, path: Any, options: InterfaceOptions) -> None:
        super().__init__(path, options)
        if options.request_payer not in (None, "requester"):
            raise ValueError(f"request_payer for s3 must be None or 'requester'. Got: {options.request_payer!r}")
        if not path.bucket:
            raise ValueError("an s3 path needs a bucket: s3://bucket/...")
        self.bucket: str = path.bucket
        key = (path.path or "").lstrip("/")
        #: key prefix of this CloudFiles' directory ('' or ending in '/')
        self.base_key = key if not key or key.endswith("/") else key + "/"
        self.service = path.alias or "aws"
        self.acl: str | None = ALIAS_ACLS.get(path.alias or "", DEFAULT_ACL)
        #: multipart part size (bytes); raised automatically so no upload has more than 10,000 parts
        self.part_size = DEFAULT_PART_SIZE
        #: ListObjectsV2 max-keys per page
        self.list_page_size = 1000
        self.multipart_threshold = int(options.composite_upload_threshold)
        self._payer: list[tuple[str, str]] = (
            [("x-amz-request-payer", "requester")] if options.request_payer == "requester" else []
        )
        self._lock = forksafe.new_lock()
        self._anonymous = bool(options.no_sign_request)
        self._unsigned_reason = "no_sign_request=True" if self._anonymous else ""
        self._static_signer: SigV4Signer | None = None
        self._refreshable: Any = None
        self._frozen: tuple[str, str, str | None] | None = None
        #: time.monotonic() until which the frozen credentials are reused
        self._frozen_until = 0.0
        self._signer: SigV4Signer | None = None
        creds = self._load_credentials(options)
        self.region: str = creds.get("AWS_DEFAULT_REGION") or "us-east-1"
        self.endpoint = resolve_endpoint(self.bucket, path.host, options.endpoint, self.region)
        #: integrity header of single-request puts: 'crc32c' (``x-amz-checksum-crc32c``, what cloud-files
        #: sent to every endpoint) or 'md5' (``Content-MD5``: Dell ECS, behind the nokura alias, wants it)
        self.checksum = "md5" if path.alias == "nokura" else "crc32c"
        #: sign the SHA-256 of small bodies over plain http (the signature then covers the bytes, as
        #: botocore does); over https the body is UNSIGNED-PAYLOAD, covered by TLS and the checksum header
        self.sign_payloads = self.endpoint.origin.startswith("http://")
        self._refresh_signer()

    # -- credentials and signing -------------------------------------------------------------------
    def _load_credentials(self, options: InterfaceOptions) -> dict[str, Any]:
        from ..secrets import _aws_profile, aws_credentials

        creds = aws_credentials(self.bucket, self.service, secrets=options.secrets)
        if self._anonymous:
            return creds
        if creds.get("AWS_ACCESS_KEY_ID") and creds.get("AWS_SECRET_ACCESS_KEY"):
            self._static_signer = SigV4Signer(
                str(creds["AWS_ACCESS_KEY_ID"]), str(creds["AWS_SECRET_ACCESS_KEY"]),
                str(creds.get("AWS_DEFAULT_REGION") or "us-east-1"), "s3", creds.get("AWS_SESSION_TOKEN"),
            )
            return creds
        profile = _aws_profile()
        chain = _botocore_chain(profile)
        if chain is not None:
            self._refreshable = chain
        else:
            self._anonymous = True
            self._unsigned_reason = "no AWS credentials were found, so the request was sent unsigned"
            error = _CHAIN_ERRORS.get(profile)
            if error is not None:
                self._unsigned_reason += f"; botocore's credential chain failed: {type(error).__name__}: {error}"
        return creds

    def _refresh_signer(self) -> None:
        """Pick the signer for the next request: refreshable credentials are frozen again once their
        frozen copy is :func:`_reuse_seconds` old."""
        if self._anonymous:
            self._signer = None
            return
        if self._static_signer is not None:
            if self._static_signer.region != self.region:
                s = self._static_signer
                self._static_signer = SigV4Signer(s.access_key, s._secret_key, self.region, "s3", s.token)
            self._signer = self._static_signer
            return
        signer = self._signer
        now = time.monotonic()
        triple = self._frozen
        until = self._frozen_until
        if signer is not None and signer.region == self.region and now < until:
            return
        if triple is None or now >= until:
            try:
                frozen = self._refreshable.get_frozen_credentials()
            except Exception as err:  # botocore errors never escape unwrapped (and carry no secret here)
                raise AuthorizationError(
                    f"could not refresh AWS credentials ({type(err).__name__}: {err})"
                ) from None
            triple = (frozen.access_key, frozen.secret_key, frozen.token)
            until = now + _reuse_seconds(self._refreshable)
        with self._lock:
            if triple != self._frozen or self._signer is None or self._signer.region != self.region:
                self._signer = SigV4Signer(triple[0], triple[1], self.region, "s3", triple[2])
            self._frozen = triple
            self._frozen_until = until

    def __repr__(self) -> str:
        return f"S3Interface({self.endpoint.origin}{self.endpoint.bucket_path}/{self.base_key})"

    # -- requests ----------------------------------------------------------------------------------
    def _key_path(self, full_key: str) -> str:
        return f"{self.endpoint.bucket_path}/{uri_encode(full_key, keep_slash=True)}"

    def _bucket_request_path(self) -> str:
        return self.endpoint.bucket_path or "/"

    def build(
        self,
        method: str,
        path: str,
        query: str = "",
        headers: list[tuple[str, str]] | None = None,
        body: Any = None,
        payload_hash: str = EMPTY_SHA256,
        *,
        context: Any = None,
        split: bool = False,
        body_size: int | None = None,
        unsigned_headers: list[str] | None = None,
        byte_range: tuple[int | None, int | None] | None = None,
    ) -> engine.Request:
        """A signed engine Request for ``path`` (URL path, already encoded) and ``query`` (encoded).

        The engine signs it again (:meth:`_signed_lines`, current credentials) for every retry and for
        each part of a split GET: a SigV4 signature expires, and credentials rotate.
        """
        pairs = headers + self._payer if headers else self._payer
        host = self.endpoint.host
        url = self.endpoint.origin + path + ("?" + query if query else "")
        lines = self._signed_lines(method, host, path, query, pairs, payload_hash, unsigned_headers)
        if self._anonymous:  # unsigned: nothing to sign again
            return engine.Request(method, url, lines, body, body_size=body_size, context=context, split=split,
                                  byte_range=byte_range)
        # What a later signature needs rides on the request (a tuple: cheaper than a closure per request).
        return engine.Request(method, url, lines, body, body_size=body_size, context=context, split=split,
                              byte_range=byte_range, resign=self._resign_request,
                              signing=(host, path, query, pairs, payload_hash, unsigned_headers))

    def _resign_request(self, request: engine.Request, extra: list[tuple[str, str]]) -> list[str]:
        """The engine's ``Request.resign``: the request's header lines signed now, ``extra`` included."""
        host, path, query, pairs, payload_hash, unsigned_headers = request.signing
        return self._signed_lines(request.method, host, path, query, pairs + extra, payload_hash, unsigned_headers)

    def _signed_lines(
        self,
        method: str,
        host: str,
        path: str,
        query: str,
        pairs: list[tuple[str, str]],
        payload_hash: str,
        unsigned_headers: list[str] | None,
    ) -> list[str]:
        """Header lines of a request, signed now with the current credentials."""
        if self._refreshable is not None and time.monotonic() >= self._frozen_until:
            self._refresh_signer()
        lines = [f"{name}: {value}" for name, value in pairs]
        if unsigned_headers:
            lines += unsigned_headers
        signer = self._signer
        if signer is not None:
            lines += signer.sign(method, host, path, query, pairs, payload_hash)
        return lines

    def exchange(self, ops: Iterable[_Op]) -> Iterator[engine.Response]:
        """Run ops through the engine (completion order). Requests refused because they were signed
        for the wrong region (AWS tells the bucket's region) are re-signed for it and sent again."""
        redo: list[_Op] = []
        for resp in self.run(op.request() for op in ops):
            if self._wrong_region(resp):
                redo.append(resp.context)
                continue
            yield resp
        if redo:
            yield from self.run(op.request() for op in redo)

    def _wrong_region(self, resp: engine.Response) -> bool:
        if resp.error is not None or resp.status not in (301, 307, 400, 403):
            return False
        region = resp.header("x-amz-bucket-region")
        if not region or region == self.region:
            return False
        with self._lock:
            if region != self.region:
                self.region = region
                if self.endpoint.is_aws:
                    self.endpoint = resolve_endpoint(self.bucket, None, None, region, environ={})
        self._refresh_signer()
        return True

    def one(self, op: _Op) -> engine.Response:
        """Run one op to completion."""
        for resp in self.exchange([op]):
            return resp
        raise RuntimeError("engine produced no response")  # pragma: no cover

    def full_key(self, path: str) -> str:
        return self.base_key + path

    # -- reads -------------------------------------------------------------------------------------
    def _get_request(self, op: _Op) -> engine.Request:
        item: GetItem = op.item
        headers: list[tuple[str, str]] = []
        rng = op.data.get("range")
        if rng:
            headers.append(("Range", rng[len("Range: "):]))
        else:
            # Whole objects: ask for the stored CRC32C (sent when the object has one), verified in a
            # fraction of the CPU an MD5 of the body costs.
            headers.append(_CHECKSUM_MODE)
        return self.build(
            "GET", self._key_path(self.full_key(item.path)), "", headers, context=op, split=not rng,
            byte_range=(item.start, item.end) if rng else None,
        )

    def get_files(self, items: Iterable[GetItem]) -> Iterator[GetResult]:
        self._refresh_signer()
        immediate: list[GetResult] = []

        def ops() -> Iterator[_Op]:
            for item in items:
                try:
                    rng = range_header(item.start, item.end)
                except ValueError as err:
                    immediate.append(GetResult(item=item, error=err))
                    continue
                if rng == "":
                    immediate.append(GetResult(item=item, content=b""))
                    continue
                yield _Op(self._get_request, item, {"range": rng})

        for resp in self.exchange(ops()):
            while immediate:
                yield immediate.pop(0)
            # A multipart ETag mismatch comes back as an MD5IntegrityError; the facade downloads
            # such objects once more before the error stands (one retry layer, not two).
            yield self._get_result(resp)
        while immediate:
            yield immediate.pop(0)

    def _get_result(self, resp: engine.Response) -> GetResult:
        op: _Op = resp.context
        item: GetItem = op.item
        status = resp.status
        if resp.error is None and status in (200, 206):
            wanted = _scan_headers(resp.header_lines)
            try:
                encoding = _normalize_encoding(wanted.get("content-encoding"))
            except UnsupportedCompressionType as err:
                return GetResult(item=item, error=err)
            result = GetResult(item=item, content=resp.body, encoding=encoding)
            if item.start is None and item.end is None:
                error = self._attach_hash(result, wanted)
                if error is not None:
                    result.content = None
                    result.error = error
            return result
        if resp.error is None and status == 404:
            code, _ = parse_s3_error(resp.body)
            if code == "NoSuchBucket":
                return GetResult(item=item, error=s3_error(resp, f" (bucket {self.bucket!r})"))
            return GetResult(item=item)
        if resp.error is None and status == 416:  # the range starts at or past the end
            return GetResult(item=item, content=b"")
        return GetResult(item=item, error=self._error(resp))

    def _attach_hash(self, result: GetResult, headers: dict[str, str]) -> MD5IntegrityError | None:
        """Set the CRC32C or MD5 the facade checks, or check a multipart ETag here. Returns a mismatch
        error."""
        crc = headers.get("x-amz-checksum-crc32c")
        # A whole-object CRC32C only: a composite one ("...-N", or checksum type COMPOSITE) covers parts.
        if crc and len(crc) == 8 and headers.get("x-amz-checksum-type", "").upper() != "COMPOSITE":
            result.server_hash = crc
            result.hash_type = "crc32c"
            return None
        etag = headers.get("etag", "").strip().strip('"')
        if not etag:
            return None
        sse = headers.get("x-amz-server-side-encryption", "").lower()
        if sse.startswith("aws:kms") or "x-amz-server-side-encryption-customer-algorithm" in headers:
            return None  # the ETag of an SSE-KMS / SSE-C object is not its MD5
        if len(etag) == 32 and _HEX_MD5.match(etag):
            result.server_hash = base64.b64encode(bytes.fromhex(etag)).decode("ascii")
            result.hash_type = "md5"
            return None
        if "-" not in etag or _SYNTHETIC_ETAG.match(etag):
            return None
        content = result.content
        assert content is not None
        item: GetItem = result.item
        part_size = item.part_size or self.part_size
        if lib.validate_s3_multipart_etag(content, etag, part_size):
            return None
        # The usual part sizes did not fit: ask the server for part 1's size, then try that.
        learned = self._first_part_size(item.path)
        if learned and learned != part_size and lib.validate_s3_multipart_etag(content, etag, learned):
            return None
        return MD5IntegrityError(f"{item.path} failed its multipart md5 check. server etag: {etag}")

    def _first_part_size(self, path: str) -> int | None:
        def make(op: _Op) -> engine.Request:
            return self.build("HEAD", self._key_path(self.full_key(path)), "partNumber=1", context=op)

        resp = self.one(_Op(make))
        if not resp.ok or not resp.header("x-amz-mp-parts-count"):
            return None
        length = resp.header("content-length")
        return int(length) if length and length.isdigit() else None

    def _error(self, resp: engine.Response) -> CloudFilesError:
        extra = ""
        if resp.error is None and resp.status in (401, 403) and self._unsigned_reason:
            extra = f" ({self._unsigned_reason})"
        error = s3_error(resp, extra)
        # A SignatureDoesNotMatch body echoes the canonical request, session token included: keep the
        # body for diagnosis, without the token.
        token = self._signer.token if self._signer is not None else None
        body = getattr(error, "body", None)
        if token and body and token.encode() in body:
            error.body = body.replace(token.encode(), b"***")  # type: ignore[attr-defined]
        return error

    def head_files(self, paths: Iterable[str]) -> Iterator[HeadResult]:
        for resp in self._heads(paths):
            path: str = resp.context.item
            if resp.ok:
                yield HeadResult(path, self._head_dict(resp.headers))
            elif resp.error is None and resp.status == 404:
                yield HeadResult(path, None)
            else:
                yield HeadResult(path, None, self._error(resp))

    def _heads(self, paths: Iterable[str]) -> Iterator[engine.Response]:
        self._refresh_signer()

        def make(op: _Op) -> engine.Request:
            return self.build("HEAD", self._key_path(self.full_key(op.item)), context=op)

        return self.exchange(_Op(make, p) for p in paths)

    def exists_files(self, paths: Iterable[str]) -> Iterator[tuple[str, bool, BaseException | None]]:
        """HEAD per path; only the status is looked at (no head dict is built)."""
        for resp in self._heads(paths):
            if resp.ok:
                yield resp.context.item, True, None
            elif resp.error is None and resp.status == 404:
                yield resp.context.item, False, None
            else:
                yield resp.context.item, False, self._error(resp)

    def size_files(self, paths: Iterable[str]) -> Iterator[tuple[str, int | None, BaseException | None]]:
        """HEAD per path; the stored size from Content-Length, None when missing."""
        for resp in self._heads(paths):
            if resp.ok:
                length = resp.header("content-length")
                yield resp.context.item, int(length) if length else None, None
            elif resp.error is None and resp.status == 404:
                yield resp.context.item, None, None
            else:
                yield resp.context.item, None, self._error(resp)

    @staticmethod
    def _head_dict(headers: dict[str, str]) -> dict[str, Any]:
        head = head_from_headers(headers)
        head["Content-Encoding"] = _strip_chunked(head["Content-Encoding"])
        head["Storage-Class"] = headers.get("x-amz-storage-class")
        head["Request-Charged"] = headers.get("x-amz-request-charged")
        head["Content-Crc32c"] = headers.get("x-amz-checksum-crc32c")
        parts = headers.get("x-amz-mp-parts-count")
        head["Parts-Count"] = int(parts) if parts and parts.isdigit() else None
        return head

    # -- writes ------------------------------------------------------------------------------------
    def _object_headers(self, item: PutItem) -> list[tuple[str, str]]:
        headers = [("Content-Type", item.content_type or "application/octet-stream")]
        encoding = encoding_header(item.encoding, "s3") if item.encoding else None
        if encoding:
            headers.append(("Content-Encoding", encoding))
        if item.cache_control:
            headers.append(("Cache-Control", item.cache_control))
        if item.storage_class:
            headers.append(("x-amz-storage-class", str(item.storage_class)))
        if self.acl:
            headers.append(("x-amz-acl", self.acl))
        return headers

    def _put_request(self, op: _Op) -> engine.Request:
        item: PutItem = op.item
        body: _Body = op.data["body"]
        headers = self._object_headers(item)
        if item.if_not_exists:
            headers.append(_IF_NONE_MATCH)
        data = body.whole()
        if body.view is not None:
            if self.checksum == "crc32c":
                headers.append(("x-amz-checksum-crc32c", lib.encode_crc32c_b64(data).decode("ascii")))
            else:
                headers.append(("Content-MD5", _md5_b64(body, 0, body.size, data)))
            payload = (
                hashlib.sha256(data).hexdigest()
                if self.sign_payloads and body.size <= SIGNED_PAYLOAD_LIMIT
                else UNSIGNED_PAYLOAD
            )
        else:
            if "md5" not in op.data:
                op.data["md5"] = _md5_b64(body, 0, body.size)
            headers.append(("Content-MD5", op.data["md5"]))
            payload = UNSIGNED_PAYLOAD
        return self.build(
            "PUT", self._key_path(self.full_key(item.path)), "", headers, data, payload,
            context=op, body_size=body.size,
        )

    def put_files(self, items: Iterable[PutItem]) -> Iterator[PutResult]:
        source = iter(items)
        immediate: list[PutResult] = []
        large: list[tuple[PutItem, _Body]] = []
        while True:
            self._refresh_signer()
            large.clear()

            def ops() -> Iterator[_Op]:
                for item in source:
                    try:
                        body = _body_of(item.content)
                    except Exception as err:  # e.g. a closed file: this item fails, the rest go on
                        immediate.append(PutResult(item.path, err))
                        continue
                    if body.size > self.multipart_threshold or body.handle is not None:
                        # End this batch here: the multipart upload runs once the small puts already
                        # in flight have finished, then the rest of the input follows (memory stays
                        # bounded and the input stays lazy).
                        large.append((item, body))
                        return
                    yield _Op(self._put_request, item, {"body": body})

            for resp in self.exchange(ops()):
                while immediate:
                    yield immediate.pop(0)
                op: _Op = resp.context
                if resp.ok:
                    yield PutResult(op.item.path, None, op.data["body"].size)
                elif _precondition_failed(resp, op.item):
                    yield PutResult(op.item.path, object_exists(op.item.path))
                else:
                    yield PutResult(op.item.path, self._error(resp))
            while immediate:
                yield immediate.pop(0)
            if not large:
                return
            yield self.multipart_upload(*large[0])

    def _effective_part_size(self, size: int) -> int:
        part = max(MIN_PART_SIZE, int(self.part_size))
        if -(-size // part) > MAX_PARTS:
            part = -(-size // MAX_PARTS)
            part = -(-part // MiB) * MiB
        return part

    def multipart_upload(self, item: PutItem, body: _Body) -> PutResult:
        """Upload one object in parts, in parallel; abort the upload on any failure."""
        key = self.full_key(item.path)
        key_path = self._key_path(key)
        upload_id: str | None = None
        if item.if_not_exists:
            # Fail before uploading any part when the object is already there (the condition that
            # counts is the one on CompleteMultipartUpload, below: this check only saves the upload).
            for path, found, error in self.exists_files([item.path]):
                if error is None and found:
                    return PutResult(path, object_exists(path))
        try:
            def create(op: _Op) -> engine.Request:
                return self.build("POST", key_path, "uploads", self._object_headers(item), context=op)

            resp = self.one(_Op(create))
            if not resp.ok:
                return PutResult(item.path, self._error(resp))
            root = _xml(resp.body)
            upload_id = _child_text(root, "UploadId") if root is not None else None
            if not upload_id:
                return PutResult(item.path, http_error(resp.status, resp.request.url, bytes(resp.body),
                                                       "CreateMultipartUpload answered without an UploadId"))
            part_size = self._effective_part_size(body.size)
            offsets = range(0, max(body.size, 1), part_size)
            etags: dict[int, str] = {}
            uid = upload_id

            def part_request(op: _Op) -> engine.Request:
                number, offset, length = op.item
                data = op.data.get("data")
                if data is None:
                    data = body.part(offset, length)
                    if not hasattr(data, "read"):
                        op.data["data"] = data  # buffers are kept for a retry; file slices re-read
                if "md5" not in op.data:
                    op.data["md5"] = _md5_b64(body, offset, length, data)
                query = encode_query([("partNumber", str(number)), ("uploadId", uid)])
                return self.build(
                    "PUT", key_path, query, [("Content-MD5", op.data["md5"])], data, UNSIGNED_PAYLOAD,
                    context=op, body_size=length,
                )

            parts = (
                _Op(part_request, (n + 1, off, min(part_size, body.size - off)))
                for n, off in enumerate(offsets)
            )
            failure: CloudFilesError | None = None
            for resp in self.exchange(parts):
                number = resp.context.item[0]
                resp.context.data.pop("data", None)
                etag = resp.header("etag") if resp.ok else None
                if etag:
                    etags[number] = etag
                elif failure is None:
                    failure = self._error(resp) if not resp.ok else http_error(
                        resp.status, resp.request.url, None, f"UploadPart {number} answered without an ETag"
                    )
            if failure is not None:
                self._abort(key_path, upload_id)
                return PutResult(item.path, failure)
            xml = "".join(
                f"<Part><PartNumber>{n}</PartNumber><ETag>{_xml_escape(etags[n])}</ETag></Part>"
                for n in sorted(etags)
            )
            payload = f'<CompleteMultipartUpload xmlns="{_S3_NS[1:-1]}">{xml}</CompleteMultipartUpload>'.encode()

            complete_headers = [("Content-Type", "application/xml")]
            if item.if_not_exists:
                complete_headers.append(_IF_NONE_MATCH)

            def complete(op: _Op) -> engine.Request:
                query = encode_query([("uploadId", uid)])
                return self.build("POST", key_path, query, complete_headers, payload,
                                  hashlib.sha256(payload).hexdigest(), context=op)

            resp = self.one(_Op(complete))
            code, message = parse_s3_error(resp.body) if resp.ok else (None, None)
            if _precondition_failed(resp, item) or code == "PreconditionFailed":
                self._abort(key_path, upload_id)
                upload_id = None
                return PutResult(item.path, object_exists(item.path))
            if not resp.ok or code:
                # CompleteMultipartUpload may answer 200 with an <Error> body.
                error = self._error(resp) if not resp.ok else http_error(
                    500 if code in ("InternalError", "SlowDown") else 400, resp.request.url,
                    bytes(resp.body), f"{code}: {message}",
                )
                self._abort(key_path, upload_id)
                return PutResult(item.path, error)
            upload_id = None
            return PutResult(item.path, None, body.size)
        except BaseException:
            if upload_id is not None:
                self._abort(key_path, upload_id)
            raise

    def _abort(self, key_path: str, upload_id: str) -> None:
        def make(op: _Op) -> engine.Request:
            return self.build("DELETE", key_path, encode_query([("uploadId", upload_id)]), context=op)

        try:
            self.one(_Op(make))
        except Exception:  # the upload failed already; a failed abort is left to lifecycle rules
            pass

    # -- delete ------------------------------------------------------------------------------------
    def delete_files(self, paths: Iterable[str]) -> Iterator[DeleteResult]:
        self._refresh_signer()
        singles: list[str] = []
        bucket_path = self._bucket_request_path()

        def batch_request(op: _Op) -> engine.Request:
            payload = op.data["payload"]
            md5 = base64.b64encode(hashlib.md5(payload).digest()).decode("ascii")
            headers = [("Content-MD5", md5), ("Content-Type", "application/xml")]
            return self.build("POST", bucket_path, "delete", headers, payload,
                              hashlib.sha256(payload).hexdigest(), context=op)

        def single_request(op: _Op) -> engine.Request:
            return self.build("DELETE", self._key_path(self.full_key(op.item)), context=op)

        def ops() -> Iterator[_Op]:
            batch: list[str] = []
            for path in paths:
                if _XML_INVALID.search(self.full_key(path)):
                    singles.append(path)
                    continue
                batch.append(path)
                if len(batch) >= self.delete_batch_size:
                    yield self._delete_op(batch_request, batch)
                    batch = []
            if batch:
                yield self._delete_op(batch_request, batch)
            for path in singles:
                yield _Op(single_request, path)

        for resp in self.exchange(ops()):
            op: _Op = resp.context
            if isinstance(op.item, str):
                ok = resp.ok or (resp.error is None and resp.status == 404)
                yield DeleteResult(op.item, None if ok else self._error(resp))
                continue
            yield from self._delete_results(resp)

    def _delete_op(self, make: Callable[[_Op], engine.Request], batch: list[str]) -> _Op:
        objects = "".join(f"<Object><Key>{_xml_escape(self.full_key(p))}</Key></Object>" for p in batch)
        payload = f'<Delete xmlns="{_S3_NS[1:-1]}"><Quiet>true</Quiet>{objects}</Delete>'.encode()
        return _Op(make, batch, {"payload": payload})

    def _delete_results(self, resp: engine.Response) -> Iterator[DeleteResult]:
        batch: list[str] = resp.context.item
        if not resp.ok:
            error = self._error(resp)
            for path in batch:
                yield DeleteResult(path, error)
            return
        root = _xml(resp.body)
        if root is None or _local(root.tag) == "Error":
            code, message = parse_s3_error(resp.body)
            error = _key_error(code or "MalformedResponse", message or "DeleteObjects answer unreadable",
                               resp.request.url)
            for path in batch:
                yield DeleteResult(path, error)
            return
        failed: dict[str, CloudFilesError] = {}
        for elem in root:
            if _local(elem.tag) != "Error":
                continue
            key = _child_text(elem, "Key") or ""
            code = _child_text(elem, "Code") or "Error"
            if code == "NoSuchKey":
                continue  # deleting a missing object is not an error
            failed[key] = _key_error(code, _child_text(elem, "Message") or "", resp.request.url)
        for path in batch:
            yield DeleteResult(path, failed.get(self.full_key(path)))

    # -- listing -----------------------------------------------------------------------------------
    def list_files(
        self, prefix: str, *, flat: bool, size: bool, resume_token: str | None = None
    ) -> Iterator[ListEntry]:
        """ListObjectsV2, one page at a time. Each entry's ``resume_token`` is the continuation token
        that fetched its page: resuming from it lists that page again, so nothing is skipped."""
        base = self.base_key
        full_prefix = base + (prefix or "")
        token = resume_token
        bucket_path = self._bucket_request_path()
        while True:
            self._refresh_signer()
            params = [("list-type", "2"), ("prefix", full_prefix), ("encoding-type", "url")]
            if flat:
                params.append(("delimiter", "/"))
            if self.list_page_size != 1000:
                params.append(("max-keys", str(self.list_page_size)))
            if token:
                params.append(("continuation-token", token))
            query = encode_query(params)

            def make(op: _Op, query: str = query) -> engine.Request:
                return self.build("GET", bucket_path, query, context=op)

            resp = self.one(_Op(make))
            if not resp.ok:
                raise self._error(resp)
            entries, next_token = self._parse_listing(resp.body, base, flat, size, token)
            yield from entries
            if not next_token:
                return
            token = next_token

    @staticmethod
    def _parse_listing(
        body: bytes, base: str, flat: bool, size: bool, token: str | None
    ) -> tuple[list[ListEntry], str | None]:
        root = _xml(body)
        if root is None:
            raise CloudFilesError("ListObjectsV2 answered with a body that is not XML")
        ns = root.tag[: root.tag.index("}") + 1] if root.tag.startswith("{") else ""
        url_encoded = (root.findtext(f"{ns}EncodingType") or "").lower() == "url"
        decode: Callable[[str], str] = unquote_plus if url_encoded else _identity
        nbase = len(base)
        # As cloud-files listed a page: its common prefixes ("dir/" entries of a flat listing) first,
        # then its objects, each in the server's order.
        names: list[tuple[str, int | None]] = []
        for common in root.iterfind(f"{ns}CommonPrefixes"):
            name = decode(common.findtext(f"{ns}Prefix") or "")[nbase:]
            if name:
                names.append((name, None))
        for contents in root.iterfind(f"{ns}Contents"):
            key = decode(contents.findtext(f"{ns}Key") or "")
            name = key[nbase:]
            if not name or (not flat and name.endswith("/")):
                continue  # the directory's own marker object; directory markers when recursing
            nbytes = None
            if size:
                text = contents.findtext(f"{ns}Size")
                nbytes = int(text) if text else None
            names.append((name, nbytes))
        truncated = (root.findtext(f"{ns}IsTruncated") or "").lower() == "true"
        next_token = root.findtext(f"{ns}NextContinuationToken") if truncated else None
        return [ListEntry(name, nbytes, token) for name, nbytes in names], next_token

    # -- bucket-level helpers ----------------------------------------------------------------------
    def create_bucket(self) -> None:
        """Create this bucket (PUT /bucket). Already owning it is not an error."""
        self._refresh_signer()
        body = b""
        if self.endpoint.is_aws and self.region != "us-east-1":
            body = (
                f'<CreateBucketConfiguration xmlns="{_S3_NS[1:-1]}"><LocationConstraint>{self.region}'
                "</LocationConstraint></CreateBucketConfiguration>"
            ).encode()

        def make(op: _Op) -> engine.Request:
            return self.build("PUT", self._bucket_request_path(), "", [], body,
                              hashlib.sha256(body).hexdigest(), context=op, body_size=len(body))

        resp = self.one(_Op(make))
        if resp.ok:
            return
        code, _ = parse_s3_error(resp.body)
        if code in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists") and resp.status == 409:
            if code == "BucketAlreadyOwnedByYou":
                return
        raise self._error(resp)

    def multipart_uploads(self, prefix: str = "") -> list[tuple[str, str]]:
        """Unfinished multipart uploads under ``prefix`` as ``(name, upload_id)`` (ListMultipartUploads)."""
        self._refresh_signer()
        query = encode_query([("uploads", None), ("prefix", self.base_key + prefix)])  # type: ignore[list-item]

        def make(op: _Op) -> engine.Request:
            return self.build("GET", self._bucket_request_path(), query, context=op)

        resp = self.one(_Op(make))
        if not resp.ok:
            raise self._error(resp)
        root = _xml(resp.body)
        out: list[tuple[str, str]] = []
        if root is None:
            return out
        for upload in root:
            if _local(upload.tag) != "Upload":
                continue
            key = _child_text(upload, "Key") or ""
            out.append((key[len(self.base_key):], _child_text(upload, "UploadId") or ""))
        return out

    def get_acl(self, path: str) -> Any:
        """The object's ACL (GetObjectAcl) as ``{'Owner': {...}, 'Grants': [{'Grantee': {...},
        'Permission': ...}]}``, or None when the object is missing."""
        self._refresh_signer()

        def make(op: _Op) -> engine.Request:
            return self.build("GET", self._key_path(self.full_key(path)), "acl", context=op)

        resp = self.one(_Op(make))
        if resp.error is None and resp.status == 404:
            return None
        if not resp.ok:
            raise self._error(resp)
        root = _xml(resp.body)
        if root is None:
            return None

        def as_dict(elem: ET.Element) -> Any:
            children = list(elem)
            if not children:
                return elem.text
            return {_local(c.tag): as_dict(c) for c in children}

        owner: Any = {}
        grants: list[Any] = []
        for child in root:
            name = _local(child.tag)
            if name == "Owner":
                owner = as_dict(child)
            elif name == "AccessControlList":
                grants = [as_dict(g) for g in child if _local(g.tag) == "Grant"]
        return {"Owner": owner, "Grants": grants}

    # -- server-side copy ----------------------------------------------------------------------------
    @classmethod
    def check_request_payer(cls, protocol: str, value: str | None) -> None:
        if value not in (None, "requester"):
            raise ValueError(f"request_payer for s3 must be 'requester'. Got: {value!r}")

    def server_copier(self, dest: StorageInterface) -> Copier | None:
        """CopyObject / UploadPartCopy, when ``dest`` is on the same endpoint with the same credentials."""
        if not isinstance(dest, S3Interface) or not self.same_endpoint(dest):
            return None

        def copy(pairs: list[tuple[str, str]]) -> Iterator[tuple[str, bool, BaseException | None]]:
            for name, _dest, found, _nbytes, error in self.copy_files(dest, pairs):
                yield name, found, error

        return copy

    def same_endpoint(self, other: Any) -> bool:
        """True when ``other`` is an S3Interface on the same service endpoint with the same credentials,
        so objects can be copied between them server-side (:meth:`copy_files`)."""
        return (
            isinstance(other, S3Interface)
            and other._service_identity() == self._service_identity()
            and other._signer_identity() == self._signer_identity()
        )

    def _service_identity(self) -> tuple[str, ...]:
        if self.endpoint.is_aws:
            return ("aws", self.region)
        return ("custom", self.endpoint.origin, self.endpoint.bucket_path.rpartition("/")[0])

    def _signer_identity(self) -> tuple[str, ...]:
        signer = self._signer
        return ("anonymous",) if signer is None else (signer.access_key, signer.token or "")

    def copy_files(
        self, dest: S3Interface, pairs: Iterable[tuple[str, str]]
    ) -> Iterator[tuple[str, str, bool, int, BaseException | None]]:
        """Server-side copies from this interface's objects to ``dest`` (same endpoint, see
        :meth:`same_endpoint`). ``pairs``: ``(src_name, dest_name)``. Yields ``(src, dest, found,
        nbytes, error)`` in completion order; objects above 5 GiB are copied in parts (UploadPartCopy).
        Metadata (Content-Encoding, Content-Type...) is copied with the object."""
        self._refresh_signer()
        dest._refresh_signer()
        large: list[tuple[str, str, int]] = []

        def make(op: _Op) -> engine.Request:
            src, dst = op.item
            source = f"/{uri_encode(self.bucket)}/{uri_encode(self.full_key(src), keep_slash=True)}"
            headers = [("x-amz-copy-source", source), ("x-amz-metadata-directive", "COPY")]
            if dest.acl:
                headers.append(("x-amz-acl", dest.acl))
            return dest.build("PUT", dest._key_path(dest.full_key(dst)), "", headers, context=op)

        def head(op: _Op) -> engine.Request:
            return self.build("HEAD", self._key_path(self.full_key(op.item[0])), context=op)

        # HEAD first: sizes decide between a single copy and a multipart copy, and say what is missing.
        sized: list[tuple[str, str, int]] = []
        for resp in self.exchange(_Op(head, pair) for pair in pairs):
            src, dst = resp.context.item
            if resp.error is None and resp.status == 404:
                yield src, dst, False, 0, None
            elif not resp.ok:
                yield src, dst, False, 0, self._error(resp)
            else:
                nbytes = int(resp.header("content-length") or 0)
                (large if nbytes > MAX_COPY_SIZE else sized).append((src, dst, nbytes))
        for resp in dest.exchange(_Op(make, (s, d), {"size": n}) for s, d, n in sized):
            src, dst = resp.context.item
            nbytes = resp.context.data["size"]
            # CopyObject may answer 200 with an <Error> body.
            code, message = parse_s3_error(resp.body) if resp.error is None else (None, None)
            if resp.ok and not code:
                yield src, dst, True, nbytes, None
            elif resp.error is None and resp.status == 404 and code == "NoSuchKey":
                yield src, dst, False, 0, None
            else:
                error = dest._error(resp) if not resp.ok else http_error(
                    500, resp.request.url, bytes(resp.body), f"{code}: {message}")
                yield src, dst, False, 0, error
        for src, dst, nbytes in large:
            copy_error = self._multipart_copy(dest, src, dst, nbytes)
            yield src, dst, copy_error is None, nbytes if copy_error is None else 0, copy_error

    def _multipart_copy(self, dest: S3Interface, src: str, dst: str, size: int) -> CloudFilesError | None:
        head = self.head_files([src])
        meta = next(head).head or {}
        item = PutItem(
            path=dst, content=b"", content_type=meta.get("Content-Type"),
            encoding=_normalize_encoding(meta.get("Content-Encoding")), cache_control=meta.get("Cache-Control"),
            storage_class=meta.get("Storage-Class"),
        )
        key_path = dest._key_path(dest.full_key(dst))
        source = f"/{uri_encode(self.bucket)}/{uri_encode(self.full_key(src), keep_slash=True)}"

        def create(op: _Op) -> engine.Request:
            return dest.build("POST", key_path, "uploads", dest._object_headers(item), context=op)

        resp = dest.one(_Op(create))
        root = _xml(resp.body) if resp.ok else None
        upload_id = _child_text(root, "UploadId") if root is not None else None
        if not upload_id:
            return dest._error(resp) if not resp.ok else CloudFilesError("CreateMultipartUpload: no UploadId")
        uid = upload_id
        try:
            def part(op: _Op) -> engine.Request:
                number, first, last = op.item
                query = encode_query([("partNumber", str(number)), ("uploadId", uid)])
                headers = [("x-amz-copy-source", source), ("x-amz-copy-source-range", f"bytes={first}-{last}")]
                return dest.build("PUT", key_path, query, headers, context=op)

            ranges = [
                _Op(part, (n + 1, off, min(size, off + COPY_PART_SIZE) - 1))
                for n, off in enumerate(range(0, size, COPY_PART_SIZE))
            ]
            etags: dict[int, str] = {}
            for resp in dest.exchange(ranges):
                root = _xml(resp.body) if resp.ok else None
                etag = _child_text(root, "ETag") if root is not None else None
                if not etag:
                    dest._abort(key_path, uid)
                    return dest._error(resp) if not resp.ok else CloudFilesError("UploadPartCopy: no ETag")
                etags[resp.context.item[0]] = etag
            xml = "".join(
                f"<Part><PartNumber>{n}</PartNumber><ETag>{_xml_escape(etags[n])}</ETag></Part>"
                for n in sorted(etags)
            )
            payload = f'<CompleteMultipartUpload xmlns="{_S3_NS[1:-1]}">{xml}</CompleteMultipartUpload>'.encode()

            def complete(op: _Op) -> engine.Request:
                return dest.build("POST", key_path, encode_query([("uploadId", uid)]), [], payload,
                                  hashlib.sha256(payload).hexdigest(), context=op)

            resp = dest.one(_Op(complete))
            code, message = parse_s3_error(resp.body) if resp.ok else (None, None)
            if not resp.ok or code:
                dest._abort(key_path, uid)
                return dest._error(resp) if not resp.ok else CloudFilesError(f"{code}: {message}")
            return None
        except BaseException:
            dest._abort(key_path, uid)
            raise

    def close(self) -> None:
        pass


#: conditional write: "only if no object has this key" (single PUT and CompleteMultipartUpload)
_IF_NONE_MATCH = ("If-None-Match", "*")


def _precondition_failed(resp: engine.Response, item: PutItem) -> bool:
    """A conditional write refused because the key exists: 412 (409 is a concurrent conditional
    write still in progress, reported as the error it is)."""
    return item.if_not_exists and resp.error is None and resp.status == 412


# Response headers a GET needs, found in one pass over the raw lines.
_GET_HEADERS = {
    b"content-encoding": "content-encoding",
    b"etag": "etag",
    b"x-amz-server-side-encryption": "x-amz-server-side-encryption",
    b"x-amz-server-side-encryption-customer-algorithm": "x-amz-server-side-encryption-customer-algorithm",
    b"x-amz-checksum-crc32c": "x-amz-checksum-crc32c",
    b"x-amz-checksum-type": "x-amz-checksum-type",
}
_CHECKSUM_MODE = ("x-amz-checksum-mode", "ENABLED")


def _scan_headers(lines: list[bytes]) -> dict[str, str]:
    found: dict[str, str] = {}
    for line in lines:
        colon = line.find(b":")
        if colon > 0:
            name = _GET_HEADERS.get(line[:colon].lower())
            if name is not None:
                found[name] = line[colon + 1 :].strip().decode("latin-1")
    return found


def _identity(text: str) -> str:
    return text

