#!/usr/bin/env bash
# Install everything on a fresh machine, then run the demo of the main job.
set -euo pipefail
cd "$(dirname "$0")/.."
bash ci/install.sh
export AWS_EC2_METADATA_DISABLED=true NO_GCE_CHECK=True
exec .venv/bin/python ci/demo.py
