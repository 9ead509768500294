#!/usr/bin/env bash
# Lesson 14's full measurement (make bench-transports): the release build of
# transport-echo-server and transport-costs, both pinned to one CPU (CPU,
# default 0, as `make bench`), with the C UDP ping-pong client run in the
# same rounds against the same server as an independent check. Writes the
# table and the chart into OUT (default docs/src/images, where the book
# includes them). Everything runs on 127.0.0.1, every run is bounded, and
# the server is stopped at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

CPU=${CPU:-0}
OUT=${OUT:-docs/src/images}
work=$(mktemp -d)
server=
cleanup() {
    if [[ -n $server ]]; then kill "$server" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

cargo build --quiet --release --package transport-costs
target=${CARGO_TARGET_DIR:-target}/release
cc -O2 -o "$work/udp-pingpong" scripts/bench/udp-pingpong.c

# Server and client on one CPU: each round trip is then the work of the two
# programs and the kernel, not the luck of which core wakes up first.
taskset -c "$CPU" "$target/transport-echo-server" --addr 127.0.0.1:0 >"$work/server.out" &
server=$!
addr=
for _ in $(seq 100); do
    addr=$(sed -n 's/^listening on //p' "$work/server.out")
    if [[ -n $addr ]]; then break; fi
    sleep 0.05
done
if [[ -z $addr ]]; then
    echo "bench-transports: the server printed no ready line within 5 s" >&2
    exit 1
fi
taskset -c "$CPU" "$target/transport-costs" --addr "$addr" --out "$OUT" \
    --c-client "$work/udp-pingpong" "$@"
