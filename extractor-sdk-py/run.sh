#!/usr/bin/env bash
# Build and test pitwall's Python extractors.
#
#   bash extractor-sdk-py/run.sh [build|test|all] [pytest args]     (default: all)
#
# Creates a virtualenv in <repo>/target/py-venv on first use and installs the pinned tools from
# extractor-sdk-py/requirements.txt (componentize-py, pytest); later runs skip pip while the
# requirements and the interpreter are unchanged.
#   build: componentizes every extractors-py/<name>/ into target/plugins-py/<name>.wasm and the
#          abuse guest (host/tests/guests/abuse-py) into target/guests-py/abuse_py.wasm, skipping
#          components whose inputs (sources, WIT, requirements) are unchanged;
#   test:  runs pytest on the SDK (shared finder vectors, replay harness) and every example's
#          replay tests.
# Prints how long each phase took. Needs python3 >= 3.11; on Debian without the venv module it
# installs python3-venv when run as root.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
venv="${PITWALL_PY_VENV:-$target/py-venv}"
requirements="$here/requirements.txt"
python="${PYTHON:-python3}"
mode="${1:-all}"
[ $# -gt 0 ] && shift

case "$mode" in
build | test | all) ;;
*)
    echo "usage: extractor-sdk-py/run.sh [build|test|all] [pytest args]" >&2
    exit 2
    ;;
esac

if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "extractor-sdk-py/run.sh: needs Python 3.11 or newer as $python" >&2
    exit 1
fi

now() { date +%s.%N; }
took() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f s", b - a }'; }

make_venv() {
    rm -rf "$venv"
    mkdir -p "$(dirname "$venv")"
    "$python" -m venv "$venv"
}

started="$(now)"
# A venv whose interpreter went away (Python upgraded or removed) is rebuilt.
if ! { [ -x "$venv/bin/python" ] && "$venv/bin/python" -c 'import sys' 2>/dev/null; }; then
    if ! make_venv; then
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
            echo "extractor-sdk-py/run.sh: installing python3-venv" >&2
            apt-get update -qq
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv
            make_venv
        else
            echo "extractor-sdk-py/run.sh: cannot create a venv; install python3-venv" >&2
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
echo "python extractors: venv ready in $(took "$started")"

# componentize SOURCE_DIR MODULE OUTPUT: one component, rebuilt only when an input changed.
# `python -m pitwall_extractor build` runs componentize-py with --stub-wasi: the component
# imports nothing but pitwall:extractor/host (no WASI clocks, files, sockets).
componentize() {
    local dir="$1" module="$2" out="$3"
    local inputs
    inputs="$(cd "$root" && {
        find "$dir" "extractor-sdk-py/pitwall_extractor" wit -type f \( -name '*.py' -o -name '*.wit' \) \
            -not -path "$dir/tests/*" -not -path '*/__pycache__/*' | LC_ALL=C sort | xargs sha256sum
        sha256sum "extractor-sdk-py/requirements.txt"
    } | sha256sum | cut -d' ' -f1)"
    if [ -f "$out" ] && [ "$(cat "$out.inputs" 2>/dev/null || true)" = "$inputs" ]; then
        echo "python extractors: $(basename "$out") up to date"
        return
    fi
    local t
    t="$(now)"
    mkdir -p "$(dirname "$out")"
    # The SDK's own build command (one place for componentize-py's flags), from this checkout.
    (cd "$root" && PYTHONDONTWRITEBYTECODE=1 VIRTUAL_ENV="$venv" PYTHONPATH=extractor-sdk-py \
        "$venv/bin/python" -m pitwall_extractor build "$module" -p "$dir" -p extractor-sdk-py -o "$out.tmp")
    mv "$out.tmp" "$out"
    echo "$inputs" >"$out.inputs"
    echo "python extractors: built $(basename "$out") ($(du -k "$out" | cut -f1) KiB) in $(took "$t")"
}

if [ "$mode" != test ]; then
    for dir in "$root"/extractors-py/*/; do
        name="$(basename "$dir")"
        module="${name//-/_}"
        [ -f "$dir/$module.py" ] || continue
        componentize "extractors-py/$name" "$module" "$target/plugins-py/$module.wasm"
    done
    componentize host/tests/guests/abuse-py abuse_py "$target/guests-py/abuse_py.wasm"
fi

if [ "$mode" != build ]; then
    t="$(now)"
    cd "$root"
    export PYTHONDONTWRITEBYTECODE=1
    suites=(extractor-sdk-py/tests)
    for dir in extractors-py/*/tests; do
        [ -d "$dir" ] && suites+=("$dir")
    done
    "$venv/bin/python" -m pytest -p no:cacheprovider --import-mode=importlib -q "${suites[@]}" "$@"
    echo "python extractors: pytest in $(took "$t")"
fi
