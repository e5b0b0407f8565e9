#!/usr/bin/env bash
# Ingest benchmark: AM307 uplinks in the UG65 gateway envelope flooded through a private mosquitto
# (127.0.0.1:18860) by `device-sim sensors --rate 0`, measured twice in one run:
#   1. raw: a plain subscriber (ingest-bench subscribe) → the broker's delivery rate;
#   2. controller: fleet-controller with every sensor claimed → uplinks and readings stored per
#      second (its /metrics), loop lag p99, RSS over the run, CPU time per uplink.
# Prints one JSON line per half and the ratio controller ÷ raw. Results in var/bench-ingest/.
#   MESSAGES=1000000 SENSORS=1000 QOS=1 bash bench/ingest/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${BIN:-.build/release}
PORT=${BENCH_PORT:-18860}
HTTP_PORT=${BENCH_HTTP_PORT:-18861}
MESSAGES=${MESSAGES:-1000000}
SENSORS=${SENSORS:-1000}
QOS=${QOS:-1}
PUBLISH=${PUBLISH_TELEMETRY:-false}
OUT=var/bench-ingest
for tool in fleet-controller device-sim IngestBench; do
    [ -x "$BIN/$tool" ] || { echo "bench/ingest: $BIN/$tool is not built (swift build -c release)" >&2; exit 1; }
done
rm -rf "$OUT"
mkdir -p "$OUT/state"
. scripts/broker.sh
trap stop_all EXIT
# The queue holds a whole run (messages and bytes): the benchmark measures the consumer, not the
# broker's drop policy. scripts/broker.sh caps queued bytes at 64 MiB, a quarter of a 1M run.
eval "$(declare -f broker_write_config | sed '1s/broker_write_config/broker_write_config_shipped/')"
broker_write_config() {
    broker_write_config_shipped "$@"
    sed -i 's/^max_queued_bytes .*/max_queued_bytes 0/' "$1/mosquitto.conf"
}
broker_start "$PWD/$OUT/mosquitto" "$PORT" $((MESSAGES + 1000))

publish() { # first-fcnt
    "$BIN/device-sim" sensors --broker "127.0.0.1:$PORT" --count "$SENSORS" --rate 0 --messages "$MESSAGES" \
        --qos "$QOS" --seed 7 --first-fcnt "$1" --json
}

echo "== raw delivery to a plain subscriber"
"$BIN/IngestBench" subscribe "$PORT" "milesight/uplink/#" "$MESSAGES" >"$OUT/raw.out" &
SUB=$!
for _ in $(seq 1 100); do grep -q ready "$OUT/raw.out" 2>/dev/null && break; sleep 0.1; done
publish 1 | tee "$OUT/publish-raw.json"
wait "$SUB"
RAW=$(grep '^{' "$OUT/raw.out")
echo "$RAW"

echo "== fleet-controller"
{
    cat <<TOML
site = "bench"
[state]
dir = "$OUT/state"
[broker]
host = "127.0.0.1"
port = $PORT
[http]
listen = "127.0.0.1:$HTTP_PORT"
[ingest]
publish_telemetry = $PUBLISH
[[ingest.subscriptions]]
topic = "milesight/uplink/#"
format = "milesight-gateway"
TOML
    sim_sensor_claims "$SENSORS"
} >"$OUT/config.toml"
"$BIN/fleet-controller" run --config "$OUT/config.toml" >"$OUT/controller.log" 2>&1 &
CTL=$!
PIDS+=($CTL)
for _ in $(seq 1 300); do [ -s "$OUT/state/admin.token" ] && (exec 3<>"/dev/tcp/127.0.0.1/$HTTP_PORT") 2>/dev/null && break; sleep 0.1; done
TOKEN=$(cat "$OUT/state/admin.token")
"$BIN/IngestBench" watch "$HTTP_PORT" "$CTL" "$TOKEN" "$MESSAGES" >"$OUT/controller.out" &
WATCH=$!
WAIT_BEFORE=$(awk '{print $2}' /proc/$CTL/schedstat)
publish 1 | tee "$OUT/publish-controller.json"
wait "$WATCH"
CONTROLLER=$(cat "$OUT/controller.out")
echo "$CONTROLLER"

num() { [[ $1 =~ \"$2\":([0-9.]+) ]] && echo "${BASH_REMATCH[1]}"; }
awk -v c="$(num "$CONTROLLER" uplinks_per_s)" -v r="$(num "$RAW" rate)" \
    'BEGIN { printf "ratio (uplinks stored/s ÷ raw delivered/s): %.2f\n", c / r }'
echo "controller CPU per uplink: $(num "$CONTROLLER" cpu_us_per_uplink) µs (steadier than the rates on a shared box)"
echo "threads: $(awk '/^Threads:/ {print $2}' /proc/$CTL/status)"
# Time the controller was ready to run but had no core (broker and publisher share the two):
# timers it missed meanwhile count as loop lag although its loop had no work in hand.
WAIT_AFTER=$(awk '{print $2}' /proc/$CTL/schedstat)
awk -v a="$WAIT_BEFORE" -v b="$WAIT_AFTER" -v s="$(num "$CONTROLLER" seconds)" \
    'BEGIN { printf "controller waiting for a CPU: %.2f s of the %.1f s run\n", (b - a) / 1e9, s }'
# Where the loop lag comes from: the callback sites that ran longest during the run.
exec 3<>"/dev/tcp/127.0.0.1/$HTTP_PORT"
printf 'GET /metrics HTTP/1.0\r\n\r\n' >&3
grep '^fleet_loop_slow_callback' <&3 | tee "$OUT/slow-callbacks.txt" || true
exec 3<&-
