#!/usr/bin/env bash
# IRRd 4.5.4 (PyPI `irrd`) in its own virtualenv, for the IRR tests and bench/irr.py
# (DESIGN §8). Idempotent: does nothing when the virtualenv already runs that version.
# Path: $ZTIX_IRRD_VENV, default ~/.cache/ztix/irrd-4.5.4.
set -euo pipefail

version=4.5.4
venv="${ZTIX_IRRD_VENV:-$HOME/.cache/ztix/irrd-$version}"

if [ -x "$venv/bin/irrd" ] && "$venv/bin/python" -c "import irrd, sys; sys.exit(irrd.__version__ != '$version')" 2>/dev/null; then
  exit 0
fi

python="${ZTIX_IRRD_PYTHON:-python3}"
echo "installing IRRd $version into $venv" >&2
rm -rf "$venv"
mkdir -p "$(dirname "$venv")"
"$python" -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check "irrd==$version"
"$venv/bin/irrd" --help >/dev/null
