//go:build js && wasm

// Command main is the js/wasm build of the scoring engine for the browser demo. It runs
// inside each Web Worker of the page's pool (wasm/site/static/worker.js, pool.js; the
// workers split backbone passes through team.go) and exposes functions on the worker's
// global object. Each returns a Promise and does its work on a goroutine, so the work
// may wait for other promises (WebGPU's device requests and read-backs) while the
// worker's event loop runs; calls are served one at a time, in order. A promise
// resolves to a JS object with either the result fields or "error".
//
//	idealUseGPU(mode)                     -> {backend, simd, gpu, gpu_reason}   (mode "auto": WebGPU when the
//	                                         browser has a hardware adapter, else the CPU (a software adapter,
//	                                         SwiftShader, is many times slower than the CPU engine); "on":
//	                                         WebGPU on any adapter, or an error; "off": the CPU. Sessions made
//	                                         afterwards run on it.)
//	idealInitDemo()                       -> {}   (the built-in seeded random demo backbone, S = 224)
//	idealLoadBackbone(bytes, size)        -> {}   (a weight file's bytes; S = size, default 224)
//	idealLoadHead(bytes or null)          -> {demo, m, c, topk, topr, alpha, heads}   (null: the seeded demo head)
//	idealDecodeImage(bytes)               -> {width, height, rgba: Uint8Array}   (as the engine decodes it)
//	idealDecodeMask(bytes)                -> {width, height, bits: Uint8Array}   (1 = defect)
//	idealSetReferences(normals, abnormals, masks) -> {warnings}   (arrays of Uint8Array; a mask may
//	                                         also be a painted canvas {width, height, rgba}: alpha ≠ 0 = defect)
//	idealScore(bytes)                     -> {image_score, grid, map: Float32Array, overlay: Uint8Array, forwards}
//	idealSample()                         -> {normals, abnormal, mask, queries}   ({name, bytes} each)
//	idealInitRandom(width, depth, heads, size) -> {}   (a seeded random backbone of that shape, for timing)
//	idealEngine()                         -> {backend, simd, gpu, gpu_reason}   (the kernels in use)
//	idealTeam(sab, rank, members)         -> {}   (join a team of workers sharing sab; see team.go)
//	idealFollow(since)                    -> {}   (rank ≥ 1: run shares of passes begun after pass
//	                                         number since, until the pool says stop)
//	idealBench(runs)                      -> {ms: [per pass]}   (backbone passes on a fixed image)
//
// While a pass runs, the engine calls self.idealOnBlock(done, total) after each
// transformer block when the worker defines it (progress on slow devices; on WebGPU a
// block is counted when its work is submitted).
//
// The session caches the features of the images it has seen, so re-setting the
// references after a mask edit and re-scoring the same queries run no backbone pass
// (forwards counts the passes run so far).
package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"syscall/js"
	"time"

	"github.com/ideal-fsad/ideal/cpu"
	"github.com/ideal-fsad/ideal/imaging"
	"github.com/ideal-fsad/ideal/model/head"
	"github.com/ideal-fsad/ideal/wasm/engine"
	"github.com/ideal-fsad/ideal/webgpu"
)

var (
	session   *engine.Session
	team      *jsTeam         // nil: this worker works alone
	gpu       *webgpu.Backend // nil: sessions run on the CPU
	gpuReason string          // why gpu is nil, when WebGPU was asked for
	calls     sync.Mutex      // one exported call at a time
)

// gpuTimeout bounds the adapter and device requests of idealUseGPU.
const gpuTimeout = 20 * time.Second

func bytesOf(v js.Value) []byte {
	b := make([]byte, v.Get("length").Int())
	js.CopyBytesToGo(b, v)
	return b
}

func toJSBytes(b []byte) js.Value {
	a := js.Global().Get("Uint8Array").New(len(b))
	js.CopyBytesToJS(a, b)
	return a
}

func list(v js.Value) [][]byte {
	if v.IsUndefined() || v.IsNull() {
		return nil
	}
	out := make([][]byte, v.Length())
	for i := range out {
		out[i] = bytesOf(v.Index(i))
	}
	return out
}

// masks reads the masks argument: a mask file's bytes (Uint8Array) or a painted canvas
// {width, height, rgba}.
func masks(v js.Value) ([]*imaging.Mask, error) {
	if v.IsUndefined() || v.IsNull() {
		return nil, nil
	}
	out := make([]*imaging.Mask, v.Length())
	for i := range out {
		m := v.Index(i)
		var err error
		if r := m.Get("rgba"); !r.IsUndefined() {
			out[i], err = engine.MaskFromRGBA(m.Get("width").Int(), m.Get("height").Int(), bytesOf(r))
		} else {
			out[i], err = imaging.DecodeMask(bytesOf(m))
		}
		if err != nil {
			return nil, fmt.Errorf("mask %d: %w", i+1, err)
		}
	}
	return out, nil
}

func headInfo(w *head.Weights, demo bool) any {
	return map[string]any{"demo": demo, "m": w.M(), "c": w.C(), "topk": w.TopK, "topr": w.TopR, "alpha": w.Alpha, "heads": w.Heads}
}

var errNoBackbone = errors.New("no backbone loaded")

func fail(err error) any { return map[string]any{"error": err.Error()} }

func setSession(s *engine.Session, err error) any {
	if err != nil {
		return fail(err)
	}
	if session != nil {
		session.Close()
	}
	session = s
	if team != nil && team.rank == 0 {
		s.SetTeam(team)
	}
	if f := js.Global().Get("idealOnBlock"); f.Type() == js.TypeFunction {
		s.SetProgress(func(done, total int) { f.Invoke(done, total) })
	}
	return map[string]any{}
}

func image(s engine.SampleImage) any {
	return map[string]any{"name": s.Name, "bytes": toJSBytes(s.PNG)}
}

// async exposes fn as a JavaScript function that returns a Promise of fn's result:
// fn runs on its own goroutine, after the calls before it have ended, so it may wait
// for JavaScript promises (a synchronous JS→Go call cannot). A panic becomes an error
// result and drops the session, which may be half-updated.
func async(fn func(js.Value, []js.Value) any) js.Func {
	return js.FuncOf(func(this js.Value, args []js.Value) any {
		var resolve js.Value
		executor := js.FuncOf(func(_ js.Value, p []js.Value) any {
			resolve = p[0]
			return nil
		})
		promise := js.Global().Get("Promise").New(executor) // runs executor at once
		executor.Release()
		args = slices.Clone(args)
		go func() {
			calls.Lock()
			defer calls.Unlock()
			resolve.Invoke(guarded(fn, this, args))
		}()
		return promise
	})
}

// guarded runs fn, turning a panic into an error result.
func guarded(fn func(js.Value, []js.Value) any, this js.Value, args []js.Value) (out any) {
	defer func() {
		if r := recover(); r != nil {
			session = nil
			out = fail(fmt.Errorf("engine failure (the backbone must be loaded again): %v", r))
		}
	}()
	return fn(this, args)
}

func main() {
	g := js.Global()
	for _, f := range []struct {
		name string
		fn   func(js.Value, []js.Value) any
	}{
		{"idealUseGPU", useGPU},
		{"idealInitDemo", initDemo},
		{"idealLoadBackbone", loadBackbone},
		{"idealLoadHead", loadHead},
		{"idealDecodeImage", decodeImage},
		{"idealDecodeMask", decodeMask},
		{"idealSetReferences", setReferences},
		{"idealScore", score},
		{"idealSample", sample},
		{"idealInitRandom", initRandom},
		{"idealEngine", engineInfo},
		{"idealTeam", joinTeam},
		{"idealFollow", follow},
		{"idealBench", bench},
	} {
		g.Set(f.name, async(f.fn))
	}
	g.Call("postMessage", map[string]any{"type": "ready"})
	select {}
}

// initDemo is idealInitDemo(): a session on the seeded random demo backbone.
func initDemo(js.Value, []js.Value) any { return setSession(engine.NewDemo(backendOpts()...)) }

// loadBackbone is idealLoadBackbone(bytes, size): a session on a weight file's
// backbone at side size (default engine.DemoSize).
func loadBackbone(_ js.Value, a []js.Value) any {
	size := engine.DemoSize
	if len(a) > 1 && a[1].Type() == js.TypeNumber {
		size = a[1].Int()
	}
	return setSession(engine.NewFromBytes(bytesOf(a[0]), size, backendOpts()...))
}

// loadHead is idealLoadHead(bytes or null): sets the session's head from a head
// file's bytes, or the seeded demo head for null, and describes it.
func loadHead(_ js.Value, a []js.Value) any {
	if session == nil {
		return fail(errNoBackbone)
	}
	var w *head.Weights
	if len(a) > 0 && !a[0].IsNull() && !a[0].IsUndefined() {
		var err error
		if w, err = engine.HeadFromBytes(bytesOf(a[0])); err != nil {
			return fail(err)
		}
	}
	if err := session.SetHead(w); err != nil {
		return fail(err)
	}
	return headInfo(session.Head())
}

// decodeImage is idealDecodeImage(bytes): the image's RGBA pixels as the engine
// decodes it.
func decodeImage(_ js.Value, a []js.Value) any {
	w, h, rgba, err := engine.DecodeRGBA(bytesOf(a[0]))
	if err != nil {
		return fail(err)
	}
	return map[string]any{"width": w, "height": h, "rgba": toJSBytes(rgba)}
}

// decodeMask is idealDecodeMask(bytes): the mask's pixels, 1 for defect.
func decodeMask(_ js.Value, a []js.Value) any {
	w, h, bits, err := engine.DecodeMaskBits(bytesOf(a[0]))
	if err != nil {
		return fail(err)
	}
	return map[string]any{"width": w, "height": h, "bits": toJSBytes(bits)}
}

// setReferences is idealSetReferences(normals, abnormals, masks): sets the
// session's reference images and returns its warnings.
func setReferences(_ js.Value, a []js.Value) any {
	if session == nil {
		return fail(errNoBackbone)
	}
	ms, err := masks(a[2])
	if err != nil {
		return fail(err)
	}
	w, err := session.SetReferencesMasks(list(a[0]), list(a[1]), ms)
	if err != nil {
		return fail(err)
	}
	ws := make([]any, len(w))
	for i, s := range w {
		ws[i] = s
	}
	return map[string]any{"warnings": ws}
}

// score is idealScore(bytes): scores a query image against the references.
func score(_ js.Value, a []js.Value) any {
	if session == nil {
		return fail(errNoBackbone)
	}
	r, err := session.Score(bytesOf(a[0]))
	if err != nil {
		return fail(err)
	}
	m := js.Global().Get("Float32Array").New(len(r.Map))
	for i, v := range r.Map {
		m.SetIndex(i, v)
	}
	out := map[string]any{"image_score": r.ImageScore, "grid": r.Grid, "map": m, "overlay": toJSBytes(r.OverlayPNG), "forwards": session.Forwards()}
	if err := session.TeamError(); err != nil {
		out["team_error"] = err.Error()
	}
	if gpu != nil {
		out["fallbacks"] = fallbacks()
	}
	return out
}

// initRandom is idealInitRandom(width, depth, heads, size).
func initRandom(_ js.Value, a []js.Value) any {
	return setSession(engine.NewRandom(a[0].Int(), a[1].Int(), a[2].Int(), a[3].Int(), backendOpts()...))
}

// engineInfo is idealEngine(): the kernels the engine runs on, whether that is WebGPU
// (else why not, when it was asked for) and the ops WebGPU ran on the CPU, with why.
func engineInfo(js.Value, []js.Value) any {
	name := cpu.New(cpu.WithThreads(1)).Name()
	switch {
	case session != nil:
		name = session.Backend()
	case gpu != nil:
		name = gpu.Name()
	}
	out := map[string]any{"backend": name, "simd": strings.Contains(name, "simd"), "gpu": gpu != nil, "gpu_reason": gpuReason}
	if gpu != nil {
		out["fallbacks"] = fallbacks()
	}
	return out
}

// fallbacks lists the distinct "Op: reason" of the ops WebGPU ran on the CPU.
func fallbacks() []any {
	var out []any
	seen := map[string]bool{}
	for _, f := range gpu.Fallbacks() {
		if !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	return out
}

// backendOpts are the session options of the backend in use (none: the CPU).
func backendOpts() []engine.Option {
	if gpu == nil {
		return nil
	}
	return []engine.Option{engine.WithBackend(gpu)}
}

// useGPU is idealUseGPU(mode): picks the backend of the sessions made from now on.
// Changing it drops the current session (its tensors belong to the old backend).
func useGPU(_ js.Value, a []js.Value) any {
	mode := "auto"
	if len(a) > 0 && a[0].Type() == js.TypeString {
		mode = a[0].String()
	}
	switch mode {
	case "off":
		setGPU(nil, "off by request")
	case "auto", "on":
		if gpu != nil {
			break
		}
		ctx, cancel := context.WithTimeout(context.Background(), gpuTimeout)
		b, err := webgpu.New(ctx)
		cancel()
		if err != nil {
			setGPU(nil, err.Error())
			if mode == "on" {
				return fail(err)
			}
			break
		}
		if mode == "auto" && b.Software() {
			setGPU(nil, fmt.Sprintf("the browser's WebGPU adapter runs on the CPU (%s, software), slower than the CPU engine; add ?webgpu=on to the page's address to use it anyway", b.Name()))
			b.Close()
			break
		}
		setGPU(b, "")
	default:
		return fail(fmt.Errorf("idealUseGPU(%q): want auto, on or off", mode))
	}
	return engineInfo(js.Undefined(), nil)
}

// setGPU makes b (nil: the CPU) the backend of new sessions.
func setGPU(b *webgpu.Backend, reason string) {
	gpuReason = reason
	if b == gpu {
		return
	}
	if session != nil {
		session.Close()
		session = nil
	}
	if gpu != nil {
		gpu.Close()
	}
	gpu = b
}

// joinTeam is idealTeam(sab, rank, members); a null sab leaves the team.
func joinTeam(_ js.Value, a []js.Value) any {
	team = nil
	if !a[0].IsNull() && !a[0].IsUndefined() {
		team = newJSTeam(a[0], a[1].Int(), a[2].Int())
	}
	if session != nil {
		if team != nil && team.rank == 0 {
			session.SetTeam(team)
		} else {
			session.SetTeam(nil)
		}
	}
	return map[string]any{}
}

// follow is idealFollow(since): blocks this worker running its shares of passes.
func follow(_ js.Value, a []js.Value) any {
	if session == nil || team == nil || team.rank == 0 {
		return fail(errors.New("follow: no backbone, or not a following member of a team"))
	}
	if err := team.follow(a[0].Int(), func(px []float32) error { return session.Follow(team, px) }); err != nil {
		return fail(err)
	}
	return map[string]any{}
}

// bench is idealBench(runs): times backbone passes on a fixed image.
func bench(_ js.Value, a []js.Value) any {
	if session == nil {
		return fail(errNoBackbone)
	}
	var ms []any
	for range a[0].Int() {
		t0 := time.Now()
		if err := session.BenchPass(); err != nil {
			return fail(err)
		}
		ms = append(ms, float64(time.Since(t0).Microseconds())/1000)
	}
	out := map[string]any{"ms": ms}
	if err := session.TeamError(); err != nil {
		out["team_error"] = err.Error()
	}
	return out
}

// sample is idealSample(): the built-in sample images.
func sample(js.Value, []js.Value) any {
	s := engine.Sample()
	var normals, queries []any
	for _, n := range s.Normals {
		normals = append(normals, image(n))
	}
	for _, q := range s.Queries {
		queries = append(queries, image(q))
	}
	return map[string]any{"normals": normals, "abnormal": image(s.Abnormal), "mask": image(s.Mask), "queries": queries}
}
