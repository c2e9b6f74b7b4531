#!/usr/bin/env bash
# Rebuild the bundled detector from PyPI sources (see models/detector/README.md).
#
#   models/detector/build.sh CALIBRATION_DIR [convert.py options, e.g. --sizes 640 416 320 --calibration-count 24]
#
# Makes models/detector/.venv-convert (PyTorch CPU, onnx2tf, TensorFlow; never the station's .venv),
# downloads the zamba 2.7.2 wheel (for its weights only) into models/detector/.cache, checks its sha256,
# and runs convert.py. The .tflite files are written beside this script unless --out says otherwise.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [ $# -lt 1 ] || [ ! -d "$1" ]; then
    echo "usage: $0 CALIBRATION_DIR [convert.py options]  (a folder of camera-trap photos)" >&2
    exit 2
fi
calibration="$1"; shift
venv="$here/.venv-convert"
python="${PYTHON:-python3.11}"
zamba_sha256="9683e004af3219635937d2a854b4443fe51527e242b2f3602267159a039571c6"

if [ ! -x "$venv/bin/python" ] || ! cmp -s "$here/requirements-convert.txt" "$venv/requirements-convert.txt"; then
    echo "making $venv" >&2
    "$python" -m venv "$venv"
    # torch is pinned in the requirements: an unpinned torch would pull a multi-GB CUDA build.
    "$venv/bin/pip" install -r "$here/requirements-convert.txt"
    # The network definition only: its declared dependencies (torchvision, training tools) are not needed.
    "$venv/bin/pip" install --no-deps pixeltable-yolox==0.4.3
    cp "$here/requirements-convert.txt" "$venv/requirements-convert.txt"
fi

cache="$here/.cache"
wheel="$cache/zamba-2.7.2-py3-none-any.whl"
mkdir -p "$cache"
if [ ! -f "$wheel" ]; then
    "$venv/bin/pip" download --no-deps zamba==2.7.2 -d "$cache"
fi
echo "$zamba_sha256  $wheel" | sha256sum --check --quiet - || {
    echo "$wheel is not the zamba 2.7.2 wheel this build expects (sha256 differs); delete it and rerun" >&2
    exit 1
}
exec nice -n 10 "$venv/bin/python" "$here/convert.py" --wheel "$wheel" --calibration "$calibration" "$@"
