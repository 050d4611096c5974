#!/usr/bin/env bash
# Static checks of pitwall's deployment infrastructure (infra/ and .woodpecker.yml).
#
#   bash infra/tests/run.sh [pytest args]
#
# Creates a virtualenv in <repo>/target/infra-venv on first use, installs the pinned tools from
# infra/tests/requirements.txt (PyPI), and runs pytest on infra/tests. Later runs reuse the venv
# and skip pip while requirements.txt and the interpreter are unchanged. Needs python3 >= 3.11;
# on Debian without the venv module it installs python3-venv when run as root.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="${PITWALL_INFRA_VENV:-$root/target/infra-venv}"
requirements="$here/requirements.txt"
python="${PYTHON:-python3}"

if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "infra/tests/run.sh: needs Python 3.11 or newer as $python" >&2
    exit 1
fi

make_venv() {
    rm -rf "$venv"
    mkdir -p "$(dirname "$venv")"
    "$python" -m venv "$venv"
}

# A venv whose interpreter went away (Python upgraded or removed) is rebuilt.
if ! { [ -x "$venv/bin/python" ] && "$venv/bin/python" -c 'import sys' 2>/dev/null; }; then
    if ! make_venv; then
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
            echo "infra/tests/run.sh: installing python3-venv" >&2
            apt-get update -qq
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv
            make_venv
        else
            echo "infra/tests/run.sh: cannot create a venv; install python3-venv" >&2
            exit 1
        fi
    fi
fi

stamp="$venv/.requirements.sha256"
wanted="$( { cat "$requirements"; "$venv/bin/python" -VV; } | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null || true)" != "$wanted" ]; then
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
        --require-virtualenv -r "$requirements"
    echo "$wanted" >"$stamp"
fi

cd "$root"
export PYTHONDONTWRITEBYTECODE=1
exec "$venv/bin/python" -m pytest -p no:cacheprovider -q "$here" "$@"
