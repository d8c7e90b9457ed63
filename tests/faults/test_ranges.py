"""Ranged and split GETs against servers that ignore ranges, lie about them, or change the object meanwhile;
S3 signatures made per request (retries, split parts, rotating credentials).

Real servers (nginx, SeaweedFS, the GCS emulator) behind the fault proxy; a scripted HTTP server where S3
must ignore a Range (the proxy cannot drop a signed header without breaking the signature).
"""

from __future__ import annotations

import datetime
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from faultenv import FAST_RETRY, Servers
from faultproxy import Fault, FaultProxy, Message, on

from cloudfiles import CloudFiles, engine
from cloudfiles.engine import ContentRangeError, Request, ResponseTooLargeError
from cloudfiles.exceptions import TransportError
from cloudfiles.interfaces.base import GetItem

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from seaweed import ROTATED_ACCESS_KEY, ROTATED_SECRET_KEY
from servers import ScriptedServer, respond

DATA = bytes(range(256)) * 40  # 10,240 bytes
RANGES = [(2, 5), (None, 4), (10, None), (-3, None), (100, 200), (10_000, 20_000)]
MiB = 1 << 20


def _ranged(key: str) -> Callable[[Message], bool]:
    return lambda req: req.method == "GET" and key in req.target and req.header("range") is not None


def _whole(key: str) -> Callable[[Message], bool]:
    return lambda req: req.method == "GET" and key in req.target and req.header("range") is None


def _get_range(cf: CloudFiles, key: str, start: int | None, end: int | None) -> Any:
    return cf.get({"path": key, "start": start, "end": end})


# -- a 200 to a ranged GET, a 206 for another range ---------------------------------------------------
@pytest.mark.parametrize("scheme", ["http", "gs"])
def test_server_ignoring_range_is_cut_locally(servers: Servers, scheme: str) -> None:
    cf = servers.cf(scheme)
    servers.seed(scheme, cf, {"obj": DATA})
    proxy = servers.proxies[scheme]
    proxy.always(Fault.strip_header("Range"), match=_ranged("obj"))
    for start, end in RANGES:
        assert _get_range(cf, "obj", start, end) == DATA[start:end], (start, end)
    assert proxy.count("strip_header:range") >= len(RANGES) - 1


def test_s3_server_ignoring_range_is_cut_locally() -> None:
    # The proxy cannot drop a signed Range header: a scripted server answers every GET with the whole body.
    server = ScriptedServer().start()
    try:
        server.script("/bkt/obj", respond(200, DATA, {"ETag": '"0123456789abcdef0123456789abcdef"'}))
        cf = CloudFiles(f"s3://{server.url}/bkt", secrets={"AWS_ACCESS_KEY_ID": "AK", "AWS_SECRET_ACCESS_KEY": "SK"})
        for start, end in RANGES:
            assert _get_range(cf, "obj", start, end) == DATA[start:end], (start, end)
        # ...and one that answers 206 with a Content-Range for other bytes than asked.
        server.script("/bkt/lies", respond(206, DATA[3:6], {"Content-Range": f"bytes 3-5/{len(DATA)}"}))
        cf.interface.retry = FAST_RETRY  # type: ignore[attr-defined]
        with pytest.raises(ContentRangeError, match="bytes=2-4"):
            _get_range(cf, "lies", 2, 5)
        assert server.hits["/bkt/lies"] == FAST_RETRY.attempts
    finally:
        server.stop()


WRONG_RANGES = {
    # the server answers (truthfully) another range than asked: bytes 3-5 for bytes=2-4
    "shifted": Fault.shift_range,
    # the server answers the asked bytes, its Content-Range names others
    "lying": Fault.lie_content_range,
}


@pytest.mark.parametrize(("scheme", "kind"), [("http", "shifted"), ("gs", "shifted"), ("http", "lying"),
                                              ("s3", "lying"), ("gs", "lying")])
def test_wrong_range_is_retried_then_a_named_error(servers: Servers, scheme: str, kind: str) -> None:
    # (The proxy cannot move a signed S3 Range: S3 meets a shifted range from the scripted server above.)
    cf = servers.cf(scheme)
    servers.seed(scheme, cf, {"obj": DATA})
    proxy = servers.proxies[scheme]
    fault = WRONG_RANGES[kind]()
    proxy.script(fault, match=_ranged("obj"))  # once: the retry gets the right bytes
    assert _get_range(cf, "obj", 2, 5) == DATA[2:5]
    assert proxy.count(fault.label) == 1
    proxy.always(fault, match=_ranged("obj"))  # always: never returned as content
    # (The GCS emulator answers a suffix range with the whole object, which carries no Content-Range.)
    for start, end in [(2, 5), (100, None)] + ([(-3, None)] if scheme != "gs" else []):
        with pytest.raises(ContentRangeError) as info:
            _get_range(cf, "obj", start, end)
        assert isinstance(info.value, TransportError) and "obj" in str(info.value)


# -- split GETs -------------------------------------------------------------------------------------------
BIG = os.urandom(3 * MiB + 12345)


@pytest.fixture
def small_splits(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """This thread's engines split GETs above 1 MiB into 256 KiB parts."""
    monkeypatch.setattr(engine, "DEFAULT_SPLIT_THRESHOLD", MiB)
    monkeypatch.setattr(engine, "DEFAULT_PART_SIZE", 256 * 1024)
    engine.reset_engines()
    yield
    engine.reset_engines()


@pytest.mark.parametrize("etag", ["weak", "absent"])
@pytest.mark.parametrize("scheme", ["http", "s3"])
def test_no_split_without_a_strong_etag(servers: Servers, small_splits: None, scheme: str, etag: str) -> None:
    cf = servers.cf(scheme)
    servers.seed(scheme, cf, {"big": BIG})
    proxy = servers.proxies[scheme]
    proxy.always(Fault.weak_etag() if etag == "weak" else Fault.no_etag(), match=_whole("big"))
    assert cf.get("big") == BIG
    assert proxy.count() >= 1
    assert proxy.hits(_ranged("big")) == 0  # one whole GET: parts could not be pinned to this version


def _overwrite(servers: Servers, scheme: str, cf: CloudFiles, key: str, data: bytes) -> None:
    if scheme == "http":
        path = servers.nginx.root / cf.cloudpath[len(servers.proxies["http"].url) + 1:] / key
        path.write_bytes(data)
        later = time.time() + 10
        os.utime(path, (later, later))  # nginx's ETag is mtime-size: make it another one
    else:
        servers.direct(scheme, cf).put(key, data, compress=None)


@pytest.mark.parametrize("case", ["http-412", "http-ignores-if-match", "http-new-size", "s3-412"])
def test_object_overwritten_mid_download_is_fetched_again_whole(
        servers: Servers, small_splits: None, case: str) -> None:
    scheme = case.split("-")[0]
    cf = servers.cf(scheme)
    servers.seed(scheme, cf, {"big": BIG})
    proxy = servers.proxies[scheme]
    new = os.urandom(len(BIG) + (777 if case == "http-new-size" else 0))
    overwritten = threading.Event()

    def first_part_overwrites(req: Message) -> bool:
        # Runs in the proxy before the first part is forwarded: that part and the later ones meet v2.
        if _ranged("big")(req) and not overwritten.is_set():
            _overwrite(servers, scheme, cf, "big", new)
            overwritten.set()
        return False

    proxy.script(None, match=first_part_overwrites, repeat=True)
    if case in ("http-ignores-if-match", "http-new-size"):
        proxy.always(Fault.strip_header("If-Match"), match=_ranged("big"))
    assert cf.get("big") == new  # the new version, whole: never a mix of versions, never an HTTP 412
    assert overwritten.is_set()
    assert proxy.hits(_whole("big")) == 2  # the first GET, then the one re-fetch


def test_max_size_is_enforced_before_splitting(servers: Servers) -> None:
    cf = servers.cf("http")
    servers.seed("http", cf, {"big": BIG})
    proxy = servers.proxies["http"]
    eng = engine.Engine(split_threshold=MiB, part_size=256 * 1024)
    try:
        url = f"{cf.cloudpath}/big"
        [resp] = eng.run([Request("GET", url, split=True, max_size=2 * MiB)], retry=FAST_RETRY)
        assert isinstance(resp.error, ResponseTooLargeError) and resp.body == b""
        assert proxy.hits(_ranged("big")) == 0  # refused before any part was fetched
        [resp] = eng.run([Request("GET", url, split=True, max_size=len(BIG))], retry=FAST_RETRY)
        assert resp.body == BIG and proxy.hits(_ranged("big")) > 1
    finally:
        eng.close()


def test_abandoned_split_stops_its_prefault_work(servers: Servers, monkeypatch: pytest.MonkeyPatch) -> None:
    from cloudfiles import codecpool

    if codecpool.num_workers() < 2:
        pytest.fail("needs 2 cores: the prefault runs on a codec worker")  # the CI machine has 2
    cf = servers.cf("http")
    servers.seed("http", cf, {"big": BIG, "small": b"s"})
    proxy = servers.proxies["http"]
    # One part never answers, so the split is still in flight when the consumer stops; the small GET
    # is held back until the split has begun (then its retry goes through).
    proxy.always(Fault.stall(), match=lambda req: (req.header("range") or "").startswith(f"bytes={MiB}-"))
    proxy.script(Fault.stall(), match=on(method="GET", path="small"))
    steps: list[float] = []
    real = engine.prefault

    def slow_prefault(buf: bytes, offset: int = 0, length: int = -1) -> bool:
        steps.append(time.monotonic())
        time.sleep(0.02)
        return real(buf, offset, length)

    monkeypatch.setattr(engine, "prefault", slow_prefault)
    monkeypatch.setattr(engine, "PREFAULT_STEP", 64 * 1024)  # ~50 steps, a second of work
    eng = engine.Engine(split_threshold=MiB, part_size=MiB)

    def release_small_once_split() -> None:
        deadline = time.monotonic() + 10
        while not steps and time.monotonic() < deadline:
            time.sleep(0.01)
        proxy.release_stalls()  # (the stalled part is asked again, and stalls again)

    releaser = threading.Thread(target=release_small_once_split)
    releaser.start()
    try:
        requests = [Request("GET", f"{cf.cloudpath}/big", split=True), Request("GET", f"{cf.cloudpath}/small")]
        batch = eng.run(requests, concurrency=2, retry=FAST_RETRY)
        first = next(batch)  # the small one: the big one waits for its stalled part
        assert first.body == b"s" and steps
        batch.close()  # the consumer stops
        time.sleep(0.1)
        stopped_at = len(steps)
        time.sleep(0.4)
        assert len(steps) == stopped_at < len(BIG) // (64 * 1024)
    finally:
        releaser.join()
        eng.close()


# -- S3: a signature per request, with the credentials of the moment ----------------------------------------
class _Rotating:
    """botocore RefreshableCredentials whose refresh hands out the first identity, then (once
    ``rotate()`` was called) the second. Their expiry is always near, so botocore refreshes on every
    get_frozen_credentials() and cloudfiles never reuses them (as for real credentials about to expire)."""

    def __init__(self, seaweed: Any) -> None:
        from botocore.credentials import RefreshableCredentials

        self.first = (seaweed.access_key, seaweed.secret_key)
        self.rotated = threading.Event()
        self.creds = RefreshableCredentials.create_from_metadata(self._metadata(), self._metadata, "test")

    def rotate(self) -> None:
        self.rotated.set()

    def _metadata(self) -> dict[str, str]:
        key, secret = (ROTATED_ACCESS_KEY, ROTATED_SECRET_KEY) if self.rotated.is_set() else self.first
        # Under a second to live: cloudfiles must ask again for every signature (never past expiry).
        expiry = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=0.9)
        return {"access_key": key, "secret_key": secret, "token": "", "expiry_time": expiry.isoformat()}


def _signed_with(req: Message, key: str) -> bool:
    return f"Credential={key}/" in (req.header("authorization") or "")


_EXPIRED = (b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>ExpiredToken</Code>'
            b"<Message>The provided token has expired.</Message></Error>")


@pytest.fixture
def rotating(servers: Servers, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> _Rotating:
    from cloudfiles.interfaces import s3

    chain = _Rotating(servers.seaweed)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setattr(s3.credentials, "_botocore_chain", lambda profile: chain.creds)
    return chain


def _revoke_after(proxy: FaultProxy, key: str, when: Callable[[], bool]) -> None:
    """The server refuses requests signed with ``key`` once ``when()`` holds (an expired STS key)."""
    proxy.always(Fault.http(403, body=_EXPIRED), match=lambda req: when() and _signed_with(req, key))


def _fail_once_and_rotate(proxy: FaultProxy, rotating: _Rotating, match: Callable[[Message], bool]) -> None:
    """The first matching request gets a 503 and rotates the credentials; the old key is refused from then."""

    def first_rotates(req: Message) -> bool:
        if match(req) and not rotating.rotated.is_set():
            rotating.rotate()
            return True
        return False

    proxy.script(Fault.http(503), match=first_rotates)
    _revoke_after(proxy, rotating.first[0], rotating.rotated.is_set)


def test_long_batch_survives_credential_rotation(servers: Servers, rotating: _Rotating) -> None:
    cf = servers.cf("s3", secrets={"AWS_DEFAULT_REGION": "us-east-1"})
    keys = [f"k{i}" for i in range(60)]
    servers.seed("s3", cf, {k: k.encode() for k in keys})
    proxy = servers.proxies["s3"]
    t0 = time.monotonic()
    threading.Timer(0.6, rotating.rotate).start()  # new credentials handed out from 0.6 s
    _revoke_after(proxy, rotating.first[0], lambda: time.monotonic() - t0 > 1.5)  # the old ones expire

    def items() -> Iterator[GetItem]:  # a batch that lasts ~3 s, its requests signed as they go out
        for k in keys:
            time.sleep(0.05)
            yield GetItem(k)

    results = list(cf.interface.get_files(items()))
    assert all(r.error is None for r in results), [r.error for r in results if r.error][:1]
    assert sorted(bytes(r.content or b"") for r in results) == sorted(k.encode() for k in keys)
    late = proxy.seen(lambda req: req.method == "GET")[-5:]
    assert all(_signed_with(req, ROTATED_ACCESS_KEY) for req in late)


def test_retry_is_signed_again_with_current_credentials(servers: Servers, rotating: _Rotating) -> None:
    cf = servers.cf("s3", secrets={"AWS_DEFAULT_REGION": "us-east-1"})
    servers.seed("s3", cf, {"obj": DATA})
    proxy = servers.proxies["s3"]

    _fail_once_and_rotate(proxy, rotating, lambda req: req.method == "GET" and "obj" in req.target)
    assert cf.get("obj") == DATA
    tries = proxy.seen(lambda req: req.method == "GET" and "obj" in req.target)
    assert len(tries) == 2
    assert _signed_with(tries[0], rotating.first[0]) and _signed_with(tries[1], ROTATED_ACCESS_KEY)


def test_split_parts_are_each_signed_and_signed_again_on_retry(
        servers: Servers, small_splits: None, rotating: _Rotating) -> None:
    cf = servers.cf("s3", secrets={"AWS_DEFAULT_REGION": "us-east-1"}, num_threads=1)
    servers.seed("s3", cf, {"big": BIG})
    proxy = servers.proxies["s3"]

    _fail_once_and_rotate(proxy, rotating, _ranged("big"))
    assert cf.get("big") == BIG
    parts = proxy.seen(_ranged("big"))
    assert len(parts) == -(-len(BIG) // (256 * 1024)) + 1  # every part, one of them twice
    # Each part carries its own signature over its Range (and If-Match), made when it was sent.
    assert len({req.header("authorization") for req in parts}) == len(parts)
    assert all("range" in (req.header("authorization") or "") for req in parts)
    assert all(_signed_with(req, ROTATED_ACCESS_KEY) for req in parts[1:])
