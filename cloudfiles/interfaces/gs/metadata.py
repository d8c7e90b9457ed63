"""Reading GCS JSON API answers: errors, ``x-goog-hash``, object resources -> head dicts, listing pages."""

from __future__ import annotations

import datetime
from typing import Any

import orjson

from ... import engine
from ...exceptions import CloudFilesError, http_error
from ..base import ListEntry, empty_head

__all__ = ["HEAD_FIELDS", "PAGE_SIZE", "gcs_error", "head_from_metadata", "list_params", "parse_goog_hash", "parse_list_page"]

#: entries per listing page (the service's maximum)
PAGE_SIZE = 1000

HEAD_FIELDS = (
    "name,size,contentType,contentEncoding,contentDisposition,contentLanguage,cacheControl,etag,"
    "md5Hash,crc32c,storageClass,updated,timeCreated,componentCount,generation"
)


def gcs_error(response: engine.Response) -> CloudFilesError:
    """The named exception for a failed JSON API response, with the service's message if it sent one."""
    if response.error is not None:
        return response.error
    return _status_error(response.status, response.request.url, response.body)


def _status_error(status: int, url: str, body: bytes | None) -> CloudFilesError:
    message = None
    if body:
        try:
            doc = orjson.loads(body)
            err = doc.get("error") if isinstance(doc, dict) else None
            if isinstance(err, dict):
                message = err.get("message")
            elif isinstance(err, str):
                message = doc.get("error_description") or err
        except orjson.JSONDecodeError:
            text = bytes(body[:300]).decode("utf-8", "replace").strip()
            message = text.splitlines()[0] if text and not text.startswith("<") else None
    return http_error(status, url, bytes(body[:4096]) if body else None, message)


def parse_goog_hash(value: str | None) -> dict[str, str]:
    """``x-goog-hash: crc32c=AAA==,md5=BBB==`` (possibly repeated) -> ``{'crc32c': 'AAA==', 'md5': ...}``."""
    out: dict[str, str] = {}
    if not value:
        return out
    for part in value.split(","):
        name, sep, digest = part.strip().partition("=")
        if sep:
            out[name.strip().lower()] = digest.strip()
    return out


def _server_hash(hashes: dict[str, str]) -> tuple[str | None, str | None]:
    # Composite objects have no md5: their integrity check is the crc32c.
    if hashes.get("md5"):
        return hashes["md5"], "md5"
    if hashes.get("crc32c"):
        return hashes["crc32c"], "crc32c"
    return None, None


def _parse_time(value: Any) -> datetime.datetime | None:
    if not value or not isinstance(value, str):
        return None
    try:
        return datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def head_from_metadata(meta: dict[str, Any]) -> dict[str, Any]:
    """A head dict (every HEAD_KEYS key) from a JSON API object resource."""
    head = empty_head()
    size = meta.get("size")
    head.update({
        "Cache-Control": meta.get("cacheControl"),
        "Content-Length": None if size is None else int(size),
        "Content-Type": meta.get("contentType"),
        "ETag": meta.get("etag"),
        # Last modification, not creation time (cloud-files reported time_created).
        "Last-Modified": _parse_time(meta.get("updated") or meta.get("timeCreated")),
        "Content-Md5": meta.get("md5Hash"),
        "Content-Crc32c": meta.get("crc32c"),
        "Content-Encoding": meta.get("contentEncoding"),
        "Content-Disposition": meta.get("contentDisposition"),
        "Content-Language": meta.get("contentLanguage"),
        "Storage-Class": meta.get("storageClass"),
        "Component-Count": None if meta.get("componentCount") is None else int(meta["componentCount"]),
    })
    return head


def list_params(full_prefix: str, *, flat: bool, size: bool) -> list[tuple[str, str]]:
    """Query parameters of a JSON API object listing (``pageToken`` is added per page)."""
    items = "items(name,size)" if size else "items(name)"
    params = [("fields", f"{items},prefixes,nextPageToken"), ("maxResults", str(PAGE_SIZE))]
    if full_prefix:
        params.append(("prefix", full_prefix))
    if flat:
        params.append(("delimiter", "/"))
    return params


def parse_list_page(body: bytes, strip: int, *, size: bool) -> tuple[list[ListEntry], str | None]:
    """A listing page's entries (names without their first ``strip`` characters; each carries the next
    page's token) and that token (None on the last page). As cloud-files listed a page: its prefixes
    ("dir/" entries of a flat listing) first, then its objects, in the server's order."""
    page = orjson.loads(body)
    token = page.get("nextPageToken") or None
    entries = [ListEntry(p[strip:], None, token) for p in page.get("prefixes") or ()]
    entries += [
        ListEntry(obj["name"][strip:], int(obj["size"]) if size and obj.get("size") is not None else None, token)
        for obj in page.get("items") or ()
    ]
    return entries, token
