#!/usr/bin/env bash
# Make sure the peers the test suite talks to are installed and running:
#   programs: ffmpeg, icecast2, srt-live-transmit, espeak-ng, multimon-ng, zip, mariadb-dump,
#             pg_dump, mpg123, chromium, stress,
#             promtool (prometheus), amtool (prometheus-alertmanager) (Debian packages)
#   services: PostgreSQL :5432, MariaDB :3306, Redis :6379, NATS (JetStream) :4222
#   with --bench also: liquidsoap (make bench)
# Installs what is missing with apt-get (as root, or through sudo) and starts
# what is installed but stopped. Set GRIMNIR_SKIP_PEERS=1 to skip it all.
set -uo pipefail

if [ "${GRIMNIR_SKIP_PEERS:-0}" = 1 ]; then
    echo "peers: skipped (GRIMNIR_SKIP_PEERS=1)"
    exit 0
fi

SUDO=""
if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        SUDO="sudo -n"
    else
        SUDO="none"
    fi
fi

failed=0
apt_updated=0

as_root() {
    if [ "$SUDO" = none ]; then
        echo "peers: need root to run: $*" >&2
        return 1
    fi
    $SUDO "$@"
}

apt_install() {
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "peers: no apt-get here; install by hand: $*" >&2
        return 1
    fi
    if [ "$apt_updated" = 0 ]; then
        as_root apt-get update -qq || return 1
        apt_updated=1
    fi
    echo "peers: installing $*"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" \
        >/dev/null || return 1
}

port_open() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

wait_port() {  # port seconds
    local i
    for ((i = 0; i < $2 * 4; i++)); do
        port_open "$1" && return 0
        sleep 0.25
    done
    return 1
}

need_program() {  # program package
    if command -v "$1" >/dev/null 2>&1 || [ -x "/usr/bin/$1" ]; then
        return 0
    fi
    apt_install "$2" || { echo "peers: could not install $2" >&2; failed=1; }
}

need_service() {  # name port package binary start-command...
    local name=$1 port=$2 package=$3 binary=$4
    shift 4
    if port_open "$port"; then
        echo "peers: $name is up on :$port"
        return 0
    fi
    if ! command -v "$binary" >/dev/null 2>&1 && [ ! -x "$binary" ]; then
        apt_install "$package" || { echo "peers: could not install $package" >&2; failed=1; return; }
    fi
    echo "peers: starting $name"
    as_root bash -c "$*" >/dev/null 2>&1
    if wait_port "$port" 60; then
        echo "peers: $name is up on :$port"
    else
        echo "peers: $name did not come up on :$port (started with: $*)" >&2
        failed=1
    fi
}

need_program ffmpeg ffmpeg
need_program icecast2 icecast2
need_program srt-live-transmit srt-tools
need_program espeak-ng espeak-ng  # spoken station IDs of the demo (tests/demo), alert speech (tests/eas)
need_program multimon-ng multimon-ng  # the independent SAME decoder (tests/eas)
need_program zip zip  # AzuraCast backups are made the way its backup command makes them (tests/importers)
need_program mariadb-dump mariadb-client  # the AzuraCast fixture's MariaDB dump (tests/importers)
need_program pg_dump postgresql-client  # the LibreTime fixture's pg_dump (tests/importers)
need_program mpg123 mpg123  # an HTTP/1.0 player (tests/test_up_api.py)
need_program chromium chromium  # the public player page in a browser (tests/test_up_api.py; Playwright drives it)
need_program stress stress  # CPU load beside the suite: no test may depend on wall-clock speed
need_program promtool prometheus  # alert rules unit tests (tests/deploy); a real Prometheus scrapes grimnir up
need_program amtool prometheus-alertmanager  # the Alertmanager example config is checked

if [ "${1:-}" = "--bench" ]; then
    # The side-by-side benchmark (benchmarks/vs_liquidsoap.py) runs Debian's Liquidsoap.
    need_program liquidsoap liquidsoap
fi

need_service PostgreSQL 5432 postgresql pg_ctlcluster \
    'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql | tail -n 1) main start'
need_service MariaDB 3306 mariadb-server /usr/sbin/mariadbd \
    'mkdir -p /run/mysqld; chown mysql:mysql /run/mysqld 2>/dev/null; '\
'start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd'
need_service Redis 6379 redis-server redis-server \
    'mkdir -p /var/lib/redis /var/log/redis; redis-server --daemonize yes --bind 127.0.0.1 -::1 '\
'--port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log'
need_service NATS 4222 nats-server /usr/sbin/nats-server \
    'mkdir -p /var/lib/nats-server; start-stop-daemon --start --oknodo --background '\
'--exec /usr/sbin/nats-server -- -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server '\
'-l /var/log/nats-server.log'

if [ "$failed" != 0 ]; then
    echo "peers: some test peers are missing (see above)." >&2
    # NOTE: in CI a missing peer is a failure; locally the tests that need it skip
    # with a message saying how to get it.
    if [ -n "${CI:-}" ]; then exit 1; fi
fi
exit 0
