# ideal: the two entry points are `make demo` and `make test` (see README.md).
GO      ?= go
BIN     := bin
# Packages that must build without cgo and for the browser (everything but the
# Ebiten viewer, which needs cgo on Linux).
PUREGO   = $(shell $(GO) list ./... | grep -v -e /viewer -e /cmd/ideal-view)

.PHONY: all build deps test vet purego demo wasm clean

all: build

deps:
	@bash scripts/deps.sh

build: deps wasm
	$(GO) build -o $(BIN)/ ./cmd/...

vet: deps
	$(GO) vet ./...

# Pure-Go parts: no cgo, and js/wasm.
purego:
	CGO_ENABLED=0 $(GO) build $(PUREGO)
	GOOS=js GOARCH=wasm $(GO) build $(PUREGO)

test: deps vet purego wasm
	bash scripts/with-xvfb.sh $(GO) test -timeout 40m ./...

demo: deps
	$(GO) build -o $(BIN)/ideal ./cmd/ideal
	bash scripts/demo.sh

# The browser demo's engine as static files in wasm/site/static/, which `ideal web`
# embeds: `make build` runs this first (a binary built without it says how to get it).
wasm:
	mkdir -p wasm/site/static
	cp "$$($(GO) env GOROOT)/lib/wasm/wasm_exec.js" wasm/site/static/
	GOOS=js GOARCH=wasm $(GO) build -trimpath -o wasm/site/static/ideal.wasm ./wasm/main

clean:
	rm -rf $(BIN) demo-out
