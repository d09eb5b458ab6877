#!/usr/bin/env bash
# Installs the Debian packages of the headless browser the playground tests drive: Chromium (run
# by playwright-core through its executablePath; `npx playwright install` cannot download here)
# and two font families so screenshots show text, when Chromium is missing (infra/apt.sh).
set -euo pipefail
source "$(dirname "$0")/../apt.sh"

apt_install_missing infra/browser/install.sh chromium chromium fonts-liberation fonts-dejavu-core
