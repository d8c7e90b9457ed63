"""AWS Signature Version 4 for S3 requests, written from the AWS SigV4 specification.

A signature is a pure function of (request, credentials, clock), so it is tested byte for byte
against botocore's ``S3SigV4Auth`` (``tests/unit/test_sigv4.py``). What makes it cheap:

* the signing key (four chained HMACs over the secret, date, region and service) is derived once
  per (secret, date, region, service) and cached, so a request costs one HMAC and one SHA-256;
* the ``x-amz-date`` string is formatted once per second;
* ``hmac.digest`` (the one-shot C implementation) instead of ``hmac.new(...).digest()``.

S3 rules followed here (they differ from other services): the canonical URI is the request path
exactly as sent (S3 does not normalize or double-encode it), and ``x-amz-content-sha256`` is always
sent and signed: the hex SHA-256 of the body, or ``UNSIGNED-PAYLOAD``.

Secrets never appear in a repr, a str or an exception message of anything defined here.
"""

from __future__ import annotations

import hashlib
import hmac
import operator
import time
from collections.abc import Iterable, Sequence
from typing import Any

from . import forksafe
from .quoting import uri_encode

__all__ = [
    "EMPTY_SHA256",
    "SIGNED_HEADERS_EXCLUDED",
    "UNSIGNED_PAYLOAD",
    "SigV4Signer",
    "amz_date",
    "canonical_query_string",
    "encode_query",
    "payload_sha256",
    "uri_encode",
]

ALGORITHM = "AWS4-HMAC-SHA256"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
#: hex SHA-256 of the empty string: the payload hash of a request without a body
EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#: hop-by-hop and tracing headers that proxies may change; they are never signed (botocore skips the same)
SIGNED_HEADERS_EXCLUDED = frozenset(
    {
        "baggage", "connection", "expect", "keep-alive", "proxy-authenticate", "proxy-authorization",
        "te", "traceparent", "tracestate", "trailer", "transfer-encoding", "upgrade", "user-agent",
        "x-amzn-trace-id",
    }
)

_sha256 = hashlib.sha256
_hmac_digest = hmac.digest

# -- time -------------------------------------------------------------------------------------------------
_clock_lock = forksafe.new_lock()
_last_second = -1
_last_stamp = ""


def amz_date(now: float | None = None) -> str:
    """``YYYYMMDDTHHMMSSZ`` (UTC) for ``now`` (default: the current time), formatted once per second."""
    global _last_second, _last_stamp
    second = int(time.time() if now is None else now)
    stamp = _last_stamp
    if second == _last_second:
        return stamp
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(second))
    with _clock_lock:
        _last_second, _last_stamp = second, stamp
    return stamp


# -- encoding (uri_encode lives in cloudfiles.quoting, with the other schemes' rules) -----------------------
def encode_query(params: Iterable[tuple[str, str]]) -> str:
    """A query string from ``(name, value)`` pairs, encoded and sorted so it is its own canonical form.

    A pair whose value is ``None`` is written as the bare name (``?delete``, ``?uploads``).
    """
    pairs = []
    for name, value in params:
        key = uri_encode(name)
        pairs.append((key, None if value is None else uri_encode(str(value))))
    pairs.sort(key=lambda kv: (kv[0], kv[1] or ""))
    return "&".join(key if value is None else f"{key}={value}" for key, value in pairs)


def canonical_query_string(query: str) -> str:
    """The canonical form of an (already percent-encoded) query string: ``name=value`` pairs sorted by
    name then value, a bare ``name`` written as ``name=``. Components are not re-encoded."""
    if not query:
        return ""
    if "&" not in query:
        return query if "=" in query else query + "="
    pairs = []
    for pair in query.split("&"):
        key, _, value = pair.partition("=")
        pairs.append((key, value))
    pairs.sort()
    return "&".join(f"{key}={value}" for key, value in pairs)


def payload_sha256(body: Any) -> str:
    """Hex SHA-256 of a bytes-like body (:data:`EMPTY_SHA256` for None or empty)."""
    if body is None:
        return EMPTY_SHA256
    return _sha256(body).hexdigest()


def _trim(value: str) -> str:
    # SigV4 "Trimall": strip the ends and collapse runs of whitespace to one space.
    return " ".join(value.split())


# -- signing keys -----------------------------------------------------------------------------------------
# (secret, datestamp, region, service) -> derived key. Derived keys are valid for one day; a process
# lives through few dates, regions and credentials, so the cache is small; it is cleared when large.
_KEYS: dict[tuple[str, str, str, str], bytes] = {}
_KEYS_MAX = 256


def signing_key(secret_key: str, datestamp: str, region: str, service: str) -> bytes:
    """The SigV4 signing key for a day (``YYYYMMDD``), region and service, cached."""
    cache_key = (secret_key, datestamp, region, service)
    key = _KEYS.get(cache_key)
    if key is None:
        k = _hmac_digest(("AWS4" + secret_key).encode("utf-8"), datestamp.encode("utf-8"), "sha256")
        k = _hmac_digest(k, region.encode("utf-8"), "sha256")
        k = _hmac_digest(k, service.encode("utf-8"), "sha256")
        key = _hmac_digest(k, b"aws4_request", "sha256")
        if len(_KEYS) >= _KEYS_MAX:
            _KEYS.clear()
        _KEYS[cache_key] = key
    return key


# signing key -> SHA-256 contexts already fed the key's HMAC inner and outer pads. HMAC(key, msg) is then
# two context copies and two short updates, about a third of ``hmac.digest``'s cost, which looks the
# digest up by name and re-pads the key on every call (OpenSSL 3).
_PADS: dict[bytes, tuple[Any, Any]] = {}
_IPAD = bytes(x ^ 0x36 for x in range(256))
_OPAD = bytes(x ^ 0x5C for x in range(256))


def _hmac_sha256_hex(key: bytes, msg: bytes) -> str:
    """Hex HMAC-SHA256 of ``msg`` under ``key`` (a 32-byte signing key), byte-identical to ``hmac``."""
    pads = _PADS.get(key)
    if pads is None:
        block = key.ljust(64, b"\0")  # signing keys are 32 bytes: shorter than the block, never hashed
        pads = (_sha256(block.translate(_IPAD)), _sha256(block.translate(_OPAD)))
        if len(_PADS) >= _KEYS_MAX:
            _PADS.clear()
        _PADS[key] = pads
    inner = pads[0].copy()
    inner.update(msg)
    outer = pads[1].copy()
    outer.update(inner.digest())
    return outer.hexdigest()


class SigV4Signer:
    """Signs requests for one set of credentials, region and service.

    Thread-safe and cheap to share: it holds no per-request state.
    """

    __slots__ = ("_scope_tail", "_secret_key", "access_key", "region", "service", "token")

    def __init__(
        self,
        access_key: str,
        secret_key: str,
        region: str = "us-east-1",
        service: str = "s3",
        token: str | None = None,
    ) -> None:
        self.access_key = access_key
        self._secret_key = secret_key
        self.token = token or None
        self.region = region
        self.service = service
        self._scope_tail = f"/{region}/{service}/aws4_request"

    def __repr__(self) -> str:
        # The access key id identifies, it does not authenticate; the secret and token stay hidden.
        token = ", token=***" if self.token else ""
        return f"SigV4Signer(access_key={self.access_key!r}, region={self.region!r}, service={self.service!r}{token})"

    __str__ = __repr__

    def __reduce__(self) -> Any:
        raise TypeError("SigV4Signer holds a secret and is not picklable; rebuild it from credentials")

    def sign(
        self,
        method: str,
        host: str,
        path: str,
        query: str = "",
        headers: Sequence[tuple[str, str]] = (),
        payload_hash: str = UNSIGNED_PAYLOAD,
        timestamp: str | None = None,
    ) -> list[str]:
        """Sign one request; return the header lines to add to it (``"Name: value"``).

        method: HTTP method. host: the ``Host`` header as it will be sent (lower-case, no default port).
        path: the URI path exactly as it will be sent (already percent-encoded). query: the query
        string as sent, without '?'. headers: the request's other headers; all are signed except
        :data:`SIGNED_HEADERS_EXCLUDED`. payload_hash: hex SHA-256 of the body or
        :data:`UNSIGNED_PAYLOAD`. timestamp: ``YYYYMMDDTHHMMSSZ`` (default: now).

        Returns ``X-Amz-Date``, ``X-Amz-Content-SHA256``, ``X-Amz-Security-Token`` (with a session
        token) and ``Authorization`` lines, to append to the caller's own header lines.
        """
        stamp = timestamp or amz_date()
        token = self.token
        # Names already in canonical (sorted) order; extra headers are merged in below.
        signed: list[tuple[str, str]] = [
            ("host", host),
            ("x-amz-content-sha256", payload_hash),
            ("x-amz-date", stamp),
        ]
        if token is not None:
            signed.append(("x-amz-security-token", _trim(token)))
        if headers:
            for name, value in headers:
                lname = name.strip().lower()
                if lname in _NOT_SIGNED_HERE:
                    if lname == "host":
                        signed[0] = ("host", _trim(value))
                    continue
                signed.append((lname, _trim(value)))
            # A stable sort by name keeps repeated headers in the order given (joined with ',').
            signed.sort(key=_by_name)
            names: list[str] = []
            lines: list[str] = []
            previous = ""
            for name, value in signed:
                if name == previous:
                    lines[-1] += "," + value
                else:
                    names.append(name)
                    lines.append(f"{name}:{value}")
                    previous = name
            signed_headers = ";".join(names)
            canonical_headers = "\n".join(lines)
        else:
            signed_headers = _BASE_SIGNED_TOKEN if token is not None else _BASE_SIGNED
            canonical_headers = "\n".join([f"{name}:{value}" for name, value in signed])
        canonical = (
            f"{method.upper()}\n{path or '/'}\n{canonical_query_string(query) if query else ''}\n"
            f"{canonical_headers}\n\n{signed_headers}\n{payload_hash}"
        )
        datestamp = stamp[:8]
        scope = datestamp + self._scope_tail
        string_to_sign = f"{ALGORITHM}\n{stamp}\n{scope}\n{_sha256(canonical.encode('utf-8')).hexdigest()}"
        key = signing_key(self._secret_key, datestamp, self.region, self.service)
        signature = _hmac_sha256_hex(key, string_to_sign.encode("utf-8"))
        out = [f"X-Amz-Date: {stamp}", f"X-Amz-Content-SHA256: {payload_hash}"]
        if token is not None:
            out.append(f"X-Amz-Security-Token: {token}")
        out.append(
            f"Authorization: {ALGORITHM} Credential={self.access_key}/{scope}, "
            f"SignedHeaders={signed_headers}, Signature={signature}"
        )
        return out


_by_name = operator.itemgetter(0)  # sort key of (name, value) pairs (in C: cheaper than a lambda)

# Headers the caller may pass that are set here instead (or never signed).
_NOT_SIGNED_HERE = SIGNED_HEADERS_EXCLUDED | {
    "host", "x-amz-date", "x-amz-content-sha256", "authorization", "x-amz-security-token",
}
_BASE_SIGNED = "host;x-amz-content-sha256;x-amz-date"
_BASE_SIGNED_TOKEN = _BASE_SIGNED + ";x-amz-security-token"
