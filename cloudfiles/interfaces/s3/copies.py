"""S3 server-side copies between buckets of one endpoint: CopyObject, UploadPartCopy above 5 GiB."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from ... import engine
from ...exceptions import http_error
from ...quoting import uri_encode
from .client import S3Client, _Op
from .errors import parse_s3_error
from .multipart import S3Multipart

__all__ = ["MAX_COPY_SIZE", "S3Copies"]

#: single-request copy limit; larger objects are copied with UploadPartCopy
MAX_COPY_SIZE = 5 * 1024**3


class S3Copies(S3Multipart):
    """Server-side copies."""

    def same_endpoint(self, other: Any) -> bool:
        """True when ``other`` is an S3 interface on the same service endpoint with the same credentials,
        so objects can be copied between them server-side (:meth:`copy_files`)."""
        return (
            isinstance(other, S3Client)
            and other._service_identity() == self._service_identity()
            and other._signer_identity() == self._signer_identity()
        )

    def copy_files(
        self, dest: S3Copies, pairs: Iterable[tuple[str, str]]
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
