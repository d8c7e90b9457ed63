"""Helpers of the fault suite (a module of its own: ``conftest`` is a name every test directory uses)."""

from __future__ import annotations

import itertools
import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from faultproxy import FaultProxy
from seaweed import SeaweedFS
from servers import Nginx

from cloudfiles import CloudFiles
from cloudfiles.retry import Retry

S3_BUCKET = "faults"
GS_BUCKET = "faults-gcs"
#: the default policy's shape (7 tries, exponential full jitter) with waits short enough for tests
FAST_RETRY = Retry(attempts=7, base=0.01, cap=0.05, budget=10.0)
#: seconds without a byte before a request is abandoned (a stall test's budget, not a speed check)
READ_TIMEOUT = 1.0
_counter = itertools.count()


def fast(cf: CloudFiles, retry: Retry = FAST_RETRY) -> CloudFiles:
    """Give ``cf`` the short-wait retry policy."""
    cf.interface.retry = retry  # type: ignore[attr-defined]
    return cf


class Servers:
    """Build CloudFiles objects, per scheme, that talk through the proxies to fresh prefixes."""

    def __init__(self, s3: FaultProxy, gs: FaultProxy, http: FaultProxy, seaweed: SeaweedFS,
                 nginx: Nginx) -> None:
        self.proxies = {"s3": s3, "gs": gs, "http": http}
        self.seaweed = seaweed
        self.nginx = nginx

    def cf(self, scheme: str, prefix: str | None = None, *, retry: Retry = FAST_RETRY, **kwargs: Any) -> CloudFiles:
        prefix = prefix or f"t{os.getpid()}-{next(_counter)}"
        kwargs.setdefault("read_timeout", READ_TIMEOUT)
        kwargs.setdefault("connect_timeout", 5.0)
        if scheme == "s3":
            kwargs.setdefault("secrets", self.seaweed.secrets)
            cf = CloudFiles(f"s3://{self.proxies['s3'].url}/{S3_BUCKET}/{prefix}", **kwargs)
        elif scheme == "gs":
            cf = CloudFiles(f"gs://{GS_BUCKET}/{prefix}", **kwargs)
        elif scheme == "http":
            cf = CloudFiles(f"{self.proxies['http'].url}/{prefix}", **kwargs)
        else:
            raise ValueError(scheme)
        return fast(cf, retry)

    def direct(self, scheme: str, cf: CloudFiles) -> CloudFiles:
        """A CloudFiles on the same prefix that bypasses the proxy (for setup and checks)."""
        if scheme == "s3":
            path = cf.cloudpath.replace(self.proxies["s3"].url, self.seaweed.endpoint)
            return CloudFiles(path, secrets=self.seaweed.secrets)
        if scheme == "http":
            # nginx serves its root; writes go straight to disk (it is read-only for cloudfiles).
            return CloudFiles("file://" + str(self.nginx.root) + cf.cloudpath[len(self.proxies["http"].url):])
        return cf  # gs: the test's proxy is clean when this is used

    def seed(self, scheme: str, cf: CloudFiles, files: dict[str, bytes], **kwargs: Any) -> None:
        """Store ``files`` under ``cf``'s prefix without going through faults."""
        proxy = self.proxies[scheme]
        saved = proxy._rules[:], proxy._rate
        proxy._rules.clear()
        proxy._rate = 0.0
        try:
            self.direct(scheme, cf).puts(list(files.items()), **kwargs)
        finally:
            proxy._rules[:], proxy._rate = saved
