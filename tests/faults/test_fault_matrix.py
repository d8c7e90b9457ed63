"""Every batch operation, on s3 (SeaweedFS), gs (GCS emulator) and http (nginx), under each fault.

Transient faults (injected once into one key's request) must be retried: the batch completes with the
right answers and the right bytes. Persistent faults exhaust the retry budget: that key gets a named
error (url and status or curl code, never a pycurl/botocore exception) while the other keys succeed.
Every test also asserts that the proxy really applied the fault, so a combination that silently stopped
reaching the fault would fail instead of passing vacuously.
"""

from __future__ import annotations

import gzip
from typing import Any

import pytest
from faultenv import Servers
from faultproxy import Fault, FaultProxy, Matcher, on

from cloudfiles import CloudFiles
from cloudfiles.exceptions import (
    ClientError,
    CloudFilesError,
    HTTPError,
    IntegrityError,
    NetworkError,
    RequestTimeoutError,
    ServerError,
    TransportError,
)
from cloudfiles.retry import Retry

FILES = {f"k{i}": (b"payload-%d-" % i) * (300 + 97 * i) for i in range(4)}
TARGET = "k1"
OPS = ("get", "put", "exists", "head", "size", "delete", "list")
SCHEMES = ("s3", "gs", "http")
WRITABLE = ("s3", "gs")

TRANSIENT: dict[str, Fault] = {
    "500": Fault.http(500),
    "502": Fault.http(502),
    "503": Fault.http(503),
    "slowdown": Fault.slowdown(),
    "429-retry-after": Fault.throttle(0),
    "500-after-server": Fault.http(500, forward=True),
    "reset": Fault.reset(),
    "reset-after-server": Fault.reset(forward=True),
    "reset-mid-body": Fault.reset_mid_body(),
    "short-body": Fault.short_body(),
    "stall": Fault.stall(),
    "corrupt": Fault.corrupt(),
    "wrong-hash": Fault.wrong_hash(),
}
BODY_FAULTS = {"reset-mid-body", "short-body"}
INTEGRITY_FAULTS = {"corrupt", "wrong-hash"}


def responds_with_body(scheme: str, op: str) -> bool:
    """Does the faulted request's successful answer carry a body (to cut)?"""
    if op in ("get", "list"):
        return True
    if scheme == "gs":
        return True  # JSON resources, batch answers
    return scheme == "s3" and op == "delete"  # DeleteObjects answers XML


def applicable(scheme: str, op: str, fault: str) -> bool:
    if op in ("put", "delete") and scheme not in WRITABLE:
        return False
    if fault in ("500", "502") and op != "get":
        return False  # the same path as 503 (any 5xx): proven on get, kept out of the rest for time
    if fault == "stall" and op == "delete":
        return False  # a batch POST like put's: its stall is covered there, at several seconds each
    if fault in BODY_FAULTS:
        return responds_with_body(scheme, op)
    if fault in INTEGRITY_FAULTS:
        # Only whole-object downloads carry a hash to check; http has none (see test_http_truncation).
        return op == "get" and scheme in WRITABLE
    return True


def target(scheme: str, op: str, prefix: str, key: str = TARGET) -> Matcher:
    """The request of ``op`` that concerns ``key`` (or the batch/listing request holding it)."""
    name = f"{prefix}/{key}"
    if op == "get":
        return on(method="GET", path=name)
    if op == "put":
        if scheme == "s3":
            return on(method="PUT", path=name)
        # A media upload names the object in its query; a multipart one (metadata beside the body, as
        # on an emulator, where the encoding is also stored as custom metadata) in its JSON part.
        in_query, in_body = on(method="POST", query=name), on(method="POST", path="/upload/", body=name.encode())
        return lambda req: in_query(req) or in_body(req)
    if op in ("exists", "head", "size"):
        return on(method="GET", path=name) if scheme == "gs" else on(method="HEAD", path=name)
    if op == "delete":
        return on(method="POST", query="delete") if scheme == "s3" else on(method="POST", path="/batch/")
    if op == "list":
        if scheme == "s3":
            return on(method="GET", query="list-type")
        if scheme == "gs":
            return on(method="GET", query=f"prefix={prefix}/")
        return on(method="GET", path=f"/{prefix}/")
    raise ValueError(op)


def matrix(faults: dict[str, Fault], ops: tuple[str, ...] = OPS) -> list[Any]:
    return [
        pytest.param(scheme, op, name, id=f"{scheme}-{op}-{name}")
        for scheme in SCHEMES for op in ops for name in faults if applicable(scheme, op, name)
    ]


def setup(servers: Servers, scheme: str, *, retry: Retry | None = None) -> tuple[CloudFiles, FaultProxy, str]:
    cf = servers.cf(scheme, retry=retry) if retry else servers.cf(scheme)
    prefix = cf.cloudpath.rstrip("/").rsplit("/", 1)[1]
    return cf, servers.proxies[scheme], prefix


def seed(servers: Servers, scheme: str, cf: CloudFiles) -> None:
    if scheme == "http":
        # nginx serves files from disk; one gzip-compressed variant (gzip_static) exercises decoding.
        files = {k: v for k, v in FILES.items() if k != "k2"}
        servers.seed(scheme, cf, files)
        servers.seed(scheme, cf, {"k2": FILES["k2"]}, compress="gzip")
    else:
        servers.seed(scheme, cf, {k: v for k, v in FILES.items() if k != "k2"})
        servers.seed(scheme, cf, {"k2": FILES["k2"]}, compress="gzip")


def run_op(scheme: str, op: str, cf: CloudFiles, servers: Servers) -> None:
    """Run ``op`` over all FILES through the proxy and check the answers are exactly right."""
    keys = sorted(FILES)
    if op == "get":
        results = cf.get(keys, raise_errors=False)
        assert {r["path"]: r["error"] for r in results} == dict.fromkeys(keys)
        assert {r["path"]: r["content"] for r in results} == FILES
    elif op == "put":
        new = {k: v[::-1] for k, v in FILES.items()}
        assert cf.puts(list(new.items())) == len(new)
        check = servers.direct(scheme, cf)
        assert check.get(keys, return_dict=True) == new
    elif op == "exists":
        assert cf.exists([*keys, "missing"]) == {**dict.fromkeys(keys, True), "missing": False}
    elif op == "head":
        heads = cf.head(keys)
        assert heads["k0"]["Content-Length"] == len(FILES["k0"])
        assert heads[TARGET]["Content-Length"] == len(FILES[TARGET])
        assert heads["k2"]["Content-Encoding"] == "gzip"
    elif op == "size":
        sizes = cf.size(keys)
        assert sizes[TARGET] == len(FILES[TARGET])
        assert sizes["k2"] == len(servers.direct(scheme, cf).get("k2", raw=True))
    elif op == "delete":
        cf.consistent_shapes = True  # count the paths deleted, not the requests (cloud-files' shape)
        assert cf.delete(keys) == len(keys)
        assert servers.direct(scheme, cf).exists(keys) == dict.fromkeys(keys, False)
    elif op == "list":
        # A web server's index shows stored names (nginx's gzip_static variant is k2.gz).
        expected = [k + ".gz" if scheme == "http" and k == "k2" else k for k in keys]
        assert sorted(cf.list()) == expected
    else:
        raise ValueError(op)


@pytest.mark.parametrize("scheme,op,fault", matrix(TRANSIENT))
def test_transient_fault_is_retried(servers: Servers, scheme: str, op: str, fault: str) -> None:
    retry = Retry(attempts=3, base=0.01, cap=0.05) if fault == "stall" else None
    cf, proxy, prefix = setup(servers, scheme, retry=retry)
    seed(servers, scheme, cf)
    proxy.script(TRANSIENT[fault], match=target(scheme, op, prefix))
    run_op(scheme, op, cf, servers)
    assert proxy.count() == 1, proxy.log  # the fault really happened, and only once


# -- exhausted retries: a named error for the faulted key, the others succeed -------------------------------
PERSISTENT: dict[str, Fault] = {
    "503": Fault.http(503),
    "slowdown": Fault.slowdown(),
    "429": Fault.throttle(0),
    "reset": Fault.reset(),
    "short-body": Fault.short_body(),
    "stall": Fault.stall(),
    "corrupt": Fault.corrupt(),
    "wrong-hash": Fault.wrong_hash(),
}


def check_error(err: BaseException, fault: str, url_part: str) -> None:
    """The error a persistent ``fault`` must surface as: named, with url and status/curl code."""
    assert isinstance(err, CloudFilesError), repr(err)
    assert type(err).__module__ == "cloudfiles.exceptions"
    if fault in ("503", "slowdown"):
        assert isinstance(err, ServerError) and err.status == 503
    elif fault == "429":
        assert isinstance(err, ClientError) and err.status == 429
    elif fault in ("reset", "short-body"):
        assert isinstance(err, NetworkError) and err.curl_code is not None
    elif fault == "stall":
        assert isinstance(err, RequestTimeoutError) and isinstance(err, TimeoutError)
    else:
        assert isinstance(err, IntegrityError)
        return  # integrity errors name the path, not a url
    assert isinstance(err, (HTTPError, TransportError))
    assert err.url is not None and url_part in err.url.replace("%2F", "/")



def persistent_applicable(scheme: str, op: str, fault: str) -> bool:
    if op == "list" or (op == "delete"):
        return False  # one request for the whole batch: covered by test_batch_request_fails_whole
    if fault == "stall" and not (op in ("get", "head") or (op, scheme) == ("put", "s3")):
        # A timeout costs seconds (after an upload libcurl's 5 s speed average delays it further):
        # reads on every scheme and one write path are enough.
        return False
    return applicable(scheme, op, fault)


@pytest.mark.parametrize("scheme,op,fault", [
    p for p in matrix(PERSISTENT) if persistent_applicable(*p.values)
])
def test_exhausted_retries_give_a_named_error_per_key(servers: Servers, scheme: str, op: str, fault: str) -> None:
    retry = Retry(attempts=2, base=0.01, cap=0.05) if fault == "stall" else None
    cf, proxy, prefix = setup(servers, scheme, retry=retry)
    seed(servers, scheme, cf)
    proxy.always(PERSISTENT[fault], match=target(scheme, op, prefix))
    keys = sorted(FILES)
    others = [k for k in keys if k != TARGET]
    url_part = f"{prefix}/{TARGET}"
    applied = 0
    if op == "get":
        results = {r["path"]: r for r in cf.get(keys, raise_errors=False)}
        check_error(results[TARGET]["error"], fault, url_part)
        if fault == "slowdown" and scheme == "s3":  # the S3 error code is in the message
            assert str(results[TARGET]["error"]).startswith("SlowDown: Please reduce")
        assert results[TARGET]["content"] is None  # never the corrupt or partial bytes
        assert {k: results[k]["content"] for k in others} == {k: FILES[k] for k in others}
        assert all(results[k]["error"] is None for k in others)
        with pytest.raises(CloudFilesError) as info:
            cf.get(TARGET)
        check_error(info.value, fault, url_part)
    elif op == "put":
        new = {k: v[::-1] for k, v in FILES.items()}
        with pytest.raises(CloudFilesError) as info:
            cf.puts(list(new.items()))
        check_error(info.value, fault, url_part)
        applied = proxy.count()
        proxy.clear()
        stored = servers.direct(scheme, cf).get(keys, return_dict=True)
        assert {k: stored[k] for k in others} == {k: new[k] for k in others}  # the others were written
        assert stored[TARGET] in (FILES[TARGET], new[TARGET])  # old or new, never partial
    else:
        applied = 0
        method = {"exists": "exists_files", "head": "head_files", "size": "size_files"}[op]
        per_key = {r[0] if isinstance(r, tuple) else r.path: r for r in getattr(cf.interface, method)(keys)}
        errors = {k: (r[2] if isinstance(r, tuple) else r.error) for k, r in per_key.items()}
        check_error(errors[TARGET], fault, url_part)
        assert all(errors[k] is None for k in others)
        with pytest.raises(CloudFilesError) as info:
            getattr(cf, op)(keys)
        check_error(info.value, fault, url_part)
    # retried before giving up (or re-fetched, for integrity faults)
    assert max(applied, proxy.count()) >= 2


@pytest.mark.parametrize("scheme,op", [
    (s, o) for s in SCHEMES for o in ("delete", "list") if applicable(s, o, "503")
])
def test_batch_request_fails_whole(servers: Servers, scheme: str, op: str) -> None:
    """DeleteObjects / a GCS batch / a listing page is one request: when it keeps failing, the call
    raises a named ServerError, and nothing was half-done (every key is still there)."""
    cf, proxy, prefix = setup(servers, scheme)
    seed(servers, scheme, cf)
    proxy.always(Fault.http(503), match=target(scheme, op, prefix))
    with pytest.raises(ServerError) as info:
        if op == "delete":
            cf.delete(sorted(FILES))
        else:
            list(cf.list())
    assert info.value.status == 503 and info.value.url
    assert proxy.count() >= 2  # retried, then given up
    proxy.clear()
    names = sorted(n.removesuffix(".gz") for n in cf.list())
    assert names == sorted(FILES)  # nothing half-done


@pytest.mark.parametrize("scheme", SCHEMES)
def test_not_retryable_status_fails_at_once(servers: Servers, scheme: str) -> None:
    """A 400 is the request's fault: no retry, a ClientError with url and status."""
    cf, proxy, prefix = setup(servers, scheme)
    seed(servers, scheme, cf)
    match = target(scheme, "get", prefix)
    proxy.always(Fault.http(400), match=match)
    results = {r["path"]: r for r in cf.get(sorted(FILES), raise_errors=False)}
    err = results[TARGET]["error"]
    assert isinstance(err, ClientError) and err.status == 400 and f"{prefix}/{TARGET}" in err.url.replace("%2F", "/")
    assert proxy.hits(match) == 1


@pytest.mark.parametrize("scheme", SCHEMES)
def test_retry_after_is_honoured(servers: Servers, scheme: str) -> None:
    """A 429 with Retry-After: 1 is retried no sooner than a second later (our cap allows it)."""
    cf, proxy, prefix = setup(servers, scheme, retry=Retry(attempts=3, base=0.01, cap=2.0))
    seed(servers, scheme, cf)
    proxy.script(Fault.throttle(1), match=target(scheme, "get", prefix))
    import time

    start = time.monotonic()
    assert cf.get(TARGET) == FILES[TARGET]
    assert time.monotonic() - start >= 0.9  # a lower bound: the wait happened (not a speed check)


def test_every_nth_connection_dropped(servers: Servers) -> None:
    """Every 3rd new connection is reset on its first request and connections are closed every 4
    requests, so drops keep coming: every key still arrives intact, on every scheme."""
    for scheme in SCHEMES:
        cf, proxy, _prefix = setup(servers, scheme)
        seed(servers, scheme, cf)
        proxy.drop_every = 3
        proxy.max_requests_per_connection = 4
        for _ in range(5):
            assert cf.get(sorted(FILES), return_dict=True) == FILES
            assert cf.exists(sorted(FILES)) == dict.fromkeys(FILES, True)
        assert proxy.count("drop_connection") >= 1, scheme
        proxy.clear()


@pytest.mark.parametrize("scheme", SCHEMES)
def test_http_truncation_is_never_content(servers: Servers, scheme: str) -> None:
    """Where no hash exists (http, ranged reads), the length check still refuses a short body."""
    cf, proxy, prefix = setup(servers, scheme)
    seed(servers, scheme, cf)
    proxy.always(Fault.short_body(), match=target(scheme, "get", prefix))
    res = cf.get([{"path": TARGET, "start": 10, "end": 500}], raise_errors=False)[0]
    assert res["content"] is None and isinstance(res["error"], NetworkError)
    proxy.clear()
    assert cf.get([{"path": TARGET, "start": 10, "end": 500}])[0]["content"] == FILES[TARGET][10:500]


def test_gzip_body_corrupted_in_flight_is_caught(servers: Servers) -> None:
    """http has no hash, but a corrupted compressed body fails to decode: an error, never garbage."""
    cf, proxy, prefix = setup(servers, "http")
    data = gzip.compress(b"x" * 50_000)
    servers.seed("http", cf, {"z": data}, raw=True, compress="gzip")
    proxy.always(Fault.corrupt(), match=on(method="GET", path=f"{prefix}/z"))
    res = cf.get(["z"], raise_errors=False)[0]
    assert res["content"] is None and isinstance(res["error"], CloudFilesError)
