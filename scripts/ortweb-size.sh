#!/usr/bin/env bash
# onnxruntime-web at any input size: the shared browser anchor (../shared/bench/ortweb_anchor.sh,
# fixed at 448×448) with the same ViT-S/14-shaped model exported at S×S. The model is
# ../shared/bench/torch_vit_anchor.py's ViT with only its position grid changed from 32×32 to
# (S/14)×(S/14) (exported to ONNX as ort_vit_anchor.sh does, seeded random weights), and the page
# is ../shared/bench/ortweb/index.html with only the model's file name and the input size
# changed (and, after the timing, the adapter's name added to its line); it is served cross-origin isolated (COOP/COEP) by the shared server.js and driven by
# the shared run.js (headless Debian Chromium with --enable-unsafe-webgpu, so ep=webgpu gets
# SwiftShader's software adapter on a machine without a GPU). One warm-up run, then 3 timed.
# usage: bash scripts/ortweb-size.sh S [EP] [THREADS]
#   S: a multiple of 14 (e.g. 112, 224, 448); EP: wasm (default) or webgpu; THREADS: the wasm
#   backend's thread count (default 2).
# Prints one line, the page's: "done ep=EP threads=N isolated=true median X s/image" (on
# webgpu followed by " adapter=VENDOR/ARCHITECTURE/DEVICE/DESCRIPTION", the non-empty fields of
# navigator.gpu.requestAdapter()'s info, asked after the timing; google/swiftshader: no GPU). Exits non-zero with a message on stderr when the page fails, prints no time, or
# runs past the cap.
# Env: ORTWEB_TIMEOUT (seconds for the page, model load to last run; default 600),
#   ORTWEB_SIZE_DIR (working folder; default /tmp/ortweb-anchor-S), ORTWEB_DIR (the shared
#   anchor's folder whose node_modules is reused by symlink; default /tmp/ortweb-anchor),
#   ORTWEB_PORT (default: a free loopback port), BENCH_DIR (default ../shared/bench),
#   IDEAL_CHROMIUM_GPU=1 and IDEAL_CHROMIUM_FLAGS (as for `ideal bench --browser webgpu`, see
#   internal/chromium: Vulkan and --use-angle=vulkan, and more space-separated switches, added to
#   run.js's Chromium arguments; run.js never passes --disable-gpu).
# Installs: nothing system-wide; it needs node, npm (only when ORTWEB_DIR has no node_modules:
# then onnxruntime-web@1.31.1 and playwright-core are installed into the working folder, as the
# shared anchor does), /usr/bin/chromium and Debian's python3-torch (only to export a model not
# yet in the working folder; 448 reuses the shared anchor's cached vits14_448.onnx).
set -euo pipefail
S=${1:-}; EP=${2:-wasm}; TH=${3:-2}
die() { echo "ortweb-size: $*" >&2; exit 1; }
if ! [[ $S =~ ^[1-9][0-9]*$ ]] || ((S % 14 != 0)); then
  echo "usage: bash scripts/ortweb-size.sh S [wasm|webgpu] [threads]  (S a multiple of 14, e.g. 112 or 224)" >&2
  exit 2
fi
[[ $EP == wasm || $EP == webgpu ]] || { echo "ortweb-size: ep '$EP': want wasm or webgpu" >&2; exit 2; }
[[ $TH =~ ^[1-9][0-9]*$ ]] || { echo "ortweb-size: threads '$TH': want a positive integer" >&2; exit 2; }
cap=${ORTWEB_TIMEOUT:-600}
[[ $cap =~ ^[1-9][0-9]*$ ]] || die "ORTWEB_TIMEOUT '$cap': want a positive number of seconds"
root=$(cd "$(dirname "$0")/.." && pwd)
anchors=${BENCH_DIR:-$root/../shared/bench}
for f in torch_vit_anchor.py ortweb/server.js ortweb/index.html ortweb/run.js; do
  [ -f "$anchors/$f" ] || die "$anchors/$f not found: the onnxruntime-web anchor lives in ../shared/bench next to this repository (set BENCH_DIR to its folder)"
done
anchors=$(cd "$anchors" && pwd)
command -v node >/dev/null || die "node not found (bash scripts/deps.sh installs it)"
[ -x /usr/bin/chromium ] || die "/usr/bin/chromium not found (the shared run.js starts it; bash scripts/deps.sh installs it)"
shared_dir=${ORTWEB_DIR:-/tmp/ortweb-anchor}
W=${ORTWEB_SIZE_DIR:-/tmp/ortweb-anchor-$S}
mkdir -p "$W"
cd "$W"
model=vits14_$S.onnx

# The model: torch_vit_anchor.py's ViT with a (S/14)² position grid, exported at S×S.
if [ ! -s "$model" ] && [ "$S" = 448 ]; then
  for d in "$shared_dir" "${ORT_ANCHOR_DIR:-/tmp/ort-anchor}"; do
    if [ -s "$d/vits14_448.onnx" ]; then cp "$d/vits14_448.onnx" "$model.tmp" && mv "$model.tmp" "$model"; break; fi
  done
fi
if [ ! -s "$model" ]; then
  /usr/bin/python3 -c 'import torch' 2>/dev/null ||
    die "exporting $model needs Debian's python3-torch (/usr/bin/python3 -c 'import torch' failed; apt-get install python3-torch)"
  echo "ortweb-size: exporting $W/$model" >&2
  /usr/bin/python3 - "$anchors/torch_vit_anchor.py" "$S" "$model.tmp" <<'PY' >&2 || die "exporting $model failed (see above)"
import sys, torch
path, S, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
src = open(path).read().split("m = ViT().eval()")
if len(src) != 2:
    sys.exit(f"{path}: expected exactly one 'm = ViT().eval()' to cut the benchmark off at; the anchor changed")
src = src[0]
if src.count("1 + 32 * 32") != 1:
    sys.exit(f"{path}: expected exactly one '1 + 32 * 32' (the 448x448 position grid) to resize; the anchor changed")
g = S // 14
src = src.replace("1 + 32 * 32", f"1 + {g} * {g}")
sys.argv = ["x", "1", "1"]; exec(src)
m = ViT().eval()
assert m.pos.shape == (1, 1 + g * g, 384), m.pos.shape
torch.onnx.export(m, torch.randn(1, 3, S, S), out, opset_version=14, input_names=["img"], output_names=["feat"])
PY
  mv "$model.tmp" "$model"
fi

# onnxruntime-web and playwright-core: the shared anchor's, else installed here.
if [ ! -d node_modules/onnxruntime-web ] || [ ! -d node_modules/playwright-core ]; then
  if [ -d "$shared_dir/node_modules/onnxruntime-web" ] && [ -d "$shared_dir/node_modules/playwright-core" ]; then
    rm -rf node_modules && ln -s "$shared_dir/node_modules" node_modules
  else
    command -v npm >/dev/null || die "npm not found (apt-get install npm), needed to install onnxruntime-web and playwright-core into $W"
    echo "ortweb-size: npm install onnxruntime-web@1.31.1 playwright-core in $W" >&2
    [ -f package.json ] || npm init -y >/dev/null
    npm install --ignore-scripts onnxruntime-web@1.31.1 playwright-core >&2 || die "npm install failed (see above)"
  fi
fi

# The page: the shared one with the size and model name substituted, each exactly where expected.
html=$(cat "$anchors/ortweb/index.html")
for pat in "'vits14_448.onnx'" "3*448*448" "[1,3,448,448]"; do
  n=$(grep -cF -- "$pat" <<<"$html" || true)
  [ "$n" = 1 ] || die "$anchors/ortweb/index.html: expected exactly one line with $pat to resize, found $n; the anchor page changed"
done
html=${html//"'vits14_448.onnx'"/"'$model'"}
html=${html//"3*448*448"/"3*$S*$S"}
html=${html//"[1,3,448,448]"/"[1,3,$S,$S]"}
# After the timing, name the WebGPU adapter (the page's line is otherwise unchanged).
# shellcheck disable=SC2016 # JavaScript template literals, not shell expansions
marker='o.textContent=`done ep=${ep} threads=${th} isolated=${crossOriginIsolated} median ${ts[1].toFixed(3)} s/image`;'
[ "$(grep -cF -- "$marker" <<<"$html" || true)" = 1 ] || die "$anchors/ortweb/index.html: its result line changed; cannot add the adapter"
# shellcheck disable=SC2016 # JavaScript
adapter='let ad="";if(ep==="webgpu"){try{const a=await navigator.gpu.requestAdapter();const i=(a&&a.info)||{};ad=" adapter="+([i.vendor,i.architecture,i.device,i.description].filter(Boolean).join("/")||"?");}catch(e){ad=" adapter=?";}}'
html=${html//"$marker"/"$adapter${marker%\`;}\${ad}\`;"}
# shellcheck disable=SC2016 # a JavaScript template literal
if ! grep -qF "$model" <<<"$html" || ! grep -qF "3*$S*$S" <<<"$html" || ! grep -qF '${ad}' <<<"$html"; then
  die "resizing the page failed"
fi
printf '%s\n' "$html" > index.html

# The server and the driver: the shared ones on a free port (ORTWEB_PORT to choose it).
port=${ORTWEB_PORT:-$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')}
[[ $port =~ ^[0-9]+$ ]] || die "no free port ($port)"
for f in server.js run.js; do
  [ "$(grep -c 8766 "$anchors/ortweb/$f")" = 1 ] || die "$anchors/ortweb/$f: expected its port 8766 once; the anchor changed"
  sed "s/8766/$port/" "$anchors/ortweb/$f" > "$f"
done
# The GPU switches 'ideal bench --browser webgpu' honours (internal/chromium.WebGPU), so both
# sides run the browser alike: IDEAL_CHROMIUM_GPU=1 adds Vulkan and ANGLE on Vulkan (run.js
# passes no --disable-gpu), IDEAL_CHROMIUM_FLAGS adds space-separated --name[=value] switches.
extra=()
if [ "${IDEAL_CHROMIUM_GPU:-}" = 1 ]; then extra+=(--enable-features=Vulkan --use-angle=vulkan); fi
read -r -a more <<<"${IDEAL_CHROMIUM_FLAGS:-}"
for f in "${more[@]}"; do extra+=("--${f#"${f%%[!-]*}"}"); done
if [ ${#extra[@]} -gt 0 ]; then
  [ "$(grep -cF "'--enable-unsafe-webgpu'" run.js)" = 1 ] || die "$anchors/ortweb/run.js: expected its '--enable-unsafe-webgpu' once to add Chromium switches after; the anchor changed"
  sed -i "s/'--enable-unsafe-webgpu'/'--enable-unsafe-webgpu',...JSON.parse(process.env.ORTWEB_SIZE_FLAGS)/" run.js
  ORTWEB_SIZE_FLAGS=$(node -e 'console.log(JSON.stringify(process.argv.slice(1)))' -- "${extra[@]}")
  export ORTWEB_SIZE_FLAGS
  echo "ortweb-size: extra Chromium switches: ${extra[*]}" >&2
fi
node server.js 2> server.err &
srv=$!
trap 'kill "$srv" 2>/dev/null || true' EXIT
up=
for _ in $(seq 1 50); do
  if node -e 'require("http").get(process.argv[1],r=>process.exit(r.statusCode==200?0:1)).on("error",()=>process.exit(1))' "http://127.0.0.1:$port/index.html" 2>/dev/null; then up=1; break; fi
  kill -0 "$srv" 2>/dev/null || break
  sleep 0.2
done
[ -n "$up" ] || die "the page's server did not start on 127.0.0.1:$port: $(cat server.err 2>/dev/null)"

rc=0
line=$(timeout -k 15 "$cap" node run.js "ep=$EP&th=$TH" 2>run.err) || rc=$?
if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
  die "timed out: ep=$EP at ${S}x$S did not finish within ${cap} s (ORTWEB_TIMEOUT)"
fi
line=$(tail -n 1 <<<"$line")
[ "$rc" = 0 ] || die "the page's driver (run.js) failed, exit $rc: $(tail -n 5 run.err) $line"
case $line in
  "done "*" s/image"*) printf '%s\n' "$line" ;;
  *) die "the page gave no time: ${line:-<nothing>} $(tail -n 3 run.err)" ;;
esac
