"""Run gcp-storage-emulator's API handlers behind a better serving loop, on 127.0.0.1.

The emulator as shipped serves with ``http.server.HTTPServer``: one thread, a listen backlog of 5 and
HTTP/1.0, so concurrent clients see dropped SYNs (1 s retransmits) and a new connection per request;
it also rewrites its whole metadata JSON after every write (O(objects) per request). This launcher keeps
its request handling (``gcp_storage_emulator.server.Router`` and the handlers behind it) unchanged and
swaps only what is around it:

* ``ThreadingHTTPServer`` with a backlog of 1024, one lock around the handlers (its storage is not
  thread-safe), HTTP/1.1 keep-alive (every emulator response carries a Content-Length; request bodies
  are read up front so an unread body can never desynchronise a kept-alive connection);
* in-memory storage whose ``.meta`` snapshot is not rewritten after each write (nothing reads it back
  while the process lives);
* the default bucket created with soft delete off, so deleted objects are gone, not kept;
* optionally (``encoding_headers=True``), downloads carry the ``x-goog-stored-content-encoding`` and
  ``Content-Encoding`` headers Google's service sends and the emulator omits (a client that accepts
  gzip gets stored bytes either way), so the one-request download path can run against it too.
* optionally (``preconditions=True``), uploads and compose honour ``ifGenerationMatch=0`` as GCS does
  (412 when a live object has the name; the shipped emulator ignores the parameter and overwrites),
  so conditional writes (``put(..., if_not_exists=True)``) can be tested end to end.

Use it from tests and benchmarks with :class:`GCSEmulator` (a subprocess, stopped by its PID), or run
``python tests/gcs_emulator.py --bucket NAME [--port 0]``: it prints ``READY <port>`` once listening.
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import threading
from functools import partial
from http.server import ThreadingHTTPServer
from typing import Any

HOST = "127.0.0.1"


def _add_encoding_headers() -> None:
    """Make the emulator's media downloads say how the body is encoded, as GCS does."""
    from gcp_storage_emulator.exceptions import NotFound
    from gcp_storage_emulator.handlers import objects

    shipped = objects.download

    def download(request: Any, response: Any, storage: Any, *args: Any, **kwargs: Any) -> None:
        shipped(request, response, storage, *args, **kwargs)
        if int(response.status) not in (200, 206):
            return
        try:
            obj = storage.get_file_obj(request.params["bucket_name"], request.params["object_id"])
        except NotFound:
            return
        encoding = obj.get("contentEncoding")
        response["x-goog-stored-content-encoding"] = encoding or "identity"
        if encoding:
            response["Content-Encoding"] = encoding

    # objects.get looks the name up at call time, so alt=media GETs take this path.
    objects.download = download


def _add_preconditions() -> None:
    """Make object uploads and compose honour ``ifGenerationMatch=0`` (GCS: "only if no live object has
    this name"; any other value is left to the shipped handlers, which ignore it)."""
    from http import HTTPStatus

    from gcp_storage_emulator import server
    from gcp_storage_emulator.exceptions import NotFound
    from gcp_storage_emulator.handlers import objects

    def refused(request: Any, response: Any, storage: Any, name: str | None) -> bool:
        wanted = request.query.get("ifGenerationMatch")
        if not wanted or wanted[0] != "0" or not name:
            return False
        try:
            storage.get_file_obj(request.params["bucket_name"], name)
        except NotFound:
            return False
        response.status = HTTPStatus.PRECONDITION_FAILED
        response.json({"error": {"code": 412, "message": "At least one of the pre-conditions you specified did not hold."}})
        return True

    shipped_insert, shipped_compose = objects.insert, objects.compose

    def insert(request: Any, response: Any, storage: Any, *args: Any, **kwargs: Any) -> None:
        name = request.query["name"][0] if "name" in request.query else None
        data = request.data
        if name is None and isinstance(data, dict) and isinstance(data.get("meta"), dict):
            name = data["meta"].get("name")  # a multipart upload names the object in its metadata
        if not refused(request, response, storage, name):
            shipped_insert(request, response, storage, *args, **kwargs)

    def compose(request: Any, response: Any, storage: Any, *args: Any, **kwargs: Any) -> None:
        if not refused(request, response, storage, request.params.get("object_id")):
            shipped_compose(request, response, storage, *args, **kwargs)

    # The route table holds the handler functions themselves: replace them there.
    for _pattern, methods in server.HANDLERS:
        for method, handler in list(methods.items()):
            if handler is shipped_insert:
                methods[method] = insert
            elif handler is shipped_compose:
                methods[method] = compose


def _build_server(port: int, bucket: str, keep_alive: bool) -> ThreadingHTTPServer:
    import logging
    import tempfile

    from gcp_storage_emulator.handlers import buckets
    from gcp_storage_emulator.server import RequestHandler, Router
    from gcp_storage_emulator.storage import Storage

    logging.disable(logging.CRITICAL)  # it logs a warning per batch response
    storage = Storage(use_memory_fs=True, data_dir=tempfile.gettempdir())
    storage._write_config_to_file = lambda: None  # type: ignore[method-assign]
    buckets.create_bucket(bucket, storage)
    storage.buckets[bucket]["softDeletePolicy"] = {"retentionDurationSeconds": "0"}
    lock = threading.Lock()

    class Handler(RequestHandler):  # type: ignore[misc]
        protocol_version = "HTTP/1.1" if keep_alive else "HTTP/1.0"
        # Headers and body go out in separate writes: without TCP_NODELAY, Nagle + delayed ACK stall
        # every kept-alive response by ~40 ms.
        disable_nagle_algorithm = True

        def _route(self, method: str) -> None:
            # Read the body now: a handler that answers without reading it would leave its bytes on
            # a kept-alive connection, to be parsed as the next request.
            length = self.headers.get("Content-Length")
            wire = self.rfile
            if length:
                self.rfile = io.BytesIO(wire.read(int(length)))  # type: ignore[assignment]
            try:
                with lock:
                    Router(self).handle(method)
            finally:
                self.rfile = wire

        def do_GET(self) -> None:
            self._route("GET")

        def do_POST(self) -> None:
            self._route("POST")

        def do_PUT(self) -> None:
            self._route("PUT")

        def do_DELETE(self) -> None:
            self._route("DELETE")

        def do_PATCH(self) -> None:
            self._route("PATCH")

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 1024

    return Server((HOST, port), partial(Handler, storage))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="0: any free port (printed)")
    parser.add_argument("--bucket", required=True)
    parser.add_argument("--no-keep-alive", action="store_true", help="HTTP/1.0 as the emulator ships")
    parser.add_argument("--encoding-headers", action="store_true", help="send GCS's download encoding headers")
    parser.add_argument("--preconditions", action="store_true", help="honour ifGenerationMatch=0 on writes")
    args = parser.parse_args(argv)
    if args.encoding_headers:
        _add_encoding_headers()
    if args.preconditions:
        _add_preconditions()
    server = _build_server(args.port, args.bucket, keep_alive=not args.no_keep_alive)
    print(f"READY {server.server_address[1]}", flush=True)
    server.serve_forever()


class GCSEmulator:
    """gcp-storage-emulator in a child process on 127.0.0.1, with one bucket; stop() ends it."""

    def __init__(
        self, bucket: str = "cloudfiles-test", *, keep_alive: bool = True, encoding_headers: bool = False,
        preconditions: bool = False,
    ) -> None:
        self.bucket = bucket
        self.keep_alive = keep_alive
        self.encoding_headers = encoding_headers
        self.preconditions = preconditions
        self.port = 0
        self.proc: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        """The value for ``STORAGE_EMULATOR_HOST``."""
        return f"http://{HOST}:{self.port}"

    def start(self, timeout: float = 30.0) -> GCSEmulator:
        cmd = [sys.executable, os.path.abspath(__file__), "--bucket", self.bucket]
        if not self.keep_alive:
            cmd.append("--no-keep-alive")
        if self.encoding_headers:
            cmd.append("--encoding-headers")
        if self.preconditions:
            cmd.append("--preconditions")
        env = {**os.environ, "NO_GCE_CHECK": "True", "AWS_EC2_METADATA_DISABLED": "true"}
        self.proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env
        )
        assert self.proc.stdout is not None
        result: list[str] = []
        reader = threading.Thread(target=lambda: result.append(self.proc.stdout.readline()), daemon=True)  # type: ignore[union-attr]
        reader.start()
        reader.join(timeout)
        line = result[0] if result else ""
        if not line.startswith("READY "):
            self.stop()
            raise RuntimeError(f"the GCS emulator did not start (said {line!r})")
        self.port = int(line.split()[1])
        return self

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()

    def __enter__(self) -> GCSEmulator:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


if __name__ == "__main__":
    main()
