# Shared set-up for scripts/demo and scripts/test: a virtualenv in .venv with Carefair installed,
# and GOV.UK Frontend from npm. Re-running skips what is already up to date.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

extras="${1:-}"
python_bin="${PYTHON:-python3}"
if ! "$python_bin" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "Carefair needs Python 3.11 or newer (found: $("$python_bin" --version 2>&1))." >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  echo "Creating .venv ..."
  "$python_bin" -m venv .venv
fi

stamp=".venv/.carefair-installed${extras:+-$extras}"
want="$(cat pyproject.toml | sha256sum | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "Installing Carefair${extras:+ with [$extras]} into .venv ..."
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e ".${extras:+[$extras]}"
  echo "$want" > "$stamp"
fi

lock_hash="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [ ! -f node_modules/govuk-frontend/dist/govuk/govuk-frontend.min.css ] \
   || [ "$(cat node_modules/.carefair-lock 2>/dev/null)" != "$lock_hash" ]; then
  if ! command -v npm >/dev/null; then
    echo "npm is needed to install GOV.UK Frontend (apt-get install -y npm)." >&2
    exit 1
  fi
  echo "Installing GOV.UK Frontend from npm ..."
  npm ci --no-audit --no-fund --silent
  echo "$lock_hash" > node_modules/.carefair-lock
fi
