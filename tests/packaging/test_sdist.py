"""The source distribution builds and installs into a fresh virtualenv, native codecs included.

Slow (a minute or two: builds the sdist, creates a venv, pip-installs the sdist, which compiles the
Cython extensions and fetches the runtime dependencies from the package index), but part of the default
test run: it is the only test that proves ``MANIFEST.in`` + ``setup.py`` ship everything the build needs.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

CHECK = (
    "import cloudfiles._zstd, cloudfiles._gzip, cloudfiles._brotli, cloudfiles.compression as c; "
    "assert c.decompress(c.compress(b'x'*100,'br'),'br')==b'x'*100; "
    "assert c.decompress(c.compress(b'y'*100,'gzip'),'gzip')==b'y'*100; "
    "assert c.decompress(c.compress(b'z'*100,'zstd'),'zstd')==b'z'*100; "
    "print(cloudfiles._gzip.__file__)"
)


def run(cmd: list[str], cwd: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        pytest.fail(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    return proc


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_sdist_installs_in_fresh_venv(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    run([sys.executable, "-m", "build", "--sdist", "--outdir", str(dist), str(ROOT)], cwd=tmp_path, timeout=600)
    (sdist,) = dist.glob("*.tar.gz")

    with tarfile.open(sdist) as tar:
        names = {Path(n).relative_to(Path(n).parts[0]).as_posix() for n in tar.getnames() if "/" in n}
    for needed in (
        "setup.py", "pyproject.toml", "src/_gzip.pyx", "src/_brotli.pyx", "src/_zstd.pyx", "src/_common.pxd",
        "src/clibdeflate.pxd", "src/czlib.pxd", "src/czstd.pxd", "cloudfiles/compression.py",
        "cloudfiles/_gzip.pyi",
    ):
        assert needed in names, f"{needed} missing from the sdist"
    assert not any(n.endswith((".so", ".c")) for n in names), "build products leaked into the sdist"

    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", str(venv)], cwd=tmp_path, timeout=120)
    python = venv / "bin" / "python"
    run([str(python), "-m", "pip", "install", "-q", str(sdist)], cwd=tmp_path, timeout=1000)
    proc = run([str(python), "-c", CHECK], cwd=tmp_path, timeout=120)
    # The installed copy was imported, not the source tree.
    assert str(venv) in proc.stdout
