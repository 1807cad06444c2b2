#!/usr/bin/env bash
# Builds both responders, pins each to CPU 0 and redis-benchmark to CPU 1,
# and alternates PING_MBULK runs (pipeline 1 and 16) over three rounds.
set -euo pipefail
cd "$(dirname "$0")"
cargo build --release -q
taskset -c 0 ./target/release/tokio_ping & T=$!
taskset -c 0 ./target/release/monoio_ping & M=$!
trap 'kill $T $M 2>/dev/null || true' EXIT
sleep 0.5
for round in 1 2 3; do
  for p in 7701:tokio 7702:monoio; do
    for P in 1 16; do
      r=$(taskset -c 1 redis-benchmark -p "${p%%:*}" -t ping_mbulk -n 200000 -c 50 -P "$P" -q --csv | tail -1 | cut -d, -f2)
      echo "round=$round runtime=${p##*:} pipeline=$P rps=$r"
    done
  done
done
