#!/bin/bash -e
# pi-gen (runs on the build host, in this folder): copy the trapd source into the image and run
# deploy/image/install.sh inside the image's chroot, exactly as a technician would on a running Pi.
# TRAPD_SOURCE: the trapd checkout (default: the repository this stage lives in).
TRAPD_SOURCE=${TRAPD_SOURCE:-$(cd ../../../.. && pwd)}
STAGING=/tmp/trapd-src

if [ ! -f "${TRAPD_SOURCE}/deploy/image/install.sh" ]; then
	echo "trapd stage: ${TRAPD_SOURCE} is not a trapd checkout; set TRAPD_SOURCE" >&2
	exit 1
fi
# SSH takes keys only, never root (prerun.sh has checked that a key was given).
install -D -m 0644 files/sshd-trapd.conf "${ROOTFS_DIR}/etc/ssh/sshd_config.d/10-trapd.conf"

rm -rf "${ROOTFS_DIR}${STAGING}"
install -d "${ROOTFS_DIR}${STAGING}"
tar -C "${TRAPD_SOURCE}" --exclude=__pycache__ --exclude='*.pyc' --exclude='*.egg-info' \
	-cf - pyproject.toml README.md station firmware_bridge models deploy docs \
	| tar -C "${ROOTFS_DIR}${STAGING}" -xf -

on_chroot << CHROOT
bash ${STAGING}/deploy/image/install.sh --source ${STAGING}
rm -rf ${STAGING}
CHROOT
