#!/usr/bin/env bash
# Idempotent set-up used by `make demo` and `make test`: installs missing Debian packages,
# creates .venv and installs the project into it. Re-runs are cheap (stamp files).
set -euo pipefail
cd "$(dirname "$0")/.."

# chromium: headless browser for tests/web (driven by playwright); fonts-wqy-microhei: CJK glyphs for its screenshots
# libnss3-tools: certutil, so that Chromium trusts a station's CA in the HTTPS test; network-manager: its
# `nmcli --offline` checks the ranger's hotspot keyfile (no daemon is started: nothing here runs systemd)
# debootstrap: the slow install tests (tests/test_install_debian.py) build Debian roots, cached in .cache/roots/
APT_PACKAGES=(mosquitto mosquitto-clients openssl shellcheck python3-venv python3-setuptools python3-wheel
              chromium fonts-wqy-microhei libnss3-tools network-manager debootstrap)
VENV=${VENV:-.venv}
EXTRAS=${EXTRAS:-dev}

log() { printf '[bootstrap] %s\n' "$*" >&2; }

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ] && ! command -v sudo >/dev/null; then
        log "missing Debian packages: ${missing[*]} (run as root or install them)"; exit 1
    fi
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
    log "installing Debian packages: ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

pick_python() {
    for cand in python3.11 python3.13 python3.12 python3; do
        if command -v "$cand" >/dev/null 2>&1 && "$cand" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            echo "$cand"; return 0
        fi
    done
    return 1
}

if [ ! -x "$VENV/bin/python" ]; then
    PY=$(pick_python) || { log "need Python >= 3.11"; exit 1; }
    log "creating $VENV with $PY"
    "$PY" -m venv "$VENV"
fi

stamp="$VENV/.installed-$EXTRAS"
want=$(cat pyproject.toml | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    log "installing the project into $VENV (extras: $EXTRAS)"
    "$VENV/bin/python" -m pip install -q --upgrade pip >/dev/null 2>&1 || true
    "$VENV/bin/python" -m pip install -q -e ".[$EXTRAS]"
    echo "$want" > "$stamp"
fi
