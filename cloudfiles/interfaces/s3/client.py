"""What every S3 request needs: the endpoint, the credentials, a signed request, and sending a batch of
them (re-signed for the bucket's region when AWS says it is another). The operations build on this."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from ... import engine, forksafe
from ...compression import encoding_header
from ...exceptions import AuthorizationError, CloudFilesError
from ...quoting import uri_encode
from ...sigv4 import EMPTY_SHA256, SigV4Signer
from ..base import InterfaceOptions, PutItem
from ..remote import CA_BUNDLE_ENV, RemoteInterface
from . import credentials
from .endpoint import ALIAS_ACLS, DEFAULT_ACL, resolve_endpoint
from .errors import s3_error

__all__ = ["S3Client"]

MiB = 1 << 20
DEFAULT_PART_SIZE = 8 * MiB


class _Op:
    """One request's worth of work; ``make`` rebuilds its (freshly signed) request, e.g. after the
    region was corrected."""

    __slots__ = ("data", "item", "make")

    def __init__(self, make: Callable[[_Op], engine.Request], item: Any = None,
                 data: dict[str, Any] | None = None) -> None:
        self.make = make
        self.item = item
        self.data: dict[str, Any] = {} if data is None else data

    def request(self) -> engine.Request:
        return self.make(self)


class S3Client(RemoteInterface):
    """An S3 bucket's endpoint, credentials and signed requests: the base of :class:`S3Interface`."""

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
        from ...secrets import _aws_profile, aws_credentials

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
        chain = credentials._botocore_chain(profile)
        if chain is not None:
            self._refreshable = chain
        else:
            self._anonymous = True
            self._unsigned_reason = "no AWS credentials were found, so the request was sent unsigned"
            error = credentials._CHAIN_ERRORS.get(profile)
            if error is not None:
                self._unsigned_reason += f"; botocore's credential chain failed: {type(error).__name__}: {error}"
        return creds

    def _refresh_signer(self) -> None:
        """Pick the signer for the next request: refreshable credentials are frozen again once their
        frozen copy is :func:`.credentials._reuse_seconds` old."""
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
            except Exception as err:  # noqa: BLE001 - botocore errors never escape unwrapped (no secret here)
                raise AuthorizationError(
                    f"could not refresh AWS credentials ({type(err).__name__}: {err})"
                ) from None
            triple = (frozen.access_key, frozen.secret_key, frozen.token)
            until = now + credentials._reuse_seconds(self._refreshable)
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
        on_part: Any = None,
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
                                  byte_range=byte_range, on_part=on_part)
        # What a later signature needs rides on the request (a tuple: cheaper than a closure per request).
        return engine.Request(method, url, lines, body, body_size=body_size, context=context, split=split,
                              byte_range=byte_range, resign=self._resign_request, on_part=on_part,
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

    # -- identity: server-side copies need the same endpoint and credentials -----------------------
    def _service_identity(self) -> tuple[str, ...]:
        if self.endpoint.is_aws:
            return ("aws", self.region)
        return ("custom", self.endpoint.origin, self.endpoint.bucket_path.rpartition("/")[0])

    def _signer_identity(self) -> tuple[str, ...]:
        signer = self._signer
        return ("anonymous",) if signer is None else (signer.access_key, signer.token or "")

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
