#!/usr/bin/env bash
# gpu-check.sh: on a headless machine with an NVIDIA GPU, find a way to an OpenGL 4.3
# context on that GPU, run the GPU backend's parity suite against the reference and
# the shared benchmarks against the cpu backend, and print both as tables. Sized to
# finish in under 5 minutes (one cgo build, then about a minute of tests).
#
#   bash scripts/gpu-check.sh            # from the repository root or anywhere
#
# Ways to a context, tried in this order until the renderer is not a software one:
#   1. the current DISPLAY, if set;
#   2. a headless Xorg with the NVIDIA driver (needs Xorg and nvidia-xconfig);
#   3. Xvfb with the NVIDIA GLX vendor library (__GLX_VENDOR_LIBRARY_NAME=nvidia);
#   4. Xvfb with an EGL context (IDEAL_GL_API=egl, NVIDIA's EGL vendor if present);
#   5. Xvfb with Mesa (llvmpipe): a correctness check only, reported as such.
# Needs: go, gcc and the GL/X11 headers (scripts/deps.sh), Xvfb.
# Exit status: 0 when the parity suite passed on a hardware renderer, 2 when it
# passed but only on a software renderer, 1 on a failure.
set -uo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
xpid=
cleanup() {
	[ -n "$xpid" ] && kill "$xpid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
say() { printf 'gpu-check: %s\n' "$*" >&2; }

say "building the gpu test binary (cgo; the first build takes a minute or two)"
if ! timeout 240 go test -c -o "$work/gpu.test" ./gpu/; then
	say "build failed (missing GL headers? run: bash scripts/deps.sh)"
	exit 1
fi

# probe prints the backend name (gpu/<renderer>) under the current environment.
probe() {
	timeout 60 "$work/gpu.test" -test.run '^TestZerosAndEmpty$' -test.v 2>&1 |
		sed -n 's/.*backend \(gpu\/[^,]*\),.*/\1/p' | head -n 1
}
software() { case "$1" in "" | gpu/llvmpipe* | gpu/softpipe* | gpu/swrast* | gpu/lavapipe*) return 0 ;; esac; return 1; }

freedisplay() {
	local n
	for n in $(seq 90 130); do
		[ -e "/tmp/.X11-unix/X$n" ] || [ -e "/tmp/.X$n-lock" ] || { echo "$n"; return; }
	done
	echo 131
}
waitx() { local i; for i in $(seq 50); do [ -e "/tmp/.X11-unix/X$1" ] && return 0; sleep 0.1; done; return 1; }
stopx() { [ -n "$xpid" ] && kill "$xpid" 2>/dev/null; wait "$xpid" 2>/dev/null; xpid=; }
startxvfb() {
	local n; n=$(freedisplay)
	Xvfb ":$n" -screen 0 1280x1024x24 -nolisten tcp >"$work/xvfb.log" 2>&1 &
	xpid=$!
	waitx "$n" && export DISPLAY=":$n"
}
startxorg() {
	command -v Xorg >/dev/null && command -v nvidia-xconfig >/dev/null && command -v nvidia-smi >/dev/null || return 1
	local bus hex n
	hex=$(nvidia-smi --query-gpu=pci.bus_id --format=csv,noheader | head -n 1) # 00000000:17:00.0
	[ -n "$hex" ] || return 1
	IFS=':.' read -r _ b d f <<<"$hex"
	bus="PCI:$((16#$b)):$((16#$d)):$((16#$f))"
	nvidia-xconfig -o "$work/xorg.conf" --busid="$bus" --allow-empty-initial-configuration \
		--use-display-device=None --virtual=1280x1024 >/dev/null 2>&1 || return 1
	n=$(freedisplay)
	Xorg ":$n" -config "$work/xorg.conf" -noreset -nolisten tcp >"$work/xorg.log" 2>&1 &
	xpid=$!
	waitx "$n" && export DISPLAY=":$n"
}

name=
setup=
try() { # try DESCRIPTION: probe the environment set up by the caller
	name=$(probe)
	say "$1: ${name:-no GL 4.3 context}"
	if ! software "$name"; then setup=$1; return 0; fi
	return 1
}
if [ -n "${DISPLAY:-}" ] && try "DISPLAY=$DISPLAY"; then :; else
	unset DISPLAY
	if startxorg && try "headless Xorg (NVIDIA driver) on $DISPLAY"; then :; else
		stopx; unset DISPLAY
		if startxvfb && __GLX_VENDOR_LIBRARY_NAME=nvidia try "Xvfb + __GLX_VENDOR_LIBRARY_NAME=nvidia"; then
			export __GLX_VENDOR_LIBRARY_NAME=nvidia
		else
			egl=
			for f in /usr/share/glvnd/egl_vendor.d/*nvidia*.json; do [ -e "$f" ] && egl=$f; done
			if IDEAL_GL_API=egl __EGL_VENDOR_LIBRARY_FILENAMES=${egl:-${__EGL_VENDOR_LIBRARY_FILENAMES:-}} try "Xvfb + EGL${egl:+ ($egl)}"; then
				export IDEAL_GL_API=egl
				[ -n "$egl" ] && export __EGL_VENDOR_LIBRARY_FILENAMES=$egl
			else
				name=$(probe)
				setup="Xvfb + Mesa (software)"
				if [ -z "$name" ]; then
					say "no OpenGL 4.3 context at all; giving up"
					exit 1
				fi
				say "WARNING: no hardware OpenGL 4.3 context found; running on $name (correctness only)"
			fi
		fi
	fi
fi

say "parity suite on $name ($setup)"
IDEAL_REQUIRE_GPU=1 timeout 200 "$work/gpu.test" -test.run '^TestParity$' -test.v >"$work/parity.log" 2>&1
parity=$?
echo
echo "Parity against kernels.Reference on $name ($setup): normalised MSE (bound 1e-7) and max |error|"
awk '
	/kerneltest\.go:[0-9]+: .*: nmse / {
		split($2, p, "/"); op = p[1]; if ($2 ~ /\/vals:$/) op = op "(vals)"
		for (i = 1; i <= NF; i++) { if ($i == "nmse") n = $(i+1); if ($i == "abs") a = $(i+1) }
		if (!(op in cnt)) order[++k] = op
		cnt[op]++; if (n + 0 > mx[op] + 0) mx[op] = n; if (a + 0 > ab[op] + 0) ab[op] = a
	}
	/--- FAIL/ { fail[$3] = 1 }
	END {
		printf "  %-18s %6s %12s %12s\n", "op", "cases", "max nmse", "max |err|"
		for (i = 1; i <= k; i++) { op = order[i]; printf "  %-18s %6d %12.3g %12.3g\n", op, cnt[op], mx[op], ab[op] }
		for (f in fail) printf "  FAILED: %s\n", f
	}' "$work/parity.log"
if [ $parity -ne 0 ]; then
	say "parity suite FAILED; log:"
	grep -E -- '--- FAIL|kerneltest.go.*(MSE|index|modified)|panic|Error' "$work/parity.log" | head -n 40 >&2
fi

say "benchmarks (gpu and cpu backends, ViT-S/14 448 shapes)"
timeout 150 "$work/gpu.test" -test.run XXX -test.bench '^BenchmarkAll$' -test.benchtime 5x >"$work/bench.log" 2>&1 ||
	say "benchmarks failed or timed out; partial table follows"
echo
echo "Benchmarks at the ViT-S/14 448 shapes, ms/op (mean of 5 runs): $name against the cpu backend"
awk '
	/^BenchmarkAll\// {
		split($1, p, "/"); be = p[2]; kern = p[3] "/" p[4]; sub(/-[0-9]+$/, "", kern)
		if (!(kern in seen)) { seen[kern] = 1; order[++k] = kern }
		for (i = 2; i <= NF; i++) {
			if ($i == "ns/op") ms[be, kern] = $(i-1) / 1e6
			if ($i == "GFLOP/s") gf[be, kern] = $(i-1)
			if ($i == "s/forward") fw[be, kern] = $(i-1)
		}
	}
	END {
		printf "  %-36s %10s %10s %9s %10s %10s\n", "kernel", "gpu ms", "cpu ms", "speed-up", "gpu GF/s", "cpu GF/s"
		for (i = 1; i <= k; i++) {
			x = order[i]; g = ms["gpu", x]; c = ms["cpu", x]
			printf "  %-36s %10.3f %10.3f %8.2fx %10s %10s\n", x, g, c, (g > 0 ? c / g : 0), gf["gpu", x], gf["cpu", x]
		}
		x = "Block/vits14_448"
		if (fw["gpu", x] != "") printf "  ViT-S/14 448 forward (12 blocks, stem excluded): gpu %.2f ms, cpu %.2f ms\n", fw["gpu", x] * 1e3, fw["cpu", x] * 1e3
	}' "$work/bench.log"

if grep -q 'register("bench"' cmd/ideal/*.go 2>/dev/null; then
	say "ideal bench"
	timeout 120 go run ./cmd/ideal bench --backend cpu,gpu || say "ideal bench failed"
fi

[ $parity -ne 0 ] && exit 1
software "$name" && exit 2
exit 0
