#!/usr/bin/env bash
# Downstream check: run a real client's own test suite (the `test/` directory of its sdist) twice,
# with a loopback-only network, once against the reference cloud-files release and once against
# this repository's cloudfiles, then list the tests that pass with the reference but not with ours.
#
#   bash ci/downstream.sh CLIENT [WORKDIR] [REPO]
#
#   CLIENT   cloudvolume (CloudVolume's suite, ~10 min per run) or igneous (Igneous's, ~7 min per run;
#            it drives CloudVolume, task-queue and crackle, all of which import cloudfiles)
#   WORKDIR  where the sdist, the two venvs and the results live
#            (default: $DOWNSTREAM_DIR, else /tmp/downstream-CLIENT)
#   REPO     the cloudfiles checkout to test (default: the repository holding this script);
#            its working tree (tracked + untracked, not ignored files, less tests/ bench/ ci/ .ci/) is
#            copied and built into a wheel, so the checkout itself is never written to.
#
# Environment knobs (all optional):
#   DOWNSTREAM_RUNS     which suites to run, default "ref ours" (e.g. "ours" to reuse the last ref results)
#   DOWNSTREAM_TIMEOUT  per-test timeout in seconds (pytest-timeout), default 120 (igneous: 300)
#   DOWNSTREAM_RUN_TIMEOUT  whole-suite timeout in seconds, default 3600
#   DOWNSTREAM_SHIM=1   DIAGNOSIS ONLY, default off: the `ours` run gets a sitecustomize that adds
#                       cloudfiles.interfaces.COMPRESSION_EXTENSIONS when it is missing, so failures
#                       behind that first import error show up (results go to results/ours-shim)
#   DOWNSTREAM_HARNESS=0  do not provide CloudVolume's `layer_harness` helper module (see below)
#   DOWNSTREAM_PYTEST_ARGS  extra pytest arguments (e.g. "-k sharding")
#   PYTHON              interpreter for the venvs (default python3)
#
# Isolation: each suite runs under `unshare -n -m` (only a loopback interface; a private mount
# namespace whose /tmp is a fresh directory under WORKDIR/ns and whose /dev/shm is a fresh tmpfs, since
# the tests write to fixed paths such as /tmp/removeme), with a clean environment (HOME is private too,
# so ~/.cloudvolume is empty) plus AWS_EC2_METADATA_DISABLED=true and NO_GCE_CHECK=True.
# CloudVolume's tests run from an empty directory, so `import cloudvolume` is the copy installed in the
# venv. Igneous's open their data by paths relative to the sdist's root (test/connectomics.npy.ckl.gz),
# so they run from there; `import igneous` then reads the sdist's own copy of the same code, and
# cloudfiles is still the venv's (checked below).
#
# CloudVolume's sdist ships test/*.py but not the test-data directories (test_cv, test_cv_sharded,
# test_precomputed_annotation) nor test/layer_harness.py, which test_cloudvolume, test_sharding and
# test_provenance import. Tests that need the missing data fail identically in both runs. For the
# helper module, this script writes a small stand-in of its own (create_layer/delete_layer/TEST_NUMBER,
# built on CloudVolume.from_numpy) so that those three modules can be collected at all. Igneous's sdist
# ships its own layer_harness.py and test data.
#
# Exit status: 0 when nothing passes with the reference but fails with ours, 1 otherwise, 2 on setup errors.
set -euo pipefail

CF_REF_VERSION=6.4.3
CLIENT=${1:-}
case "$CLIENT" in
  cloudvolume)
    DIST=cloud-volume DIST_VERSION=12.15.2 SDIST_NAME=cloud_volume RUN_FROM=empty
    HARNESS_DEFAULT=1 TIMEOUT_DEFAULT=120
    # Test tools, plus the optional codecs and integrations the tests import (cloud-volume's own
    # "test" extra and its codec extras), installed identically in both venvs.
    TEST_EXTRAS=(
      pytest pytest-timeout requests_mock scipy zarr "dask[array]" Pillow
      blosc zstandard imagecodecs simplejpeg "pyspng-seunglab>=1.0.0"
      "compresso>=3.3.3" "crackle-codec>=0.8.0,<2.0.0" fpzip zfpc
      # numcodecs (imported by zarr, a pytest plugin) parses zfpy's version as dotted ints: 1.0.1.post0 breaks it
      "zfpy!=1.0.1.post0"
    ) ;;
  igneous)
    DIST=igneous-pipeline DIST_VERSION=4.37.0 SDIST_NAME=igneous_pipeline RUN_FROM=sdist
    HARNESS_DEFAULT=0 TIMEOUT_DEFAULT=300
    # imagecodecs: the JPEG XL transfer test needs it and Igneous does not declare it
    TEST_EXTRAS=(pytest pytest-timeout imagecodecs) ;;
  *) echo "usage: bash ci/downstream.sh cloudvolume|igneous [WORKDIR] [REPO]" >&2; exit 2 ;;
esac
shift

die() { echo "downstream ($CLIENT): $*" >&2; exit 2; }
log() { echo "== $*"; }

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
WORK=$(realpath -m "${1:-${DOWNSTREAM_DIR:-/tmp/downstream-$CLIENT}}")
REPO=$(realpath "${2:-$SCRIPT_DIR/..}")
PY=${PYTHON:-python3}
RUNS=${DOWNSTREAM_RUNS:-ref ours}
TEST_TIMEOUT=${DOWNSTREAM_TIMEOUT:-$TIMEOUT_DEFAULT}
RUN_TIMEOUT=${DOWNSTREAM_RUN_TIMEOUT:-3600}
SHIM=${DOWNSTREAM_SHIM:-0}
HARNESS=${DOWNSTREAM_HARNESS:-$HARNESS_DEFAULT}
read -r -a EXTRA_PYTEST <<<"${DOWNSTREAM_PYTEST_ARGS:-}"

[ "$(id -u)" -eq 0 ] || die "needs root (unshare -n -m)"
[ -f "$REPO/pyproject.toml" ] && [ -d "$REPO/cloudfiles" ] || die "$REPO is not a cloudfiles checkout"
mkdir -p "$WORK"
exec 9>"$WORK/.lock"
flock -n 9 || die "another run holds $WORK/.lock"

export PIP_DISABLE_PIP_VERSION_CHECK=1
REF="$WORK/ref"
OURS="$WORK/ours"

# --- 0. the C headers our extensions build against (the Debian list kept in ci/install.sh) -------
read -r -a APT_PKGS <<<"$(sed -n 's/^APT_PKGS=(\(.*\))$/\1/p' "$REPO/ci/install.sh" | tr -d '"')"
missing=()
for pkg in "${APT_PKGS[@]}"; do
  case "$pkg" in nginx*) continue ;; esac   # only needed by our own HTTP tests
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "apt-get install ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

mkvenv() { [ -x "$1/bin/python" ] || "$PY" -m venv "$1"; }

# --- 1. the sdist --------------------------------------------------------------------------------
mkvenv "$REF"
SDIST_TGZ="$WORK/dl/$SDIST_NAME-$DIST_VERSION.tar.gz"
if [ ! -f "$SDIST_TGZ" ]; then
  log "downloading the $DIST $DIST_VERSION sdist"
  "$REF/bin/pip" download -qq --no-deps --no-binary "$DIST" "$DIST==$DIST_VERSION" -d "$WORK/dl"
fi
SDIST="$WORK/src/$SDIST_NAME-$DIST_VERSION"
if [ ! -d "$SDIST/test" ]; then
  mkdir -p "$WORK/src"
  tar -xzf "$SDIST_TGZ" -C "$WORK/src"
fi

# --- 2. ref venv: the client with its normal dependencies, cloud-files pinned to the reference -----
REF_SPEC="$DIST=$DIST_VERSION cf=$CF_REF_VERSION extras=${TEST_EXTRAS[*]}"
if [ "$(cat "$REF/.ready" 2>/dev/null)" != "$REF_SPEC" ]; then
  log "building the ref venv ($REF)"
  "$REF/bin/pip" install -qq --prefer-binary "$SDIST_TGZ" "cloud-files==$CF_REF_VERSION" "${TEST_EXTRAS[@]}"
  echo "$REF_SPEC" >"$REF/.ready"
fi
# Everything except the two packages under test: the ours venv is held to the same versions.
"$REF/bin/pip" freeze --exclude-editable | grep -viE "^(cloud-files|$DIST|$SDIST_NAME|pip|setuptools|wheel)[=@ ]" \
  >"$WORK/ref-constraints.txt"

# --- 3. ours venv: the client --no-deps, its dependencies minus cloud-files, then our wheel -------
mkvenv "$OURS"
OURS_SPEC="$REF_SPEC constraints=$(sha256sum <"$WORK/ref-constraints.txt" | cut -c1-16)"
if [ "$(cat "$OURS/.deps-ready" 2>/dev/null)" != "$OURS_SPEC" ]; then
  log "building the ours venv ($OURS)"
  # (pip then warns that the client requires cloud-files, which is not installed: that is the point)
  "$OURS/bin/pip" install -qq --no-deps "$SDIST_TGZ"
  mapfile -t CLIENT_DEPS < <("$OURS/bin/python" - "$DIST" <<'EOF'
import importlib.metadata as md, re, sys
for r in md.requires(sys.argv[1]) or []:
    name = re.split(r"[\s<>=!~;\[(]", r, maxsplit=1)[0]
    if "extra ==" in r or name.lower().replace("_", "-") == "cloud-files":
        continue
    print(r)
EOF
)
  "$OURS/bin/pip" install -qq --prefer-binary -c "$WORK/ref-constraints.txt" "${CLIENT_DEPS[@]}" "${TEST_EXTRAS[@]}"
  # Igneous's dependencies (cloud-volume, task-queue) pull cloud-files in with its own dependencies; those
  # stay (the ref venv has them too), only cloud-files itself goes, and our wheel goes in its place.
  if "$OURS/bin/python" -c 'import importlib.metadata as m; m.distribution("cloud-files")' 2>/dev/null; then
    log "a dependency pulled in cloud-files: removing it from the ours venv"
    "$OURS/bin/pip" uninstall -qq -y cloud-files
  fi
  rm -f "$OURS/.ours-fingerprint"
  echo "$OURS_SPEC" >"$OURS/.deps-ready"
fi

# Our package: the wheel is rebuilt only when the files it is built from change (kept per fingerprint):
# the checkout's tracked and untracked, non-ignored files, less its tests, benchmarks and CI scripts.
if git -C "$REPO" rev-parse --git-dir >/dev/null 2>&1; then
  list_repo() { git -C "$REPO" ls-files -z -co --exclude-standard -- . ':!tests' ':!bench' ':!ci' ':!.ci'; }
else
  list_repo() { (cd "$REPO" && find . \( -path ./.venv -o -path ./.git -o -path ./build -o -path ./tests \
    -o -path ./bench -o -path ./ci -o -name '*.so' -o -name __pycache__ -o -name '*.egg-info' \) -prune \
    -o -type f -print0); }
fi
FP=$(cd "$REPO" && list_repo | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-32)
WHEEL_DIR="$WORK/wheels/$FP"
if ! ls "$WHEEL_DIR"/cloudfiles-*.whl >/dev/null 2>&1; then
  log "building our cloudfiles wheel from $REPO"
  rm -rf "$WORK/ours-src" "$WHEEL_DIR"
  mkdir -p "$WORK/ours-src" "$WHEEL_DIR"
  (cd "$REPO" && list_repo | tar --null -T - -cf -) | tar -xf - -C "$WORK/ours-src"
  "$OURS/bin/pip" wheel -qq --no-deps -w "$WHEEL_DIR" "$WORK/ours-src"
fi
if [ "$(cat "$OURS/.ours-fingerprint" 2>/dev/null)" != "$FP" ]; then
  WHEEL=$(ls "$WHEEL_DIR"/cloudfiles-*.whl)
  log "installing $(basename "$WHEEL") into the ours venv"
  "$OURS/bin/pip" install -qq --force-reinstall --no-deps "$WHEEL"
  "$OURS/bin/pip" install -qq --prefer-binary -c "$WORK/ref-constraints.txt" "$WHEEL"
  echo "$FP" >"$OURS/.ours-fingerprint"
fi

# --- 4. which cloudfiles each venv imports -----------------------------------------------------
OUR_VERSION=$(sed -n 's/^version = "\(.*\)"/\1/p' "$REPO/pyproject.toml" | head -1)
check_import() {  # venv expected-dist expected-version
  (cd "$WORK" && env -i PATH=/usr/bin:/bin HOME="$WORK" "$1/bin/python" - "$1" "$2" "$3" <<'EOF'
import importlib.metadata as md, os, sys
venv, dist, want = sys.argv[1:]
import cloudfiles
where = os.path.realpath(cloudfiles.__file__)
got = md.version(dist)
print(f"   {os.path.basename(venv)}: cloudfiles from {where} ({dist} {got}, __version__={getattr(cloudfiles, '__version__', '?')})")
ok = where.startswith(os.path.realpath(venv) + "/") and got == want
others = {d.metadata["Name"] for d in md.distributions()} & ({"cloud-files", "cloudfiles"} - {dist})
if others:
    print(f"   {os.path.basename(venv)}: unexpected distribution(s) also installed: {sorted(others)}")
    ok = False
sys.exit(0 if ok else 1)
EOF
  ) || die "$1 does not import $2 $3"
}
if git -C "$REPO" rev-parse --git-dir >/dev/null 2>&1; then
  dirty=$(git -C "$REPO" status --porcelain -- . ':!tests' ':!bench' ':!ci' ':!.ci' | head -c1)
  log "ours = $REPO at commit $(git -C "$REPO" rev-parse --short HEAD)${dirty:+ plus uncommitted changes} (wheel $FP)"
else
  log "ours = $REPO (wheel $FP)"
fi
log "imports"
check_import "$REF" cloud-files "$CF_REF_VERSION"
check_import "$OURS" cloudfiles "$OUR_VERSION"

# --- 5. helper modules put on PYTHONPATH (never into the sdist) ------------------------------------
mkdir -p "$WORK/harness" "$WORK/shim"
if [ "$HARNESS" = 1 ]; then
  cat >"$WORK/harness/layer_harness.py" <<'EOF'
# Stand-in for the helper module CloudVolume's tests import but its sdist does not ship.
# Written for this harness: random layers are written with CloudVolume.from_numpy under /tmp/removeme/.
import os
import shutil

import numpy as np

from cloudvolume import CloudVolume
from cloudvolume.lib import find_closest_divisor

TEST_NUMBER = int(np.random.randint(0, 1_000_000))
layer_path = "/tmp/removeme/"


def _random_image(size, layer_type, dtype):
    if layer_type == "image":
        return np.random.randint(0, 255, size=size, dtype=dtype or np.uint8)
    if layer_type == "affinities":
        return np.random.random(size=size).astype(dtype or np.float32)
    if layer_type == "segmentation":
        return np.random.randint(0, 2**24 - 1, size=size, dtype=np.uint32)
    dt = np.dtype(dtype or np.uint32)
    return np.random.randint(0, np.iinfo(dt).max, size=size, dtype=dt)


def create_layer(size, offset, layer_type="image", layer_name="layer", dtype=None, encoding="raw"):
    data = _random_image(size, layer_type, dtype)
    cloudpath = "file://" + os.path.join(layer_path, layer_name)
    vol = CloudVolume.from_numpy(
        data,
        vol_path=cloudpath,
        resolution=(1, 1, 1),
        voxel_offset=offset,
        chunk_size=find_closest_divisor(data.shape[:3], closest_to=[64, 64, 64]),
        layer_type=layer_type,
        encoding=encoding,
    )
    return vol, data


def delete_layer(path=layer_path):
    if os.path.exists(path):
        shutil.rmtree(path)
EOF
else
  rm -f "$WORK/harness/layer_harness.py"
fi
cat >"$WORK/shim/sitecustomize.py" <<'EOF'
# DIAGNOSIS ONLY (DOWNSTREAM_SHIM=1): supply the name cloudvolume imports first, to see what comes next.
try:
    import cloudfiles.interfaces as _i
    if not hasattr(_i, "COMPRESSION_EXTENSIONS"):
        _i.COMPRESSION_EXTENSIONS = (".gz", ".br", ".zstd", ".bz2", ".xz")
except Exception:
    pass
EOF

# --- 6. run the suites -----------------------------------------------------------------------------
run_suite() {  # label venv pythonpath
  local label=$1 venv=$2 pypath=$3
  local res="$WORK/results/$label" ns="$WORK/ns/$label"
  rm -rf "$res" "$ns"
  mkdir -p "$res" "$ns/tmp" "$ns/home" "$ns/cwd"
  local bind_work="" run_dir="$ns/cwd"
  [ "$RUN_FROM" = sdist ] && run_dir="$SDIST"
  case "$WORK/" in /tmp/*) bind_work="$ns/tmp/${WORK#/tmp/}"; mkdir -p "$bind_work" ;; esac
  cat >"$ns/run.sh" <<EOF
set -e
ip link set lo up
# /tmp becomes a fresh private directory (with WORKDIR bound back at its own path when it lies under /tmp)
${bind_work:+mount --bind '$WORK' '$bind_work'}
mount --rbind '$ns/tmp' /tmp
mount -t tmpfs -o size=4g,mode=1777 cvshm /dev/shm
chmod 1777 /tmp
cd '$run_dir'
exec nice -n 10 timeout -k 30 $RUN_TIMEOUT env -i \\
  PATH='$venv/bin:/usr/local/bin:/usr/bin:/bin' HOME='$ns/home' LANG=C.UTF-8 TMPDIR=/tmp \\
  AWS_EC2_METADATA_DISABLED=true NO_GCE_CHECK=True PYTHONDONTWRITEBYTECODE=1 \\
  PYTHONPATH='$pypath' \\
  '$venv/bin/python' -m pytest -q -p no:cacheprovider -rA --timeout=$TEST_TIMEOUT \\
    --junitxml='$res/junit.xml' ${EXTRA_PYTEST[*]:-} '$SDIST/test'
EOF
  log "pytest with $label (log: $res/pytest.log)"
  local t0 rc=0
  t0=$(date +%s)
  unshare -n -m --propagation private sh "$ns/run.sh" >"$res/pytest.log" 2>&1 || rc=$?
  echo "$(( $(date +%s) - t0 ))" >"$res/seconds"
  echo "$rc" >"$res/rc"
  tail -n 1 "$res/pytest.log" | sed 's/^/   /'
  echo "   exit $rc, $(cat "$res/seconds") s"
  rm -rf "$ns/tmp" 2>/dev/null || true
}

OURS_LABEL=ours
OURS_PYPATH="$WORK/harness"
if [ "$SHIM" = 1 ]; then
  OURS_LABEL=ours-shim
  OURS_PYPATH="$WORK/shim:$WORK/harness"
fi
for r in $RUNS; do
  case "$r" in
    ref) run_suite ref "$REF" "$WORK/harness" ;;
    ours) run_suite "$OURS_LABEL" "$OURS" "$OURS_PYPATH" ;;
    *) die "unknown run '$r' in DOWNSTREAM_RUNS" ;;
  esac
done

# --- 7. compare ------------------------------------------------------------------------------------
[ -f "$WORK/results/ref/junit.xml" ] || die "no ref results in $WORK/results/ref"
[ -f "$WORK/results/$OURS_LABEL/junit.xml" ] || die "no $OURS_LABEL results in $WORK/results/$OURS_LABEL"
# Distributions the ref venv has and ours lacks: what cloud-files pulled in transitively, which
# CloudVolume code may import without declaring it.
comm -23 <("$REF/bin/python" -m pip list --format=freeze 2>/dev/null | sed 's/==.*//' | tr 'A-Z_' 'a-z-' | sort) \
         <("$OURS/bin/python" -m pip list --format=freeze 2>/dev/null | sed 's/==.*//' | tr 'A-Z_' 'a-z-' | sort) \
  | grep -vx 'cloud-files' | tr '\n' ' ' | sed 's/^\(..*\)$/only in the ref venv (transitive dependencies of cloud-files): \1\n/' || true
"$PY" - "$WORK/results/ref" "$WORK/results/$OURS_LABEL" <<'EOF'
import os, sys, xml.etree.ElementTree as ET

def load(d):
    tests, collect = {}, {}
    for tc in ET.parse(os.path.join(d, "junit.xml")).iter("testcase"):
        cls, name = tc.get("classname", ""), tc.get("name", "")
        status, msg = "passed", ""
        for tag in ("failure", "error", "skipped"):
            el = tc.find(tag)
            if el is not None:
                status = {"failure": "failed"}.get(tag, tag)
                msg = (el.get("message") or "").strip()
                if not msg or msg == "collection failure":  # take the exception line from the traceback
                    elines = [l[1:].strip() for l in (el.text or "").splitlines() if l.startswith("E ")]
                    msg = elines[-1] if elines else msg
                break
        if not cls:  # a module that failed to import/collect
            collect[name] = msg
            continue
        tests[f"{cls}::{name}"] = (status, msg)
    return tests, collect

def counts(tests, collect):
    c = {"passed": 0, "failed": 0, "error": 0, "skipped": 0}
    for s, _ in tests.values():
        c[s] += 1
    return ", ".join(f"{v} {k}" for k, v in c.items()) + f", {len(collect)} collection errors"

ref_d, ours_d = sys.argv[1:]
ref, ref_col = load(ref_d)
ours, ours_col = load(ours_d)
label = os.path.basename(ours_d)
for lab, d, t, col in (("ref", ref_d, ref, ref_col), (label, ours_d, ours, ours_col)):
    secs = open(os.path.join(d, "seconds")).read().strip()
    print(f"{lab:>10}: {counts(t, col)}  ({secs} s)")
    for mod, msg in sorted(col.items()):
        print(f"{'':>12}collection error {mod}: {msg}"[:220])

def short(msg):
    lines = [l for l in msg.splitlines() if l.strip()]
    return (lines[0] if lines else "")[:200]

regress = []
for tid, (s, _) in sorted(ref.items()):
    if s != "passed":
        continue
    if tid in ours:
        s2, m2 = ours[tid]
        if s2 != "passed":
            regress.append((tid, s2, short(m2)))
    else:
        mod = tid.split("::")[0]
        why = next((m for k, m in ours_col.items() if k.replace("/", ".").replace(".py", "").endswith(mod.split(".")[-1])), "")
        regress.append((tid, "not run", short(why or "absent from results")))
print(f"\npass with ref but not with {label}: {len(regress)}")
for tid, s, m in regress:
    print(f"  {tid}  [{s}] {m}")
fixed = [t for t, (s, _) in ours.items() if s == "passed" and ref.get(t, ("",))[0] != "passed"]
if fixed:
    print(f"\npass with {label} but not with ref: {len(fixed)}")
    for t in sorted(fixed):
        print(f"  {t}")
sys.exit(1 if regress else 0)
EOF
