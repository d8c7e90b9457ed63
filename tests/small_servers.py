"""Servers that accept few connections, for the engine's adaptive concurrency (issue 16).

* :class:`StockEmulator`: ``gcp-storage-emulator`` started with its own CLI, exactly as PyPI ships it (one
  thread, listen backlog 5, HTTP/1.0), unlike :class:`gcs_emulator.GCSEmulator`'s threaded wrapper.
* :class:`TinyServer`: a tiny in-memory object store behind plain HTTP (GET / HEAD / PUT / DELETE), one
  worker thread and a listen backlog of 1, HTTP/1.0 (a connection per request).

Both bind 127.0.0.1 on a free port; both are stopped by the test that started them.
"""

from __future__ import annotations

import os
import shutil
import socket
import socketserver
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from gcs_emulator import HOST, GCSEmulator
from servers import free_port


class StockEmulator(GCSEmulator):
    """``gcp-storage-emulator start --in-memory`` on 127.0.0.1 with one bucket; stop() ends it (by PID)."""

    def start(self, timeout: float = 30.0) -> StockEmulator:
        venv_cli = Path(sys.executable).parent / "gcp-storage-emulator"
        cli = str(venv_cli) if venv_cli.exists() else shutil.which("gcp-storage-emulator")
        if cli is None:
            raise RuntimeError("gcp-storage-emulator is not installed: run ci/install.sh")
        self.port = free_port()
        cmd = [cli, "start", "-H", HOST, "--port", str(self.port), "--default-bucket", self.bucket, "--in-memory"]
        env = {**os.environ, "NO_GCE_CHECK": "True", "AWS_EC2_METADATA_DISABLED": "true"}
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True, env=env)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gcp-storage-emulator exited with {self.proc.returncode}")
            if _answers(self.port, f"GET /storage/v1/b/{self.bucket} HTTP/1.0\r\n\r\n"):
                return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError("gcp-storage-emulator did not start")


def _answers(port: int, request: str) -> bool:
    """Does a whole request to 127.0.0.1:port get an HTTP answer (the server is past its start-up)?"""
    try:
        with socket.create_connection((HOST, port), timeout=0.5) as s:
            s.sendall(request.encode())
            return s.recv(12).startswith(b"HTTP/1.")
    except OSError:
        return False


class TinyServer(socketserver.TCPServer):
    """An in-memory object store over HTTP/1.0 with a listen backlog of 1 and one worker thread: it accepts
    and serves one connection at a time, and the kernel queues at most ~2 more.

    ``hits`` counts the requests served; ``delay`` (seconds) is slept in each, a slow server.
    """

    allow_reuse_address = True
    request_queue_size = 1

    def __init__(self, delay: float = 0.0) -> None:
        self.objects: dict[str, bytes] = {}
        self.hits = 0
        self.delay = delay
        super().__init__((HOST, 0), _object_store_handler(self))
        self.port = int(self.server_address[1])
        self.url = f"http://{HOST}:{self.port}"

    def start(self) -> TinyServer:
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


def _object_store_handler(store: TinyServer) -> type[BaseHTTPRequestHandler]:
    """The request handler of ``store``: GET / HEAD / PUT / DELETE of whole objects named by path."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def log_message(self, *args: Any) -> None:
            pass

        def _answer(self, status: int, body: bytes = b"", length: int | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Length", str(len(body) if length is None else length))
            self.end_headers()
            if body:
                self.wfile.write(body)

        def _begin(self) -> str:
            store.hits += 1
            if store.delay:
                time.sleep(store.delay)
            return self.path.split("?")[0]

        def do_GET(self) -> None:
            data = store.objects.get(self._begin())
            self._answer(404) if data is None else self._answer(200, data)

        def do_HEAD(self) -> None:
            data = store.objects.get(self._begin())
            self._answer(404) if data is None else self._answer(200, length=len(data))

        def do_PUT(self) -> None:
            path = self._begin()
            store.objects[path] = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self._answer(201)

        def do_DELETE(self) -> None:
            found = store.objects.pop(self._begin(), None)
            self._answer(404 if found is None else 204)

    return Handler
