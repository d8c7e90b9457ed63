#!/usr/bin/env bash
# The one command that runs every check: install, lint, type-check, then the whole test suite
# (the test suite starts and stops its own local servers on 127.0.0.1).
set -euo pipefail
cd "$(dirname "$0")/.."
bash ci/install.sh

# Never let a credential chain probe a cloud metadata address.
export AWS_EC2_METADATA_DISABLED=true NO_GCE_CHECK=True

echo "== ruff"; .venv/bin/ruff check cloudfiles cloudfiles_cli tests bench
# cython-lint runs pycodestyle as a subprocess: the venv's bin must be on PATH for it to be found.
echo "== cython-lint"; PATH="$PWD/.venv/bin:$PATH" .venv/bin/cython-lint src/*.pyx src/*.pxd src/*.pxi
echo "== mypy --strict"; .venv/bin/mypy --strict cloudfiles cloudfiles_cli
# The .pyi stubs of the compiled modules must match what Cython actually built.
echo "== stubtest"; .venv/bin/python -m mypy.stubtest --mypy-config-file pyproject.toml \
  --allowlist ci/stubtest-allowlist.txt cloudfiles._gzip cloudfiles._brotli cloudfiles._zstd cloudfiles._sink cloudfiles._loop
echo "== pytest"; .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
