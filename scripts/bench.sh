#!/usr/bin/env bash
# The UDP server benchmark (make bench). Two comparisons, each against the
# same server written in C:
#   - echo: lesson 5's Rust server, the C echo server, the C server printing
#     nothing (the kernel alone), and Python; a 32-byte datagram;
#   - time: lesson 7's Rust server and the C time server; the datagram is a
#     strftime format (FORMAT), the answer the local time in it.
# Each server prints one line per datagram into a pipe; the driver measures
# the mean round trip, and the CPU time the server used per round trip (its
# system calls included). Server, pipe reader and driver share one CPU, so
# the figures compare work done, not parallelism. The servers take turns
# within each round, so a slow moment of the machine touches all of them
# alike, and a ratio is the median of the rounds' ratios. On a busy machine
# take many short rounds (COUNT=5000 ROUNDS=31).
# Everything runs on 127.0.0.1 and every run is bounded (ROUNDS runs of
# COUNT round trips each); every server is stopped after its run.
#
# TIME_SERVER_BEFORE=PATH adds another build of lesson 7's server (from an
# earlier commit, say) to the time comparison, to measure a change.
set -euo pipefail
cd "$(dirname "$0")/.."

COUNT=${COUNT:-20000}
ROUNDS=${ROUNDS:-5}
CPU=${CPU:-0}
FORMAT=${FORMAT:-%Y-%m-%d %H:%M:%S}
work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

# The release binaries, where cargo puts them (CARGO_TARGET_DIR is honoured).
cargo build --quiet --release --package udp-echo --bin udp-echo-server \
    --package time-server --bin time-server
target=${CARGO_TARGET_DIR:-target}
cc -O2 -o "$work/echo-server" scripts/bench/echo-server.c
cc -O2 -o "$work/time-server" scripts/bench/time-server.c
cc -O2 -o "$work/rtt" scripts/bench/rtt.c

free_port() {
    python3 -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# measure MESSAGE COMMAND...: starts the server on a free port (the command's
# PORT word is replaced), its output read through a pipe, sends it MESSAGE
# (empty: the echo driver's 32 bytes) COUNT times and prints the mean RTT
# and the server's CPU time per round trip, in microseconds.
measure() {
    local message=$1
    shift
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
    local driver=("$work/rtt" "$port" "$COUNT")
    if [[ -n $message ]]; then driver+=("$message"); fi
    SERVER_PID=$server taskset -c "$CPU" "${driver[@]}" || echo failed
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
}

# run NAME: one measurement of the server called NAME.
run() {
    case $1 in
        "C, printing") measure "" "$work/echo-server" PORT ;;
        "C, silent (kernel only)") measure "" "$work/echo-server" PORT --quiet ;;
        "Rust, lesson 5") measure "" "$target/release/udp-echo-server" --addr 127.0.0.1:PORT ;;
        "Python") measure "" python3 scripts/bench/echo_server.py PORT ;;
        "C, time server") measure "$FORMAT" "$work/time-server" PORT ;;
        "Rust, lesson 7") measure "$FORMAT" "$target/release/time-server" --addr 127.0.0.1:PORT ;;
        "Rust, lesson 7 before") measure "$FORMAT" "$TIME_SERVER_BEFORE" --addr 127.0.0.1:PORT ;;
    esac
}

echo_names=("C, printing" "C, silent (kernel only)" "Rust, lesson 5" "Python")
time_names=("C, time server" "Rust, lesson 7")
if [[ -n ${TIME_SERVER_BEFORE:-} ]]; then time_names+=("Rust, lesson 7 before"); fi

declare -A rtts cpus # name -> every round's figure, space-separated
for ((round = 1; round <= ROUNDS; round++)); do
    for name in "${echo_names[@]}" "${time_names[@]}"; do
        figure=$(run "$name")
        if [[ $figure == failed ]]; then
            echo "the $name server gave no figure" >&2
            exit 1
        fi
        read -r rtt cpu <<<"$figure"
        rtts[$name]+="$rtt "
        cpus[$name]+="$cpu "
    done
done

# lines FIGURES: a space-separated list, one figure a line.
lines() { tr ' ' '\n' <<<"$1" | grep .; }
# median: of the numbers on stdin.
median() {
    sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
# best FIGURES: the smallest.
best() { lines "$1" | sort -g | head -n 1; }
# ratio FIGURES REFERENCE: the median of the rounds' ratios. The servers of
# one round ran within seconds of each other, so a busy spell of the
# machine touches both figures of a ratio.
ratio() { paste <(lines "$1") <(lines "$2") | awk '{ print $1 / $2 }' | median; }

# table TITLE REFERENCE NAME...: the best round trip and its ratio to the
# reference's best; the median round trip and the median ratio of the
# rounds; the same for the server's CPU time per round trip.
table() {
    local title=$1 reference=$2
    shift 2
    local ref_best
    ref_best=$(best "${rtts[$reference]}")
    printf '\n%s, one CPU, %d runs of %d round trips (us):\n\n' "$title" "$ROUNDS" "$COUNT"
    printf '  %-24s %15s %15s %15s\n' "server" "best RTT" "median RTT" "server CPU"
    for name in "$@"; do
        local b
        b=$(best "${rtts[$name]}")
        printf '  %-24s %8.2f (%4.2f) %8.2f (%4.2f) %8.2f (%4.2f)\n' "$name" \
            "$b" "$(awk "BEGIN {print $b / $ref_best}")" \
            "$(lines "${rtts[$name]}" | median)" "$(ratio "${rtts[$name]}" "${rtts[$reference]}")" \
            "$(lines "${cpus[$name]}" | median)" "$(ratio "${cpus[$name]}" "${cpus[$reference]}")"
    done
}

table "UDP echo, 32-byte datagrams on 127.0.0.1" "C, printing" "${echo_names[@]}"
table "UDP time server, the format '$FORMAT'" "C, time server" "${time_names[@]}"
printf '\nIn brackets, against the C server of the table: best to best, and the\n'
printf 'median of the rounds'"'"' ratios. Goal: every Rust server at 1.05 or better.\n'
