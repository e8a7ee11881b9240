#!/usr/bin/env bash
# CPU speed comparison (issue 9): seconds per ViT-S/14 448×448 image for this project's
# CPU backend (the "backbone" entry of `ideal bench --backend cpu --size 448`), for ONNX
# Runtime (../shared/bench/ort_vit_anchor.sh) and for PyTorch (Debian's python3-torch,
# ../shared/bench/torch_vit_anchor.py), measured in one run, and the ratios.
# Targets: ideal ≤ 1.2× ONNX Runtime's time and ≤ 0.5× PyTorch's.
# usage: bash scripts/bench-compare.sh [threads]   (default 2; GOMAXPROCS is set to it)
# Needs Go, node/npm (the ORT anchor installs onnxruntime-node into /tmp/ort-anchor on
# its first run) and /usr/bin/python3 with torch (the PATH python3 may be a shim that
# cannot see Debian's packages). BENCH_DIR overrides ../shared/bench.
set -euo pipefail
th=${1:-2}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
anchors=${BENCH_DIR:-$root/../shared/bench}
for f in ort_vit_anchor.sh torch_vit_anchor.py; do
  [ -f "$anchors/$f" ] || { echo "bench-compare: $anchors/$f not found (set BENCH_DIR)" >&2; exit 1; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

go build -o "$tmp/ideal" ./cmd/ideal
echo "== ideal (CPU backend, GOMAXPROCS=$th): ideal bench --backend cpu --size 448 --reps 5"
GOMAXPROCS=$th "$tmp/ideal" bench --backend cpu --size 448 --reps 5 --json "$tmp/bench.json" 2>/dev/null
ideal_s=$(jq -r '[.entries[] | select(.name == "backbone" and (.backend | startswith("cpu")))][0].ms_median / 1000' "$tmp/bench.json")
backend=$(jq -r '[.entries[] | select(.name == "backbone")][0].backend' "$tmp/bench.json")

echo "== ONNX Runtime: bash ort_vit_anchor.sh $th"
ort_out=$(bash "$anchors/ort_vit_anchor.sh" "$th" 2>/dev/null | tail -n 1)
echo "$ort_out"
ort_s=$(sed -n 's/.*median \([0-9.]*\) s\/image.*/\1/p' <<<"$ort_out")

echo "== PyTorch: /usr/bin/python3 torch_vit_anchor.py $th"
torch_out=$(/usr/bin/python3 "$anchors/torch_vit_anchor.py" "$th" | tail -n 1)
echo "$torch_out"
torch_s=$(sed -n 's/.*, \([0-9.]*\) s\/image.*/\1/p' <<<"$torch_out")

[ -n "$ort_s" ] && [ -n "$torch_s" ] || { echo "bench-compare: could not read an anchor's time" >&2; exit 1; }
echo "== s/image (ViT-S/14 448×448, batch 1, $th threads)"
awk -v i="$ideal_s" -v o="$ort_s" -v t="$torch_s" -v b="$backend" 'BEGIN {
  printf "ideal %-12s %.3f s/image\n", b, i
  printf "onnxruntime        %.3f s/image\n", o
  printf "pytorch            %.3f s/image\n", t
  printf "ideal / onnxruntime = %.2f (target <= 1.2)\n", i / o
  printf "ideal / pytorch     = %.2f (target <= 0.5)\n", i / t
}'
