#!/usr/bin/env bash
# Script test for device-sim (run by `make test`): the AM307 encoder against hand-computed frames,
# the gateway envelope, sensors through a private broker (every uplink arrives, fCnt counts per
# sensor), and the panel against `device-sim responder` over MQTT 5 and 3.1.1. When
# fleet-controller has its `decode` subcommand, the encoder's output is decoded back.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.build/debug}
SIM=$BIN/device-sim
[ -x "$SIM" ] || { echo "test-sim: $SIM not built (make build)" >&2; exit 1; }

. scripts/broker.sh
WORK=$(mktemp -d "${TMPDIR:-/tmp}/fc-test-sim.XXXXXX")
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    broker_stop
    rm -rf "$WORK"
}
trap cleanup EXIT

failures=0
pass() { echo "  ok    $1"; }
fail() { echo "  FAIL  $1" >&2; failures=$((failures + 1)); }
expect_eq() { # name expected actual
    if [ "$2" = "$3" ]; then pass "$1"; else fail "$1: expected '$2', got '$3'"; fi
}
expect_contains() { # name haystack needle
    case "$2" in *"$3"*) pass "$1" ;; *) fail "$1: '$3' not in: $2" ;; esac
}

echo "encoder"
# Frames worked out by hand from the AM307 channel table (little-endian, scaled).
expect_eq "full reading" 01755f0367ee0004685b05000106cb03077d6402087d700009739427 \
    "$($SIM encode-am307 --battery 95 --temperature 23.8 --humidity 45.5 --pir 1 --light 3 --co2 612 --tvoc 1.12 --pressure 1013.2)"
expect_eq "negative temperature is two's complement" 0367f6ff "$($SIM encode-am307 --temperature -1)"
expect_eq "humidity halves, co2 uint16" 046850077de803 "$($SIM encode-am307 --humidity 40 --co2 1000)"
expect_eq "base64 of a 4-byte frame" B330AQ== "$($SIM encode-am307 --co2 500 --base64)"
hex=$($SIM encode-am307)
expect_eq "base64 agrees with coreutils" "$(printf "$(sed 's/../\\x&/g' <<<"$hex")" | base64)" "$($SIM encode-am307 --base64)"
if $SIM encode-am307 --humidity 200 >/dev/null 2>&1; then fail "out-of-range humidity is refused"; else pass "out-of-range humidity is refused"; fi

echo "envelope"
env_json=$($SIM encode-am307 --envelope --dev-eui 24E124710C123456 --fcnt 7 --co2 500)
expect_contains "lowercase devEUI" "$env_json" '"devEUI":"24e124710c123456"'
expect_contains "device name keeps the label's EUI" "$env_json" '"deviceName":"AM307-24E124710C123456"'
expect_contains "numeric applicationID, fCnt, fPort" "$env_json" '"applicationID":1,'
expect_contains "fCnt and fPort" "$env_json" '"fCnt":7,"fPort":85,"data":"B330AQ=="'
if [[ $env_json =~ \"time\":\"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z\" ]]; then
    pass "RFC 3339 time with microseconds"
else
    fail "RFC 3339 time with microseconds: $env_json"
fi

# A private broker on a free port below the kernel's ephemeral range (32768+), where outgoing
# connections take their local ports; retried because another test may take the port first.
port=""
for _ in $(seq 1 5); do
    candidate=$((20000 + RANDOM % 12000))
    broker_port_open "$candidate" && continue
    if broker_start "$WORK/broker" "$candidate" 100000 2>"$WORK/broker-start.err"; then port=$candidate; break; fi
done
[ -n "$port" ] || { cat "$WORK/broker-start.err" >&2; exit 1; }
SOCK=$WORK/broker/mosquitto.sock

# Counts lines of FILE matching PATTERN, waiting up to 10 s for it to reach N.
wait_lines() { # file pattern n
    local i
    for i in $(seq 1 100); do
        [ "$(grep -c -- "$2" "$1" || true)" -ge "$3" ] && return 0
        sleep 0.1
    done
    return 1
}
# Starts mosquitto_sub on FILTER into FILE and returns once it demonstrably receives.
subscribe() { # filter file
    mosquitto_sub -p "$port" -q 1 -v -t "$1" >"$2" &
    PIDS+=($!)
    local i
    for i in $(seq 1 50); do
        mosquitto_pub -p "$port" -t "${1%/#}/ready" -m ready
        grep -q " ready$" "$2" && return 0
        sleep 0.1
    done
    echo "test-sim: mosquitto_sub did not start" >&2
    return 1
}

echo "sensors"
subscribe "sim/up/#" "$WORK/uplinks.txt"
out=$($SIM sensors --broker "unix:$SOCK" --topic-prefix sim/up --count 10 --rate 0 --messages 2000 --qos 1)
expect_contains "summary line" "$out" "sent 2000 uplinks from 10 sensors"
if wait_lines "$WORK/uplinks.txt" '"devEUI"' 2000; then pass "2000 QoS 1 uplinks arrive"; else
    fail "2000 QoS 1 uplinks arrive: got $(grep -c '"devEUI"' "$WORK/uplinks.txt")"; fi
expect_eq "topic is prefix/lowercase deveui" 200 "$(grep -c '^sim/up/24e1247100000009 {"applicationID":1,"devEUI":"24e1247100000009"' "$WORK/uplinks.txt")"
expect_eq "fCnt counts 1..200 per sensor" 1 "$(grep -c '"devEUI":"24e1247100000009".*"fCnt":200,' "$WORK/uplinks.txt")"

: >"$WORK/uplinks.txt"
out=$($SIM sensors --broker "127.0.0.1:$port" --topic-prefix sim/up --count 3 --rate 2000 --messages 1000 --qos 0 --json)
expect_contains "QoS 0 JSON summary" "$out" '"sent":1000,'
if wait_lines "$WORK/uplinks.txt" '"devEUI"' 1000; then pass "1000 QoS 0 uplinks arrive"; else
    fail "1000 QoS 0 uplinks arrive: got $(grep -c '"devEUI"' "$WORK/uplinks.txt")"; fi

echo "panel"
$SIM responder --broker "unix:$SOCK" --allow B-1001 --ready-file "$WORK/responder.ready" &
PIDS+=($!)
for _ in $(seq 1 100); do [ -e "$WORK/responder.ready" ] && break; sleep 0.1; done
for proto in "" --v311; do
    name=${proto:-v5}
    out=$($SIM panel --broker "127.0.0.1:$port" --device-id door-test --badge B-1001 --badge B-2002 \
        --requests 200 $proto --json)
    expect_contains "panel $name: every request answered" "$out" '"replies":200,"timeouts":0,"unmatched":0'
    expect_contains "panel $name: decisions per badge" "$out" '"decisions":{"allow":100,"deny":100}'
done
out=$($SIM panel --broker "127.0.0.1:$port" --device-id door-test --badge B-1001 --requests 300 --rate 1000)
expect_contains "panel paced: all answered" "$out" "300 requests, 300 replies, 0 timeouts"
if $SIM panel --broker "127.0.0.1:$port" --prefix nobody/home --device-id d --badge B --requests 1 --timeout 0.3 >/dev/null; then
    fail "panel exits 1 on timeouts"
else
    pass "panel exits 1 on timeouts"
fi

echo "decode round trip"
if "$BIN/fleet-controller" decode --help >/dev/null 2>&1; then
    decoded=$("$BIN/fleet-controller" decode --vendor milesight --model AM307 \
        "$($SIM encode-am307 --battery 95 --temperature 23.8 --humidity 45.5 --co2 612 --pressure 1013.2)")
    for field in '"battery":95' '"temperature":23.8' '"humidity":45.5' '"co2":612' '"pressure":1013.2'; do
        expect_contains "decode $field" "${decoded// /}" "$field"
    done
else
    echo "  skip  fleet-controller has no decode subcommand yet"
fi

if [ "$failures" -gt 0 ]; then
    echo "test-sim: $failures failed" >&2
    exit 1
fi
echo "test-sim: all passed"
