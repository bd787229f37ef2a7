#!/usr/bin/env bash
# Creates the virtualenv of the Python references (receiver.py, dlt_ctm.py) and installs
# bench/python/requirements.txt into it from PyPI.
#
#   bench/python/setup.sh            # venv at ${BENCH_VENV:-<repo>/bench/.venv}
#   PY=$(bench/python/setup.sh | tail -n 1)
#
# Idempotent: the venv keeps a stamp with the SHA-256 of requirements.txt (and of the Python it was
# made with); when it matches, nothing is installed. The last line on stdout is always the venv's
# python. Exits non-zero, saying why, when python3 has no venv module or pip cannot reach PyPI.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
venv="${BENCH_VENV:-$repo/bench/.venv}"
requirements="$here/requirements.txt"
python="${BENCH_PYTHON:-python3}"

die() { echo "bench/python/setup.sh: $*" >&2; exit 1; }

command -v "$python" >/dev/null || die "$python not found (set BENCH_PYTHON to a Python 3.11 interpreter)"
base_version="$("$python" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])')"
want="$( { sha256sum "$requirements" | cut -d' ' -f1; echo "python $base_version"; } )"
stamp="$venv/.callfeed-requirements.stamp"

if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    echo "$venv/bin/python"
    exit 0
fi

if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv" || die "could not create a venv at $venv (Debian: apt-get install python3-venv)"
fi
rm -f "$stamp"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
echo "bench/python/setup.sh: installing requirements.txt into $venv ..." >&2
if ! "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements" >"$log" 2>&1; then
    if grep -qiE "NewConnectionError|Max retries exceeded|Temporary failure in name resolution|Network is unreachable|ConnectTimeout|ProxyError|SSLError|No matching distribution found" "$log"; then
        tail -n 5 "$log" >&2
        die "pip could not reach PyPI (or found no matching release there); the venv at $venv is incomplete"
    fi
    tail -n 20 "$log" >&2
    die "pip install -r $requirements failed"
fi
echo "$want" >"$stamp"
echo "$venv/bin/python"
