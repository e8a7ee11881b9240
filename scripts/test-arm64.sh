#!/usr/bin/env bash
# test-arm64.sh: cross-compiles the cpu backend for linux/arm64 and runs its tests
# (the NEON micro-kernels' and vector helpers' guard tests, their comparison with
# the pure-Go code, the parity suite against the reference) and those of kernels/...
# under user-mode qemu, then cpu again with -tags noasm (the pure-Go path).
# Bounded in time: -short skips the parity suite's large cases, and the script takes
# about two minutes under qemu on two cores; -full takes about eight more (the large
# parity cases, mostly the naive reference). qemu timings say nothing about real
# arm64 hardware.
#
#   bash scripts/test-arm64.sh           # from the repository root or anywhere
#   bash scripts/test-arm64.sh -full     # without -short (several minutes more)
#
# Needs: go and qemu-aarch64-static (Debian qemu-user-static; scripts/deps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf 'test-arm64: %s\n' "$*" >&2; }

qemu=$(command -v qemu-aarch64-static || true)
if [ -z "$qemu" ]; then
	say "FAIL: qemu-aarch64-static not found (install qemu-user-static: scripts/deps.sh)"
	exit 1
fi
short=-short
if [ "${1:-}" = "-full" ]; then
	short=
fi
export GOOS=linux GOARCH=arm64 CGO_ENABLED=0

say "go vet (arm64)"
go vet ./cpu/

say "the micro-kernel path of this build"
# TestNEONPath fails unless New().Name() is cpu/neon; TestParity logs the name.
timeout 300 go test -exec "$qemu" -count=1 -v -run 'TestNEONPath|TestParity$' $short -timeout 5m ./cpu/ |
	grep -E '^(--- [A-Z]+: TestNEONPath|ok|FAIL)|cpu_test.go:[0-9]+: cpu/' || { say "FAIL: path check"; exit 1; }

say "cpu with NEON and kernels/...: guard tests, pure-Go comparison, parity suite ${short:-(full)}"
timeout 900 go test -exec "$qemu" -count=1 $short -timeout 15m ./cpu/ ./kernels/...

say "cpu with -tags noasm (pure Go) ${short:-(full)}"
timeout 600 go test -exec "$qemu" -count=1 -tags noasm $short -timeout 10m ./cpu/

say "ok"
