"""GCS downloads: media GETs (stored encodings kept, hashes reported to the facade), and metadata +
media pairs for servers that do not say how a body is encoded."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import orjson

from ... import engine
from ...compression import normalize_encoding
from ...exceptions import CloudFilesError
from ..base import GetItem, GetResult
from ..remote import get_loop, range_header
from .client import GCSClient
from .metadata import _server_hash, gcs_error, parse_goog_hash

__all__ = ["ACCEPT_GZIP", "GCSReads"]

ACCEPT_GZIP = "Accept-Encoding: gzip"
_MEDIA_META_FIELDS = "contentEncoding,md5Hash,crc32c,componentCount,generation"


class _Unknown:
    pass


_UNKNOWN = _Unknown()


class _Pair:
    """A download sent as metadata GET + media GET together (servers that do not report encodings)."""

    __slots__ = ("item", "media", "meta")

    def __init__(self, item: GetItem) -> None:
        self.item = item
        self.meta: engine.Response | None = None
        self.media: engine.Response | None = None


class GCSReads(GCSClient):
    """Media GETs."""

    def get_files(self, items: Iterable[GetItem]) -> Iterator[GetResult]:
        return get_loop(items, self._get_requests, self.run, self._get_result)

    def _get_requests(self, item: GetItem, rng: str | None) -> Any:
        if rng == "":
            return None  # the loop answers an empty range without a request
        key = self.key(item.path)
        if self._reports_encoding is False:
            pair = _Pair(item)
            return (
                self._metadata_request(key, _MEDIA_META_FIELDS, (pair, "meta")),
                self._media_request(key, item, rng, (pair, "media")),
            )
        return self._media_request(key, item, rng, item)

    def _media_request(self, key: str, item: GetItem, rng: str | None, context: Any) -> engine.Request:
        headers = [ACCEPT_GZIP, rng] if rng else [ACCEPT_GZIP]
        url = f"{self.object_url(key)}?alt=media{self.user_project_qs}"
        # byte_range: what the engine checks a ranged answer against (None for a whole-object GET)
        return engine.Request(
            "GET", url, [*self._auth(), *headers], context=context, split=rng is None,
            byte_range=(item.start, item.end) if rng else None, resign=self._resign, signing=headers,
        )

    def _get_result(self, resp: engine.Response) -> GetResult | None:
        ctx = resp.context
        if isinstance(ctx, tuple):
            pair, kind = ctx
            if kind == "meta":
                pair.meta = resp
            else:
                pair.media = resp
            if pair.meta is not None and pair.media is not None:
                return self._pair_result(pair)
            return None
        return self._media_result(self._reauthorized(resp))

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
    def _encoding_of(resp: engine.Response, hashes: dict[str, str]) -> str | _Unknown | None:
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
        if meta_resp is None or media is None:  # both halves complete before a pair is finished
            raise RuntimeError(f"incomplete GCS read pair for {item.path!r}")
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
            meta_resp = self.run_one(self._metadata_request(key, _MEDIA_META_FIELDS, item))
            if meta_resp.error is None and meta_resp.status == 404:
                return GetResult(item=item)
            if not meta_resp.ok:
                return GetResult(item=item, error=gcs_error(meta_resp))
            meta = orjson.loads(meta_resp.body)
            media = self.run_one(self._media_request(key, item, range_header(item.start, item.end), item))
            if media.error is not None or media.status not in (200, 206):
                return self._failed_get(item, media)
            hashes = parse_goog_hash(media.header("x-goog-hash"))
            if hashes.get("md5") and meta.get("md5Hash") and hashes["md5"] != meta["md5Hash"]:
                continue  # changed again between the two requests
            return self._combine(item, media, meta, hashes)
        return GetResult(item=item, error=CloudFilesError(f"{item.path} changed during every download attempt"))
