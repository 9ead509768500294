#!/usr/bin/env bash
# The UDP echo benchmark (make bench): lesson 5's Rust server against the
# same server in C, in C printing nothing (the kernel alone), and in Python.
# Each server prints one line per datagram into a pipe; the driver measures
# the mean round trip of a 32-byte datagram. Server, pipe reader and driver
# share one CPU, so the figures compare work done, not parallelism.
# Everything runs on 127.0.0.1 and every run is bounded (COUNT round trips).
set -euo pipefail
cd "$(dirname "$0")/.."

COUNT=${COUNT:-20000}
ROUNDS=${ROUNDS:-3}
CPU=${CPU:-0}
work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

cargo build --quiet --release --package udp-echo --bin udp-echo-server
cc -O2 -o "$work/echo-server" scripts/bench/echo-server.c
cc -O2 -o "$work/rtt" scripts/bench/rtt.c

free_port() {
    python3 -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# measure COMMAND...: starts the server on a free port (the command's PORT
# word is replaced), its output read through a pipe, and prints the mean RTT.
measure() {
    local port
    port=$(free_port)
    local args=("${@//PORT/$port}")
    local pipe="$work/out.$port"
    mkfifo "$pipe"
    taskset -c "$CPU" cat "$pipe" >/dev/null &
    pids+=($!)
    taskset -c "$CPU" "${args[@]}" >"$pipe" 2>/dev/null &
    local server=$!
    pids+=("$server")
    taskset -c "$CPU" "$work/rtt" "$port" "$COUNT" || echo failed
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
}

declare -A best
names=("C, printing" "C, silent (kernel only)" "Rust, lesson 5" "Python")
for ((round = 1; round <= ROUNDS; round++)); do
    for name in "${names[@]}"; do
        case $name in
            "C, printing") rtt=$(measure "$work/echo-server" PORT) ;;
            "C, silent (kernel only)") rtt=$(measure "$work/echo-server" PORT --quiet) ;;
            "Rust, lesson 5") rtt=$(measure target/release/udp-echo-server --addr 127.0.0.1:PORT) ;;
            "Python") rtt=$(measure python3 scripts/bench/echo_server.py PORT) ;;
        esac
        if [[ $rtt == failed ]]; then
            echo "the $name server gave no figure" >&2
            exit 1
        fi
        if [[ -z ${best[$name]:-} ]] || awk "BEGIN {exit !($rtt < ${best[$name]})}"; then
            best[$name]=$rtt
        fi
    done
done

reference=${best["C, printing"]}
printf '\nUDP echo, 32-byte round trips on 127.0.0.1, one CPU, best of %d runs of %d:\n\n' "$ROUNDS" "$COUNT"
printf '  %-26s %10s %8s\n' "server" "RTT (us)" "vs C"
for name in "${names[@]}"; do
    printf '  %-26s %10.2f %8.2f\n' "$name" "${best[$name]}" "$(awk "BEGIN {print ${best[$name]} / $reference}")"
done
printf '\nGoal: the Rust server at 1.05 of the C server or better.\n'
