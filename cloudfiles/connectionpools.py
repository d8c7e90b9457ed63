"""Connection pools in cloud-files' shape, over our engine.

In cloud-files a "connection" was a boto3 client or a google-cloud-storage ``Bucket``, pooled per bucket
because building one was slow. Here a connection is one of our scheme interfaces bound to a bucket
(:class:`cloudfiles.interfaces.s3.S3Interface`, :class:`cloudfiles.interfaces.gs.GCSInterface`): cheap
to build, safe to share between threads, sending its requests through the calling thread's CurlMulti
engine (the engines hold the actual keep-alive connections, which ``reset_connection_pools`` closes).
The pools below keep such objects for reuse with cloud-files' methods (``get_connection``,
``release_connection``, ``reset_pool``, ``total_connections``, ``close``).

Unlike cloud-files (SPEC section 9.2), a pooled connection is only handed out again for the same
credentials, endpoint and signing mode it was made with: a second caller with another endpoint or other
secrets on the same bucket name gets its own connection, never the first caller's.

``MEMORY_DATA`` is the process-wide ``mem://`` store, ``{bucket: {key: bytes}}``, the same dict the
``mem://`` scheme reads and writes (keys are paths inside the bucket, with their compression suffix).
"""

from __future__ import annotations

from typing import Any

import orjson

from . import forksafe
from .exceptions import UnsupportedProtocolError
from .interfaces.mem import _DATA as MEMORY_DATA
from .interfaces.mem import clear_memory
from .lib import retry, retrying
from .secrets import aws_credentials, google_credentials

__all__ = [
    "MEMORY_DATA",
    "ConnectionPool",
    "GCloudBucketPool",
    "MemoryPool",
    "S3ConnectionPool",
    "UnsupportedProtocolError",
    "aws_credentials",
    "clear_memory",
    "google_credentials",
    "retry",
    "retrying",
]

def _parse(secrets: Any) -> Any:
    """A JSON secrets string as a dict (cloud-files accepted both)."""
    if isinstance(secrets, (str, bytes)):
        return orjson.loads(secrets)
    return secrets


def _secrets_key(secrets: Any) -> Any:
    """A hashable identity of a secrets value, for keying pooled connections."""
    if secrets is None:
        return None
    if isinstance(secrets, dict):
        try:
            return orjson.dumps(secrets, option=orjson.OPT_SORT_KEYS)
        except TypeError:
            pass
    return id(secrets)


class ConnectionPool:
    """Reusable connection objects, created on demand by a subclass's ``_create_connection``.

    ``get_connection`` hands out an idle connection made with the same arguments, or makes one;
    ``release_connection`` returns it for reuse. The pool is unbounded.
    """

    def __init__(self) -> None:
        self._idle: dict[Any, list[Any]] = {}
        self._made_with: dict[int, Any] = {}
        self.outstanding = 0
        self._lock = forksafe.new_lock()  # pools are process-wide: a forked child must not inherit a held lock

    def total_connections(self) -> int:
        """Idle plus handed-out connections."""
        with self._lock:
            return sum(len(v) for v in self._idle.values()) + self.outstanding

    def _create_connection(self, secrets: Any, endpoint: str | None, no_sign_request: bool = False) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must implement _create_connection")

    def get_connection(self, secrets: Any = None, endpoint: str | None = None, no_sign_request: bool = False) -> Any:
        """An idle connection made with these arguments, or a new one."""
        key = (_secrets_key(secrets), endpoint, bool(no_sign_request))
        with self._lock:
            idle = self._idle.get(key)
            conn = idle.pop() if idle else None
            self.outstanding += 1
        if conn is None:
            try:
                conn = self._create_connection(secrets, endpoint, no_sign_request)
            except BaseException:
                with self._lock:
                    self.outstanding -= 1
                raise
        with self._lock:
            self._made_with[id(conn)] = key
        return conn

    def release_connection(self, conn: Any) -> None:
        """Give ``conn`` back for reuse (None is ignored)."""
        if conn is None:
            return
        with self._lock:
            key = self._made_with.get(id(conn), (None, None, False))
            self._idle.setdefault(key, []).append(conn)
            self.outstanding = max(0, self.outstanding - 1)

    def close(self, conn: Any) -> None:
        """Release what ``conn`` holds (called for each idle connection by :meth:`reset_pool`)."""
        closer = getattr(conn, "close", None)
        if callable(closer):
            closer()

    def reset_pool(self) -> None:
        """Close and forget the idle connections; connections handed out are no longer counted."""
        with self._lock:
            idle = [conn for conns in self._idle.values() for conn in conns]
            self._idle.clear()
            self._made_with.clear()
            self.outstanding = 0
        for conn in idle:
            self.close(conn)


def _interface(cloudpath: str, options: Any) -> Any:
    """One of our scheme interfaces for ``cloudpath`` (imports the scheme module on first use)."""
    from . import paths
    from .interfaces import get_interface_class

    path = paths.extract(cloudpath)
    if options.endpoint:
        path = path._replace(host=options.endpoint)
    return get_interface_class(path.protocol or "file")(path, options)


class S3ConnectionPool(ConnectionPool):
    """Connections to one S3 bucket: ``service`` is ``'s3'`` or an alias name (``'matrix'``...)."""

    def __init__(self, service: str, bucket: str) -> None:
        self.service = service
        self.bucket = bucket
        self.credentials = aws_credentials(bucket, service)
        super().__init__()

    def _create_connection(self, secrets: Any = None, endpoint: str | None = None, no_sign_request: bool = False) -> Any:
        from .interfaces.base import InterfaceOptions

        scheme = "s3" if self.service in ("s3", "aws") else self.service
        if secrets is None and self.credentials.get("AWS_ACCESS_KEY_ID"):
            secrets = self.credentials
        options = InterfaceOptions(
            secrets=_parse(secrets),
            endpoint=endpoint,
            no_sign_request=no_sign_request,
        )
        return _interface(f"{scheme}://{self.bucket}/", options)


class GCloudBucketPool(ConnectionPool):
    """Connections to one GCS bucket (``request_payer``: the project billed for requester-pays)."""

    def __init__(self, bucket: str, request_payer: str | None = None) -> None:
        self.bucket = bucket
        self.project, self.credentials = google_credentials(bucket)
        self.request_payer = request_payer
        super().__init__()

    def _create_connection(self, secrets: Any = None, endpoint: str | None = None, no_sign_request: bool = False) -> Any:
        from .interfaces.base import InterfaceOptions

        if endpoint is not None:
            raise ValueError(f"The endpoint argument is not supported for Google Cloud Storage. Got: {endpoint}")
        options = InterfaceOptions(
            secrets=_parse(secrets) if secrets is not None else self.credentials,
            request_payer=self.request_payer,
        )
        return _interface(f"gs://{self.bucket}/", options)


class MemoryPool(ConnectionPool):
    """``mem://`` buckets: the "connection" is the bucket's dict in :data:`MEMORY_DATA` (made on demand)."""

    def __init__(self, bucket: str) -> None:
        self.bucket = bucket
        self.data = MEMORY_DATA
        super().__init__()

    def _create_connection(self, secrets: Any = None, endpoint: str | None = None, no_sign_request: bool = False) -> Any:
        return self.data.setdefault(self.bucket, {})

    def close(self, conn: Any) -> None:
        """A bucket dict holds nothing to release (its data stays until ``clear_memory``)."""
