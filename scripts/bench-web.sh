#!/usr/bin/env bash
# Browser speed comparison (issue 18): milliseconds per ViT-S/14 448×448 backbone forward
# (seeded random weights) of this project's web engine (Go compiled to WebAssembly, a pool
# of workers: `ideal bench --browser K`, which opens wasm/site/static/bench.html in headless
# Chromium) and of onnxruntime-web (../shared/bench/ortweb_anchor.sh: the same shapes as an
# ONNX, its wasm backend, in the same Chromium, cross-origin isolated), with `threads`
# workers/threads and with 1, measured in one run and interleaved (ours K, ort-web K, ours 1,
# ort-web 1), then the ratios ours / ort-web (below 1: ours is faster).
# Each side times 3 forwards after one warm-up and reports their median; BENCH_ROUNDS=N
# (default 1) repeats the whole interleaved sequence N times and prints the median over rounds.
# usage: bash scripts/bench-web.sh [threads]   (default 2)
# Installs what it needs: Chromium and Node (scripts/deps.sh), npm if missing, Debian's
# python3-torch when the anchor's ONNX is not cached yet (the anchor exports it), and the
# anchor's npm packages (onnxruntime-web, playwright-core) into /tmp/ortweb-anchor.
# Env: BENCH_DIR (default ../shared/bench), BENCH_ROUNDS, BENCH_NO_WASM_BUILD=1 (keep the
# engine in wasm/site/static as it is instead of running `make wasm`), ORTWEB_PORT.
set -euo pipefail
th=${1:-2}
rounds=${BENCH_ROUNDS:-1}
[[ $th =~ ^[1-9][0-9]*$ ]] || { echo "bench-web: threads '$th': want a positive integer" >&2; exit 2; }
[[ $rounds =~ ^[1-9][0-9]*$ ]] || { echo "bench-web: BENCH_ROUNDS '$rounds': want a positive integer" >&2; exit 2; }
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
anchors=${BENCH_DIR:-$root/../shared/bench}
for f in ortweb_anchor.sh ort_vit_anchor.sh ortweb/server.js ortweb/index.html ortweb/run.js; do
  [ -f "$anchors/$f" ] || {
    echo "bench-web: $anchors/$f not found: the onnxruntime-web anchor lives in ../shared/bench next to this repository (set BENCH_DIR to its folder)" >&2
    exit 1
  }
done

# apt_install PKG...: Debian packages, as scripts/deps.sh installs them.
apt_install() {
  local sudo=
  if [ "$(id -u)" != 0 ]; then sudo=sudo; fi
  echo "bench-web: installing $*" >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "$@" >&2 ||
    { $sudo apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "$@" >&2; }
}
bash scripts/deps.sh
command -v npm >/dev/null || apt_install npm
onnx_cached=
for d in "${ORTWEB_DIR:-/tmp/ortweb-anchor}" "${ORT_ANCHOR_DIR:-/tmp/ort-anchor}"; do
  [ -f "$d/vits14_448.onnx" ] && onnx_cached=1
done
if [ -z "$onnx_cached" ] && ! /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  apt_install python3-torch # the anchor exports the ONNX with it
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ "${BENCH_NO_WASM_BUILD:-}" != 1 ]; then
  echo "== make wasm" >&2
  make -s wasm >&2
fi
go build -o "$tmp/ideal" ./cmd/ideal

counts=("$th")
[ "$th" = 1 ] || counts+=(1)
# ours K ROUND: ms per forward (the median of 3 after a warm-up) of our engine with K workers.
ours() {
  local json=$tmp/ours-$1-$2.json
  "$tmp/ideal" bench --browser "$1" --size 448 --reps 3 --json "$json" >&2
  node -e 'const e = require(process.argv[1]).entries.find(e => e.backend.startsWith("chromium/"));
    process.stdout.write(e.ms_median + " " + e.backend)' "$json"
}
# theirs K: ms per forward (the median of 3 after a warm-up) of onnxruntime-web with K threads.
theirs() {
  local line s
  line=$(bash "$anchors/ortweb_anchor.sh" "$1" wasm 2>&1 | tail -n 1) || true
  echo "ort-web $1 thread(s): $line" >&2
  s=$(sed -n 's/^done .*median \([0-9.]*\) s\/image.*/\1/p' <<<"$line")
  [ -n "$s" ] || { echo "bench-web: onnxruntime-web gave no time: $line" >&2; return 1; }
  case $line in *isolated=true*) ;; *) echo "bench-web: WARNING: the ort-web page was not cross-origin isolated (no threads)" >&2 ;; esac
  awk -v s="$s" 'BEGIN { printf "%.1f", s * 1000 }'
}
median() { sort -g | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

declare -A our_ms their_ms our_backend
for r in $(seq 1 "$rounds"); do
  for k in "${counts[@]}"; do
    echo "== round $r/$rounds, $k worker(s)/thread(s): ours (ideal bench --browser $k --size 448 --reps 3)" >&2
    out=$(ours "$k" "$r") || { echo "bench-web: our engine failed with $k worker(s) (see above)" >&2; exit 1; }
    our_ms[$k]+="${out%% *} "; our_backend[$k]=${out#* }
    echo "== round $r/$rounds, $k thread(s): onnxruntime-web (ortweb_anchor.sh $k wasm)" >&2
    out=$(theirs "$k") || exit 1
    their_ms[$k]+="$out "
  done
done

echo "== ViT-S/14 448×448 backbone forward in headless Chromium, ms (median of 3 after a warm-up; median over $rounds round(s))"
printf '%-8s %12s %12s %14s  %s\n' threads "ours ms" "ort-web ms" "ours/ort-web" "our engine"
for k in "${counts[@]}"; do
  o=$(tr ' ' '\n' <<<"${our_ms[$k]}" | grep . | median)
  t=$(tr ' ' '\n' <<<"${their_ms[$k]}" | grep . | median)
  awk -v k="$k" -v o="$o" -v t="$t" -v b="${our_backend[$k]}" 'BEGIN { printf "%-8s %12.1f %12.1f %14.2f  %s\n", k, o, t, o / t, b }'
done
