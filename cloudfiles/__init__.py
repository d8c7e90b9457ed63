"""cloudfiles: one fast API over GCS, S3, local files, memory and HTTP(S).

Compatible with the cloud-files API; every network transfer runs through one pycurl CurlMulti loop and
compression runs in GIL-free native extensions.
"""

from __future__ import annotations

__version__ = "0.1.0"

# Every submodule cloud-files' package had is an attribute here too (all light: no network libraries).
from . import (
    compression,
    connectionpools,
    exceptions,
    gcs,
    interfaces,
    lib,
    monitoring,
    paths,
    resumable_tools,
    scheduler,
    secrets,
    threaded_queue,
    typing,
)
from .cloudfile import CloudFile
from .cloudfiles import CloudFiles, clear_memory, dl
from .interfaces import reset_connection_pools
from .resumable import ResumableTransfer

__all__ = [
    "CloudFile",
    "CloudFiles",
    "ResumableTransfer",
    "__version__",
    "clear_memory",
    "cloudfiles",
    "compression",
    "connectionpools",
    "dl",
    "exceptions",
    "gcs",
    "interfaces",
    "lib",
    "monitoring",
    "paths",
    "reset_connection_pools",
    "resumable_tools",
    "scheduler",
    "secrets",
    "threaded_queue",
    "typing",
]
