//go:build js && wasm

package webgpu

import (
	"context"
	"embed"
	"fmt"
	"math"
	"slices"
	"strings"
	"syscall/js"
	"unsafe"

	"github.com/ideal-fsad/ideal/cpu"
	"github.com/ideal-fsad/ideal/kernels"
)

//go:embed wgsl/*.wgsl
var wgslFS embed.FS

// GPUBufferUsage and GPUMapMode flags.
const (
	usageMapRead  = 0x1
	usageCopySrc  = 0x4
	usageCopyDst  = 0x8
	usageUniform  = 0x40
	usageStorage  = 0x80
	mapModeRead   = 0x1
	tensorUsage   = usageStorage | usageCopySrc | usageCopyDst
	uniformUsage  = usageUniform | usageCopyDst
	stagingUsage  = usageMapRead | usageCopyDst
	minBufferSize = 16
)

// Limits are the device limits the kernels are sized against.
type Limits struct {
	MaxInvocationsPerWorkgroup int // maxComputeInvocationsPerWorkgroup
	MaxWorkgroupStorage        int // maxComputeWorkgroupStorageSize, bytes
	MaxWorkgroupSizeX          int // maxComputeWorkgroupSizeX
	MaxWorkgroupSizeY          int // maxComputeWorkgroupSizeY
	MaxWorkgroupsPerDimension  int // maxComputeWorkgroupsPerDimension
	MaxStorageBindingSize      int // maxStorageBufferBindingSize, bytes
	MaxBufferSize              int // maxBufferSize, bytes
}

// Backend is the WebGPU implementation of kernels.Backend. It is not safe for
// concurrent use.
type Backend struct {
	device, queue js.Value
	name          string
	cpuAdapter    bool // the adapter runs shaders on the CPU (SwiftShader): kernels without barriers win
	limits        Limits
	pipes         map[string]js.Value
	dummy         js.Value // bound where an optional tensor is absent
	cpu           *cpu.Backend
	live          map[*tensor]struct{}
	onError       js.Func
	onLost        js.Func
	err           error // the first error of the device (validation, out of memory, lost)
	closed        bool

	fallbacks  []string       // "Op: reason", one per op run on the CPU
	dispatches map[string]int // WGSL dispatches per op

	// Recorded work not yet submitted (see flush): the command encoder, its open
	// compute pass, how many dispatches that holds, and the buffers to destroy once it
	// is submitted (scratch buffers, freed tensors).
	enc, pass js.Value
	pending   int
	doomed    []js.Value
}

// maxPending bounds the dispatches recorded before they are submitted: the GPU starts
// on a long pass while the rest is recorded.
const maxPending = 64

// tensor is a GPUBuffer of n float32 values.
type tensor struct {
	shape []int
	n     int
	buf   js.Value
	owner *Backend
}

// Shape implements kernels.Tensor.
func (t *tensor) Shape() []int { return t.shape }

// await waits for a JavaScript promise. It must run on a goroutine that may block
// (not inside a synchronous JS→Go callback).
func await(ctx context.Context, p js.Value) (js.Value, error) {
	type result struct {
		v   js.Value
		err error
	}
	ch := make(chan result, 1)
	then := js.FuncOf(func(this js.Value, args []js.Value) any {
		v := js.Undefined()
		if len(args) > 0 {
			v = args[0]
		}
		ch <- result{v: v}
		return nil
	})
	catch := js.FuncOf(func(this js.Value, args []js.Value) any {
		msg := "rejected"
		if len(args) > 0 {
			msg = jsError(args[0])
		}
		ch <- result{err: fmt.Errorf("%s", msg)}
		return nil
	})
	p.Call("then", then, catch)
	select {
	case r := <-ch:
		then.Release()
		catch.Release()
		return r.v, r.err
	case <-ctx.Done():
		return js.Undefined(), ctx.Err() // the callbacks stay alive: the promise may still settle
	}
}

// jsError renders a thrown JavaScript value.
func jsError(v js.Value) string {
	if v.Type() == js.TypeObject {
		if m := v.Get("message"); m.Type() == js.TypeString {
			if n := v.Get("name"); n.Type() == js.TypeString {
				return n.String() + ": " + m.String()
			}
			return m.String()
		}
	}
	return v.String()
}

// New requests a WebGPU adapter and device. The error wraps ErrUnavailable and says
// why when there is none.
func New(ctx context.Context) (*Backend, error) {
	nav := js.Global().Get("navigator")
	if nav.IsUndefined() || nav.Get("gpu").IsUndefined() {
		return nil, fmt.Errorf("%w: navigator.gpu is missing (not a browser, or WebGPU is off: Chromium on Linux needs --enable-unsafe-webgpu)", ErrUnavailable)
	}
	// A laptop with two GPUs gives its discrete one.
	adapter, err := await(ctx, nav.Get("gpu").Call("requestAdapter", map[string]any{"powerPreference": "high-performance"}))
	if err != nil {
		return nil, fmt.Errorf("%w: requestAdapter: %v", ErrUnavailable, err)
	}
	if adapter.IsNull() || adapter.IsUndefined() {
		return nil, fmt.Errorf("%w: requestAdapter found no adapter (no usable GPU and no software adapter)", ErrUnavailable)
	}
	device, err := await(ctx, adapter.Call("requestDevice"))
	if err != nil {
		return nil, fmt.Errorf("%w: requestDevice: %v", ErrUnavailable, err)
	}
	b := &Backend{
		device: device, queue: device.Get("queue"), name: "webgpu/" + adapterName(adapter), cpuAdapter: isCPUAdapter(adapter),
		pipes: map[string]js.Value{}, cpu: cpu.New(cpu.WithThreads(1)),
		live: map[*tensor]struct{}{}, dispatches: map[string]int{},
		enc: js.Undefined(), pass: js.Undefined(),
	}
	l := device.Get("limits")
	get := func(name string) int { return int(l.Get(name).Float()) }
	b.limits = Limits{
		MaxInvocationsPerWorkgroup: get("maxComputeInvocationsPerWorkgroup"),
		MaxWorkgroupStorage:        get("maxComputeWorkgroupStorageSize"),
		MaxWorkgroupSizeX:          get("maxComputeWorkgroupSizeX"),
		MaxWorkgroupSizeY:          get("maxComputeWorkgroupSizeY"),
		MaxWorkgroupsPerDimension:  get("maxComputeWorkgroupsPerDimension"),
		MaxStorageBindingSize:      get("maxStorageBufferBindingSize"),
		MaxBufferSize:              get("maxBufferSize"),
	}
	b.onError = js.FuncOf(func(this js.Value, args []js.Value) any {
		msg := "unknown error"
		if len(args) > 0 {
			if e := args[0].Get("error"); !e.IsUndefined() {
				msg = jsError(e)
			}
		}
		b.fail(fmt.Errorf("webgpu: device error: %s", msg))
		return nil
	})
	device.Call("addEventListener", "uncapturederror", b.onError)
	b.onLost = js.FuncOf(func(this js.Value, args []js.Value) any {
		if !b.closed {
			msg := "lost"
			if len(args) > 0 {
				msg = args[0].Get("reason").String() + ": " + args[0].Get("message").String()
			}
			b.fail(fmt.Errorf("webgpu: device lost: %s", msg))
		}
		return nil
	})
	device.Get("lost").Call("then", b.onLost)
	b.dummy = b.newBuffer(minBufferSize, tensorUsage)
	return b, nil
}

// adapterName is the adapter's vendor, else its description or architecture.
func adapterName(adapter js.Value) string {
	info := adapter.Get("info")
	if info.IsUndefined() || info.IsNull() {
		return "unknown"
	}
	for _, k := range []string{"vendor", "description", "architecture"} {
		if v := info.Get(k); v.Type() == js.TypeString && v.String() != "" {
			return v.String()
		}
	}
	return "unknown"
}

// isCPUAdapter says whether the adapter is a software one on the CPU: the fallback
// adapter, or SwiftShader (what headless Chromium without a GPU gives).
func isCPUAdapter(adapter js.Value) bool {
	if f := adapter.Get("isFallbackAdapter"); f.Type() == js.TypeBoolean && f.Bool() {
		return true
	}
	info := adapter.Get("info")
	if info.IsUndefined() || info.IsNull() {
		return false
	}
	for _, k := range []string{"vendor", "architecture", "device", "description"} {
		if v := info.Get(k); v.Type() == js.TypeString && strings.Contains(strings.ToLower(v.String()), "swiftshader") {
			return true
		}
	}
	return false
}

// fail records the first error of the device; Download and Close return it.
func (b *Backend) fail(err error) {
	if b.err == nil {
		b.err = err
	}
}

// Name implements kernels.Backend: "webgpu/<adapter vendor>" (e.g. "webgpu/google"
// for SwiftShader).
func (b *Backend) Name() string { return b.name }

// Software says whether the adapter runs shaders on the CPU (SwiftShader, the fallback
// adapter): correct, and slower than the CPU backend on the same cores.
func (b *Backend) Software() bool { return b.cpuAdapter }

// Limits returns the device limits the kernels are sized against.
func (b *Backend) Limits() Limits { return b.limits }

// Fallbacks lists the ops that ran on the CPU backend, one "Op: reason" per run.
func (b *Backend) Fallbacks() []string { return slices.Clone(b.fallbacks) }

// Dispatches returns how many WGSL dispatches each op made.
func (b *Backend) Dispatches() map[string]int {
	m := make(map[string]int, len(b.dispatches))
	for k, v := range b.dispatches {
		m[k] = v
	}
	return m
}

func (b *Backend) newBuffer(size, usage int) js.Value {
	return b.device.Call("createBuffer", map[string]any{"size": size, "usage": usage})
}

// bufferSize is the byte size of a buffer for n float32 values, rounded up to 16 bytes
// (never 0: a binding must not be empty; a whole number of vec4s for the kernels that
// read vec4s).
func bufferSize(n int) int { return max((4*n+15)/16*16, minBufferSize) }

// bytesOf views float32 values as bytes (wasm is little-endian, as WebGPU buffers are).
func bytesOf(d []float32) []byte {
	if len(d) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&d[0])), 4*len(d))
}

// encoder returns the command encoder of the recorded work, outside a compute pass
// (copies are recorded there).
func (b *Backend) encoder() js.Value {
	if !b.pass.IsUndefined() {
		b.pass.Call("end")
		b.pass = js.Undefined()
	}
	if b.enc.IsUndefined() {
		b.enc = b.device.Call("createCommandEncoder")
	}
	return b.enc
}

// computePass returns the open compute pass of the recorded work (dispatches in one
// pass see each other's writes: WebGPU orders them).
func (b *Backend) computePass() js.Value {
	if b.pass.IsUndefined() {
		b.pass = b.encoder().Call("beginComputePass")
	}
	return b.pass
}

// flush submits the recorded work, then destroys the buffers doomed meanwhile (a
// buffer destroyed after a submit lives until that work is done).
func (b *Backend) flush() {
	if !b.enc.IsUndefined() {
		b.encoder() // ends the pass
		b.queue.Call("submit", []any{b.enc.Call("finish")})
		b.enc = js.Undefined()
		b.pending = 0
	}
	for _, buf := range b.doomed {
		buf.Call("destroy")
	}
	b.doomed = b.doomed[:0]
}

// doom destroys buf once the recorded work that may use it is submitted.
func (b *Backend) doom(buf js.Value) {
	if b.enc.IsUndefined() {
		buf.Call("destroy")
		return
	}
	b.doomed = append(b.doomed, buf)
}

// write copies host bytes into buf at offset 0. queue.writeBuffer takes effect before
// the next submit, so the recorded work is submitted first: work recorded earlier
// must see buf's old contents.
func (b *Backend) write(buf js.Value, data []byte) {
	b.flush()
	b.writeNew(buf, data)
}

// writeNew is write for a buffer no recorded work uses (one just created).
func (b *Backend) writeNew(buf js.Value, data []byte) {
	if len(data) == 0 {
		return
	}
	u8 := js.Global().Get("Uint8Array").New(len(data))
	js.CopyBytesToJS(u8, data)
	b.queue.Call("writeBuffer", buf, 0, u8)
}

// tensor returns t's implementation, panicking on a foreign or freed handle.
func (b *Backend) tensor(t kernels.Tensor, op string) *tensor {
	tt, ok := t.(*tensor)
	kernels.Check(ok && tt.owner == b, op, "tensor %T is not from this webgpu backend", t)
	_, live := b.live[tt]
	kernels.Check(live, op, "tensor %v used after Free", tt.shape)
	return tt
}

func (b *Backend) alloc(shape []int) *tensor {
	if b.closed {
		panic("webgpu: backend used after Close")
	}
	n := 1
	for _, d := range shape {
		kernels.Check(d >= 0, "Zeros", "negative dimension in %v", shape)
		n *= d
	}
	t := &tensor{shape: slices.Clone(shape), n: n, owner: b}
	t.buf = b.newBuffer(bufferSize(n), tensorUsage) // zero-initialised by WebGPU
	b.live[t] = struct{}{}
	return t
}

// Upload implements kernels.Backend (queue.writeBuffer).
func (b *Backend) Upload(data []float32, shape ...int) kernels.Tensor {
	t := b.alloc(shape)
	kernels.Check(len(data) == t.n, "Upload", "%d values for shape %v", len(data), shape)
	b.writeNew(t.buf, bytesOf(data))
	return t
}

// Zeros implements kernels.Backend.
func (b *Backend) Zeros(shape ...int) kernels.Tensor { return b.alloc(shape) }

// Download implements kernels.Backend: the recorded work and a copy into a MAP_READ
// buffer are submitted, then mapAsync (waited for, see the package comment) and a copy
// out.
func (b *Backend) Download(t kernels.Tensor) ([]float32, error) {
	tt := b.tensor(t, "Download")
	out := make([]float32, tt.n)
	if b.err != nil {
		return nil, b.err
	}
	if tt.n == 0 {
		return out, nil
	}
	size := 4 * tt.n
	st := b.newBuffer(size, stagingUsage)
	defer st.Call("destroy")
	b.encoder().Call("copyBufferToBuffer", tt.buf, 0, st, 0, size)
	b.flush()
	if _, err := await(context.Background(), st.Call("mapAsync", mapModeRead)); err != nil {
		b.fail(fmt.Errorf("webgpu: Download: mapAsync: %v", err))
		return nil, b.err
	}
	u8 := js.Global().Get("Uint8Array").New(st.Call("getMappedRange"))
	js.CopyBytesToGo(bytesOf(out), u8)
	st.Call("unmap")
	if b.err != nil {
		return nil, b.err
	}
	return out, nil
}

// Free implements kernels.Backend.
func (b *Backend) Free(t kernels.Tensor) {
	if t == nil {
		return
	}
	tt := b.tensor(t, "Free")
	b.doom(tt.buf)
	delete(b.live, tt)
}

// Close implements kernels.Backend: it destroys every buffer and the device, and
// returns the first error the device reported, if any.
func (b *Backend) Close() error {
	if b.closed {
		return nil
	}
	for t := range b.live {
		t.buf.Call("destroy")
	}
	for _, buf := range b.doomed { // the recorded work is dropped with the device
		buf.Call("destroy")
	}
	b.live, b.doomed, b.enc, b.pass = nil, nil, js.Undefined(), js.Undefined()
	b.dummy.Call("destroy")
	b.closed = true
	b.device.Call("destroy")
	b.device.Call("removeEventListener", "uncapturederror", b.onError)
	b.onError.Release()
	// onLost stays: the lost promise settles after destroy and calls it.
	return b.err
}

// wgslLibs are the shared WGSL files, prepended to a kernel that calls their function
// (or to a library before it in this list that does).
var wgslLibs = []struct{ call, file string }{{"epilogue(", "matmul_epilogue.wgsl"}, {"gelu(", "gelu.wgsl"}, {"groupSum(", "reduce.wgsl"}}

// pipeline returns the compute pipeline of a WGSL file, compiled once per prefix
// (the consts a variant prepends) and cached. ok is false, with the reason recorded
// as a device error, when it does not compile.
func (b *Backend) pipeline(file, prefix string) (js.Value, bool) {
	key := file + "\x00" + prefix
	if p, ok := b.pipes[key]; ok {
		return p, true
	}
	src, err := wgslFS.ReadFile("wgsl/" + file)
	if err != nil {
		panic(err)
	}
	code := string(src)
	for _, lib := range wgslLibs {
		if strings.Contains(code, lib.call) {
			l, _ := wgslFS.ReadFile("wgsl/" + lib.file)
			code = string(l) + code
		}
	}
	code = prefix + code
	mod := b.device.Call("createShaderModule", map[string]any{"code": code, "label": file})
	p, err := await(context.Background(), b.device.Call("createComputePipelineAsync", map[string]any{
		"label": file, "layout": "auto", "compute": map[string]any{"module": mod, "entryPoint": "main"},
	}))
	if err != nil {
		b.fail(fmt.Errorf("webgpu: compiling %s: %v", file, err))
		return js.Undefined(), false
	}
	b.pipes[key] = p
	return p, true
}

// grid lays out n work groups in at most two dimensions within the per-dimension
// limit (the kernels use the linear index wg.y·nwg.x + wg.x and ignore the extra
// groups of the last row). ok is false when even that does not fit.
func (b *Backend) grid(n int) (g [3]int, ok bool) {
	lim := b.limits.MaxWorkgroupsPerDimension
	if n <= lim {
		return [3]int{n, 1, 1}, true
	}
	y := (n + lim - 1) / lim
	return [3]int{lim, y, 1}, y <= lim
}

// fits says why a kernel cannot run on these operands on this device ("" when it
// can): its work group (x·y invocations, storage bytes of workgroup memory), its grid
// or a tensor's binding size.
func (b *Backend) fits(x, y, storage int, g [3]int, gridOK bool, ts ...kernels.Tensor) string {
	l := b.limits
	switch {
	case x*y > l.MaxInvocationsPerWorkgroup || x > l.MaxWorkgroupSizeX || y > l.MaxWorkgroupSizeY:
		return fmt.Sprintf("work group %d×%d exceeds the device (%d invocations, %d×%d)", x, y, l.MaxInvocationsPerWorkgroup, l.MaxWorkgroupSizeX, l.MaxWorkgroupSizeY)
	case storage > l.MaxWorkgroupStorage:
		return fmt.Sprintf("%d bytes of workgroup storage exceed the device's %d", storage, l.MaxWorkgroupStorage)
	case !gridOK || g[0] > l.MaxWorkgroupsPerDimension || g[1] > l.MaxWorkgroupsPerDimension:
		return fmt.Sprintf("grid %v exceeds %d work groups per dimension", g, l.MaxWorkgroupsPerDimension)
	}
	for _, t := range ts {
		if t != nil && 4*kernels.Numel(t) > l.MaxStorageBindingSize {
			return fmt.Sprintf("tensor %v exceeds the storage binding size %d", t.Shape(), l.MaxStorageBindingSize)
		}
	}
	return ""
}

// binder collects the storage buffers of one dispatch: absent optional inputs become
// the dummy buffer, and an input that is the output (an allowed alias) is copied
// first, since WebGPU forbids one buffer bound both read-only and writable.
type binder struct {
	b     *Backend
	op    string
	out   *tensor
	bufs  []js.Value
	temps []js.Value
}

// bind starts the bindings of a dispatch whose output is out (nil for a scratch
// buffer, added with raw).
func (b *Backend) bind(op string, out kernels.Tensor) *binder {
	bd := &binder{b: b, op: op}
	if out != nil {
		bd.out = b.tensor(out, op)
	}
	return bd
}

// raw adds a binding of a scratch buffer.
func (bd *binder) raw(buf js.Value) { bd.bufs = append(bd.bufs, buf) }

// outTensor adds the binding of a second output tensor.
func (bd *binder) outTensor(t kernels.Tensor) { bd.bufs = append(bd.bufs, bd.b.tensor(t, bd.op).buf) }

// in adds an input binding.
func (bd *binder) in(t kernels.Tensor) {
	if t == nil {
		bd.bufs = append(bd.bufs, bd.b.dummy)
		return
	}
	tt := bd.b.tensor(t, bd.op)
	if tt != bd.out {
		bd.bufs = append(bd.bufs, tt.buf)
		return
	}
	cp := bd.b.newBuffer(bufferSize(tt.n), tensorUsage)
	bd.b.encoder().Call("copyBufferToBuffer", tt.buf, 0, cp, 0, bufferSize(tt.n))
	bd.temps = append(bd.temps, cp)
	bd.bufs = append(bd.bufs, cp)
}

// host adds an input binding of host values, uploaded for this dispatch only.
func (bd *binder) host(d []float32) {
	buf := bd.b.newBuffer(bufferSize(len(d)), tensorUsage)
	bd.b.writeNew(buf, bytesOf(d))
	bd.temps = append(bd.temps, buf)
	bd.bufs = append(bd.bufs, buf)
}

// outBuf adds the output binding.
func (bd *binder) outBuf() { bd.bufs = append(bd.bufs, bd.out.buf) }

// params packs uniform values (int, uint32, float32, bool) as 32-bit words.
func params(vals ...any) []uint32 {
	w := make([]uint32, 0, len(vals))
	for _, v := range vals {
		switch v := v.(type) {
		case int:
			w = append(w, uint32(v))
		case uint32:
			w = append(w, v)
		case float32:
			w = append(w, math.Float32bits(v))
		case bool:
			if v {
				w = append(w, 1)
			} else {
				w = append(w, 0)
			}
		default:
			panic(fmt.Sprintf("webgpu: uniform of type %T", v))
		}
	}
	return w
}

// dispatch records pipeline file (variant prefix) over grid g with the uniform words
// at binding 0 and the buffers of bd at bindings 1…, into the open compute pass (see
// flush). It returns false when the pipeline does not compile (the caller falls back).
func (bd *binder) dispatch(file, prefix string, g [3]int, words []uint32) bool {
	b := bd.b
	defer func() {
		for _, t := range bd.temps {
			b.doom(t)
		}
	}()
	p, ok := b.pipeline(file, prefix)
	if !ok {
		return false
	}
	n := (len(words) + 3) / 4 * 4
	words = append(words, make([]uint32, n-len(words))...)
	ub := b.newBuffer(max(4*n, 16), uniformUsage)
	if n > 0 {
		b.writeNew(ub, unsafe.Slice((*byte)(unsafe.Pointer(&words[0])), 4*n))
	}
	entries := []any{map[string]any{"binding": 0, "resource": map[string]any{"buffer": ub}}}
	for i, buf := range bd.bufs {
		entries = append(entries, map[string]any{"binding": i + 1, "resource": map[string]any{"buffer": buf}})
	}
	bg := b.device.Call("createBindGroup", map[string]any{"layout": p.Call("getBindGroupLayout", 0), "entries": entries})
	pass := b.computePass()
	pass.Call("setPipeline", p)
	pass.Call("setBindGroup", 0, bg)
	pass.Call("dispatchWorkgroups", g[0], g[1], g[2])
	b.doom(ub)
	b.dispatches[bd.op]++
	if b.pending++; b.pending >= maxPending {
		b.flush()
	}
	return true
}

// onCPU runs an op on the CPU backend (see the package comment): the tensors args
// are downloaded (a tensor given twice becomes one CPU tensor), run does the op on
// the CPU copies, and the tensors args[outs] are written back.
func (b *Backend) onCPU(op, reason string, args []kernels.Tensor, outs []int, run func(c kernels.Backend, t []kernels.Tensor)) {
	read := func(t kernels.Tensor) []float32 {
		d, err := b.Download(b.tensor(t, op))
		if err != nil {
			d = make([]float32, b.tensor(t, op).n) // the error stays recorded: Download and Close return it
		}
		return d
	}
	write := func(t kernels.Tensor, d []float32) { b.write(b.tensor(t, op).buf, bytesOf(d)) }
	b.cpu.Fallback(args, outs, read, write, run)
	b.fallbacks = append(b.fallbacks, op+": "+reason)
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }
