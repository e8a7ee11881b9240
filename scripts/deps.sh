#!/usr/bin/env bash
# Installs the Debian packages the build and the tests need, only those missing.
# Idempotent: a machine that has them all does nothing (and needs no network).
set -euo pipefail
pkgs=(
  # cgo build of go-gl/gl + go-gl/glfw (gpu/) and of Ebiten (viewer/)
  gcc pkg-config libgl1-mesa-dev libx11-dev libxcursor-dev libxrandr-dev
  libxinerama-dev libxi-dev libxxf86vm-dev libasound2-dev
  # a GL 4.5 core context without a GPU: Mesa llvmpipe under a virtual X server
  xvfb xauth libgl1-mesa-dri
  # the browser demo's end-to-end test drives headless Chromium; the wasm SIMD parity
  # suite runs in Node
  chromium nodejs
  # the arm64 (NEON) parity suite runs under user-mode qemu
  qemu-user-static
)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "deps: installing ${missing[*]}" >&2
SUDO=
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
