"""S3 reads: GET (ranges, the integrity hash the facade checks, multipart ETags and split GETs' in-flight
hashes checked here, see :mod:`.integrity`) and HEAD (head, exists, size)."""

from __future__ import annotations

import base64
from collections.abc import Iterable, Iterator
from typing import Any

from ... import engine, lib
from ...compression import normalize_encoding
from ...exceptions import CRC32CIntegrityError, IntegrityError, MD5IntegrityError, UnsupportedCompressionType
from ..base import GetItem, GetResult, HeadResult
from ..remote import get_loop, head_from_headers
from .client import S3Client, _Op
from .errors import parse_s3_error, s3_error
from .integrity import InFlightCheck, b64_crc32c, expected_hash, scan_headers

__all__ = ["S3Reads"]

_CHECKSUM_MODE = ("x-amz-checksum-mode", "ENABLED")
# Looked up at each call (tests inject lying headers through this name).
_scan_headers = scan_headers


def _strip_chunked(value: str | None) -> str | None:
    if not value:
        return None
    tokens = [t.strip() for t in value.split(",") if t.strip() and t.strip().lower() != "aws-chunked"]
    return ",".join(tokens) or None


class S3Reads(S3Client):
    """GET and HEAD."""

    def get_files(self, items: Iterable[GetItem]) -> Iterator[GetResult]:
        self._refresh_signer()
        # A multipart ETag mismatch comes back as an MD5IntegrityError; the facade downloads such
        # objects once more before the error stands (one retry layer, not two).
        yield from get_loop(items, self._get_op, self.exchange, self._get_result)

    def _get_op(self, item: GetItem, rng: str | None) -> _Op:
        return _Op(self._get_request, item, {"range": rng})

    def _get_request(self, op: _Op) -> engine.Request:
        item: GetItem = op.item
        headers: list[tuple[str, str]] = []
        rng = op.data.get("range")
        check = None
        if rng:
            headers.append(("Range", rng[len("Range: "):]))
        else:
            # Whole objects: ask for the stored CRC32C (sent when the object has one), verified in a
            # fraction of the CPU an MD5 of the body costs.
            headers.append(_CHECKSUM_MODE)
            # Split into parts if large: their hashes are then computed while the others arrive.
            check = op.data["check"] = InFlightCheck(item.part_size or self.part_size)
        return self.build(
            "GET", self._key_path(self.full_key(item.path)), "", headers, context=op, split=not rng,
            byte_range=(item.start, item.end) if rng else None, on_part=check,
        )

    def _get_result(self, resp: engine.Response) -> GetResult:
        op: _Op = resp.context
        item: GetItem = op.item
        status = resp.status
        if resp.error is None and status in (200, 206):
            wanted = _scan_headers(resp)
            try:
                encoding = normalize_encoding(wanted.get("content-encoding"))
            except UnsupportedCompressionType as err:
                return GetResult(item=item, error=err)
            result = GetResult(item=item, content=resp.body, encoding=encoding)
            if item.start is None and item.end is None:
                error = self._attach_hash(result, wanted, op.data.get("check"))
                if error is not None:
                    result.content = None
                    result.error = error
            return result
        check = op.data.get("check")
        if check is not None:
            check.cancel()
        if resp.error is None and status == 404:
            code, _ = parse_s3_error(resp.body)
            if code == "NoSuchBucket":
                return GetResult(item=item, error=s3_error(resp, f" (bucket {self.bucket!r})"))
            return GetResult(item=item)
        if resp.error is None and status == 416:  # the range starts at or past the end
            return GetResult(item=item, content=b"")
        return GetResult(item=item, error=self._error(resp))

    def _attach_hash(
        self, result: GetResult, headers: dict[str, str], check: InFlightCheck | None
    ) -> IntegrityError | None:
        """Set the CRC32C or MD5 the facade checks, or check it here when ``check`` hashed the body while
        it arrived, or check a multipart ETag here. Returns a mismatch error."""
        expected = expected_hash(headers)
        if expected is None or result.content is None:  # a successful GET always has a body buffer
            return None
        kind, value = expected
        if kind == "crc32c":
            result.server_hash = value
            result.hash_type = "crc32c"
            computed = check.crc32c(result.content) if check is not None else None
            if computed is None:
                return None  # not split: the facade checks it
            server = b64_crc32c(value)
            if computed != server:
                return CRC32CIntegrityError(
                    f"crc32c mismatch for {result.item.path}: server {server} ; client {computed}"
                )
            result.verified = True
            return None
        if kind == "md5":
            result.server_hash = base64.b64encode(bytes.fromhex(value)).decode("ascii")
            result.hash_type = "md5"
            return None
        content = result.content
        if check is not None and check.multipart_etag(content) == value.lower():
            return None  # hashed part by part while the download ran
        # Not split, or the first part size guessed did not fit: every candidate, then the server's.
        item: GetItem = result.item
        part_size = item.part_size or self.part_size
        if lib.validate_s3_multipart_etag(content, value, part_size):
            return None
        # The usual part sizes did not fit: ask the server for part 1's size, then try that.
        learned = self._first_part_size(item.path)
        if learned and learned != part_size and lib.validate_s3_multipart_etag(content, value, learned):
            return None
        return MD5IntegrityError(f"{item.path} failed its multipart md5 check. server etag: {value}")

    def _first_part_size(self, path: str) -> int | None:
        def make(op: _Op) -> engine.Request:
            return self.build("HEAD", self._key_path(self.full_key(path)), "partNumber=1", context=op)

        resp = self.one(_Op(make))
        if not resp.ok or not resp.header("x-amz-mp-parts-count"):
            return None
        length = resp.header("content-length")
        return int(length) if length and length.isdigit() else None

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
