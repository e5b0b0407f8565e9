#!/usr/bin/env bash
# `make bench`: latency and throughput with device-sim, on a private broker (127.0.0.1:18850).
#   1. broker only: panels against `device-sim responder` (the floor under the controller's latency),
#      and the broker's publish ceiling for AM307 uplinks with nobody subscribed ("-nosub");
#   2. the controller: panel round trips (MQTT 5 and 3.1.1, sequential and paced) against a CSV
#      directory of 1000 people, then AM307 ingest from 100 claimed sensors, paced and flat out;
#      "-e2e" rows time until the controller has received every uplink, not just the broker.
# Every result is one JSON line in var/bench/results.jsonl; a table is printed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.build/release}
SIM=$BIN/device-sim
PORT=${BENCH_PORT:-18850}
HTTP_PORT=${BENCH_HTTP_PORT:-18851}
OUT=var/bench
RESULTS=$OUT/results.jsonl
SENSORS=100
PEOPLE=1000

for tool in fleet-controller device-sim; do
    [ -x "$BIN/$tool" ] || { echo "bench: $BIN/$tool is not built (make release)" >&2; exit 1; }
done
rm -rf "$OUT"
mkdir -p "$OUT/state"
: >"$RESULTS"

. scripts/broker.sh
trap stop_all EXIT
# Sized like the test harness rather than the shipped 5000: a benchmark must not lose messages to
# the queue limit, it must measure the consumer.
broker_start "$PWD/$OUT/mosquitto" "$PORT" 100000

# Runs a device-sim measurement, labels its JSON line and keeps it.
measure() { # label args…
    local label=$1
    shift
    local line
    line=$("$SIM" "$@" --json) || true
    [ -n "$line" ] || { echo "bench: $label produced no result" >&2; return 1; }
    line="{\"label\":\"$label\",${line#\{}"
    echo "$line" | tee -a "$RESULTS"
}

# GET over bash's /dev/tcp (no curl on a fresh box); prints the raw response.
http_get() { # path [token]
    local auth=""
    [ -n "${2:-}" ] && auth="Authorization: Bearer $2"$'\r\n'
    exec 3<>"/dev/tcp/127.0.0.1/$HTTP_PORT" || return 1
    printf 'GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s\r\n' "$1" "$auth" >&3
    cat <&3
    exec 3<&-
}

echo "== broker only (device-sim responder)"
"$SIM" responder --broker "127.0.0.1:$PORT" --allow B-000001 --ready-file "$OUT/responder.ready" >/dev/null &
PIDS+=($!)
for _ in $(seq 1 100); do [ -e "$OUT/responder.ready" ] && break; sleep 0.1; done
badges=(--badge B-000001 --badge B-000002)
measure broker-rr-v5-seq panel --broker "127.0.0.1:$PORT" --device-id door-bench "${badges[@]}" --requests 5000
measure broker-rr-v311-seq panel --broker "127.0.0.1:$PORT" --device-id door-bench "${badges[@]}" --requests 5000 --v311
measure broker-rr-v5-2000rps panel --broker "127.0.0.1:$PORT" --device-id door-bench "${badges[@]}" --requests 10000 --rate 2000
kill -TERM "${PIDS[-1]}"; wait "${PIDS[-1]}" 2>/dev/null || true; unset 'PIDS[-1]'
measure broker-pub-qos0-nosub sensors --broker "127.0.0.1:$PORT" --count $SENSORS --rate 0 --messages 200000 --qos 0
measure broker-pub-qos1-nosub sensors --broker "127.0.0.1:$PORT" --count $SENSORS --rate 0 --messages 100000 --qos 1

echo "== controller"
{
    echo "email,display_name,role,badge,active"
    for i in $(seq 1 $PEOPLE); do
        role=user
        [ "$i" = 1 ] && role=admin
        printf 'person%06d@example.com,Person %d,%s,B-%06d,%s\n' "$i" "$i" "$role" "$i" "$([ $((i % 10)) = 0 ] && echo false || echo true)"
    done
} >"$OUT/people.csv"
{
    cat <<TOML
site = "bench"
[state]
dir = "$OUT/state"
[broker]
host = "127.0.0.1"
port = $PORT
topic_prefix = "fc/v1"
[http]
listen = "127.0.0.1:$HTTP_PORT"
[[directory.sources]]
name = "badges"
kind = "csv"
path = "$OUT/people.csv"
[[devices]]
id = "door-bench"
kind = "checkin_panel"
resource = "bench/lobby"
[[ingest.subscriptions]]
topic = "milesight/uplink/#"
format = "milesight-gateway"
TOML
    sim_sensor_claims "$SENSORS"
} >"$OUT/config.toml"

"$BIN/fleet-controller" run --config "$OUT/config.toml" >"$OUT/controller.log" 2>&1 &
PIDS+=($!)
ready=0
for _ in $(seq 1 300); do
    if http_get /healthz 2>/dev/null | head -1 | grep -q " 200"; then ready=1; break; fi
    kill -0 "${PIDS[-1]}" 2>/dev/null || break
    sleep 0.1
done
if [ "$ready" != 1 ]; then
    echo "bench: the controller did not become healthy; its log ($OUT/controller.log):" >&2
    tail -n 30 "$OUT/controller.log" >&2
    exit 1
fi
# The first CSV sync may still be running: wait until a known badge is allowed.
for _ in $(seq 1 100); do
    "$SIM" panel --broker "127.0.0.1:$PORT" --device-id door-bench --badge B-000002 --requests 1 --timeout 1 --json 2>/dev/null \
        | grep -q '"allow":1' && break
    sleep 0.2
done
# Known and active, known but inactive (every 10th), and unknown badges.
badges=(--badge B-000002 --badge B-000010 --badge B-000555 --badge B-999999)
measure ctl-rr-v5-seq panel --broker "127.0.0.1:$PORT" --device-id door-bench "${badges[@]}" --requests 5000
measure ctl-rr-v311-seq panel --broker "127.0.0.1:$PORT" --device-id door-bench "${badges[@]}" --requests 5000 --v311
measure ctl-rr-v5-1000rps panel --broker "127.0.0.1:$PORT" --device-id door-bench "${badges[@]}" --requests 10000 --rate 1000
token=$(cat "$OUT/state/admin.token" 2>/dev/null || true)
# Uplinks the controller has taken in so far (its /metrics); empty if the metric is missing.
ingested() {
    http_get /metrics "$token" 2>/dev/null | tr -d '\r' \
        | sed -n 's/^fleet_ingest_messages_total{outcome="received"} \([0-9]*\).*/\1/p'
}
now_ms() { date +%s%3N; }
# The simulator measures what the broker acknowledged; the controller may still be working through a
# backlog. Wait until it has received them all (or stops making progress) and record that rate too.
measure_ingest() { # label messages sim-args…
    local label=$1 expected=$2
    shift 2
    local before start count last=-1 still=0
    before=$(ingested)
    start=$(now_ms)
    measure "$label" sensors --broker "127.0.0.1:$PORT" --count $SENSORS "$@"
    [ -n "$before" ] || { echo "bench: no fleet_ingest_messages_total metric; skipping $label-e2e" >&2; return 0; }
    while :; do
        count=$(( $(ingested) - before ))
        [ "$count" -ge "$expected" ] && break
        if [ "$count" = "$last" ]; then still=$((still + 1)); else still=0; fi
        [ "$still" -ge 25 ] && break          # 5 s without progress: the rest is lost
        last=$count
        sleep 0.2
    done
    local ms=$(( $(now_ms) - start ))
    echo "{\"label\":\"$label-e2e\",\"mode\":\"ingest\",\"target_rate\":\"-\",\"received\":$count,\"expected\":$expected,\"seconds\":$(awk "BEGIN{print $ms/1000}"),\"rate\":$(( count * 1000 / (ms > 0 ? ms : 1) )),\"dropped\":$(( expected - count ))}" \
        | tee -a "$RESULTS"
}
# Each run continues the frame counters: a repeated fCnt is a duplicate and stored once.
measure_ingest ctl-ingest-5000mps 50000 --rate 5000 --duration 10 --qos 1 --seed 2 --first-fcnt 1
measure_ingest ctl-ingest-flat-out 100000 --rate 0 --messages 100000 --qos 1 --seed 3 --first-fcnt 1001
http_get /metrics "$token" | tr -d '\r' | grep -E '^(fc_|fleet_)' | grep -Ei 'ingest|telemetry|reading|lag|mqtt' \
    >"$OUT/metrics.txt" || true

echo
echo "== results ($RESULTS)"
field() { [[ $1 =~ \"$2\":\"?([^,\"}]*) ]] && echo "${BASH_REMATCH[1]}" || echo "-"; }
printf '%-24s %10s %10s %9s %9s %9s %9s %8s\n' label target/s done/s p50_ms p90_ms p99_ms max_ms lost
while IFS= read -r line; do
    label=$(field "$line" label)
    if [ "$(field "$line" mode)" = panel ]; then
        printf '%-24s %10s %10s %9s %9s %9s %9s %8s\n' "$label" "$(field "$line" target_rate)" \
            "$(field "$line" throughput)" "$(field "$line" p50_ms)" "$(field "$line" p90_ms)" \
            "$(field "$line" p99_ms)" "$(field "$line" max_ms)" "$(field "$line" timeouts)"
    else
        printf '%-24s %10s %10s %9s %9s %9s %9s %8s\n' "$label" "$(field "$line" target_rate)" \
            "$(field "$line" rate)" - - - - "$(field "$line" dropped)"
    fi
done <"$RESULTS"
if [ -s "$OUT/metrics.txt" ]; then
    echo
    echo "== controller metrics after the run ($OUT/metrics.txt)"
    cat "$OUT/metrics.txt"
fi
