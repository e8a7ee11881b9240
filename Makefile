# ideal: the two entry points are `make demo` and `make test` (see README.md).
GO      ?= go
BIN     := bin
# Packages that must build without cgo and for the browser (everything but the
# Ebiten viewer, which needs cgo on Linux).
PUREGO   = $(shell $(GO) list ./... | grep -v -e /viewer -e /cmd/ideal-view)
# The library for the browser: not the host programs that drive Chromium.
JSWASM   = $(shell $(GO) list ./... | grep -v -e /viewer -e /cmd/ -e /internal/wasmbrowser -e /internal/chromium)

.PHONY: all build deps test test-wasm test-arm64 vet purego demo wasm clean

all: build

deps:
	@bash scripts/deps.sh

build: deps wasm
	$(GO) build -o $(BIN)/ ./cmd/...

vet: deps
	$(GO) vet ./...
	GOOS=js GOARCH=wasm $(GO) vet $(JSWASM)

# Pure-Go parts: no cgo; and the library for js/wasm.
purego:
	CGO_ENABLED=0 $(GO) build $(PUREGO)
	GOOS=js GOARCH=wasm $(GO) build $(JSWASM)

test: deps vet purego wasm test-wasm test-arm64
	bash scripts/with-xvfb.sh $(GO) test -timeout 40m ./...

# The browser engine's WebAssembly SIMD128 kernels need Go 1.27's simd/archsimd
# (GOEXPERIMENT=simd): that toolchain comes from the Go module proxy (GOTOOLCHAIN, about
# 10 s the first time); everything else builds with go.mod's.
WASM_TOOLCHAIN ?= go1.27.3
WASM_GO = GOTOOLCHAIN=$(WASM_TOOLCHAIN) GOEXPERIMENT=simd GOOS=js GOARCH=wasm $(GO)
WASM_ROOT = $$(GOTOOLCHAIN=$(WASM_TOOLCHAIN) $(GO) env GOROOT)

# The kernel parity suite and the split forward pass on the SIMD128 path, in Node.
test-wasm: deps
	$(WASM_GO) test -exec "$(WASM_ROOT)/lib/wasm/go_js_wasm_exec" -short -timeout 20m ./cpu/ ./model/dinov2/ ./wasm/engine/

# The kernel parity suite on the arm64 NEON path, under user-mode qemu.
test-arm64: deps
	bash scripts/test-arm64.sh

demo: deps
	$(GO) build -o $(BIN)/ideal ./cmd/ideal
	bash scripts/demo.sh

# The browser demo's engine as static files in wasm/site/static/, which `ideal web`
# embeds: `make build` runs this first (a binary built without it says how to get it).
# wasm_exec.js comes from the toolchain that builds ideal.wasm.
wasm:
	mkdir -p wasm/site/static
	install -m 644 "$(WASM_ROOT)/lib/wasm/wasm_exec.js" wasm/site/static/
	$(WASM_GO) build -trimpath -o wasm/site/static/ideal.wasm ./wasm/main

clean:
	rm -rf $(BIN) demo-out
