# shellcheck shell=bash
# Functions for install.sh (sourced): boot configuration (UART), fstab (noatime, tmpfs /tmp, data
# partition) and applying users, folders and units on a running system. Each edit of a system file is
# one marked block that is replaced on every run, so re-running the installer changes nothing twice.

TRAPD_BEGIN="# >>> trapd: managed by deploy/image/install.sh; edits here are replaced >>>"
TRAPD_END="# <<< trapd <<<"

# without_block FILE: FILE's lines outside the managed block.
without_block() {
    awk -v begin="$TRAPD_BEGIN" -v end="$TRAPD_END" \
        '$0 == begin {skip = 1; next} $0 == end {skip = 0; next} !skip {print}' "$1"
}

# replace_block FILE: remove the managed block from FILE (created if missing), append stdin as the new one.
replace_block() {
    local file=$1 tmp
    touch "$file"
    tmp=$(mktemp "$file.trapd.XXXXXX")
    without_block "$file" > "$tmp"
    { printf '%s\n' "$TRAPD_BEGIN"; cat; printf '%s\n' "$TRAPD_END"; } >> "$tmp"
    cat "$tmp" > "$file"   # keeps the file's owner and mode (and works on the FAT boot partition)
    rm -f "$tmp"
}

# boot_dir ROOT: the boot partition's folder below ROOT (Bookworm and later: /boot/firmware), or nothing.
boot_dir() {
    local candidate
    for candidate in "$1/boot/firmware" "$1/boot"; do
        if [ -f "$candidate/config.txt" ]; then printf '%s\n' "$candidate"; return; fi
    done
}

# setup_boot_files ROOT: UART on GPIO14/15 for the companion board, without a login console on it.
setup_boot_files() {
    local boot
    boot=$(boot_dir "$1")
    if [ -z "$boot" ]; then
        log "no config.txt below ${1:-/}/boot: UART not configured (do it with raspi-config on the Pi)"
        return
    fi
    # disable-bt hands the PL011 UART (ttyAMA0) back to GPIO14/15 on a Pi 3, 4 and Zero 2 W; a Pi 5
    # has its own UART0 there. Bluetooth is not used by a station (and costs power).
    replace_block "$boot/config.txt" <<'BLOCK'
[all]
enable_uart=1
[pi3]
dtoverlay=disable-bt
[pi02]
dtoverlay=disable-bt
[pi4]
dtoverlay=disable-bt
[pi5]
dtparam=uart0=on
[all]
BLOCK
    if [ -f "$boot/cmdline.txt" ]; then
        sed -i -E 's/[[:space:]]*console=(serial0|ttyAMA0|ttyS0)(,[0-9]+)?//g; s/^[[:space:]]+//' "$boot/cmdline.txt"
    fi
    if [ ! -e "$boot/trapd-provision.example.toml" ]; then
        cp "$SOURCE/deploy/image/trapd-provision.example.toml" "$boot/trapd-provision.example.toml"
    fi
}

# setup_fstab ROOT [DATA_LABEL]: noatime on ext4, /tmp in RAM, optionally the data partition.
setup_fstab() {
    local fstab=$1/etc/fstab label=${2:-} tmp
    mkdir -p "$1/etc"
    touch "$fstab"
    tmp=$(mktemp "$fstab.trapd.XXXXXX")
    # No write per read on the SD card: add noatime to every ext4 entry that lacks it.
    awk '/^[[:space:]]*#/ || NF < 4 {print; next}
         $3 == "ext4" && $4 !~ /(^|,)noatime(,|$)/ {$4 = $4 ",noatime"}
         {print}' "$fstab" > "$tmp"
    cat "$tmp" > "$fstab"
    rm -f "$tmp"
    {
        if ! without_block "$fstab" | awk '!/^[[:space:]]*#/ && $2 == "/tmp" {found = 1} END {exit !found}'; then
            printf 'tmpfs /tmp tmpfs defaults,noatime,nosuid,nodev,mode=1777,size=64M 0 0\n'
        fi
        if [ -n "$label" ]; then
            # nofail: boot goes on without it; trapd.service (RequiresMountsFor) then stays off rather
            # than writing to a folder the partition would later hide.
            printf 'LABEL=%s %s ext4 defaults,noatime,nofail,x-systemd.device-timeout=30s 0 2\n' \
                "$label" "$DATA_DIR"
        fi
    } | replace_block "$fstab"
}

# apply_now: on a running system or in the image's chroot, create the user and folders and load the units.
apply_now() {
    systemd-sysusers /etc/sysusers.d/trapd.conf
    systemd-tmpfiles --create /etc/tmpfiles.d/trapd.conf
    if [ -d /run/systemd/system ]; then   # a booted systemd, not a chroot
        systemctl daemon-reload
        systemctl restart systemd-journald
        systemctl try-restart trapd.service
    fi
}
