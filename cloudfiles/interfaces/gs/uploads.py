"""GCS uploads: simple media uploads, multipart uploads with JSON metadata, and composite uploads
(parts, then ``compose`` 32 at a time) above ``composite_upload_threshold``."""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterable, Iterator
from typing import Any

import orjson

from ... import engine
from ...buffers import nbytes, remaining
from ...compression import encoding_header
from ...exceptions import CloudFilesError, CRC32CIntegrityError, object_exists
from ...lib import crc32c, crc32c_combine, crc32c_to_b64
from ...quoting import quote_name
from ..base import PutItem, PutResult
from ..bodies import ChainBody
from .batch import GCSBatch
from .metadata import gcs_error

__all__ = ["COMPOSE_LIMIT", "GCSUploads"]

#: objects per compose request (the service's limit)
COMPOSE_LIMIT = 32
# Above this, multipart bodies are streamed from their parts instead of being concatenated.
_CONCAT_LIMIT = 1 << 20


class GCSUploads(GCSBatch):
    """Uploads: media, multipart, composite."""

    def put_files(self, items: Iterable[PutItem]) -> Iterator[PutResult]:
        immediate: deque[PutResult] = deque()
        large: list[PutItem] = []

        def requests() -> Iterator[engine.Request]:
            for item in items:
                try:
                    size = remaining(item.content) if hasattr(item.content, "read") else nbytes(item.content)
                    if self.composite_threshold > 0 and size > self.composite_threshold:
                        large.append(item)
                        continue
                    yield self._upload_request(item, size)
                except Exception as err:  # noqa: BLE001 - any unreadable content fails its item, not the batch
                    immediate.append(PutResult(item.path, error=err))

        for resp in self.run(requests()):
            while immediate:
                yield immediate.popleft()
            resp = self._reauthorized(resp)
            path, sent = resp.context
            if resp.error is None and resp.status == 412:  # only sent with ifGenerationMatch=0
                yield PutResult(path, object_exists(path))
                continue
            yield PutResult(path, None if resp.ok else gcs_error(resp), sent if resp.ok else 0)
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
            headers = [f"Content-Type: {meta['contentType']}"]
            if checksum is not None:
                headers.append(f"X-Goog-Hash: crc32c={checksum}")
            return self._request("POST", url, headers, content, context=context)
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
            body = ChainBody([head, content, tail])
        else:
            body = b"".join((head, content, tail))
        url = f"{self.upload_base}?uploadType=multipart{condition}{self.user_project_qs}"
        headers = [f"Content-Type: multipart/related; boundary={boundary}"]
        return self._request("POST", url, headers, body, context=context)

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
        total = remaining(content) if is_stream else nbytes(content)
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
            requests.append(self._request("POST", url, ["Content-Type: application/json"], body, context=n))
        results: list[dict[str, Any]] = [{} for _ in jobs]
        for resp in self.run(requests):
            resp = self._reauthorized(resp)
            if not resp.ok:
                raise gcs_error(resp)
            results[resp.context] = orjson.loads(resp.body)
        return results
