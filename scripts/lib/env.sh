# Shared by scripts/run and scripts/test: a virtual environment with Carnet installed.
# Usage: ensure_venv [extra]   (extra = "test" to add the test dependencies)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="${CARNET_VENV:-$ROOT/.venv}"
PY="$VENV/bin/python"

find_python() {
  for candidate in python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)'; then
      echo "$candidate"; return 0
    fi
  done
  echo "Carnet needs Python 3.11 or newer" >&2
  return 1
}

ensure_venv() {
  local extra="${1:-}"
  if [ ! -x "$PY" ]; then
    "$(find_python)" -m venv "$VENV"
    "$PY" -m pip install --quiet --upgrade pip
  fi
  local spec="$ROOT" stamp="$VENV/.carnet-installed"
  [ -n "$extra" ] && spec="$ROOT[$extra]" && stamp="$stamp-$extra"
  local want
  want="$(sha256sum "$ROOT/pyproject.toml" | cut -c1-16)"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "Installing Carnet${extra:+ with $extra dependencies}..."
    "$PY" -m pip install --quiet --editable "$spec"
    echo "$want" > "$stamp"
  fi
}
