"""The repaired binary wheel (ci/build-wheel.sh) installs into a fresh virtualenv and runs on the codec
libraries it bundles (cloudfiles.libs/), not the system's.

Slow-ish (builds a wheel, repairs it with auditwheel, creates a venv and pip-installs the wheel with its
runtime dependencies: about a minute here), but part of the default test run: it is the only test of
what a user gets from ``pip install cloudfiles-*.whl``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
BUNDLED = ("libdeflate", "libzstd", "libbrotlienc", "libbrotlidec", "libbrotlicommon")

# Runs inside the fresh venv: a put/get round trip with every codec on file:// and mem://, then report
# which shared objects the process actually mapped.
ROUND_TRIP = r"""
import json, os, sys, tempfile
import numpy as np
import cloudfiles
from cloudfiles import CloudFiles

payload = (b"cloudfiles wheel " * 5000) + bytes(range(256))
for base in ("file://" + tempfile.mkdtemp(), "mem://wheel/test"):
    cf = CloudFiles(base)
    for codec in ("gzip", "br", "zstd"):
        cf.put(f"obj-{codec}", payload, compress=codec)
        assert cf.get(f"obj-{codec}") == payload, (base, codec)
        assert cf.get(f"obj-{codec}", raw=True) != payload, (base, codec)  # really stored encoded
    arr = np.arange(1000, dtype=np.float64)
    cf.put("array", arr, compress="zstd")
    assert cf.get("array") == arr.tobytes()
maps = open("/proc/self/maps").read().split("\n")
libs = sorted({line.split()[-1] for line in maps if ".so" in line and "/" in line})
print(json.dumps({"package": os.path.dirname(cloudfiles.__file__), "libs": libs}))
"""


def run(cmd: list[str], cwd: Path, timeout: float, env: dict[str, str] | None = None) -> str:
    base = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    proc = subprocess.run(cmd, cwd=cwd, env={**base, **(env or {})}, capture_output=True, text=True,
                          timeout=timeout)
    if proc.returncode != 0:
        pytest.fail(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    return proc.stdout


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_repaired_wheel_bundles_codec_libraries(tmp_path: Path) -> None:
    out = run(["bash", str(ROOT / "ci" / "build-wheel.sh"), str(tmp_path / "dist")], cwd=ROOT, timeout=600,
              env={"PYTHON": sys.executable})
    wheel = Path(out.strip().splitlines()[-1])
    assert wheel.is_file() and "manylinux" in wheel.name

    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
    bundled = [n for n in names if n.startswith("cloudfiles.libs/")]
    for lib in BUNDLED:
        assert any(Path(n).name.startswith(lib + "-") for n in bundled), f"{lib} not bundled: {bundled}"
    for needed in ("cloudfiles/py.typed", "cloudfiles/_sink.pyi", "cloudfiles/_loop.pyi", "cloudfiles/fsspec.py"):
        assert needed in names

    # auditwheel agrees: a manylinux tag, and no external library left but the policy's (libc, libm, libz)
    show = run([str(VENV_BIN / "auditwheel"), "show", str(wheel)], cwd=tmp_path, timeout=120)
    assert "is consistent" in show and "manylinux_" in show
    assert "external shared libraries" not in show, show
    for lib in BUNDLED:
        assert lib not in show, show

    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", str(venv)], cwd=tmp_path, timeout=120)
    python = venv / "bin" / "python"
    run([str(python), "-m", "pip", "install", "-q", str(wheel)], cwd=tmp_path, timeout=900)
    report = json.loads(run([str(python), "-c", ROUND_TRIP], cwd=tmp_path, timeout=300).strip().splitlines()[-1])

    package = Path(report["package"])
    libs_dir = package.parent / "cloudfiles.libs"
    assert str(venv) in str(package), "the source tree was imported, not the installed wheel"
    assert libs_dir.is_dir()
    # the running process mapped the bundled copies, and no system copy of them
    for lib in BUNDLED:
        mapped = [p for p in report["libs"] if Path(p).name.startswith(lib)]
        assert mapped and all(Path(p).resolve().parent == libs_dir.resolve() for p in mapped), (lib, mapped)

    # ldd on each extension resolves the codec libraries into cloudfiles.libs/
    extensions = sorted(package.glob("_*.so"))
    assert {e.name.split(".")[0] for e in extensions} == {"_gzip", "_brotli", "_zstd", "_sink", "_loop"}
    for ext in extensions:
        ldd = run(["ldd", str(ext)], cwd=tmp_path, timeout=60)
        for line in ldd.splitlines():
            name = line.strip().split(" ")[0]
            if name.startswith(BUNDLED):
                target = line.split("=>")[1].split("(")[0].strip()
                assert Path(target).resolve().parent == libs_dir.resolve(), f"{ext.name}: {line.strip()}"
    gzip_ldd = run(["ldd", str(next(package.glob("_gzip*.so")))], cwd=tmp_path, timeout=60)
    assert "cloudfiles.libs/libdeflate-" in gzip_ldd
