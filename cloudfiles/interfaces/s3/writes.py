"""S3 writes: single-request PUTs (multipart above the threshold, :mod:`.multipart`) and deletes
(DeleteObjects, 1,000 keys per request)."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable, Iterable, Iterator

from ... import engine, lib
from ...exceptions import CloudFilesError, object_exists
from ...sigv4 import UNSIGNED_PAYLOAD
from ..base import DeleteResult, PutItem, PutResult
from ..bodies import UploadSource, upload_source
from .client import MiB, _Op
from .errors import S3_NS, child_text, key_error, local_name, parse_s3_error, parse_xml, xml_escape
from .multipart import _IF_NONE_MATCH, S3Multipart, _md5_b64, _precondition_failed

__all__ = ["S3Writes"]

#: over http, bodies up to this size are signed with their real SHA-256; larger ones (and streams) are
#: sent as UNSIGNED-PAYLOAD, protected by their Content-MD5 / CRC32C header instead
SIGNED_PAYLOAD_LIMIT = 1 * MiB
DELETE_BATCH = 1000
# Characters XML 1.0 cannot carry at all: such keys are deleted one by one instead of in a batch.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


class S3Writes(S3Multipart):
    """PUT and DELETE."""

    def _put_request(self, op: _Op) -> engine.Request:
        item: PutItem = op.item
        body: UploadSource = op.data["body"]
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
        large: list[tuple[PutItem, UploadSource]] = []
        while True:
            self._refresh_signer()
            large.clear()

            def ops() -> Iterator[_Op]:
                for item in source:
                    try:
                        body = upload_source(item.content)
                    except Exception as err:  # noqa: BLE001 - e.g. a closed file: this item fails, the rest go on
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

    # -- delete ------------------------------------------------------------------------------------
    def delete_files(self, paths: Iterable[str]) -> Iterator[DeleteResult]:
        self._refresh_signer()
        singles: list[str] = []
        bucket_path = self._bucket_request_path()

        def batch_request(op: _Op) -> engine.Request:
            payload = op.data["payload"]
            md5 = base64.b64encode(hashlib.md5(payload, usedforsecurity=False).digest()).decode("ascii")
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
        objects = "".join(f"<Object><Key>{xml_escape(self.full_key(p))}</Key></Object>" for p in batch)
        payload = f'<Delete xmlns="{S3_NS[1:-1]}"><Quiet>true</Quiet>{objects}</Delete>'.encode()
        return _Op(make, batch, {"payload": payload})

    def _delete_results(self, resp: engine.Response) -> Iterator[DeleteResult]:
        batch: list[str] = resp.context.item
        if not resp.ok:
            error = self._error(resp)
            for path in batch:
                yield DeleteResult(path, error)
            return
        root = parse_xml(resp.body)
        if root is None or local_name(root.tag) == "Error":
            code, message = parse_s3_error(resp.body)
            error = key_error(code or "MalformedResponse", message or "DeleteObjects answer unreadable",
                               resp.request.url)
            for path in batch:
                yield DeleteResult(path, error)
            return
        failed: dict[str, CloudFilesError] = {}
        for elem in root:
            if local_name(elem.tag) != "Error":
                continue
            key = child_text(elem, "Key") or ""
            code = child_text(elem, "Code") or "Error"
            if code == "NoSuchKey":
                continue  # deleting a missing object is not an error
            failed[key] = key_error(code, child_text(elem, "Message") or "", resp.request.url)
        for path in batch:
            yield DeleteResult(path, failed.get(self.full_key(path)))
