"""GCS JSON batch requests (100 calls each) and deletes: batched where the server takes them, one
request per object where it does not."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from typing import Any

from ... import engine
from ...quoting import quote_name
from ..base import DeleteResult
from .client import GCSClient
from .metadata import _status_error, gcs_error

__all__ = ["BATCH_SIZE", "GCSBatch"]

#: calls per JSON batch request (the service's limit)
BATCH_SIZE = 100
_STATUS_RE = re.compile(rb"HTTP/\d(?:\.\d)?\s+(\d{3})")
_CONTENT_ID_RE = re.compile(rb"content-id:\s*<response-[^>]*?(\d+)>", re.IGNORECASE)
_BOUNDARY_RE = re.compile(r'boundary="?([^";]+)"?', re.IGNORECASE)


class GCSBatch(GCSClient):
    """JSON batch requests; deletes."""

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
        requests = (self._request("DELETE", self.object_url(key) + query, [], context=path) for path, key in pairs)
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
                self._request(method, self.object_url(key) + query, [], context=path)
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
        headers = [f"Content-Type: multipart/mixed; boundary={boundary}"]
        return self._request("POST", self.batch_url, headers, body, context=block)


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
