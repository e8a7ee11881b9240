#!/usr/bin/env bash
# Browser speed comparison (issue 18): milliseconds per ViT-S/14 backbone forward (seeded random
# weights) of this project's web engine (Go compiled to WebAssembly: `ideal bench --browser K`,
# which opens wasm/site/static/bench.html in headless Chromium) and of onnxruntime-web (the same
# shapes as an ONNX, in the same Chromium, cross-origin isolated), in one run, then the ratios
# ours / ort-web (below 1: ours is faster).
# 1. wasm, 448×448: our pool of workers against ort-web's wasm backend
#    (../shared/bench/ortweb_anchor.sh), with `threads` workers/threads and with 1, interleaved
#    (ours K, ort-web K, ours 1, ort-web 1). This table is printed before the WebGPU part starts.
# 2. WebGPU, BENCH_WEBGPU_SIZE×BENCH_WEBGPU_SIZE (default 112): our engine on WebGPU
#    (`ideal bench --browser webgpu`, one worker) against ort-web's webgpu execution provider
#    (scripts/ortweb-size.sh: the same ViT exported at that size, `threads` wasm threads for
#    what it keeps on the CPU), interleaved (ours, ort-web). Without a GPU, Chromium's adapter is
#    SwiftShader's (software, on the CPU). On a shared 2-core machine ort-web took 16-35 s per
#    forward at 112 (its side about 1.5-3 min: load, warm-up, 3 runs) and 57-156 s at 224 (4-8.5
#    min), ours 1.5-2.8 s and 6.4-7.4 s; hence 112 by default, 224 with BENCH_WEBGPU_SIZE=224 and a
#    larger BENCH_WEBGPU_TIMEOUT. Each side is capped at BENCH_WEBGPU_TIMEOUT seconds per round;
#    a side that fails or runs out of time gets a row saying why, and the wasm table stands.
#    On a real GPU set IDEAL_CHROMIUM_GPU=1 (both sides then start Chromium without
#    --disable-gpu, with Vulkan; see README); the table's title names ort-web's adapter.
# Each side times 3 forwards after one warm-up and reports their median; BENCH_ROUNDS=N
# (default 1) repeats each part's interleaved sequence N times and prints the median over rounds.
# usage: bash scripts/bench-web.sh [threads]   (default 2)
# Installs what it needs: Chromium and Node (scripts/deps.sh), npm if missing, Debian's
# python3-torch when an anchor's ONNX is not cached yet (the anchors export it), and the
# anchor's npm packages (onnxruntime-web, playwright-core) into /tmp/ortweb-anchor (the WebGPU
# part links them into /tmp/ortweb-anchor-SIZE, where it keeps its ONNX and page).
# Env: BENCH_DIR (default ../shared/bench), BENCH_ROUNDS, BENCH_NO_WASM_BUILD=1 (keep the
# engine in wasm/site/static as it is instead of running `make wasm`), BENCH_WASM=0 (skip part
# 1), BENCH_WEBGPU=0 (skip part 2), BENCH_WEBGPU_SIZE (a multiple of 14; default 112),
# BENCH_WEBGPU_TIMEOUT (seconds per side and round; default 600), ORTWEB_PORT,
# IDEAL_CHROMIUM_GPU and IDEAL_CHROMIUM_FLAGS (both sides of part 2; internal/chromium).
set -euo pipefail
th=${1:-2}
rounds=${BENCH_ROUNDS:-1}
[[ $th =~ ^[1-9][0-9]*$ ]] || { echo "bench-web: threads '$th': want a positive integer" >&2; exit 2; }
[[ $rounds =~ ^[1-9][0-9]*$ ]] || { echo "bench-web: BENCH_ROUNDS '$rounds': want a positive integer" >&2; exit 2; }
wasm_on=${BENCH_WASM:-1}; gpu_on=${BENCH_WEBGPU:-1}
gpu_size=${BENCH_WEBGPU_SIZE:-112}; gpu_cap=${BENCH_WEBGPU_TIMEOUT:-600}
[[ $wasm_on == [01] ]] || { echo "bench-web: BENCH_WASM '$wasm_on': want 0 or 1" >&2; exit 2; }
[[ $gpu_on == [01] ]] || { echo "bench-web: BENCH_WEBGPU '$gpu_on': want 0 or 1" >&2; exit 2; }
if ! [[ $gpu_size =~ ^[1-9][0-9]*$ ]] || ((gpu_size % 14 != 0)); then
  echo "bench-web: BENCH_WEBGPU_SIZE '$gpu_size': want a positive multiple of 14 (112, 224, ...)" >&2
  exit 2
fi
[[ $gpu_cap =~ ^[1-9][0-9]*$ ]] || { echo "bench-web: BENCH_WEBGPU_TIMEOUT '$gpu_cap': want a positive number of seconds" >&2; exit 2; }
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
anchors=${BENCH_DIR:-$root/../shared/bench}
for f in ortweb_anchor.sh ort_vit_anchor.sh torch_vit_anchor.py ortweb/server.js ortweb/index.html ortweb/run.js; do
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
onnx_cached=1
if [ "$wasm_on" = 1 ]; then
  onnx_cached=
  for d in "${ORTWEB_DIR:-/tmp/ortweb-anchor}" "${ORT_ANCHOR_DIR:-/tmp/ort-anchor}"; do
    [ -f "$d/vits14_448.onnx" ] && onnx_cached=1
  done
fi
if [ "$gpu_on" = 1 ] && [ ! -s "${ORTWEB_SIZE_DIR:-/tmp/ortweb-anchor-$gpu_size}/vits14_$gpu_size.onnx" ]; then
  onnx_cached=
fi
if [ -z "$onnx_cached" ] && ! /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  apt_install python3-torch # the anchors export the ONNX with it
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
  node -e 'const e = require(process.argv[1]).entries.find(e => e.backend.startsWith("chromium/") && !e.backend.startsWith("chromium/webgpu"));
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
if [ "$wasm_on" = 1 ]; then
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
fi

[ "$gpu_on" = 1 ] || exit 0
S=$gpu_size
# why LOG: the last line of a failed side's log that says something, shortened.
why() { grep -v '^[[:space:]]*$' "$1" | tail -n 1 | cut -c 1-240; }
# ours_gpu ROUND: "MS BACKEND" of our engine on WebGPU at S×S (the median of 3 after a
# warm-up), or non-zero with the reason on stdout.
ours_gpu() {
  local json=$tmp/ours-webgpu-$1.json log=$tmp/ours-webgpu-$1.log rc=0
  timeout -k 15 $((gpu_cap + 30)) "$tmp/ideal" bench --browser webgpu --size "$S" --reps 3 \
    --browser-timeout "${gpu_cap}s" --json "$json" 2>&1 | tee "$log" >&2 || rc=${PIPESTATUS[0]}
  if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then echo "timed out after ${gpu_cap} s (BENCH_WEBGPU_TIMEOUT)"; return 1; fi
  [ "$rc" = 0 ] || { echo "ideal bench exit $rc: $(why "$log")"; return 1; }
  node -e 'const e = require(process.argv[1]).entries.find(e => e.backend.startsWith("chromium/webgpu"));
    if (!e || !(e.ms_median > 0)) { console.log("no chromium/webgpu entry with ms_median in " + process.argv[1]); process.exit(1); }
    process.stdout.write(e.ms_median + " " + e.backend)' "$json"
}
# theirs_gpu: "MS ADAPTER" of onnxruntime-web's webgpu EP at S×S (the median of 3 after a
# warm-up), or non-zero with the reason on stdout.
theirs_gpu() {
  local log=$tmp/theirs-webgpu.log line s rc=0
  line=$(ORTWEB_TIMEOUT=$gpu_cap BENCH_DIR=$anchors bash scripts/ortweb-size.sh "$S" webgpu "$th" 2>"$log") || rc=$?
  cat "$log" >&2
  [ "$rc" = 0 ] || { why "$log"; return 1; }
  echo "ort-web webgpu ${S}x$S: $line" >&2
  s=$(sed -n 's/^done .*median \([0-9.]*\) s\/image.*/\1/p' <<<"$line")
  [ -n "$s" ] || { echo "no time in: $line"; return 1; }
  awk -v s="$s" -v a="$(sed -n 's/.* adapter=//p' <<<"$line")" 'BEGIN { printf "%.1f %s", s * 1000, (a == "" ? "?" : a) }'
}

g_ours='' g_theirs='' g_backend='' g_adapter='' g_ours_err='' g_theirs_err=''
for r in $(seq 1 "$rounds"); do
  echo "== round $r/$rounds, WebGPU ${S}x$S: ours (ideal bench --browser webgpu --size $S --reps 3)" >&2
  if out=$(ours_gpu "$r"); then
    g_ours+="${out%% *} "; g_backend=${out#* }
  else
    g_ours_err="round $r: $out"; echo "bench-web: our engine on WebGPU failed: $out" >&2
  fi
  echo "== round $r/$rounds, WebGPU ${S}x$S: onnxruntime-web (ortweb-size.sh $S webgpu $th)" >&2
  if out=$(theirs_gpu); then
    g_theirs+="${out%% *} "; g_adapter=${out#* }
  else
    g_theirs_err="round $r: $out"; echo "bench-web: onnxruntime-web on WebGPU failed: $out" >&2
  fi
done

echo "== ViT-S/14 ${S}×$S backbone forward on WebGPU in headless Chromium (adapter ${g_adapter:-unknown}), ms (median of 3 after a warm-up; median over the rounds that finished of $rounds)"
printf '%-8s %12s %12s %14s  %s\n' size "ours ms" "ort-web ms" "ours/ort-web" "our engine"
o='' t=''
[ -z "$g_ours" ] || o=$(tr ' ' '\n' <<<"$g_ours" | grep . | median)
[ -z "$g_theirs" ] || t=$(tr ' ' '\n' <<<"$g_theirs" | grep . | median)
awk -v s="$S" -v o="$o" -v t="$t" -v b="${g_backend:-(failed)}" 'BEGIN {
  os = o == "" ? "failed" : sprintf("%.1f", o); ts = t == "" ? "failed" : sprintf("%.1f", t)
  rs = (o == "" || t == "") ? "-" : sprintf("%.2f", o / t)
  printf "%-8s %12s %12s %14s  %s\n", s, os, ts, rs, b }'
[ -z "$g_ours_err" ] || echo "  ours failed ($g_ours_err)"
[ -z "$g_theirs_err" ] || echo "  ort-web failed ($g_theirs_err)"
