#!/usr/bin/env bash
# Lighthouse (mobile, simulated throttling) on the login, home, card and documents
# screens of a temporary Carnet seeded with the demo data, in Debian's chromium.
# Prints the performance, accessibility, best-practices and SEO scores of each.
#
# Usage: scripts/bench/lighthouse.sh [--runs N] [--keep DIR]
# Needs node, npm and /usr/bin/chromium (apt-get install -y chromium npm). Lighthouse
# 12.2.3 (the last one for Node 20) is installed once under $CARNET_LIGHTHOUSE_DIR
# (default ~/.cache/carnet-lighthouse); the test suite does not use it.
set -euo pipefail
source "$(dirname "$0")/../lib/env.sh"
cd "$ROOT"
ensure_venv test

LH_DIR="${CARNET_LIGHTHOUSE_DIR:-$HOME/.cache/carnet-lighthouse}"
LH="$LH_DIR/node_modules/.bin/lighthouse"
if [ ! -x "$LH" ]; then
  command -v npm >/dev/null || { echo "npm is needed: apt-get install -y npm" >&2; exit 1; }
  echo "Installing lighthouse 12.2.3 in $LH_DIR..."
  mkdir -p "$LH_DIR"
  npm install --prefix "$LH_DIR" --save-exact --no-audit --no-fund --loglevel=error lighthouse@12.2.3
fi
exec "$PY" scripts/bench/lighthouse.py --lighthouse "$LH" "$@"
