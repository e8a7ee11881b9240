#!/usr/bin/env bash
# make demo: a synthetic inspection data set, the normal-only baseline and IDEAL on it,
# both tables side by side and a few heatmap overlays. Run from the repository root
# after `go build -o bin/ideal ./cmd/ideal` (make demo does both).
#
# Environment:
#   IDEAL_BACKBONE  real DINOv2 weights (e.g. Hugging Face facebook/dinov2-small
#                   model.safetensors); default: a seeded RANDOM ViT-S/14-shaped backbone
#   IDEAL_HEAD      trained IDE head weights (safetensors/.pth/TorchScript); default: a
#                   freshly initialised, UNTRAINED head
#   IDEAL_CHANNELS  feature width of IDEAL_BACKBONE for the untrained head (default 384)
#   DEMO_OUT        output folder (default demo-out)
set -euo pipefail

IDEAL=bin/ideal
OUT=${DEMO_OUT:-demo-out}
SIZE=224
CLASSES=fabric,wood,metal,carpet,nut,pill
start=$(date +%s)

if [[ ! -x $IDEAL ]]; then
	echo "demo: $IDEAL not found: run 'make demo' (or go build -o bin/ideal ./cmd/ideal) first" >&2
	exit 1
fi
mkdir -p "$OUT"

echo "== 1. synthetic data set: $CLASSES at ${SIZE}x${SIZE} -> $OUT/data (MVTec AD layout)"
"$IDEAL" synth -q --out "$OUT/data" --size $SIZE --classes $CLASSES --train 2 --test 6 --per-defect 2 --seed 1 --replace

backbone_note=""
if [[ -n ${IDEAL_BACKBONE:-} ]]; then
	if [[ ! -f $IDEAL_BACKBONE ]]; then
		echo "demo: IDEAL_BACKBONE=$IDEAL_BACKBONE is not a file" >&2
		exit 1
	fi
	BACKBONE=$IDEAL_BACKBONE
	echo "== 2. backbone: $BACKBONE (from IDEAL_BACKBONE)"
else
	BACKBONE=$OUT/random-vits14.safetensors
	[[ -f $BACKBONE ]] || "$IDEAL" init-backbone -o "$BACKBONE" --seed 1 --width 384 --depth 12 --heads 6 2>/dev/null
	backbone_note="RANDOM backbone"
	cat <<MSG
== 2. backbone: $BACKBONE
   NOTE: no real DINOv2 weights were given (IDEAL_BACKBONE), so this is a seeded RANDOM
   network with the shape of ViT-S/14. Its features are random projections of the
   pixels: the numbers below say nothing about IDEAL or DINOv2.
MSG
fi

head_note=""
if [[ -n ${IDEAL_HEAD:-} ]]; then
	HEAD=$IDEAL_HEAD
	echo "== 3. IDE head: $HEAD (from IDEAL_HEAD)"
else
	HEAD=$OUT/untrained-head.safetensors
	"$IDEAL" init-head -o "$HEAD" --channels "${IDEAL_CHANNELS:-384}" --seed 1 2>/dev/null
	head_note="UNTRAINED head"
	cat <<MSG
== 3. IDE head: $HEAD
   NOTE: no trained head was given (IDEAL_HEAD), so this head is freshly initialised and
   UNTRAINED: the IDEAL column shows the pipeline running, not IDEAL's accuracy.
MSG
fi

common=(--data "$OUT/data" --format mvtec --backbone "$BACKBONE" --size $SIZE --n-shot 1 --seed 1 --cache "$OUT/cache")
echo
echo "== 4. normal-only baseline (1 normal reference per class) -> $OUT/normal-only"
"$IDEAL" eval "${common[@]}" --a-shot 0 --out "$OUT/normal-only" --save-maps
echo
echo "== 5. IDEAL (1 normal + 1 abnormal reference per class; backbone features from the cache) -> $OUT/ideal"
"$IDEAL" eval "${common[@]}" --a-shot 1 --head "$HEAD" --out "$OUT/ideal"

echo
echo "== side by side (percent; ${backbone_note:-real backbone}${head_note:+, $head_note})"
awk -F, '
	function pct(v) { return v == "" ? "n/a" : sprintf("%.2f", 100 * v) }
	FNR == 1 { file++; next }
	file == 1 { order[++n] = $1; b[$1] = sprintf("%7s %7s %7s", pct($2), pct($5), pct($7)); next }
	{ i[$1] = sprintf("%7s %7s %7s", pct($2), pct($5), pct($7)) }
	END {
		printf "%-8s | %-23s | %-23s\n", "", "normal-only", "IDEAL"
		printf "%-8s | %7s %7s %7s | %7s %7s %7s\n", "Product", "I-AUROC", "P-AUROC", "P-PRO", "I-AUROC", "P-AUROC", "P-PRO"
		for (k = 1; k <= n; k++) printf "%-8s | %s | %s\n", order[k], b[order[k]], i[order[k]]
	}' "$OUT/normal-only/metrics.csv" "$OUT/ideal/metrics.csv"

cat <<MSG

Heatmap overlays: $OUT/normal-only/overlays/<class>/ and $OUT/ideal/overlays/<class>/
Inspect every query, and edit the abnormal references' masks with live re-scoring, in the
desktop viewer (needs a display): go build -o bin/ideal-view ./cmd/ideal-view && bin/ideal-view $OUT/ideal
The baseline's smoothed maps (float32 TIFF, official MVTec layout): $OUT/normal-only/maps
  re-score them with: $IDEAL metrics --data $OUT/data --maps $OUT/normal-only/maps --scores $OUT/normal-only/scores.csv
  (the baseline's normal references are training images, so every test image has a map;
  IDEAL's abnormal reference is a test image and is not scored: add --skip-missing for an IDEAL run's maps)
Demo finished in $(($(date +%s) - start)) s.

To run on real data with real weights:
  1. DINOv2 ViT-S/14: download model.safetensors and config.json of facebook/dinov2-small
     from https://huggingface.co/facebook/dinov2-small (e.g. huggingface-cli download
     facebook/dinov2-small model.safetensors config.json --local-dir dinov2-small).
  2. A trained IDE head (the authors' checkpoint; 'ideal convert' turns it into safetensors).
  3. $IDEAL eval --data /path/to/mvtec_anomaly_detection --format mvtec \\
        --backbone dinov2-small/model.safetensors --head head.safetensors \\
        --n-shot 1 --a-shot 1 --size 448 --out results
     (--a-shot 0 without --head gives the normal-only baseline; VisA: --format visa.)
  Or re-run this demo with them: IDEAL_BACKBONE=dinov2-small/model.safetensors IDEAL_HEAD=head.safetensors make demo
MSG

echo
echo "The evaluation reports (table, curves, a panel per query, worst first; open from disk in a browser):"
echo "  the baseline's: $OUT/normal-only/report.html"
echo "  IDEAL's:        $OUT/ideal/report.html"
