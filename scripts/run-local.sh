#!/usr/bin/env bash
# `make run`: the controller against a private broker, with an example site, all under ./var.
#   broker   127.0.0.1:18830 and ./var/mosquitto/mosquitto.sock (config and data in ./var/mosquitto)
#   config   ./var/example/config.toml and ./var/example/people.csv (written once; edit freely)
#   state    ./var/state (SQLite files, admin.token)
#   HTTP     http://127.0.0.1:8080
# The broker stops when the controller exits (Ctrl-C).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.build/release}
PORT=18830
CONFIG=var/example/config.toml
PEOPLE=var/example/people.csv

for tool in fleet-controller device-sim; do
    [ -x "$BIN/$tool" ] || { echo "run-local: $BIN/$tool is not built; run 'make run' or 'make release'" >&2; exit 1; }
done
mkdir -p var/example var/state

if [ ! -e "$CONFIG" ]; then
    cat >"$CONFIG" <<'TOML'
# Example site for a local run (scripts/run-local.sh); the keys are those of the README's config section.
site = "hq"

[state]
dir = "./var/state"

[broker]
host = "127.0.0.1"
port = 18830
topic_prefix = "fc/v1"

[http]
listen = "127.0.0.1:8080"

[[directory.sources]]
name = "badges"
kind = "csv"
path = "./var/example/people.csv"

[[devices]]
id = "door-lobby"
kind = "checkin_panel"
resource = "hq/lobby"

[[sensors]]
dev_eui = "24E124710C123456"
vendor = "milesight"
model = "AM307"
resource = "hq/3/3.14"

[[ingest.subscriptions]]
topic = "milesight/uplink/#"
format = "milesight-gateway"
TOML
    echo "run-local: wrote $CONFIG"
fi

if [ ! -e "$PEOPLE" ]; then
    cat >"$PEOPLE" <<'CSV'
email,display_name,role,badge,active
ada.admin@example.com,Ada Admin,admin,B-0001,true
uma.user@example.com,Uma User,user,B-1001,true
max.manager@example.com,Max Manager,manager,B-3003,true
ian.inactive@example.com,Ian Inactive,user,B-2002,false
hana.hidden@example.com,Hana Hidden,hidden_user,B-4004,true
CSV
    echo "run-local: wrote $PEOPLE"
fi

. scripts/broker.sh
trap broker_stop EXIT
# Its own session, so Ctrl-C reaches only the controller, which can still say goodbye to the broker.
BROKER_OWN_SESSION=1
broker_start "$PWD/var/mosquitto" "$PORT"
echo "run-local: mosquitto on 127.0.0.1:$PORT and unix:$PWD/var/mosquitto/mosquitto.sock (log var/mosquitto/mosquitto.log)"

cat <<HINTS

Try it from another terminal (in $PWD):

  # a door asks about a badge (MQTT 5 request/response); B-2002 is inactive, B-4004 hidden but allowed
  mosquitto_rr -V 5 -p $PORT -t fc/v1/dev/door-lobby/up/authorize -e fc/v1/dev/door-lobby/down/rpc \\
      -m '{"credential":{"type":"badge","value":"B-1001"},"action":"checkin"}'

  # an AM307 uplink as the Milesight gateway sends it, then its telemetry
  mosquitto_pub -p $PORT -t milesight/uplink/24e124710c123456 \\
      -m "\$($BIN/device-sim encode-am307 --envelope --dev-eui 24E124710C123456 --temperature 23.8 --co2 612)"
  TOKEN=\$(cat var/state/admin.token)
  curl -s -H "Authorization: Bearer \$TOKEN" http://127.0.0.1:8080/api/v1/status
  curl -s -H "Authorization: Bearer \$TOKEN" 'http://127.0.0.1:8080/api/v1/telemetry?sensor=24E124710C123456'

  # load: 50 simulated AM307s at 100 msg/s, and a panel's latency over 1000 requests
  $BIN/device-sim sensors --broker 127.0.0.1:$PORT --count 50 --rate 100 --duration 30
  $BIN/device-sim panel --broker 127.0.0.1:$PORT --device-id door-lobby --badge B-1001 --badge B-2002 --requests 1000

HINTS

# Not exec: the EXIT trap must outlive the controller to stop the broker.
"$BIN/fleet-controller" run --config "$CONFIG"
