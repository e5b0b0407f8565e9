# Private mosquitto for local runs, benchmarks and script tests. Source this file, then:
#   broker_start DIR PORT [QUEUE_LIMIT]   config, data and a Unix socket under DIR, TCP on 127.0.0.1:PORT
#   broker_stop                           SIGTERM and wait (the broker saves its persistence file)
# BROKER_OWN_SESSION=1 starts it in its own session, so a Ctrl-C meant for the foreground job does not
# stop the broker before that job has disconnected.
# Never port 1883: that belongs to the system broker.

BROKER_BIN=${BROKER_BIN:-/usr/sbin/mosquitto}
BROKER_PID=""
BROKER_DIR=""

broker_write_config() {
    local dir=$1 port=$2 queue=${3:-5000} user=""
    # As root mosquitto drops to user "mosquitto" before it binds, and could then not create its
    # socket or data under our directory; stay root for a private broker run as root.
    [ "$(id -u)" = 0 ] && user="user root"
    mkdir -p "$dir/data"
    cat >"$dir/mosquitto.conf" <<CONF
# Written by scripts/broker.sh: a private broker for development, anonymous and local only.
$user
per_listener_settings false
allow_anonymous true
listener $port 127.0.0.1
listener 0 $dir/mosquitto.sock
# Nagle against delayed ACKs adds ~44 ms per request/response hop.
set_tcp_nodelay true
# The stock 1000-message queue silently drops when a consumer falls behind.
max_queued_messages $queue
max_queued_bytes 67108864
max_packet_size 262144
persistence true
persistence_location $dir/data/
autosave_interval 60
persistent_client_expiration 30d
log_dest file $dir/mosquitto.log
log_type error
log_type warning
log_type notice
CONF
}

# Succeeds once something accepts TCP connections on 127.0.0.1:$1.
broker_port_open() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

broker_start() {
    local dir=$1 port=$2 queue=${3:-5000}
    [ -x "$BROKER_BIN" ] || { echo "broker.sh: $BROKER_BIN not found; run 'make deps'" >&2; return 1; }
    if broker_port_open "$port"; then
        echo "broker.sh: port $port is already in use; stop what listens there first" >&2
        return 1
    fi
    BROKER_DIR=$dir
    broker_write_config "$dir" "$port" "$queue"
    rm -f "$dir/mosquitto.sock"
    local launcher=()
    if [ "${BROKER_OWN_SESSION:-0}" = 1 ] && command -v setsid >/dev/null; then launcher=(setsid); fi
    # setsid execs in place here (a background job is never a group leader), so $! is the broker.
    "${launcher[@]}" "$BROKER_BIN" -c "$dir/mosquitto.conf" 2>>"$dir/mosquitto.log" &
    BROKER_PID=$!
    local i
    for i in $(seq 1 100); do
        if broker_port_open "$port" && [ -S "$dir/mosquitto.sock" ]; then return 0; fi
        if ! kill -0 "$BROKER_PID" 2>/dev/null; then break; fi
        sleep 0.1
    done
    echo "broker.sh: mosquitto did not start; its log ($dir/mosquitto.log):" >&2
    tail -n 20 "$dir/mosquitto.log" >&2
    BROKER_PID=""
    return 1
}

broker_stop() {
    if [ -n "$BROKER_PID" ]; then
        kill -TERM "$BROKER_PID" 2>/dev/null || true
        wait "$BROKER_PID" 2>/dev/null || true
        BROKER_PID=""
    fi
}

# For scripts that start helpers beside the broker: add their pids to PIDS; on exit each gets
# SIGTERM (and is waited for), then the broker stops.
PIDS=()
stop_all() {
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null && wait "$p" 2>/dev/null || true; done
    broker_stop
}

# [[sensors]] claims for the AM307s `device-sim sensors --count N` publishes (its DevEUI scheme),
# one resource each, for a controller config.
sim_sensor_claims() { # count
    for i in $(seq 0 $(($1 - 1))); do
        printf '[[sensors]]\ndev_eui = "24E12471%08X"\nvendor = "milesight"\nmodel = "AM307"\nresource = "bench/room-%d"\n' "$i" "$i"
    done
}
