#!/bin/sh
# /usr/local/bin/trapd on a station: the venv's command with the station's config as the default, so
# `sudo -u trapd trapd selftest` and `sudo trapd provision` need no -c (sudo drops the environment).
: "${TRAPD_CONFIG:=/etc/trapd/station.toml}"
export TRAPD_CONFIG
exec /opt/trapd/.venv/bin/trapd "$@"
