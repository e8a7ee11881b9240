package train

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strconv"

	"github.com/ideal-fsad/ideal/internal/atomicfile"
)

// Checkpoint is the state of a training run after an epoch: the parameters and the
// AdamW state in full float64 precision, the epoch and the number of episodes drawn so
// far (the position of the seeded episode sampler), plus the caller's settings in Meta.
// Resuming from it continues exactly as the uninterrupted run.
type Checkpoint struct {
	Params   *Params
	Opt      *AdamW
	Epoch    int // epochs done
	Episodes int // episodes drawn from the sampler
	Meta     map[string]string
}

// WriteFile writes the checkpoint atomically as a safetensors file with F64 tensors
// (param.<name>, adam.m.<name>, adam.v.<name>, adam.vmax.<name>) and the counters in
// its metadata.
func (ck *Checkpoint) WriteFile(path string) error {
	p, o := ck.Params, ck.Opt
	meta := map[string]string{}
	for k, v := range ck.Meta {
		meta[k] = v
	}
	for k, v := range map[string]int{"epoch": ck.Epoch, "episodes_drawn": ck.Episodes, "adam_step": o.step,
		"width": p.C, "vectors": p.M, "heads": p.Heads} {
		meta[k] = strconv.Itoa(v)
	}
	type entry struct {
		DType   string   `json:"dtype"`
		Shape   []int    `json:"shape"`
		Offsets [2]int64 `json:"data_offsets"`
	}
	tensors := map[string][]float64{}
	for prefix, q := range map[string]*Params{"param.": p, "adam.m.": o.m, "adam.v.": o.v, "adam.vmax.": o.vmax} {
		for _, f := range q.fields() {
			tensors[prefix+f.name] = *f.v
		}
	}
	names := make([]string, 0, len(tensors))
	for k := range tensors {
		names = append(names, k)
	}
	sort.Strings(names)
	hdr := map[string]any{"__metadata__": meta}
	var off int64
	for _, k := range names {
		end := off + 8*int64(len(tensors[k]))
		hdr[k] = entry{"F64", []int{len(tensors[k])}, [2]int64{off, end}}
		off = end
	}
	js, err := json.Marshal(hdr)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	for len(js)%8 != 0 {
		js = append(js, ' ')
	}
	return atomicfile.Write(path, func(w io.Writer) error {
		buf := binary.LittleEndian.AppendUint64(nil, uint64(len(js)))
		buf = append(buf, js...)
		for _, k := range names {
			for _, v := range tensors[k] {
				buf = binary.LittleEndian.AppendUint64(buf, math.Float64bits(v))
			}
		}
		_, err := w.Write(buf)
		return err
	})
}

// ReadCheckpoint reads a checkpoint written by WriteFile. Its errors name the file.
func ReadCheckpoint(path string) (*Checkpoint, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err // it names the file
	}
	bad := func(format string, a ...any) error {
		return fmt.Errorf("checkpoint %s: %s", path, fmt.Sprintf(format, a...))
	}
	if len(b) < 8 {
		return nil, bad("too short")
	}
	hl := binary.LittleEndian.Uint64(b)
	if hl > uint64(len(b)-8) {
		return nil, bad("header length %d beyond the file (%d bytes)", hl, len(b))
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b[8:8+hl], &raw); err != nil {
		return nil, bad("header: %v", err)
	}
	data := b[8+hl:]
	meta := map[string]string{}
	if m, ok := raw["__metadata__"]; ok {
		if err := json.Unmarshal(m, &meta); err != nil {
			return nil, bad("metadata: %v", err)
		}
	}
	num := func(k string) (int, error) {
		v, err := strconv.Atoi(meta[k])
		if err != nil || v < 0 {
			return 0, bad("metadata %q = %q is not a count", k, meta[k])
		}
		return v, nil
	}
	var ints [6]int
	for i, k := range []string{"epoch", "episodes_drawn", "adam_step", "width", "vectors", "heads"} {
		if ints[i], err = num(k); err != nil {
			return nil, err
		}
	}
	c, m, h := ints[3], ints[4], ints[5]
	if c < 1 || m < 1 || h < 1 || c%h != 0 {
		return nil, bad("width %d, %d vectors, %d heads", c, m, h)
	}
	ck := &Checkpoint{Params: NewParams(c, m, h), Epoch: ints[0], Episodes: ints[1], Meta: meta}
	ck.Opt = NewAdamW(ck.Params)
	ck.Opt.step = ints[2]
	for prefix, q := range map[string]*Params{"param.": ck.Params, "adam.m.": ck.Opt.m, "adam.v.": ck.Opt.v, "adam.vmax.": ck.Opt.vmax} {
		for _, f := range q.fields() {
			var e struct {
				DType   string   `json:"dtype"`
				Shape   []int    `json:"shape"`
				Offsets [2]int64 `json:"data_offsets"`
			}
			js, ok := raw[prefix+f.name]
			if !ok {
				return nil, bad("no tensor %s", prefix+f.name)
			}
			if err := json.Unmarshal(js, &e); err != nil {
				return nil, bad("tensor %s: %v", prefix+f.name, err)
			}
			lo, hi := e.Offsets[0], e.Offsets[1]
			if e.DType != "F64" || lo < 0 || hi-lo != 8*int64(f.n) || hi > int64(len(data)) {
				return nil, bad("tensor %s: %s at [%d, %d), want F64 with %d values within %d bytes", prefix+f.name, e.DType, lo, hi, f.n, len(data))
			}
			r := bytes.NewReader(data[lo:hi])
			if err := binary.Read(r, binary.LittleEndian, *f.v); err != nil {
				return nil, bad("tensor %s: %v", prefix+f.name, err)
			}
		}
	}
	for k := range meta {
		if k == "epoch" || k == "episodes_drawn" || k == "adam_step" || k == "width" || k == "vectors" || k == "heads" {
			delete(meta, k)
		}
	}
	return ck, nil
}
