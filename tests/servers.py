"""Real local servers for the tests: nginx (HTTP) and a scripted HTTP server for fault cases.

Everything binds 127.0.0.1 on a free port, keeps its files under a temporary directory, and is stopped
by the test session that started it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import socketserver
import subprocess
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from pathlib import Path

NGINX_CONF = """
worker_processes 1;
daemon on;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
{user}
events {{ worker_connections 4096; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    keepalive_timeout 120s;
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    types {{ application/json json; application/octet-stream bin; text/plain txt; }}
    default_type application/octet-stream;
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        server_name localhost;
        root {root};
        autoindex on;
        gzip_static on;
        client_max_body_size 0;
        dav_methods PUT DELETE MKCOL;
        create_full_put_path on;
        location /private/ {{
            auth_basic "private";
            auth_basic_user_file {prefix}/htpasswd;
        }}
    }}
}}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"server on port {port} did not start")


class Nginx:
    """nginx serving ``root`` on 127.0.0.1:port with a private prefix; PUT/DELETE enabled."""

    def __init__(self, workdir: Path, root: Path | None = None) -> None:
        self.prefix = workdir / "nginx"
        self.root = root if root is not None else workdir / "www"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"

    def start(self) -> Nginx:
        binary = shutil.which("nginx") or "/usr/sbin/nginx"
        if not os.path.exists(binary):
            raise RuntimeError("nginx is not installed: run ci/install.sh (Debian package nginx-light)")
        self.prefix.mkdir(parents=True, exist_ok=True)
        self.root.mkdir(parents=True, exist_ok=True)
        # user:password for /private/, as an apr1/crypt line ("test:test" with the classic crypt salt)
        (self.prefix / "htpasswd").write_text("test:{PLAIN}secret-pass\n")
        user = "user root;" if os.geteuid() == 0 else ""
        conf = self.prefix / "nginx.conf"
        conf.write_text(NGINX_CONF.format(prefix=self.prefix, port=self.port, root=self.root, user=user))
        subprocess.run(
            [binary, "-p", str(self.prefix), "-c", str(conf), "-e", str(self.prefix / "error.log")],
            check=True,
            capture_output=True,
        )
        _wait_for_port(self.port)
        return self

    def stop(self) -> None:
        pidfile = self.prefix / "nginx.pid"
        if pidfile.exists():
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pidfile.read_text().strip()), signal.SIGQUIT)
            deadline = time.monotonic() + 5
            while pidfile.exists() and time.monotonic() < deadline:
                time.sleep(0.02)


# A scripted server: each request to a path takes the next action from that path's script.
Action = Callable[[BaseHTTPRequestHandler], None]


class _Threaded(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 512


class ScriptedServer:
    """A small HTTP/1.1 server whose answers are scripted per path (503 then 200, stall, reset...)."""

    def __init__(self) -> None:
        self.scripts: dict[str, list[Action]] = {}
        self.default: Action = respond(404, b"")
        self.hits: dict[str, int] = {}
        self.lock = threading.Lock()
        self.stop_event = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # else every kept-alive answer waits ~40 ms for an ACK

            def log_message(self, *args: object) -> None:
                pass

            def _handle(self) -> None:
                path = self.path.split("?")[0]
                length = int(self.headers.get("Content-Length") or 0)
                self.request_body = self.rfile.read(length) if length else b""
                with server.lock:
                    server.hits[path] = server.hits.get(path, 0) + 1
                    script = server.scripts.get(path)
                    action = script.pop(0) if script and len(script) > 1 else (script[0] if script else server.default)
                action(self)

            do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = _handle

        self._server = _Threaded(("127.0.0.1", 0), Handler)
        self.port = int(self._server.server_address[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> ScriptedServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stop_event.set()
        self._server.shutdown()
        self._server.server_close()

    def script(self, path: str, *actions: Action) -> None:
        """The last action repeats forever."""
        with self.lock:
            self.scripts[path] = list(actions)
            self.hits[path] = 0


def respond(status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> Action:
    def action(h: BaseHTTPRequestHandler) -> None:
        h.send_response(status)
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        if h.command != "HEAD":
            h.wfile.write(body)

    return action


def stall(server: ScriptedServer) -> Action:
    """Accept the request and never answer (until the server stops)."""

    def action(h: BaseHTTPRequestHandler) -> None:
        server.stop_event.wait(60)

    return action


def truncate(body: bytes, send: int) -> Action:
    """Announce the whole body, send only ``send`` bytes, then close the connection."""

    def action(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body[:send])
        h.wfile.flush()
        h.close_connection = True
        h.connection.shutdown(socket.SHUT_RDWR)

    return action


def reset_connection() -> Action:
    """Close the socket with an RST before answering."""

    def action(h: BaseHTTPRequestHandler) -> None:
        import struct

        h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        h.close_connection = True
        h.connection.close()

    return action
