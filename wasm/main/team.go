//go:build js && wasm

package main

import (
	"errors"
	"fmt"
	"syscall/js"
	"time"
	"unsafe"
)

// jsTeam is a dinov2.Team of Web Workers, each running its own instance of this
// program, that share one SharedArrayBuffer (the page is cross-origin isolated). The
// buffer starts with int32 control words, then holds a pass's pixels and two
// alternating gather buffers of fixed place (a member writes gather i+2's buffer only
// after every member has left gather i+1's barrier, so after every member has read
// gather i).
type jsTeam struct {
	rank, members int
	ctl           js.Value // Int32Array over the control words
	data          js.Value // Uint8Array over the whole buffer
	atomics       js.Value
	gathers       int // gathers made in the current pass
	pixBytes      int // bytes of the current pass's pixels
}

// Control words.
const (
	ctlGen   = iota // barrier generation
	ctlCount        // members arrived at the barrier
	ctlJob          // passes begun
	ctlStop         // followers leave their loop when it changes
	ctlSize         // input side of the current pass
	ctlAbort        // a member failed: no one waits any more
	ctlWords = 16
)

// barrierTimeout bounds a wait for the other members (one transformer block of the
// slowest member, or a member that is gone).
const barrierTimeout = 120 * time.Second

var errAborted = errors.New("another worker failed")

func newJSTeam(sab js.Value, rank, members int) *jsTeam {
	return &jsTeam{rank: rank, members: members,
		ctl:     js.Global().Get("Int32Array").New(sab, 0, ctlWords),
		data:    js.Global().Get("Uint8Array").New(sab),
		atomics: js.Global().Get("Atomics")}
}

func (t *jsTeam) Members() int { return t.members }
func (t *jsTeam) Rank() int    { return t.rank }

func (t *jsTeam) load(i int) int        { return t.atomics.Call("load", t.ctl, i).Int() }
func (t *jsTeam) add(i, v int) int      { return t.atomics.Call("add", t.ctl, i, v).Int() }
func (t *jsTeam) store(i, v int)        { t.atomics.Call("store", t.ctl, i, v) }
func (t *jsTeam) notify(i int)          { t.atomics.Call("notify", t.ctl, i) }
func (t *jsTeam) wait(i, v int, ms int) { t.atomics.Call("wait", t.ctl, i, v, ms) }

// abort tells every member to stop waiting.
func (t *jsTeam) abort() {
	t.store(ctlAbort, 1)
	t.notify(ctlGen)
	t.notify(ctlJob)
}

// barrier returns once every member has called it (sense by generation).
func (t *jsTeam) barrier() error {
	gen := t.load(ctlGen)
	if t.add(ctlCount, 1) == t.members-1 {
		t.store(ctlCount, 0)
		t.add(ctlGen, 1)
		t.notify(ctlGen)
		return nil
	}
	deadline := time.Now().Add(barrierTimeout)
	for t.load(ctlGen) == gen {
		if t.load(ctlAbort) != 0 {
			return errAborted
		}
		if time.Now().After(deadline) {
			t.abort()
			return fmt.Errorf("no answer from the other workers in %v", barrierTimeout)
		}
		t.wait(ctlGen, gen, 250)
	}
	return nil
}

func bytesOfFloats(f []float32) []byte {
	if len(f) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&f[0])), 4*len(f))
}

const dataStart = 4 * ctlWords

// fits reports whether the buffer holds n bytes from off.
func (t *jsTeam) fits(off, n int) error {
	if have := t.data.Length(); off+n > have {
		return fmt.Errorf("the shared buffer (%d MiB) is too small for this pass (%d MiB)", have>>20, (off+n+(1<<20)-1)>>20)
	}
	return nil
}

// Begin implements dinov2.Team (rank 0): the pixels go into the buffer and the pass
// number goes up.
func (t *jsTeam) Begin(pixels []float32, size int) error {
	t.gathers, t.pixBytes = 0, 4*len(pixels)
	if err := t.fits(dataStart, t.pixBytes); err != nil {
		return err
	}
	js.CopyBytesToJS(t.data.Call("subarray", dataStart, dataStart+t.pixBytes), bytesOfFloats(pixels))
	t.store(ctlSize, size)
	t.add(ctlJob, 1)
	t.notify(ctlJob)
	return nil
}

// AllGather implements dinov2.Team. The space after the pixels is cut into two
// halves, one per parity of the gather's number in the pass.
func (t *jsTeam) AllGather(local []float32, off int, all []float32) error {
	n := 4 * len(all)
	half := (t.data.Length() - dataStart - t.pixBytes) / 2
	base := dataStart + t.pixBytes + (t.gathers%2)*half
	t.gathers++
	if n > half {
		t.abort()
		return fmt.Errorf("the shared buffer (%d MiB) is too small for this pass (two gathers of %d MiB)", t.data.Length()>>20, (n+(1<<20)-1)>>20)
	}
	if len(local) > 0 {
		js.CopyBytesToJS(t.data.Call("subarray", base+4*off, base+4*off+4*len(local)), bytesOfFloats(local))
	}
	if err := t.barrier(); err != nil {
		return err
	}
	js.CopyBytesToGo(bytesOfFloats(all), t.data.Call("subarray", base, base+n))
	return nil
}

// follow is a follower's loop: it runs its share of each pass rank 0 begins after pass
// number since, until the stop word changes (the pool reconfigures the workers) or the
// team aborts.
func (t *jsTeam) follow(since int, run func(pixels []float32) error) error {
	stop := t.load(ctlStop)
	for {
		job := t.load(ctlJob)
		switch {
		case t.load(ctlStop) != stop:
			return nil
		case t.load(ctlAbort) != 0:
			return errAborted
		case job == since:
			t.wait(ctlJob, job, 1000)
			continue
		}
		since = job
		size := t.load(ctlSize)
		t.gathers, t.pixBytes = 0, 4*3*size*size
		px := make([]float32, 3*size*size)
		js.CopyBytesToGo(bytesOfFloats(px), t.data.Call("subarray", dataStart, dataStart+t.pixBytes))
		if err := run(px); err != nil {
			t.abort()
			return err
		}
	}
}
