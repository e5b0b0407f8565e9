#!/usr/bin/env bash
# Pairing benchmark: a broker from `fleet-controller broker init` (dynsec), the controller, and
# `device-sim pair` pairing COUNT panels (hello → code over the admin API → own CONNECT and config).
# Prints the time per pairing. Usage: bench/pairing/run.sh [COUNT] [CONCURRENCY]
#   BIN=.build/release  where fleet-controller and device-sim are (build them first)
set -euo pipefail
COUNT=${1:-1000}
CONCURRENCY=${2:-8}
BIN=${BIN:-.build/release}
for b in fleet-controller device-sim; do
    [ -x "$BIN/$b" ] || { echo "bench/pairing: $BIN/$b not built (swift build -c release)" >&2; exit 1; }
done
DIR=$(mktemp -d /tmp/fc-pair-bench-XXXXXX)
BROKER_PID="" DAEMON_PID=""
cleanup() {
    [ -n "$DAEMON_PID" ] && kill -TERM "$DAEMON_PID" 2>/dev/null && wait "$DAEMON_PID" 2>/dev/null || true
    [ -n "$BROKER_PID" ] && kill -TERM "$BROKER_PID" 2>/dev/null && wait "$BROKER_PID" 2>/dev/null || true
    rm -rf "$DIR"
}
trap cleanup EXIT

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() {
    local p
    while :; do p=$(( (RANDOM % 20000) + 30000 )); port_open "$p" || { echo "$p"; return; }; done
}
MQTT_PORT=$(free_port)
HTTP_PORT=$(free_port)

"$BIN/fleet-controller" broker init --dir "$DIR/broker" --port "$MQTT_PORT" >"$DIR/init.txt"
/usr/sbin/mosquitto -c "$DIR/broker/mosquitto.conf" 2>"$DIR/mosquitto.log" &
BROKER_PID=$!
for _ in $(seq 200); do port_open "$MQTT_PORT" && break; sleep 0.05; done
port_open "$MQTT_PORT" || { echo "bench/pairing: mosquitto did not start:" >&2; cat "$DIR/mosquitto.log" >&2; exit 1; }

cat >"$DIR/config.toml" <<CONF
site = "bench"
[state]
dir = "$DIR/state"
[broker]
host = "127.0.0.1"
port = $MQTT_PORT
username = "fc-controller"
password_file = "$DIR/broker/controller.secret"
admin_username = "fc-admin"
admin_password_file = "$DIR/broker/admin.secret"
[http]
listen = "127.0.0.1:$HTTP_PORT"
[pairing]
bootstrap_username = "fc-pairing"
CONF
"$BIN/fleet-controller" run --config "$DIR/config.toml" 2>"$DIR/daemon.log" &
DAEMON_PID=$!
for _ in $(seq 200); do
    curl -fs "http://127.0.0.1:$HTTP_PORT/healthz" >/dev/null 2>&1 && break
    sleep 0.05
done

echo "pairing $COUNT panels, $CONCURRENCY at a time (broker 127.0.0.1:$MQTT_PORT, dynsec)"
"$BIN/device-sim" pair --count "$COUNT" --concurrency "$CONCURRENCY" --broker "127.0.0.1:$MQTT_PORT" \
    --username fc-pairing --password "$(cat "$DIR/broker/bootstrap.secret")" \
    --api "http://127.0.0.1:$HTTP_PORT" --token-file "$DIR/state/admin.token"
echo "devices known to the controller: $(curl -fs -H "Authorization: Bearer $(cat "$DIR/state/admin.token")" \
    "http://127.0.0.1:$HTTP_PORT/api/v1/status" | grep -o '"devices":[0-9]*')"
