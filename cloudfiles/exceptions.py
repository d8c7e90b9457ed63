"""Every error cloudfiles raises, under one root: :class:`CloudFilesError`.

The cloud-files names are kept (``UnsupportedProtocolError``, ``DecompressionError``, ...). A builtin is
mixed in only where its meaning matches, so ``except FileNotFoundError`` or ``except TimeoutError`` work
as a user expects. pycurl, botocore and google-auth exceptions never escape unwrapped.
"""

from __future__ import annotations

import errno
from typing import Any


class CloudFilesError(Exception):
    """Root of every error raised by cloudfiles."""


class UnsupportedProtocolError(CloudFilesError, ValueError):
    """The cloudpath names a scheme (or alias) that no interface handles, or it cannot be parsed."""


class CompressionError(CloudFilesError):
    """Compressing a buffer failed."""


class DecompressionError(CloudFilesError, ValueError):
    """Compressed data is corrupt, truncated, or not in the encoding it claims."""


class DecompressedSizeError(DecompressionError):
    """Decompressed output would exceed the allowed maximum (a decompression-bomb guard)."""


class UnsafePathError(CloudFilesError, ValueError):
    """A key would escape its root (``..``, an absolute path, a backslash, a NUL byte)."""


class UnsupportedCompressionType(CloudFilesError, ValueError):
    """The requested or stored encoding is not one cloudfiles knows."""


class AuthorizationError(CloudFilesError, PermissionError):
    """Credentials are missing, wrong, or do not grant the operation."""


class IntegrityError(CloudFilesError):
    """Downloaded bytes do not match the hash the server reported for them."""


class MD5IntegrityError(IntegrityError):
    """MD5 of the downloaded bytes differs from the server's."""


class CRC32CIntegrityError(IntegrityError):
    """CRC32C of the downloaded bytes differs from the server's."""


class TransportError(CloudFilesError, OSError):
    """A request could not complete at the network level (after retries)."""

    def __init__(self, message: str, *, url: str | None = None, curl_code: int | None = None) -> None:
        super().__init__(message)
        self.url = url
        self.curl_code = curl_code

    def __str__(self) -> str:
        msg = self.args[0] if self.args else ""
        return f"{msg} ({self.url})" if self.url else str(msg)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_transport, (type(self), self.args[0] if self.args else "", self.url, self.curl_code))


def _rebuild_transport(
    cls: type[TransportError], message: str, url: str | None, curl_code: int | None
) -> TransportError:
    return cls(message, url=url, curl_code=curl_code)


class ContentRangeError(TransportError):
    """A ranged GET was answered with other bytes than it asked for: a 206 whose ``Content-Range`` is
    missing or names another range (retried first). Such a body is never returned as content."""


class ResponseTooLargeError(CloudFilesError):
    """The body is larger than the caller allowed (``Request.max_size``)."""


class NetworkError(TransportError, ConnectionError):
    """Connection refused, reset, or dropped; DNS failure; a body shorter than its Content-Length."""


class RequestTimeoutError(TransportError, TimeoutError):
    """A request hit its connect or low-speed timeout."""


class HTTPError(CloudFilesError):
    """A server answered with an error status that was not retried, or was retried until the budget ran out."""

    def __init__(self, message: str, *, url: str, status: int, body: bytes | None = None) -> None:
        super().__init__(message)
        self.url = url
        self.status = status
        self.body = body

    def __str__(self) -> str:
        return f"{self.args[0]} (HTTP {self.status}, {self.url})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_http, (type(self), self.args[0], self.url, self.status, self.body))


def _rebuild_http(
    cls: type[HTTPError], message: str, url: str, status: int, body: bytes | None
) -> HTTPError:
    return cls(message, url=url, status=status, body=body)


class ClientError(HTTPError):
    """4xx: the request itself is wrong; retrying will not help (except 408/429, which are retried)."""


class NotFoundError(ClientError, FileNotFoundError):
    """404 where a missing object is an error (e.g. a transfer without ``allow_missing``)."""


class ServerError(HTTPError):
    """5xx after the retry budget ran out."""


_STATUS_CLASSES: dict[int, type[HTTPError]] = {404: NotFoundError}


def http_error(status: int, url: str, body: bytes | None = None, message: str | None = None) -> HTTPError:
    """Build the right HTTPError subclass for ``status`` (401/403 become AuthorizationError-compatible)."""
    text = message or f"request failed with status {status}"
    if status in (401, 403):
        return HTTPAuthorizationError(text, url=url, status=status, body=body)
    cls = _STATUS_CLASSES.get(status)
    if cls is None:
        cls = ServerError if status >= 500 else ClientError
    return cls(text, url=url, status=status, body=body)


class HTTPAuthorizationError(ClientError, AuthorizationError):
    """401/403 from a server."""


class ObjectExistsError(CloudFilesError, FileExistsError):
    """``put(..., if_not_exists=True)`` found the object already stored, so it was not written.

    ``paths`` names every such key of the call (``puts`` raises one error for the whole batch, after
    writing the other items).
    """

    def __init__(self, message: str, *, paths: list[str] | tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.errno = errno.EEXIST
        self.paths = list(paths)

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_exists, (self.args[0] if self.args else "", self.paths))


def _rebuild_exists(message: str, paths: list[str]) -> ObjectExistsError:
    return ObjectExistsError(message, paths=paths)


def object_exists(path: str) -> ObjectExistsError:
    """The error for one key that ``if_not_exists=True`` found already stored."""
    return ObjectExistsError(f"{path} already exists (if_not_exists=True: not overwritten)", paths=[path])


__all__ = [
    "AuthorizationError",
    "CRC32CIntegrityError",
    "ClientError",
    "CloudFilesError",
    "CompressionError",
    "ContentRangeError",
    "DecompressedSizeError",
    "DecompressionError",
    "HTTPAuthorizationError",
    "HTTPError",
    "IntegrityError",
    "MD5IntegrityError",
    "NetworkError",
    "NotFoundError",
    "ObjectExistsError",
    "RequestTimeoutError",
    "ResponseTooLargeError",
    "ServerError",
    "TransportError",
    "UnsafePathError",
    "UnsupportedCompressionType",
    "UnsupportedProtocolError",
    "http_error",
    "object_exists",
]
