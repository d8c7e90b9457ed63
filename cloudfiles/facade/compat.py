"""The public names cloud-files 6.4.3's ``cloudfiles.cloudfiles`` module had besides its facade.

Its callers import helpers, exceptions and per-file interface classes from there
(``from cloudfiles.cloudfiles import INTERFACES, totalfn``); :mod:`cloudfiles.cloudfiles` re-exports
everything listed in ``__all__`` here. ``CloudFile``, ``CLOUD_FILES_DIR`` and ``CLOUD_FILES_LOCK_DIR``
are provided by that module's ``__getattr__`` (they must be looked up on use).

``FileInterface`` is the file:// scheme the facade uses (our batch interface); cloud-files' per-file
file class is ``INTERFACES["file"]`` (and :class:`cloudfiles.interfaces.FileInterface`).
"""

from __future__ import annotations

from typing import Any

from .. import compression, gcs, paths
from ..exceptions import CRC32CIntegrityError, MD5IntegrityError, UnsupportedProtocolError
from ..interfaces import get_interface_class
from ..interfaces.file import FileInterface
from ..interfaces.legacy import ADAPTERS as _ADAPTERS
from ..interfaces.legacy import (
    CaveInterface,
    GoogleCloudStorageInterface,
    HttpInterface,
    MemoryInterface,
    S3Interface,
)
from ..lib import (
    crc32c,
    decode_crc32c_b64,
    duplicates,
    first,
    jsonify,
    md5,
    mkdir,
    nvl,
    path_to_byte_range_tags,
    scatter,
    sip,
    toiter,
    touch,
)
from ..monitoring import IOEnum, TransmissionMonitor
from ..parallel import parallel_execute, parallelize
from ..paths import ALIASES, find_common_buckets
from ..reads import RESULT_KEYS
from ..scheduler import schedule_jobs
from ..shapes import totalfn
from ..threaded_queue import ThreadedQueue
from ..typing import CompressType, ParallelType, PutScalarType, SecretsType

#: protocol -> cloud-files' per-file interface class (official S3 aliases included).
INTERFACES: dict[str, type[Any]] = {**_ADAPTERS, **dict.fromkeys(ALIASES, S3Interface)}

__all__ = [
    "ALIASES",
    "INTERFACES",
    "RESULT_KEYS",
    "CRC32CIntegrityError",
    "CaveInterface",
    "CompressType",
    "FileInterface",
    "GoogleCloudStorageInterface",
    "HttpInterface",
    "IOEnum",
    "MD5IntegrityError",
    "MemoryInterface",
    "ParallelType",
    "PutScalarType",
    "S3Interface",
    "SecretsType",
    "ThreadedQueue",
    "TransmissionMonitor",
    "UnsupportedProtocolError",
    "compression",
    "crc32c",
    "decode_crc32c_b64",
    "duplicates",
    "find_common_buckets",
    "first",
    "gcs",
    "get_interface_class",
    "jsonify",
    "md5",
    "mkdir",
    "nvl",
    "parallel_execute",
    "parallelize",
    "path_to_byte_range_tags",
    "paths",
    "scatter",
    "schedule_jobs",
    "sip",
    "toiter",
    "totalfn",
    "touch",
]
