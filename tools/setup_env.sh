#!/usr/bin/env bash
# Idempotent install of the whole OpenMMLab stack into .venv/ (CPU machine, Python 3.11).
#
#   bash tools/setup_env.sh          # creates/updates .venv in the repository root
#
# Why it is not `pip install mmpose`:
# * mmcv 2.1.0 has no wheel for today's torch; it is built from the PyPI sdist with its CPU ops
#   (MMCV_WITH_OPS=1).  torch 2.14 headers need C++20, so `-std=c++17` in the sdist's setup.py is
#   rewritten to `-std=c++20` before the build.  The built wheel is kept in $MMRECANON_WHEELS
#   (default ~/.cache/mmrecanon/wheels), so a second run installs it in seconds.
# * torch 2.13.0 (the local CPU wheel) has no matching torchvision; torch 2.14.1 + torchvision 0.29.1
#   (CUDA builds, also run on CPU, torchvision.ops included) are used instead.
# * mmengine/mmcv/mmdet/mmpose/mmdeploy are installed with --no-deps: their requirement files pull
#   opencv-python (GUI), chumpy (unbuildable) and unpinned torch.
# * xtcocotools' wheel is built against numpy 1; it is rebuilt from source against numpy 2.
# Every step that fails stops the script with one line "setup_env: FAILED: <step>" and exit code 1.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"
WHEELS="${MMRECANON_WHEELS:-$HOME/.cache/mmrecanon/wheels}"
LOG="${MMRECANON_SETUP_LOG:-$ROOT/.venv-setup.log}"
STAMP="$VENV/.mmrecanon-stack-v1"

TORCH="torch==2.14.1"
TORCHVISION="torchvision==0.29.1"
MMCV_VERSION="2.1.0"
OM_PKGS="mmengine==0.10.7 mmdet==3.3.0 mmpose==1.3.2 mmdeploy==1.3.1"
# The privacy attack (tools/analysis/privacy_attack.py): dlib's face detector (weights inside the wheel) and
# its face aligner/recognizer weights, shipped by face_recognition_models (a 100 MB sdist, built once).
FACE_PKGS="dlib-bin==20.0.1.post1 face_recognition_models==0.3.0"
# Runtime requirements of the OpenMMLab packages above (their own lists, minus opencv-python/chumpy).
DEPS="numpy>=2,<3 scipy matplotlib addict pyyaml rich termcolor yapf packaging regex tqdm
  json_tricks munkres shapely terminaltables six pillow prettytable aenum multiprocess protobuf
  grpcio pycocotools scikit-image onnx onnxruntime opencv-python-headless<5 albumentations==1.4.24
  pytest ninja cython pytorch-msssim==1.0.0"

fail() { echo "setup_env: FAILED: $1 (log: $LOG)" >&2; exit 1; }
step() { echo "setup_env: $1" >&2; }
pipq() { "$PY" -m pip install --disable-pip-version-check -q "$@" >>"$LOG" 2>&1; }

: >"$LOG"
t0=$(date +%s)

if [ -f "$STAMP" ] && "$PY" - <<'EOF' >>"$LOG" 2>&1; then
import importlib.metadata as md
want = {"torch": "2.14.1", "torchvision": "0.29.1", "mmcv": "2.1.0", "mmengine": "0.10.7",
        "mmdet": "3.3.0", "mmpose": "1.3.2", "mmdeploy": "1.3.1", "xtcocotools": "1.14.3",
        "albumentations": "1.4.24", "dlib-bin": "20.0.1.post1", "face_recognition_models": "0.3.0",
        "pytorch-msssim": "1.0.0",
        "mmrecanon": None}
for k, v in want.items():
    got = md.version(k)
    assert v is None or got.split("+")[0] == v, (k, got)
import mmcv.ops, xtcocotools.cocoeval, onnxruntime, skimage, dlib, pytorch_msssim  # noqa
EOF
  # Fast path: only refresh the editable install (setup.py may have changed).
  pipq --no-deps --no-build-isolation -e "$ROOT" || fail "pip install -e . (fast path)"
  step "stack already installed, nothing to do ($(( $(date +%s) - t0 )) s)"
  exit 0
fi

command -v python3 >/dev/null || fail "python3 not found"
python3 -c 'import sys; assert sys.version_info[:2] >= (3, 9)' || fail "python >= 3.9 needed"
if [ ! -x "$PY" ]; then
  step "creating $VENV"
  python3 -m venv "$VENV" >>"$LOG" 2>&1 || fail "python3 -m venv"
fi
pipq --upgrade pip "setuptools==80.9.0" wheel || fail "pip/setuptools"

step "installing torch + torchvision"
pipq "$TORCH" "$TORCHVISION" || fail "torch/torchvision"

step "installing python dependencies"
# shellcheck disable=SC2086
pipq $DEPS || fail "python dependencies"
pipq --no-deps $OM_PKGS || fail "OpenMMLab packages (--no-deps)"
pipq --no-deps $FACE_PKGS || fail "face models for the privacy attack (dlib-bin, face_recognition_models)"

mkdir -p "$WHEELS"
mmcv_whl=$(ls "$WHEELS"/mmcv-${MMCV_VERSION}-*.whl 2>/dev/null | head -n1)
if [ -z "$mmcv_whl" ]; then
  step "building mmcv ${MMCV_VERSION} with CPU ops from the sdist (about 14 min on 2 cores)"
  build=$(mktemp -d)
  "$PY" -m pip download --no-deps --no-build-isolation --no-binary :all: -d "$build" "mmcv==${MMCV_VERSION}" >>"$LOG" 2>&1 \
    || fail "download mmcv sdist"
  tar -xzf "$build"/mmcv-${MMCV_VERSION}.tar.gz -C "$build" || fail "unpack mmcv sdist"
  src="$build/mmcv-${MMCV_VERSION}"
  # torch >= 2.14 headers use C++20 features; mmcv 2.1.0 hard-codes -std=c++17.
  sed -i 's/-std=c++17/-std=c++20/g' "$src/setup.py" || fail "patch mmcv setup.py"
  grep -q 'std=c++20' "$src/setup.py" || fail "patch mmcv setup.py (-std=c++20 not found)"
  (cd "$src" && MMCV_WITH_OPS=1 FORCE_CUDA=0 MAX_JOBS=2 CFLAGS="-DNDEBUG -g0 -fwrapv -O3 -Wall" \
     "$PY" -m pip wheel --no-deps --no-build-isolation -w "$WHEELS" . >>"$LOG" 2>&1) \
    || fail "build mmcv wheel"
  rm -rf "$build"
  mmcv_whl=$(ls "$WHEELS"/mmcv-${MMCV_VERSION}-*.whl | head -n1)
fi
step "installing $(basename "$mmcv_whl")"
pipq --no-deps --force-reinstall "$mmcv_whl" || fail "install mmcv wheel"

step "installing xtcocotools (built against numpy 2)"
pipq --no-deps --no-build-isolation --no-binary xtcocotools "xtcocotools==1.14.3" || fail "xtcocotools"

step "installing mmrecanon (editable)"
pipq --no-deps --no-build-isolation -e "$ROOT" || fail "pip install -e ."

"$PY" -c "import mmrecanon, mmcv.ops, mmpose, mmdet, mmdeploy, xtcocotools.cocoeval, onnxruntime, skimage" \
  >>"$LOG" 2>&1 || fail "import check"
touch "$STAMP"
step "done in $(( $(date +%s) - t0 )) s"
