#!/usr/bin/env bash
# Makes screenshots/ from real runs of patchdeck in tmux (never drawn by hand).
# Usage: scripts/screenshots.sh   (needs tmux; builds the release binary)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v tmux >/dev/null || { echo "tmux is needed: apt-get install tmux" >&2; exit 1; }
cargo build --release --locked --quiet
bin="$PWD/target/release/patchdeck"
out="$PWD/screenshots"
mkdir -p "$out"
scratch=$(mktemp -d)
trap 'tmux kill-session -t pd-shot 2>/dev/null || true; rm -rf "$scratch"' EXIT

# shoot NAME WIDTH HEIGHT SECONDS "ARGS" "KEYS..." : start, wait for the rings, let the
# simulated fleet (--speed 60) run SECONDS, type the keys, capture.
shoot() {
  local name=$1 width=$2 height=$3 wait=$4 args=$5; shift 5
  tmux kill-session -t pd-shot 2>/dev/null || true
  tmux new-session -d -s pd-shot -x "$width" -y "$height" \
    "env XDG_CONFIG_HOME=$scratch/config XDG_DATA_HOME=$scratch/data NO_COLOR=1 $bin $args"
  for _ in $(seq 1 100); do
    tmux capture-pane -p -t pd-shot | grep -q "1 Rings" && break
    sleep 0.1
  done
  sleep "$wait"
  for keys in "$@"; do
    tmux send-keys -t pd-shot $keys
    sleep 0.4
  done
  tmux capture-pane -p -t pd-shot > "$out/$name.txt"
  tmux send-keys -t pd-shot q
  echo "screenshots/$name.txt"
}

shoot demo-80x24 80 24 3 ""
shoot demo-120x40 120 40 3 ""
shoot bad-patch-halted-80x24 80 24 40 "--scenario bad-patch" 3 Enter
shoot bad-patch-halted-200x50 200 50 40 "--scenario bad-patch"
shoot halt-dialog-80x24 80 24 3 "" 2 H
shoot zero-day-wizard-120x40 120 40 3 "--scenario zero-day" E
shoot help-80x24 80 24 1 "" "?"
