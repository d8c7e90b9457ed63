"""Where a bucket's requests go: the endpoint (AWS, an alias, a custom host) and its canned ACL."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from ...quoting import uri_encode

__all__ = ["ALIAS_ACLS", "DEFAULT_ACL", "DEFAULT_ENDPOINT", "Endpoint", "resolve_endpoint"]

DEFAULT_ENDPOINT = "https://s3.amazonaws.com"
#: canned ACL sent with puts and copies (cloud-files' default), per alias where it differs
DEFAULT_ACL = "bucket-owner-full-control"
ALIAS_ACLS = {"tigerdata": "private", "nokura": "public-read"}
_DNS_BUCKET = re.compile(r"^[a-z0-9][a-z0-9\-]{1,61}[a-z0-9]$")


@dataclass(frozen=True)
class Endpoint:
    """Where a bucket's requests go. ``origin`` + ``bucket_path`` + encoded key = the request URL."""

    origin: str  # scheme://host[:port]
    host: str  # the Host header: lower-case, default port dropped
    bucket_path: str  # URL path of the bucket ('/prefix/bucket' path-style, '' virtual-hosted)
    is_aws: bool  # the default AWS endpoint (virtual-hosted addressing, region redirects)


def _split_endpoint(url: str) -> tuple[str, str, str]:
    """``'https://Host:443/p/'`` -> ``('https', 'host', '/p')``; a bare ``host:port`` means https."""
    url = url.strip()
    if "://" not in url:
        url = "https://" + url
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"S3 endpoint must be http:// or https://, got {parts.scheme}://")
    if parts.username is not None or parts.password is not None:
        raise ValueError("S3 endpoint must not contain credentials; use secrets=")
    hostname = parts.hostname
    if not hostname:
        raise ValueError("S3 endpoint has no host name")
    host = f"[{hostname}]" if ":" in hostname else hostname
    port = parts.port
    if port is not None and port != {"http": 80, "https": 443}[parts.scheme]:
        host = f"{host}:{port}"
    return parts.scheme, host, parts.path.rstrip("/")


def resolve_endpoint(
    bucket: str, host: str | None, option: str | None, region: str, environ: Any = None
) -> Endpoint:
    """The endpoint for ``bucket``: ``option`` (``endpoint=``), ``host`` (from the path), then
    ``$AWS_ENDPOINT_URL_S3``, ``$AWS_ENDPOINT_URL``, else AWS in ``region``."""
    env = os.environ if environ is None else environ
    custom = option or host or env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL")
    if custom:
        scheme, netloc, prefix = _split_endpoint(custom)
        return Endpoint(f"{scheme}://{netloc}", netloc, f"{prefix}/{uri_encode(bucket)}", False)
    netloc = "s3.amazonaws.com" if region in ("us-east-1", "") else f"s3.{region}.amazonaws.com"
    if _DNS_BUCKET.match(bucket) and ".." not in bucket:
        vhost = f"{bucket}.{netloc}"
        return Endpoint(f"https://{vhost}", vhost, "", True)
    return Endpoint(f"https://{netloc}", netloc, f"/{uri_encode(bucket)}", True)
