# shellcheck shell=bash
# The one routine behind the machine-setup scripts (infra/*/install.sh), to be sourced:
#
#   apt_install_missing <who> "<binary> ..." <package>...
#
# installs the Debian packages when any of the binaries is missing from PATH. Idempotent and
# quiet: nothing happens when every binary is there; the package lists are refreshed only when apt
# has no candidate for a package; apt's output is shown only on failure. Needs root or sudo.
apt_install_missing() {
  local who=$1 binaries=$2
  shift 2
  local packages=("$@") bin missing=0
  for bin in $binaries; do
    command -v "$bin" >/dev/null 2>&1 || missing=1
  done
  [[ $missing -eq 0 ]] && return 0

  local sudo=()
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null 2>&1 || {
      echo "$who: need root or sudo to install ${packages[*]}" >&2
      return 1
    }
    sudo=(sudo)
  fi

  local log
  log=$(mktemp)
  # A package without a candidate means the lists are missing or stale: update once, then install.
  local candidates
  candidates=$(apt-cache policy "${packages[@]}" 2>/dev/null | grep -c 'Candidate: [0-9]' || true)
  if [[ $candidates -ne ${#packages[@]} ]] &&
    ! "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq >>"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    echo "$who: 'apt-get update' failed" >&2
    return 1
  fi
  if ! "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${packages[@]}" >>"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    echo "$who: 'apt-get install ${packages[*]}' failed" >&2
    return 1
  fi
  rm -f "$log"
  echo "$who: installed ${packages[*]}"
}
