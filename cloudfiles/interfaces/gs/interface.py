"""The ``gs://`` interface: metadata reads, ACLs, server-side copies and listing here; downloads,
uploads and batches in their own modules."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, ClassVar
from urllib.parse import urlencode

import orjson

from ... import engine
from ...quoting import quote_name
from ..base import HEAD_KEYS, Copier, HeadResult, ListEntry, StorageInterface
from .batch import BATCH_SIZE
from .metadata import HEAD_FIELDS, _status_error, gcs_error, head_from_metadata, list_params, parse_list_page
from .reads import GCSReads
from .uploads import GCSUploads

__all__ = ["GCSInterface"]


class GCSInterface(GCSUploads, GCSReads):
    """Google Cloud Storage (``gs://bucket/path``) through the JSON API."""

    exists_batch_size = BATCH_SIZE
    delete_batch_size = BATCH_SIZE
    encoding_labels: ClassVar[Mapping[str | None, str | None]] = {}  # GCS stores bz2 as "bz2"
    legacy_delete_batch_size = 1000
    legacy_head_keys = tuple(k for k in HEAD_KEYS if k not in ("Request-Charged", "Parts-Count"))

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
        resp = self._reauthorized(self.run_one(self._request("GET", url, [])))
        if resp.error is None and resp.status == 404:
            return None
        if not resp.ok:
            raise gcs_error(resp)
        return orjson.loads(resp.body).get("items", [])

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
            query = (f"&rewriteToken={quote_name(token)}" if token else "") + qs
            return (
                f"{self.object_url(src_key)}/rewriteTo/b/{quote_name(target.bucket)}/o/"
                f"{quote_name(dest_key)}" + (f"?{query[1:]}" if query else "")
            )

        def request(src: str, src_key: str, dest_key: str, token: str | None) -> engine.Request:
            return self._request(
                "POST", rewrite_url(src_key, dest_key, token), ["Content-Type: application/json"], b"{}",
                context=(src, src_key, dest_key),
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
                resp = self.run_one(request(src, src_key, dest_key, answer.get("rewriteToken")))

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
            request = self._request("GET", f"{self.object_base}?{query}{self.user_project_qs}", [])
            resp = self._reauthorized(self.run_one(request))
            if not resp.ok:
                raise gcs_error(resp)
            entries, token = parse_list_page(resp.body, len(base), size=size)
            yield from entries
            if not token:
                return
