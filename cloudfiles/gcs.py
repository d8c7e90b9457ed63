"""Composite (parallel, in parts) uploads to Google Cloud Storage, in cloud-files' ``cloudfiles.gcs`` shape.

Our ``gs://`` interface already uploads anything above ``composite_upload_threshold`` this way (parts
uploaded concurrently, composed 32 at a time, parts deleted, the composite's crc32c checked), so
:func:`composite_upload` is a CloudFiles upload with that threshold set to ``part_size``. :func:`merge`
is the composing step on its own, for parts a caller uploaded under cloud-files' part names.
"""

from __future__ import annotations

import math
import posixpath
from typing import IO, Any

from . import compression, paths
from .exceptions import UnsupportedProtocolError
from .lib import sip
from .secrets import google_credentials
from .typing import CompressType, SecretsType

__all__ = [
    "MAX_COMPOSITE_PARTS",
    "CompressType",
    "SecretsType",
    "composite_upload",
    "compression",
    "google_credentials",
    "merge",
    "paths",
    "sip",
]

#: Most source objects one compose request may name (the service's limit).
MAX_COMPOSITE_PARTS = 32


def merge(
    cf: Any,
    bucket: Any,
    path: paths.ExtractedPath,
    depth: int,
    max_depth: int,
    num_parts: int,
    content_type: str | None,
    cache_control: str | None,
    storage_class: str | None,
    content_encoding: str | None,
) -> None:
    """Compose the parts ``{name}.{depth}.{i}.part`` (i < num_parts), 32 at a time, into the next
    level's parts and finally, at ``max_depth``, into the object ``path`` itself; each level's parts
    are deleted once composed.

    ``cf`` is a gs:// CloudFiles of the object's directory (it deletes the parts). ``bucket`` is the
    interface that composes: one of our gs:// interfaces, or anything else (cloud-files passed a
    google-cloud-storage Bucket) to use ``cf``'s. Intermediate parts are stored STANDARD (no early
    deletion fees); the final object gets ``content_type``, ``cache_control``, ``storage_class`` and
    ``content_encoding``.
    """
    composer = getattr(bucket, "_compose", None) or getattr(getattr(cf, "interface", None), "_compose", None)
    if composer is None:
        raise UnsupportedProtocolError("merge composes gs:// objects: cf must be a gs:// CloudFiles")
    subpath = posixpath.dirname(path.path or "")
    base = posixpath.basename(path.path or "")
    while True:
        names = [f"{base}.{depth}.{i}.part" for i in range(num_parts)]
        final = depth >= max_depth
        jobs = []
        for i, group in enumerate(sip(names, MAX_COMPOSITE_PARTS)):
            target = base if final else f"{base}.{depth + 1}.{i}.part"
            jobs.append((posixpath.join(subpath, target), [posixpath.join(subpath, n) for n in group]))
        meta: dict[str, Any] = {"contentType": content_type or "application/octet-stream"}
        if cache_control:
            meta["cacheControl"] = cache_control
        if final:
            if storage_class:
                meta["storageClass"] = storage_class
            encoding = compression.encoding_header(content_encoding, "gs")
            if encoding:
                meta["contentEncoding"] = encoding
        else:
            meta["storageClass"] = "STANDARD"
        composer(jobs, meta)
        cf.delete(names)
        if final:
            return
        depth += 1
        num_parts = math.ceil(num_parts / MAX_COMPOSITE_PARTS)


def composite_upload(
    cloudpath: str,
    handle: IO[bytes] | bytes,
    part_size: int = int(1e8),
    secrets: SecretsType = None,
    content_type: str | None = None,
    progress: bool = False,
    cache_control: str | None = None,
    storage_class: str | None = None,
    compress: CompressType = None,
    skip_compress: bool = False,
) -> int:
    """Upload ``handle`` (bytes or a seekable binary file) to ``cloudpath`` in parts of ``part_size``
    bytes composed into one object (a single upload when it fits in one part). Returns 1.

    Bytes are compressed with ``compress`` first unless ``skip_compress`` (they are then stored as
    given, labelled with ``compress``); a file handle is always stored as given, labelled with
    ``compress``. On s3:// the same threshold makes a multipart upload; other schemes upload in one go.
    """
    from .cloudfiles import CloudFiles

    raw = skip_compress or not isinstance(handle, (bytes, bytearray, memoryview))
    cf = CloudFiles(
        posixpath.dirname(cloudpath),
        secrets=secrets,
        progress=progress,
        composite_upload_threshold=max(1, int(part_size)),
    )
    cf.puts(
        [{
            "path": posixpath.basename(cloudpath),
            "content": handle,
            "content_type": content_type,
            "cache_control": cache_control,
            "storage_class": storage_class,
            "compress": compress,
        }],
        raw=raw,
    )
    return 1
