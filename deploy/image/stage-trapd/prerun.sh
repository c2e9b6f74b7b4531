#!/bin/bash -e
# pi-gen: check the image's login settings, then start this stage from the previous stage's root file
# system (stage2, Raspberry Pi OS Lite). pi-gen exports its config (pi-gen-config.example) to this script.

refuse() {
	echo "trapd stage: $*" >&2
	echo "trapd stage: see deploy/image/pi-gen-config.example and deploy/README.md (Safe logins)" >&2
	exit 1
}

# An image is copied to every station and to whoever gets hold of a card: it must not carry a password
# anyone could try over SSH. Keys only; a password, if any, long enough not to be guessed offline.
check_logins() {
	local key_pattern='^(ssh-(ed25519|rsa)|ecdsa-sha2-nistp(256|384|521)|sk-(ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com) [A-Za-z0-9+/]+={0,3}( .*)?$'
	if [ "${ENABLE_SSH:-0}" = "1" ]; then
		[ "${PUBKEY_ONLY_SSH:-0}" = "1" ] || refuse "ENABLE_SSH=1 needs PUBKEY_ONLY_SSH=1 (no password logins over SSH)"
		grep -Eq "$key_pattern" <<< "${PUBKEY_SSH_FIRST_USER:-}" \
			|| refuse "PUBKEY_SSH_FIRST_USER holds no SSH public key: put the technicians' keys there"
	fi
	if [ -n "${FIRST_USER_PASS:-}" ] && { [ "${#FIRST_USER_PASS}" -lt 12 ] || [ "${FIRST_USER_PASS}" = "change-me-now" ]; }; then
		refuse "FIRST_USER_PASS is too easy to guess: leave it unset (the account stays locked) or use 12+ characters"
	fi
}

check_logins
if [ ! -d "${ROOTFS_DIR}" ]; then
	copy_previous
fi
