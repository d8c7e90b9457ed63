"""``gs://``: Google Cloud Storage over its JSON API, every request through the engine.

Downloads are media GETs (``alt=media``) sent with ``Accept-Encoding: gzip``, so objects stored with
``Content-Encoding: gzip`` come back as stored (GCS would otherwise decompress them on the fly); the
facade decodes them unless ``raw=True``. The stored encoding is read from the response
(``x-goog-stored-content-encoding`` / ``Content-Encoding``). A server that reports neither (the
emulator) is asked for the object's metadata instead: after the first such answer, each download goes
out as a pair (metadata GET + media GET, in flight together). The whole-object hash comes from
``x-goog-hash``: md5 when the object has one, crc32c for composite objects; the facade verifies it.

Uploads are simple media uploads when only a Content-Type is needed (with ``X-Goog-Hash: crc32c=`` so
the server verifies the bytes), multipart uploads with JSON metadata (contentType, contentEncoding,
cacheControl, storageClass, crc32c) otherwise, and composite uploads (parts, then ``compose`` 32 at a
time, parts always deleted) above ``composite_upload_threshold``.

head/size/exists are metadata GETs with ``fields=``; delete is one DELETE per object, many in flight,
or JSON batch requests of 100 calls where the server takes them (exists too, on Google's endpoint: the
emulator answers every batched GET with 404). Listing streams page by page; every page request repeats
the prefix and delimiter. ``request_payer`` becomes ``userProject`` on every request.

Every request carries the auth headers current when it is sent: the engine asks for fresh ones for each
retry and each part of a split download (``Request.resign``), and a 401 drops the token and resends once.

One module per job: :mod:`.client` (URLs, auth), :mod:`.metadata` (reading answers), :mod:`.reads`,
:mod:`.uploads`, :mod:`.batch` (JSON batch, deletes), composed in :mod:`.interface`.
"""

from __future__ import annotations

from ...quoting import quote_name
from .batch import BATCH_SIZE
from .interface import GCSInterface
from .metadata import (
    HEAD_FIELDS,
    PAGE_SIZE,
    gcs_error,
    head_from_metadata,
    list_params,
    parse_goog_hash,
    parse_list_page,
)
from .reads import ACCEPT_GZIP
from .uploads import COMPOSE_LIMIT

__all__ = [
    "ACCEPT_GZIP",
    "BATCH_SIZE",
    "COMPOSE_LIMIT",
    "HEAD_FIELDS",
    "PAGE_SIZE",
    "GCSInterface",
    "gcs_error",
    "head_from_metadata",
    "list_params",
    "parse_goog_hash",
    "parse_list_page",
    "quote_name",
]
