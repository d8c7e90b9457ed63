#!/usr/bin/env bash
# Install everything cloudfiles needs on a fresh Debian machine, into ./.venv.
# Idempotent: re-running only rebuilds what changed.
set -euo pipefail
cd "$(dirname "$0")/.."

# C headers for the codec extensions, and nginx for the HTTP tests.
APT_PKGS=(pkg-config gcc zlib1g-dev libdeflate-dev libbrotli-dev libzstd-dev nginx-light)
missing=()
for pkg in "${APT_PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "ci/install.sh: installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
  .venv/bin/pip install -q --upgrade pip
fi
# Editable install: the Cython extensions are compiled in place next to the package.
.venv/bin/pip install -q -e ".[test]"
echo "ci/install.sh: ready ($(.venv/bin/python -c 'import cloudfiles; print("cloudfiles", cloudfiles.__version__)'))"
