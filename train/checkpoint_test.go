package train

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestCheckpointRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	p := NewParams(8, 3, 2)
	for _, f := range p.fields() {
		for i := range *f.v {
			(*f.v)[i] = rng.NormFloat64() / 3 // not representable in float32
		}
	}
	o := NewAdamW(p)
	g := p.Clone()
	o.Step(p, g, 1e-3)
	o.Step(p, g, 1e-3)
	path := filepath.Join(t.TempDir(), "c.ckpt")
	ck := &Checkpoint{Params: p, Opt: o, Epoch: 2, Episodes: 40, Meta: map[string]string{"settings": "x=1"}}
	if err := ck.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	got, err := ReadCheckpoint(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.Epoch != 2 || got.Episodes != 40 || got.Opt.Steps() != 2 || got.Meta["settings"] != "x=1" || len(got.Meta) != 1 {
		t.Errorf("counters: epoch %d, episodes %d, step %d, meta %v", got.Epoch, got.Episodes, got.Opt.Steps(), got.Meta)
	}
	for _, pair := range [][2]*Params{{p, got.Params}, {o.m, got.Opt.m}, {o.v, got.Opt.v}, {o.vmax, got.Opt.vmax}} {
		if !reflect.DeepEqual(pair[0], pair[1]) {
			t.Error("a tensor differs after the round trip")
		}
	}
	// Truncated and corrupted files are errors, not panics.
	b, _ := os.ReadFile(path)
	for name, bad := range map[string][]byte{
		"short": b[:5], "truncated": b[:len(b)-8], "header": append([]byte{255, 255, 0, 0, 0, 0, 0, 0}, b[8:]...),
		"meta": []byte(strings.Replace(string(b), `"adam_step":"2"`, `"adam_step":"-2"`, 1)),
	} {
		bp := filepath.Join(t.TempDir(), name)
		os.WriteFile(bp, bad, 0o644)
		if _, err := ReadCheckpoint(bp); err == nil || !strings.HasPrefix(err.Error(), "checkpoint "+bp+": ") {
			t.Errorf("%s: error %v", name, err)
		}
	}
	if _, err := ReadCheckpoint(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("missing file accepted")
	}
}
