#!/usr/bin/env bash
# Installs the Debian packages of the local S3 server (single-node Ceph: monitor, memstore OSD,
# radosgw; about 207 MiB) when one of its binaries is missing (infra/apt.sh).
set -euo pipefail
source "$(dirname "$0")/../apt.sh"

apt_install_missing infra/s3/install.sh "radosgw ceph-mon ceph-osd ceph ceph-authtool monmaptool radosgw-admin" \
  radosgw ceph-mon ceph-osd ceph-common
