//go:build js && wasm

// Command main is the js/wasm build of the scoring engine for the browser demo. It runs
// inside a Web Worker (wasm/site/static/worker.js) and exposes synchronous functions on
// the worker's global object; each returns a JS object with either the result fields or
// "error".
//
//	idealInitDemo()                       -> {}   (the built-in seeded random demo backbone, S = 224)
//	idealLoadBackbone(bytes, size)        -> {}   (a weight file's bytes; S = size, default 224)
//	idealSetReferences(normals, abnormals, masks) -> {warnings}   (arrays of Uint8Array)
//	idealScore(bytes)                     -> {image_score, grid, map: Float32Array, overlay: Uint8Array}
//	idealSample()                         -> {normals, abnormal, mask, queries}   ({name, bytes} each)
package main

import (
	"syscall/js"

	"github.com/ideal-fsad/ideal/wasm/engine"
)

var session *engine.Session

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

func fail(err error) any { return map[string]any{"error": err.Error()} }

func setSession(s *engine.Session, err error) any {
	if err != nil {
		return fail(err)
	}
	if session != nil {
		session.Close()
	}
	session = s
	return map[string]any{}
}

func image(s engine.SampleImage) any {
	return map[string]any{"name": s.Name, "bytes": toJSBytes(s.PNG)}
}

func main() {
	g := js.Global()
	g.Set("idealInitDemo", js.FuncOf(func(js.Value, []js.Value) any { return setSession(engine.NewDemo()) }))
	g.Set("idealLoadBackbone", js.FuncOf(func(_ js.Value, a []js.Value) any {
		size := engine.DemoSize
		if len(a) > 1 && a[1].Type() == js.TypeNumber {
			size = a[1].Int()
		}
		return setSession(engine.NewFromBytes(bytesOf(a[0]), size))
	}))
	g.Set("idealSetReferences", js.FuncOf(func(_ js.Value, a []js.Value) any {
		if session == nil {
			return map[string]any{"error": "no backbone loaded"}
		}
		w, err := session.SetReferences(list(a[0]), list(a[1]), list(a[2]))
		if err != nil {
			return fail(err)
		}
		ws := make([]any, len(w))
		for i, s := range w {
			ws[i] = s
		}
		return map[string]any{"warnings": ws}
	}))
	g.Set("idealScore", js.FuncOf(func(_ js.Value, a []js.Value) any {
		if session == nil {
			return map[string]any{"error": "no backbone loaded"}
		}
		r, err := session.Score(bytesOf(a[0]))
		if err != nil {
			return fail(err)
		}
		m := js.Global().Get("Float32Array").New(len(r.Map))
		for i, v := range r.Map {
			m.SetIndex(i, v)
		}
		return map[string]any{"image_score": r.ImageScore, "grid": r.Grid, "map": m, "overlay": toJSBytes(r.OverlayPNG)}
	}))
	g.Set("idealSample", js.FuncOf(func(js.Value, []js.Value) any {
		s := engine.Sample()
		var normals, queries []any
		for _, n := range s.Normals {
			normals = append(normals, image(n))
		}
		for _, q := range s.Queries {
			queries = append(queries, image(q))
		}
		return map[string]any{"normals": normals, "abnormal": image(s.Abnormal), "mask": image(s.Mask), "queries": queries}
	}))
	g.Call("postMessage", map[string]any{"type": "ready"})
	select {}
}
