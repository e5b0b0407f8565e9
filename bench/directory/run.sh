#!/usr/bin/env bash
# Directory benchmark. Every result is one JSON line (also in var/bench/directory.jsonl):
#   1. DirectoryBench sync: full sync of USERS people in the five UMA groups (pages of 999) from the
#      Graph stand-in: wall time, peak RSS, loop lag; then a /users/delta round with 100 changes.
#   2. authorize round trips at RATE req/s over a private mosquitto: the broker alone
#      (device-sim responder) and the controller (CSV directory), measured in the same run;
#   3. the same panel load while the controller applies a full Graph sync of USERS people;
#   4. the same panel load while `device-sim sensors` publishes UPLINKS AM307 uplinks/s (default
#      5,000, 1,000 sensors claimed in the controller's config) into an [[ingest.subscriptions]],
#      first with no sync running, then while a full sync applies (empty cache again).
# After each controller run: its loop lag (p99 over its last 4,096 timers, and the max since start).
# Usage: bench/directory/run.sh [USERS] [RATE]     BIN=.build/release (fleet-controller, device-sim,
# DirectoryBench built with `swift build -c release`); UPLINKS=5000 SENSORS=1000.
set -euo pipefail
cd "$(dirname "$0")/../.."
USERS=${1:-100000}
RATE=${2:-1000}
UPLINKS=${UPLINKS:-5000}
SENSORS=${SENSORS:-1000}
BIN=${BIN:-.build/release}
PORT=${BENCH_PORT:-18870}
HTTP_PORT=${BENCH_HTTP_PORT:-18871}
OUT=var/bench/directory
RESULTS=var/bench/directory.jsonl
for tool in fleet-controller device-sim DirectoryBench; do
    [ -x "$BIN/$tool" ] || { echo "bench/directory: $BIN/$tool is not built (swift build -c release)" >&2; exit 1; }
done
rm -rf "$OUT"
mkdir -p "$OUT/state"
: >"$RESULTS"

. scripts/broker.sh
trap stop_all EXIT

echo "== full sync and delta ($USERS users)"
"$BIN/DirectoryBench" sync --users "$USERS" --changes 100 | tee -a "$RESULTS"

broker_start "$PWD/$OUT/mosquitto" "$PORT" 100000
panel() { # label args…
    local label=$1 line
    shift
    line=$("$BIN/device-sim" panel --broker "127.0.0.1:$PORT" --device-id door-bench "$@" --json) || true
    [ -n "$line" ] || { echo "bench/directory: $label produced no result" >&2; return 1; }
    echo "{\"label\":\"$label\",${line#\{}" | tee -a "$RESULTS"
}
REQUESTS=$((RATE * 10))
badges=(--badge B-000001 --badge B-000002 --badge B-000003)

echo "== broker alone (device-sim responder) at $RATE req/s"
"$BIN/device-sim" responder --broker "127.0.0.1:$PORT" --allow B-000001 --ready-file "$OUT/responder.ready" >/dev/null &
PIDS+=($!)
for _ in $(seq 1 100); do [ -e "$OUT/responder.ready" ] && break; sleep 0.1; done
panel "broker-rr-${RATE}rps" "${badges[@]}" --requests "$REQUESTS" --rate "$RATE"
kill -TERM "${PIDS[-1]}"; wait "${PIDS[-1]}" 2>/dev/null || true; unset 'PIDS[-1]'

echo "== controller at $RATE req/s"
"$BIN/DirectoryBench" serve-graph --users "$USERS" --ready-file "$OUT/graph.port" >"$OUT/graph.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 600); do [ -s "$OUT/graph.port" ] && break; sleep 0.1; done
GRAPH="http://127.0.0.1:$(cat "$OUT/graph.port")"
echo "s3cret~value" >"$OUT/graph.secret"
{
    echo "email,display_name,role,badge,active"
    for i in $(seq 1 1000); do
        printf 'person%06d@example.com,Person %d,%s,B-%06d,true\n' "$i" "$i" "$([ "$i" = 1 ] && echo admin || echo user)" "$i"
    done
} >"$OUT/people.csv"
cat >"$OUT/config.toml" <<TOML
site = "bench"
[state]
dir = "$OUT/state"
[broker]
host = "127.0.0.1"
port = $PORT
[http]
listen = "127.0.0.1:$HTTP_PORT"
[[directory.sources]]
name = "badges"
kind = "csv"
path = "$OUT/people.csv"
interval = "1h"
[[directory.sources]]
name = "m365"
kind = "graph"
tenant_id = "contoso.onmicrosoft.com"
client_id = "app-1"
client_secret_file = "$OUT/graph.secret"
login_url = "$GRAPH"
graph_url = "$GRAPH"
interval = "1h"
delta_interval = "1h"
[[devices]]
id = "door-bench"
kind = "checkin_panel"
resource = "bench/lobby"
[[ingest.subscriptions]]
topic = "milesight/uplink/#"
format = "milesight-gateway"
TOML
sim_sensor_claims "$SENSORS" >>"$OUT/config.toml"
"$BIN/fleet-controller" run --config "$OUT/config.toml" >"$OUT/controller.log" 2>&1 &
CTL_PID=$!
PIDS+=($CTL_PID)
api() { curl -fsS -X "$1" -H "Authorization: Bearer $(cat "$OUT/state/admin.token")" "http://127.0.0.1:$HTTP_PORT$2"; }
loop_lag() { # label: the controller's loop lag from /metrics, in ms
    api GET /metrics | awk -v label="$1" '
        /^fleet_loop_lag_seconds\{quantile="0.99"\}/ { p99 = $2 * 1000 }
        /^fleet_loop_lag_seconds\{quantile="1"\}/ { max = $2 * 1000 }
        END { printf "{\"label\":\"%s\",\"loop_lag_p99_ms\":%.3f,\"loop_lag_max_ms\":%.3f}\n", label, p99, max }' |
        tee -a "$RESULTS"
    # The callback sites that held the loop longest so far, for the lag above.
    api GET /metrics | grep '^fleet_loop_slow_callback_max_seconds' | sort -t' ' -k2 -gr | head -4 | sed 's/^/  /' || true
    # Requests that were served between two callbacks of a busy pass (the device session is urgent).
    api GET /metrics | grep '^fleet_loop_urgent_dispatches_total' | sed 's/^/  /' || true
    # Time the controller was ready to run but had no core, since it started: a request that
    # arrives then waits although the loop has nothing in hand.
    awk '{ printf "  waited for a CPU since start: %.2f s\n", $2 / 1e9 }' "/proc/$CTL_PID/schedstat" || true
}
for _ in $(seq 1 300); do curl -fs "http://127.0.0.1:$HTTP_PORT/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
# The first Graph sync starts with the daemon; let it finish so the next one is measured alone.
for _ in $(seq 1 600); do
    api GET "/api/v1/sync/runs?source=m365&limit=1" | grep -q '"status":"running"' || break
    sleep 0.1
done
panel "controller-rr-${RATE}rps" "${badges[@]}" --requests "$REQUESTS" --rate "$RATE"
loop_lag "controller-idle"

# An empty cache again, so the daemon's first Graph run (at start) writes all USERS people while
# the panel asks; the CSV source syncs first and in one go (1,000 people).
restart_empty() {
    kill -TERM "${CTL_PID}"; wait "${CTL_PID}" 2>/dev/null || true
    rm -f "$OUT/state/directory.sqlite"* "$OUT/state/telemetry.sqlite"*
    "$BIN/fleet-controller" run --config "$OUT/config.toml" >>"$OUT/controller.log" 2>&1 &
    CTL_PID=$!
    PIDS+=($CTL_PID)
    for _ in $(seq 1 300); do curl -fs "http://127.0.0.1:$HTTP_PORT/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
}
sync_run() { # label: waits for the Graph run to end, then records it
    for _ in $(seq 1 600); do
        api GET "/api/v1/sync/runs?source=m365&limit=1" | grep -q '"status":"running"' || break
        sleep 0.1
    done
    echo "{\"label\":\"$1\",\"run\":$(api GET "/api/v1/sync/runs?source=m365&limit=1")}" | tee -a "$RESULTS"
}

echo "== controller at $RATE req/s while a full Graph sync of $USERS users applies"
restart_empty
panel "controller-rr-${RATE}rps-during-full-sync" "${badges[@]}" --requests "$REQUESTS" --rate "$RATE"
loop_lag "controller-during-full-sync"
sync_run "controller-full-sync-run"
api GET /metrics | grep -E '^fleet_loop_lag_seconds|^fleet_process_resident' | tee "$OUT/metrics.txt"

uplinks() { # label first-fcnt: publishes UPLINKS/s for 14 s in the background
    "$BIN/device-sim" sensors --broker "127.0.0.1:$PORT" --count "$SENSORS" --rate "$UPLINKS" --duration 14 \
        --qos 1 --seed 7 --first-fcnt "$2" --json >"$OUT/uplinks-$1.json" 2>"$OUT/uplinks-$1.log" &
    SIM=$!
    PIDS+=($SIM)
}
uplinks_done() { # label
    wait "$SIM" || true
    local published
    published=$(tail -1 "$OUT/uplinks-$1.json" 2>/dev/null || true)
    if [ -n "$published" ]; then echo "{\"label\":\"uplinks-published-$1\",${published#\{}" | tee -a "$RESULTS"; fi
}

echo "== controller at $RATE req/s while $UPLINKS uplinks/s arrive (no sync running)"
uplinks ingest 1
panel "controller-rr-${RATE}rps-during-${UPLINKS}-uplinks" "${badges[@]}" --requests "$REQUESTS" --rate "$RATE"
loop_lag "controller-during-ingest"
uplinks_done ingest

echo "== controller at $RATE req/s while a full Graph sync applies and $UPLINKS uplinks/s arrive"
restart_empty
uplinks sync-and-ingest 1
panel "controller-rr-${RATE}rps-during-full-sync-and-${UPLINKS}-uplinks" "${badges[@]}" --requests "$REQUESTS" --rate "$RATE"
loop_lag "controller-during-full-sync-and-ingest"
uplinks_done sync-and-ingest
sync_run "controller-full-sync-with-ingest-run"
api GET /metrics | grep -E '^fleet_ingest_(messages|readings_stored)_total' | tee -a "$OUT/metrics.txt" || true

# The limit under that load: the broker's own round trip (device-sim responder on another prefix)
# while the controller again applies a full sync and ingests, so every process competes for the
# same two cores as above.
echo "== broker alone at $RATE req/s while the controller applies a full sync and $UPLINKS uplinks/s arrive"
restart_empty
"$BIN/device-sim" responder --broker "127.0.0.1:$PORT" --prefix bench/limit --allow B-000001 \
    --ready-file "$OUT/responder-loaded.ready" >/dev/null &
RESPONDER=$!
PIDS+=($RESPONDER)
for _ in $(seq 1 100); do [ -e "$OUT/responder-loaded.ready" ] && break; sleep 0.1; done
uplinks limit 1
panel "broker-rr-${RATE}rps-during-full-sync-and-${UPLINKS}-uplinks" "${badges[@]}" --requests "$REQUESTS" \
    --rate "$RATE" --prefix bench/limit
kill -TERM "$RESPONDER"; wait "$RESPONDER" 2>/dev/null || true
uplinks_done limit
sync_run "controller-full-sync-beside-the-limit-run"
