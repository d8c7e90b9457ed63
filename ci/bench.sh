#!/usr/bin/env bash
# The benchmark suite of issue 8, from a fresh clone: install, start private servers on 127.0.0.1
# (nginx, SeaweedFS with signatures, the GCS emulator, a latency proxy), run every case with every
# client (peers get venvs of their own under bench/.peers), write bench/results/suite.{md,json,png}.
#
#   bash ci/bench.sh              # default sizes (~10 minutes on 2 cores)
#   bash ci/bench.sh --huge       # also the 2 GiB object (one run)
#   bash ci/bench.sh --smoke      # seconds: proves the suite runs; figures mean nothing
#   bash ci/bench.sh --only s3,nginx --runs 5
set -euo pipefail
cd "$(dirname "$0")/.."
# Never let a credential chain probe a cloud metadata address.
export AWS_EC2_METADATA_DISABLED=true NO_GCE_CHECK=True
bash ci/install.sh
# uvloop makes the latency proxy cheap enough not to bound the latency cases (optional).
.venv/bin/pip install -q uvloop || echo "ci/bench.sh: uvloop unavailable; the latency proxy uses asyncio"
exec .venv/bin/python bench/suite.py "$@"
