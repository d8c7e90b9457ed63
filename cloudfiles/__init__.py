"""cloudfiles: one fast API over GCS, S3, local files, memory and HTTP(S).

Compatible with the cloud-files API; every network transfer runs through one pycurl CurlMulti loop and
compression runs in GIL-free native extensions.
"""

from __future__ import annotations

__version__ = "0.1.0"

from . import compression, exceptions, lib, monitoring, paths
from .cloudfiles import CloudFile, CloudFiles, clear_memory, dl, reset_connection_pools
from .resumable import ResumableTransfer

__all__ = [
    "CloudFile",
    "CloudFiles",
    "ResumableTransfer",
    "__version__",
    "clear_memory",
    "compression",
    "dl",
    "exceptions",
    "lib",
    "monitoring",
    "paths",
    "reset_connection_pools",
]
