#!/usr/bin/env bash
# Install trapd on Raspberry Pi OS: the package in a venv, the systemd units, the config and data folders,
# the UART for the companion board, and an SD-card-friendly system (volatile journal, noatime, tmpfs /tmp).
#
#   sudo deploy/image/install.sh                 on a running Pi (Raspberry Pi OS Lite, Bookworm or later)
#   deploy/image/install.sh --root DIR           into DIR as if it were / (image builds, tests); no root needed
#
# The pi-gen stage (deploy/image/stage-trapd) runs it inside the image's chroot. Re-running it upgrades
# trapd and keeps /etc/trapd/station.toml and everything in /var/lib/trapd. With --root, only files below DIR are written: the trapd user
# is declared in sysusers.d and folder ownership in tmpfiles.d, which systemd applies at boot. A venv made
# with --root is tied to its path below DIR (venvs cannot move): use it for tests, not for an image.
set -euo pipefail

APP_DIR=/opt/trapd
VENV=$APP_DIR/.venv
ETC_DIR=/etc/trapd
DATA_DIR=/var/lib/trapd
UNITS=(trapd.service trapd-firstboot.service)
SOURCE_ITEMS=(pyproject.toml README.md station firmware_bridge models deploy docs)

ROOT=/
SOURCE=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PYTHON=/usr/bin/python3
PIP_ARGS=()
MAKE_VENV=1
DATA_LABEL=""
UNSUPPORTED="32-bit Raspberry Pi OS is not supported: numpy, Pillow and the TFLite runtime have no 32-bit ARM \
wheels for its Python. Flash Raspberry Pi OS Lite (64-bit) on a Pi Zero 2 W, 3, 4 or 5"

log() { printf '[trapd-install] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

usage() {
    cat <<'EOF'
usage: install.sh [--root DIR] [--source DIR] [--python PY] [--pip-args "ARGS"] [--no-venv] [--data-label LABEL]

  --root DIR          install below DIR as if it were / (writes files only; no root needed)
  --source DIR        trapd source tree (default: the repository holding this script)
  --python PY         interpreter for the venv (default /usr/bin/python3, which has picamera2 on a Pi)
  --pip-args "ARGS"   extra pip install arguments (e.g. "--no-deps --no-index" for offline tests)
  --no-venv           do not make /opt/trapd/.venv (files, units and config only)
  --data-label LABEL  mount the ext4 partition labelled LABEL at /var/lib/trapd (data on its own partition)
EOF
}

parse_args() {
    while [ $# -gt 0 ]; do
        case "$1" in
            --root) ROOT=${2:?--root needs a folder}; shift 2 ;;
            --source) SOURCE=${2:?--source needs a folder}; shift 2 ;;
            --python) PYTHON=${2:?--python needs an interpreter}; shift 2 ;;
            --pip-args) read -r -a PIP_ARGS <<< "${2?--pip-args needs arguments}"; shift 2 ;;
            --no-venv) MAKE_VENV=0; shift ;;
            --data-label) DATA_LABEL=${2:?--data-label needs a label}; shift 2 ;;
            -h|--help) usage; exit 0 ;;
            *) usage >&2; die "unknown argument: $1" ;;
        esac
    done
    [ -d "$ROOT" ] || die "--root $ROOT: no such folder"
    ROOT=$(cd "$ROOT" && pwd)
    R=$ROOT
    if [ "$ROOT" = / ]; then R=""; fi
    [ -f "$SOURCE/pyproject.toml" ] || die "--source $SOURCE: not a trapd source tree (no pyproject.toml)"
    SOURCE=$(cd "$SOURCE" && pwd)
}

# The source tree lives at /opt/trapd (the bundled model is found beside the station package, see
# station/vision/bundled.py) and is installed editable into /opt/trapd/.venv.
copy_source() {
    local dest=$R$APP_DIR items=() item
    mkdir -p "$dest"
    if [ "$SOURCE" = "$(cd "$dest" && pwd)" ]; then return; fi
    for item in "${SOURCE_ITEMS[@]}"; do
        if [ -e "$SOURCE/$item" ]; then
            items+=("$item")
            rm -rf "${dest:?}/$item"
        fi
    done
    log "copying the trapd source to $dest"
    tar -C "$SOURCE" --exclude=__pycache__ --exclude='*.pyc' --exclude='*.egg-info' -cf - "${items[@]}" \
        | tar -C "$dest" -xf -
}

# check_userland: a 64-bit userland (arm64 on a Pi; amd64 for tests). A Pi 4/5 running 32-bit Raspberry Pi OS
# reports aarch64 in uname (its kernel), but its programs are armhf: ask dpkg and the interpreter, not uname.
check_userland() {
    local arch="" bits=""
    if [ -z "$R" ] && command -v dpkg >/dev/null; then arch=$(dpkg --print-architecture); fi
    if [ "$MAKE_VENV" -eq 1 ]; then
        bits=$("$PYTHON" -c 'import struct; print(struct.calcsize("P") * 8)') \
            || die "$PYTHON does not run: give a working interpreter with --python"
    fi
    case "$arch" in
        ""|arm64|amd64) ;;
        *) die "$UNSUPPORTED (dpkg architecture: $arch)" ;;
    esac
    if [ -n "$bits" ] && [ "$bits" != 64 ]; then die "$UNSUPPORTED ($PYTHON is a $bits-bit interpreter)"; fi
}

# os_constraints FILE: pin the venv to the OS's own numpy. picamera2 and simplejpeg (apt) are compiled
# against it, and a numpy 2 that pip puts into the venv for ai-edge-litert's ml_dtypes would shadow it
# (Bookworm: numpy 1.24, so pip picks ml_dtypes 0.5.4; Trixie's numpy 2.2 is already the OS's own).
os_constraints() {
    local numpy
    : > "$1"
    if numpy=$("$PYTHON" -s -c 'import numpy; print(numpy.__version__)' 2>/dev/null); then
        log "keeping the OS's numpy $numpy in the venv (picamera2 and simplejpeg are built against it)"
        printf 'numpy==%s\n' "$numpy" >> "$1"
    fi
}

make_venv() {
    if [ "$MAKE_VENV" -eq 0 ]; then log "skipping the venv (--no-venv)"; return; fi
    # --system-site-packages: picamera2, libcamera and lgpio come from Raspberry Pi OS's apt packages.
    if [ ! -x "$R$VENV/bin/python" ]; then
        log "creating $R$VENV with $PYTHON (system site packages visible)"
        "$PYTHON" -m venv --system-site-packages "$R$VENV"
    fi
    os_constraints "$R$APP_DIR/os-constraints.txt"
    log "installing trapd into $R$VENV"
    "$R$VENV/bin/python" -m pip install --quiet --no-cache-dir --disable-pip-version-check \
        --constraint "$R$APP_DIR/os-constraints.txt" ${PIP_ARGS[@]+"${PIP_ARGS[@]}"} --editable "$R$APP_DIR"
    rm -rf "$R$APP_DIR/build"
    # The daemon cannot write below /opt (ProtectSystem=strict): compile once here, not at every start.
    "$R$VENV/bin/python" -m compileall -q "$R$APP_DIR/station" "$R$APP_DIR/firmware_bridge" >/dev/null
}

install_files() {
    local here=$SOURCE/deploy unit
    install -d -m 0755 "$R/etc/systemd/system" "$R/etc/systemd/journald.conf.d" \
        "$R/etc/sysusers.d" "$R/etc/tmpfiles.d" "$R/usr/local/bin"
    for unit in "${UNITS[@]}"; do
        install -m 0644 "$here/systemd/$unit" "$R/etc/systemd/system/$unit"
    done
    install -m 0644 "$here/systemd/journald-trapd.conf" "$R/etc/systemd/journald.conf.d/trapd.conf"
    install -m 0644 "$here/systemd/trapd.sysusers" "$R/etc/sysusers.d/trapd.conf"
    install -m 0644 "$here/systemd/trapd.tmpfiles" "$R/etc/tmpfiles.d/trapd.conf"
    install -m 0755 "$here/image/trapd-wrapper.sh" "$R/usr/local/bin/trapd"
    # The daemon's user may switch the ranger's hotspot (NetworkManager asks polkit for network-control).
    install -D -m 0644 "$here/polkit/50-trapd-hotspot.rules" "$R/etc/polkit-1/rules.d/50-trapd-hotspot.rules"
    # Owners and modes as in trapd.tmpfiles (applied right after this on a Pi, at boot in an image).
    install -d -m 1770 "$R$ETC_DIR"
    install -d -m 0750 "$R$ETC_DIR/tls" "$R$DATA_DIR" "$R$DATA_DIR/log" "$R$DATA_DIR/models"
    install -m 0644 "$here/image/trapd-provision.example.toml" "$R$ETC_DIR/trapd-provision.example.toml"
    if [ ! -e "$R$ETC_DIR/station.toml" ]; then
        log "writing $R$ETC_DIR/station.toml (unprovisioned: run trapd provision, or first boot does it)"
        install -m 0600 "$here/image/station.pi.toml" "$R$ETC_DIR/station.toml"
    fi
}

enable_units() {
    local wants=$R/etc/systemd/system/multi-user.target.wants unit
    mkdir -p "$wants"
    for unit in "${UNITS[@]}"; do
        ln -sfn "/etc/systemd/system/$unit" "$wants/$unit"
    done
    # Bluetooth gives its UART back to GPIO14/15 (disable-bt); no login console on the companion's line.
    for unit in hciuart.service serial-getty@ttyAMA0.service serial-getty@ttyS0.service \
                serial-getty@serial0.service; do
        ln -sfn /dev/null "$R/etc/systemd/system/$unit"
    done
}

main() {
    parse_args "$@"
    if [ -z "$R" ] && [ "$(id -u)" -ne 0 ]; then
        die "installing into the running system needs root: use sudo, or --root DIR to install into a folder"
    fi
    # shellcheck source=deploy/image/system-setup.sh
    . "$(dirname "${BASH_SOURCE[0]}")/system-setup.sh"
    check_userland
    copy_source
    make_venv
    install_files
    enable_units
    setup_boot_files "$R"
    setup_fstab "$R" "$DATA_LABEL"
    if [ -z "$R" ]; then
        apply_now
    else
        log "files installed below $ROOT; user trapd and folder owners are applied by systemd at boot"
    fi
    log "done. Next: put trapd-provision.toml on the boot partition, or run: sudo trapd provision"
}

main "$@"
