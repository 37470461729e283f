#!/usr/bin/env bash
# Set up what airflow-export's demo and tests need, on a fresh machine. Idempotent and quick when done.
#
#   scripts/setup.sh venv   .venv with the pinned environment (requirements/lock.txt, made by `make lock`)
#                           and this package (editable): enough for `make lint`
#   scripts/setup.sh base   + Debian packages for the demo and the fast tests: the Unicode PDF fonts, promtool,
#                           qpdf and poppler-utils (PDF validity and rendering checks)
#   scripts/setup.sh full   + Debian packages for every test: a PostgreSQL server, Chromium and chromedriver,
#                           Redis (the broker of the CeleryExecutor topology)
set -euo pipefail
cd "$(dirname "$0")/.."

STEP=${1:-base}
case "$STEP" in
    venv) APT_PACKAGES=() ;;
    base) APT_PACKAGES=(fonts-wqy-zenhei fonts-dejavu-core prometheus qpdf poppler-utils) ;;
    full) APT_PACKAGES=(fonts-wqy-zenhei fonts-dejavu-core prometheus qpdf poppler-utils postgresql chromium chromium-driver redis-server) ;;
    *) echo "usage: $0 [venv|base|full]" >&2; exit 2 ;;
esac

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
    echo "setup: installing Debian packages: ${missing[*]}"
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    # While installing, policy-rc.d exit 101 keeps the packaged services (prometheus, postgresql, redis) from
    # starting: the tests start their own. It is removed again afterwards if we created it.
    created_policy=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null; $SUDO chmod +x /usr/sbin/policy-rc.d
        created_policy=1
    fi
    $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    [ -z "$created_policy" ] || $SUDO rm -f /usr/sbin/policy-rc.d
fi

PY=${PYTHON:-python3}
"$PY" -c 'import sys; sys.exit(0 if sys.version_info[:2] >= (3, 11) else "setup: Python >= 3.11 is required")'
if [ ! -x .venv/bin/python ]; then
    echo "setup: creating .venv"
    "$PY" -m venv .venv
fi
stamp=.venv/.airflow-export-lock
want=$(cat requirements/lock.txt pyproject.toml | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "setup: installing pinned packages (requirements/lock.txt)"
    .venv/bin/python -m pip install -q "$(grep -E '^uv==' requirements/uv.txt)"
    .venv/bin/uv pip sync -q --python .venv/bin/python requirements/lock.txt
    .venv/bin/uv pip install -q --python .venv/bin/python --no-deps -e .
    echo "$want" > "$stamp"
fi
echo "setup ($STEP): ok"
