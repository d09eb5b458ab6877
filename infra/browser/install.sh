#!/usr/bin/env bash
# Installs the Debian packages of the headless browser the playground tests drive: Chromium (run by
# playwright-core through its executablePath; `npx playwright install` cannot download here) and
# two font families so screenshots show text. Idempotent and quiet: does nothing when Chromium is
# present, and refreshes the package lists only when apt cannot find the packages.
set -euo pipefail

packages=(chromium fonts-liberation fonts-dejavu-core)

command -v chromium >/dev/null 2>&1 && exit 0

sudo=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null 2>&1 || {
    echo "infra/browser/install.sh: need root or sudo to install ${packages[*]}" >&2
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
    echo "infra/browser/install.sh: '$*' failed" >&2
    exit 1
  }
}
# A package without a candidate means the lists are missing or stale: update once, then install.
candidates=$(apt-cache policy "${packages[@]}" 2>/dev/null | grep -c 'Candidate: [0-9]' || true)
if [[ $candidates -ne ${#packages[@]} ]]; then
  run apt-get update -qq
fi
run apt-get install -y -qq --no-install-recommends "${packages[@]}"
echo "infra/browser/install.sh: installed ${packages[*]} ($(chromium --version 2>/dev/null | head -1))"
