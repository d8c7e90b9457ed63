"""S3 error bodies -> named exceptions, and the XML helpers every S3 answer is read with."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from ... import engine
from ...exceptions import CloudFilesError, HTTPAuthorizationError, HTTPError, http_error

__all__ = ["AUTH_CODES", "child_text", "local_name", "parse_s3_error", "parse_xml", "s3_error", "xml_escape"]

S3_NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"
#: S3 error codes that mean "your credentials are wrong or insufficient" whatever the status
AUTH_CODES = frozenset({
    "AccessDenied", "SignatureDoesNotMatch", "InvalidAccessKeyId", "ExpiredToken", "InvalidToken",
    "TokenRefreshRequired", "AllAccessDisabled", "AccountProblem", "InvalidSecurity",
    "AuthorizationHeaderMalformed", "MissingSecurityHeader", "RequestTimeTooSkewed",
})
# Per-key DeleteObjects error codes -> the status a request would have had.
_CODE_STATUS = {"AccessDenied": 403, "InternalError": 500, "SlowDown": 503, "NoSuchBucket": 404}


def local_name(tag: str) -> str:
    """An XML tag without its namespace."""
    return tag.rpartition("}")[2]


def parse_xml(body: bytes | bytearray | memoryview | None) -> ET.Element | None:
    """The root element of an XML body; None when there is no body or it is not XML."""
    if not body:
        return None
    try:
        # S314: expat (>= 2.4.1, bundled with every supported Python) refuses entity expansion attacks,
        # and these bodies come from the endpoint the user configured.
        return ET.fromstring(bytes(body))  # noqa: S314
    except ET.ParseError:
        return None


def child_text(elem: ET.Element, name: str) -> str | None:
    """Text of ``elem``'s first child named ``name`` (any namespace); None when there is none."""
    for child in elem:
        if local_name(child.tag) == name:
            return child.text or ""
    return None


def parse_s3_error(body: bytes | bytearray | memoryview | None) -> tuple[str | None, str | None]:
    """``(Code, Message)`` of an S3 XML error body; ``(None, None)`` when it is not one."""
    root = parse_xml(body[:65536] if body else body)
    if root is None or local_name(root.tag) != "Error":
        return None, None
    return child_text(root, "Code"), child_text(root, "Message")


def _message(code: str | None, message: str | None, status: int, extra: str = "") -> str:
    if code:
        text = f"{code}: {message}" if message else code
    elif status in (401, 403):
        text = f"access denied or bad credentials (HTTP {status} without an S3 error body)"
    else:
        text = f"request failed with status {status}"
    return text + extra


def s3_error(response: engine.Response, extra: str = "") -> CloudFilesError:
    """The named exception for a failed S3 response: transport errors as they are; HTTP errors with the
    S3 ``Code: Message`` as their message. Credential codes (``SignatureDoesNotMatch``, ``AccessDenied``,
    ``InvalidAccessKeyId``, ``ExpiredToken``...) give an :class:`AuthorizationError` whatever the status."""
    if response.error is not None:
        return response.error
    body = bytes(response.body[:65536]) if response.body else None
    code, message = parse_s3_error(body)
    url = response.request.url
    text = _message(code, message, response.status, extra)
    if code in AUTH_CODES and response.status not in (401, 403):
        return HTTPAuthorizationError(text, url=url, status=response.status, body=body)
    return http_error(response.status, url, body, text)


def key_error(code: str, message: str, url: str) -> HTTPError:
    status = _CODE_STATUS.get(code, 400)
    text = f"{code}: {message}" if message else code
    if code in AUTH_CODES:
        return HTTPAuthorizationError(text, url=url, status=403)
    return http_error(status, url, None, text)


def xml_escape(text: str) -> str:
    """``text`` as XML character data (keys in DeleteObjects, ETags in CompleteMultipartUpload)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")
