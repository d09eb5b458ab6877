#!/usr/bin/env bash
# Installs the Debian packages of the local S3 server (single-node Ceph: monitor, memstore OSD,
# radosgw; about 207 MiB). Idempotent and quiet: does nothing when every binary is present, and
# refreshes the package lists only when apt cannot find the packages.
set -euo pipefail

packages=(radosgw ceph-mon ceph-osd ceph-common)
binaries=(radosgw ceph-mon ceph-osd ceph ceph-authtool monmaptool radosgw-admin)

missing=0
for bin in "${binaries[@]}"; do
  command -v "$bin" >/dev/null 2>&1 || missing=1
done
[[ $missing -eq 0 ]] && exit 0

sudo=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null 2>&1 || {
    echo "infra/s3/install.sh: need root or sudo to install ${packages[*]}" >&2
    exit 1
  }
  sudo=(sudo)
fi

export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
trap 'rm -f "$log"' EXIT
run() {
  "${sudo[@]}" "$@" >>"$log" 2>&1 || {
    cat "$log" >&2
    echo "infra/s3/install.sh: '$*' failed" >&2
    exit 1
  }
}
# A package without a candidate means the lists are missing or stale: update once, then install.
candidates=$(apt-cache policy "${packages[@]}" 2>/dev/null | grep -c 'Candidate: [0-9]' || true)
if [[ $candidates -ne ${#packages[@]} ]]; then
  run apt-get update -qq
fi
run apt-get install -y -qq --no-install-recommends "${packages[@]}"
echo "infra/s3/install.sh: installed ${packages[*]} ($(radosgw --version | head -1))"
