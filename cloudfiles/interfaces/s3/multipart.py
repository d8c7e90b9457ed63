"""S3 multipart uploads and multipart copies (UploadPartCopy): create, parts in parallel, one
CompleteMultipartUpload builder, abort on any failure."""

from __future__ import annotations

import base64
import contextlib
import hashlib
from typing import Any

from ... import engine
from ...checksums import crc32c_concat, crc32c_to_b64, crc32c_view
from ...compression import normalize_encoding
from ...exceptions import CloudFilesError, http_error, object_exists
from ...quoting import uri_encode
from ...sigv4 import UNSIGNED_PAYLOAD, encode_query
from ..base import PutItem, PutResult
from ..bodies import UploadSource
from .client import MiB, _Op
from .errors import S3_NS, child_text, parse_s3_error, parse_xml, xml_escape
from .reads import S3Reads

__all__ = ["S3Multipart", "complete_payload"]

MIN_PART_SIZE = 5 * MiB
MAX_PARTS = 10_000
#: part size of a multipart copy (objects above ``copies.MAX_COPY_SIZE``)
COPY_PART_SIZE = 512 * MiB

#: conditional write: "only if no object has this key" (single PUT and CompleteMultipartUpload)
_IF_NONE_MATCH = ("If-None-Match", "*")


def _precondition_failed(resp: engine.Response, item: PutItem) -> bool:
    """A conditional write refused because the key exists: 412 (409 is a concurrent conditional
    write still in progress, reported as the error it is)."""
    return item.if_not_exists and resp.error is None and resp.status == 412


def _part_hashes(
    body: UploadSource, offset: int, length: int, data: Any = None, *, crc: bool = True
) -> tuple[str, int]:
    """A part's Content-MD5 (base64) and (``crc``) CRC32C, in one read of its bytes."""
    digest = hashlib.md5(usedforsecurity=False)  # Content-MD5: S3 asks for it, not security
    value = 0
    chunks = [data] if data is not None and not hasattr(data, "read") else body.chunks(offset, length)
    for chunk in chunks:
        digest.update(chunk)
        if crc:
            value = crc32c_view(chunk, value)
    return base64.b64encode(digest.digest()).decode("ascii"), value


def _md5_b64(body: UploadSource, offset: int, length: int, data: Any = None) -> str:
    return _part_hashes(body, offset, length, data, crc=False)[0]


def complete_payload(etags: dict[int, str], crcs: dict[int, int] | None = None) -> bytes:
    """The CompleteMultipartUpload body: every part's number and ETag (and CRC32C, for an upload that
    asked for checksums), in part order."""
    parts = "".join(
        f"<Part><PartNumber>{n}</PartNumber><ETag>{xml_escape(etags[n])}</ETag>"
        + (f"<ChecksumCRC32C>{crc32c_to_b64(crcs[n])}</ChecksumCRC32C>" if crcs else "")
        + "</Part>"
        for n in sorted(etags)
    )
    return f'<CompleteMultipartUpload xmlns="{S3_NS[1:-1]}">{parts}</CompleteMultipartUpload>'.encode()


#: CreateMultipartUpload asking for a CRC32C of the whole object (what a single PUT stores): the store then
#: checks every part's CRC32C and the whole object's, and GETs return the whole object's, which a reader
#: verifies at memory speed instead of hashing the multipart ETag's MD5s.
_FULL_OBJECT_CRC32C = [("x-amz-checksum-algorithm", "CRC32C"), ("x-amz-checksum-type", "FULL_OBJECT")]
#: statuses of a store that refuses those headers (it is asked again without them)
_REFUSED = (400, 501)


def _checksum_mode(resp: engine.Response) -> str | None:
    """What CreateMultipartUpload's answer says the store will check: 'full' (a whole-object CRC32C),
    'composite' (per-part CRC32Cs only) or None (it ignored the request: nothing is sent)."""
    if not resp.ok or (resp.header("x-amz-checksum-algorithm") or "").upper() != "CRC32C":
        return None
    return "full" if (resp.header("x-amz-checksum-type") or "").upper() == "FULL_OBJECT" else "composite"


class S3Multipart(S3Reads):
    """Uploads and copies in parts."""

    #: set once this endpoint refused a checksum request on CreateMultipartUpload: never asked again
    checksums_refused = False

    def _effective_part_size(self, size: int) -> int:
        part = max(MIN_PART_SIZE, int(self.part_size))
        if -(-size // part) > MAX_PARTS:
            part = -(-size // MAX_PARTS)
            part = -(-part // MiB) * MiB
        return part

    def multipart_upload(self, item: PutItem, body: UploadSource) -> PutResult:
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
            resp, upload_id, mode = self._create_upload(key_path, item, checksums=self.checksum == "crc32c")
            if not resp.ok:
                return PutResult(item.path, self._error(resp))
            if not upload_id:
                return PutResult(item.path, http_error(resp.status, resp.request.url, bytes(resp.body),
                                                       "CreateMultipartUpload answered without an UploadId"))
            part_size = self._effective_part_size(body.size)
            offsets = range(0, max(body.size, 1), part_size)
            etags: dict[int, str] = {}
            crcs: dict[int, int] = {}
            uid = upload_id

            def part_request(op: _Op) -> engine.Request:
                number, offset, length = op.item
                data = op.data.get("data")
                if data is None:
                    data = body.part(offset, length)
                    if not hasattr(data, "read"):
                        op.data["data"] = data  # buffers are kept for a retry; file slices re-read
                if "md5" not in op.data:
                    op.data["md5"], crcs[number] = _part_hashes(body, offset, length, data, crc=mode is not None)
                headers = [("Content-MD5", op.data["md5"])]
                if mode is not None:
                    headers.append(("x-amz-checksum-crc32c", crc32c_to_b64(crcs[number])))
                query = encode_query([("partNumber", str(number)), ("uploadId", uid)])
                return self.build(
                    "PUT", key_path, query, headers, data, UNSIGNED_PAYLOAD, context=op, body_size=length,
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
            complete_headers = [("Content-Type", "application/xml")]
            if item.if_not_exists:
                complete_headers.append(_IF_NONE_MATCH)
            if mode == "full":
                sizes = (min(part_size, body.size - off) for off in offsets)
                whole = crc32c_concat((crcs[n] for n in sorted(crcs)), sizes)
                complete_headers += [("x-amz-checksum-crc32c", crc32c_to_b64(whole)), _FULL_OBJECT_CRC32C[1]]
            resp = self._complete(key_path, uid, etags, complete_headers, crcs if mode else None)
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

        # The upload failed already; a failed abort is left to the bucket's lifecycle rules.
        with contextlib.suppress(Exception):
            self.one(_Op(make))

    def _create_upload(
        self, key_path: str, item: PutItem, *, checksums: bool = False
    ) -> tuple[engine.Response, str | None, str | None]:
        """CreateMultipartUpload with ``item``'s metadata (``checksums``: asking for a full-object CRC32C,
        unless this endpoint refused that before): the answer, its UploadId (None if absent) and the
        checksum mode the store took on (see :func:`_checksum_mode`)."""

        def create(op: _Op) -> engine.Request:
            extra = _FULL_OBJECT_CRC32C if op.data["ask"] else []
            return self.build("POST", key_path, "uploads", self._object_headers(item) + extra, context=op)

        ask = checksums and not self.checksums_refused
        resp = self.one(_Op(create, data={"ask": ask}))
        if ask and resp.error is None and resp.status in _REFUSED:
            # A store that does not know these headers: ask once more without them.
            resp = self.one(_Op(create, data={"ask": False}))
            if resp.ok:
                self.checksums_refused = True
            ask = False
        root = parse_xml(resp.body) if resp.ok else None
        mode = _checksum_mode(resp) if ask else None
        return resp, (child_text(root, "UploadId") if root is not None else None), mode

    def _complete(
        self, key_path: str, upload_id: str, etags: dict[int, str], headers: list[tuple[str, str]],
        crcs: dict[int, int] | None = None,
    ) -> engine.Response:
        """CompleteMultipartUpload of the parts ``etags`` (part number -> ETag; ``crcs``: their CRC32Cs,
        for an upload created with checksums)."""
        payload = complete_payload(etags, crcs)
        query = encode_query([("uploadId", upload_id)])

        def complete(op: _Op) -> engine.Request:
            return self.build("POST", key_path, query, headers, payload, hashlib.sha256(payload).hexdigest(), context=op)

        return self.one(_Op(complete))

    def _multipart_copy(self, dest: S3Multipart, src: str, dst: str, size: int) -> CloudFilesError | None:
        head = self.head_files([src])
        meta = next(head).head or {}
        item = PutItem(
            path=dst, content=b"", content_type=meta.get("Content-Type"),
            encoding=normalize_encoding(meta.get("Content-Encoding")), cache_control=meta.get("Cache-Control"),
            storage_class=meta.get("Storage-Class"),
        )
        key_path = dest._key_path(dest.full_key(dst))
        source = f"/{uri_encode(self.bucket)}/{uri_encode(self.full_key(src), keep_slash=True)}"

        resp, upload_id, _ = dest._create_upload(key_path, item)
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
                root = parse_xml(resp.body) if resp.ok else None
                etag = child_text(root, "ETag") if root is not None else None
                if not etag:
                    dest._abort(key_path, uid)
                    return dest._error(resp) if not resp.ok else CloudFilesError("UploadPartCopy: no ETag")
                etags[resp.context.item[0]] = etag
            resp = dest._complete(key_path, uid, etags, [])
            code, message = parse_s3_error(resp.body) if resp.ok else (None, None)
            if not resp.ok or code:
                dest._abort(key_path, uid)
                return dest._error(resp) if not resp.ok else CloudFilesError(f"{code}: {message}")
            return None
        except BaseException:
            dest._abort(key_path, uid)
            raise
