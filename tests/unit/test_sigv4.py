"""Golden tests: our SigV4 signer against botocore's ``S3SigV4Auth``, byte for byte, without a network.

For the same request (method, URL, headers, body), time and credentials, both must produce identical
``Authorization``, ``X-Amz-Date``, ``X-Amz-Content-SHA256`` and ``X-Amz-Security-Token`` headers.
The request URLs are built the way ``cloudfiles.interfaces.s3`` builds them (``uri_encode`` for keys,
``encode_query`` for query strings), so what is proven here is what goes on the wire.
"""

from __future__ import annotations

import datetime
import os
import time
from typing import Any
from unittest import mock
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloudfiles import sigv4
from cloudfiles.sigv4 import (
    EMPTY_SHA256,
    UNSIGNED_PAYLOAD,
    SigV4Signer,
    amz_date,
    canonical_query_string,
    encode_query,
    payload_sha256,
    uri_encode,
)

os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
os.environ["NO_GCE_CHECK"] = "True"

botocore_auth = pytest.importorskip("botocore.auth")
from botocore.awsrequest import AWSRequest  # noqa: E402
from botocore.config import Config  # noqa: E402
from botocore.credentials import Credentials  # noqa: E402

WHEN = datetime.datetime(2024, 2, 29, 23, 59, 58)
STAMP = "20240229T235958Z"
AK, SK = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
SIGNED = ("authorization", "x-amz-date", "x-amz-content-sha256", "x-amz-security-token")


def botocore_headers(
    method: str,
    url: str,
    headers: list[tuple[str, str]],
    body: bytes | None,
    *,
    access_key: str = AK,
    secret_key: str = SK,
    token: str | None = None,
    region: str = "us-east-1",
    unsigned_payload: bool = False,
    when: datetime.datetime = WHEN,
) -> dict[str, str]:
    """What botocore's S3SigV4Auth adds to this request at ``when``."""
    request = AWSRequest(method=method, url=url, data=body)
    for name, value in headers:
        request.headers[name] = value  # HTTPHeaders appends: repeated names are kept
    if unsigned_payload:
        request.context["client_config"] = Config(s3={"payload_signing_enabled": False})
    auth = botocore_auth.S3SigV4Auth(Credentials(access_key, secret_key, token), "s3", region)
    with mock.patch.object(botocore_auth, "get_current_datetime", return_value=when):
        auth.add_auth(request)
    return {name.lower(): value for name, value in request.headers.items() if name.lower() in SIGNED}


def our_headers(
    method: str,
    url: str,
    headers: list[tuple[str, str]],
    body: bytes | None,
    *,
    access_key: str = AK,
    secret_key: str = SK,
    token: str | None = None,
    region: str = "us-east-1",
    unsigned_payload: bool = False,
    stamp: str = STAMP,
) -> dict[str, str]:
    parts = urlsplit(url)
    signer = SigV4Signer(access_key, secret_key, region, "s3", token)
    payload = UNSIGNED_PAYLOAD if unsigned_payload else payload_sha256(body)
    lines = signer.sign(method, parts.netloc, parts.path, parts.query, headers, payload, stamp)
    out = {}
    for line in lines:
        name, _, value = line.partition(": ")
        out[name.lower()] = value
    return out


def same(method: str, url: str, headers: list[tuple[str, str]] | None = None, body: bytes | None = None,
         **kwargs: Any) -> dict[str, str]:
    headers = headers or []
    theirs = botocore_headers(method, url, headers, body, **kwargs)
    ours = our_headers(method, url, headers, body, **kwargs)
    assert ours == theirs
    return ours


def object_url(key: str, host: str = "127.0.0.1:8333", bucket: str = "bucket", scheme: str = "http") -> str:
    return f"{scheme}://{host}/{bucket}/{uri_encode(key, keep_slash=True)}"


# -- fixed cases ------------------------------------------------------------------------------------------
def test_simple_get() -> None:
    out = same("GET", object_url("a/b.txt"))
    assert out["x-amz-date"] == STAMP
    assert out["x-amz-content-sha256"] == EMPTY_SHA256
    assert out["authorization"].startswith(
        f"AWS4-HMAC-SHA256 Credential={AK}/20240229/us-east-1/s3/aws4_request, "
        "SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature="
    )


def test_session_token_is_sent_and_signed() -> None:
    token = "FQoGZXIvYXdzE+/Token==with/odd+chars " * 3
    out = same("GET", object_url("k"), token=token)
    assert out["x-amz-security-token"] == token
    assert "x-amz-security-token" in out["authorization"]


@pytest.mark.parametrize(
    "key",
    [
        "with space", "unicodé/ключ/キー", "plus+sign", "percent%20literal", "tilde~ok", "a/b//c/",
        "semi;colon,comma=eq&amp", "quote'\"<>", "star*(paren)!", "#hash?question", " leading", "trailing ",
        "../dots/./x", "\u2028line-sep", "emoji😀", "tab\tnewline\n",
    ],
)
def test_unusual_keys(key: str) -> None:
    same("GET", object_url(key))
    same("PUT", object_url(key), [("Content-Type", "application/octet-stream")], b"payload")


@pytest.mark.parametrize(
    "query",
    [
        [("list-type", "2"), ("prefix", "dir/sub dir/ü+%"), ("delimiter", "/"), ("max-keys", "7")],
        [("list-type", "2"), ("continuation-token", "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=")],
        [("list-type", "2"), ("encoding-type", "url"), ("start-after", "a~b")],
        [("delete", None)],
        [("uploads", None)],
        [("partNumber", "3"), ("uploadId", "VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA")],
        [("uploadId", "x~y.z_-")],
    ],
)
def test_query_strings(query: list[tuple[str, str | None]]) -> None:
    url = f"http://127.0.0.1:8333/bucket?{encode_query(query)}"
    same("GET", url)
    same("POST", url, [("Content-MD5", "1B2M2Y8AsgTpgAmY7PhCfg==")], b"<Delete></Delete>")


def test_bucket_root_and_empty_path() -> None:
    same("GET", "http://127.0.0.1:8333/bucket")
    same("GET", "http://127.0.0.1:8333/")


@pytest.mark.parametrize("rng", ["bytes=0-99", "bytes=100-", "bytes=-7"])
def test_ranges(rng: str) -> None:
    same("GET", object_url("r"), [("Range", rng)])


def test_put_headers_and_unsigned_payload_over_https() -> None:
    headers = [
        ("Content-Type", "application/json"),
        ("Content-Encoding", "gzip"),
        ("Cache-Control", "no-cache,   max-age=0"),  # inner runs of spaces collapse
        ("x-amz-storage-class", "STANDARD_IA"),
        ("x-amz-acl", "bucket-owner-full-control"),
        ("x-amz-checksum-crc32c", "yZRlqg=="),
        ("x-amz-request-payer", "requester"),
        ("Content-MD5", "XUFAKrxLKna5cZ2REBfFkg=="),
    ]
    url = object_url("dir/file.json", host="s3.example.test", scheme="https")
    out = same("PUT", url, headers, b"hello", unsigned_payload=True)
    assert out["x-amz-content-sha256"] == UNSIGNED_PAYLOAD
    same("PUT", url, headers, b"hello")


def test_excluded_headers_are_not_signed() -> None:
    headers = [("User-Agent", "cloudfiles"), ("Expect", ""), ("Connection", "keep-alive"), ("Range", "bytes=1-2")]
    out = same("GET", object_url("k"), headers)
    assert "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date," in out["authorization"]


def test_repeated_headers_and_whitespace() -> None:
    headers = [("X-Amz-Meta-A", "  one  "), ("x-amz-meta-a", "two\t three"), ("X-Amz-Meta-B", "b")]
    same("PUT", object_url("k"), headers, b"")


def test_host_header_given_explicitly_and_default_ports() -> None:
    same("GET", object_url("k", host="minio.local:9000"), [("Host", "minio.local:9000")])
    same("GET", "https://bucket.s3.example.test/k")
    same("GET", "http://[::1]:9000/bucket/k")


def test_regions_and_credentials() -> None:
    for region in ("us-east-1", "eu-west-3", "auto"):
        same("GET", object_url("k"), region=region)
    same("GET", object_url("k"), access_key="AK with space", secret_key="sécret+/=key")


def test_dates_around_midnight() -> None:
    for when in (datetime.datetime(2023, 12, 31, 23, 59, 59), datetime.datetime(2024, 1, 1, 0, 0, 0)):
        stamp = when.strftime("%Y%m%dT%H%M%SZ")
        url = object_url("k")
        assert our_headers("GET", url, [], None, stamp=stamp) == botocore_headers("GET", url, [], None, when=when)


def test_signing_key_is_cached_per_day_region_service() -> None:
    sigv4._KEYS.clear()
    signer = SigV4Signer(AK, SK, "us-east-1")
    signer.sign("GET", "h", "/b/k", "", (), EMPTY_SHA256, STAMP)
    signer.sign("GET", "h", "/b/k2", "", (), EMPTY_SHA256, STAMP)
    assert len(sigv4._KEYS) == 1
    signer.sign("GET", "h", "/b/k", "", (), EMPTY_SHA256, "20240301T000000Z")
    SigV4Signer(AK, SK, "eu-west-1").sign("GET", "h", "/b/k", "", (), EMPTY_SHA256, STAMP)
    assert len(sigv4._KEYS) == 3


def test_secret_never_in_repr_or_str() -> None:
    signer = SigV4Signer(AK, SK, token="SESSIONTOKEN")
    for text in (repr(signer), str(signer)):
        assert SK not in text and "SESSIONTOKEN" not in text and AK in text
    with pytest.raises(TypeError):
        import pickle

        pickle.dumps(signer)


def test_amz_date_now_and_cache() -> None:
    assert amz_date(0) == "19700101T000000Z"
    assert amz_date(1709251198.9) == "20240229T235958Z"
    assert amz_date(1709251198.1) == "20240229T235958Z"
    now = amz_date()
    assert len(now) == 16 and now.endswith("Z") and now[:4] == time.strftime("%Y", time.gmtime())


def test_canonical_query_string_forms() -> None:
    assert canonical_query_string("") == ""
    assert canonical_query_string("delete") == "delete="
    assert canonical_query_string("uploads=") == "uploads="
    assert canonical_query_string("b=2&a=1&a=0") == "a=0&a=1&b=2"
    assert encode_query([("prefix", "a b/c"), ("list-type", "2"), ("delete", None)]) == (
        "delete&list-type=2&prefix=a%20b%2Fc"
    )


# -- property tests ---------------------------------------------------------------------------------------
_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
_header_names = st.sampled_from(
    ["Content-Type", "Content-Encoding", "Cache-Control", "Range", "x-amz-meta-x", "X-Amz-Meta-Y",
     "x-amz-storage-class", "Content-MD5", "If-Match", "x-amz-request-payer"]
)
_header_values = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0x7E) | st.sampled_from([" ", "\t"]), min_size=1, max_size=30
).filter(lambda v: v.strip() != "")
_tokens = st.none() | st.text(st.sampled_from("ABCDEFabcdef0123456789+/=_-"), min_size=1, max_size=60)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    method=st.sampled_from(["GET", "HEAD", "PUT", "POST", "DELETE"]),
    key=_text,
    query=st.lists(st.tuples(st.sampled_from(["prefix", "delimiter", "max-keys", "continuation-token",
                                              "partNumber", "uploadId", "x y"]), _text | st.none()),
                   max_size=4),
    headers=st.lists(st.tuples(_header_names, _header_values), max_size=5),
    body=st.none() | st.binary(max_size=64),
    token=_tokens,
    region=st.sampled_from(["us-east-1", "us-west-2", "ap-southeast-1"]),
    unsigned=st.booleans(),
)
def test_matches_botocore(
    method: str, key: str, query: list[tuple[str, str | None]], headers: list[tuple[str, str]],
    body: bytes | None, token: str | None, region: str, unsigned: bool,
) -> None:
    url = object_url(key)
    if query:
        url += "?" + encode_query(query)
    if unsigned:
        url = url.replace("http://", "https://", 1)
    same(method, url, headers, body, token=token, region=region, unsigned_payload=unsigned)


@settings(max_examples=100, deadline=None)
@given(secret=_text.filter(bool), access=st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1,
                                                  max_size=20))
def test_any_credentials_match_botocore(secret: str, access: str) -> None:
    same("GET", object_url("k"), access_key=access, secret_key=secret)


# -- cost -------------------------------------------------------------------------------------------------
def test_signing_is_much_cheaper_than_botocore() -> None:
    """Not a benchmark (see bench/bench_s3.py --sign for figures): a guard against a slow path."""
    signer = SigV4Signer(AK, SK, token="T")
    headers = [("Range", "bytes=0-99")]
    n = 2000
    t0 = time.perf_counter()
    for i in range(n):
        signer.sign("GET", "127.0.0.1:8333", f"/bucket/key{i}", "", headers, EMPTY_SHA256)
    ours = (time.perf_counter() - t0) / n
    auth = botocore_auth.S3SigV4Auth(Credentials(AK, SK, "T"), "s3", "us-east-1")
    t0 = time.perf_counter()
    for i in range(200):
        req = AWSRequest(method="GET", url=f"http://127.0.0.1:8333/bucket/key{i}", headers={"Range": "bytes=0-99"})
        auth.add_auth(req)
    theirs = (time.perf_counter() - t0) / 200
    assert ours < theirs / 3, (ours, theirs)


def test_cached_pad_hmac_matches_the_stdlib() -> None:
    import hmac
    import os

    from cloudfiles.sigv4 import _hmac_sha256_hex

    for n in (0, 1, 63, 64, 65, 300):
        key, msg = os.urandom(32), os.urandom(n)
        assert _hmac_sha256_hex(key, msg) == hmac.digest(key, msg, "sha256").hex()
        assert _hmac_sha256_hex(key, msg) == hmac.digest(key, msg, "sha256").hex()  # cached pads
