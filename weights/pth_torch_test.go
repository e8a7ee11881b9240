package weights

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/ideal-fsad/ideal/tensor"
)

// The archives in testdata/torch-variants were written by PyTorch 1.13 itself (gen.py
// there); the expected values are the formulas gen.py uses, computed here.
const torchVariants = "testdata/torch-variants"

func TestRealTorchSaveViewsAndDtypes(t *testing.T) {
	f, err := ReadPth(filepath.Join(torchVariants, "views.pth"))
	if err != nil {
		t.Fatal(err)
	}
	build := func(shape []int, v func(r, c int) float32) *tensor.Dense {
		d := tensor.New(shape...)
		cols := d.Cols()
		for i := range d.Data {
			d.Data[i] = v(i/cols, i%cols)
		}
		return d
	}
	base := func(i, j int) float32 { return float32(6*i + j) } // arange(24).reshape(4, 6)
	want := map[string]*tensor.Dense{
		"model.transposed": build([]int{6, 4}, func(r, c int) float32 { return base(c, r) }),
		"model.slice":      build([]int{2, 3}, func(r, c int) float32 { return base(1+r, 2+c) }),
		"model.row":        build([]int{6}, func(r, _ int) float32 { return base(2, r) }), // 1-D: r runs, c = 0
		"model.column":     build([]int{4}, func(r, _ int) float32 { return base(r, 4) }),
		"model.expanded":   build([]int{2, 3}, func(_, c int) float32 { return float32(c) }),
		"model.scalar":     tensor.FromData([]float32{2.5}),
		"model.empty":      tensor.New(0, 3),
		"model.half":       build([]int{2, 6}, func(r, c int) float32 { return base(1+r, c) / 8 }),
		"model.bf16":       build([]int{6, 4}, func(r, c int) float32 { return base(c, r) - 10 }),
		"model.double":     build([]int{4, 6}, func(r, c int) float32 { return float32(float64(base(r, c)) / 10) }),
		"model.count":      tensor.FromData([]float32{12345}),
		"model.mask":       tensor.FromData([]float32{1, 0, 1}, 3),
		"model.bytes":      tensor.FromData([]float32{0, 7, 255}, 3),
	}
	sameTensors(t, f.Tensors, want) // epoch, note and optimizer.lr are not tensors: skipped

	if _, err := ReadPth(filepath.Join(torchVariants, "inexact.pth")); err == nil || !strings.Contains(err.Error(), "cannot be held exactly") {
		t.Errorf("int64 2^24+1: %v", err)
	}
	_, err = Load(filepath.Join(torchVariants, "net_pickled_module.pth"))
	if err == nil || !strings.Contains(err.Error(), "pickle class __main__.Wrapper is not supported") {
		t.Errorf("a pickled nn.Module: %v", err)
	}
}

// A traced and a scripted module name their tensors exactly as the module's state_dict
// (parameters, buffers such as BatchNorm statistics, ModuleList and Sequential indices).
func TestRealTorchScriptNamesMatchStateDict(t *testing.T) {
	state, err := ReadPth(filepath.Join(torchVariants, "net_state.pth"))
	if err != nil {
		t.Fatal(err)
	}
	if len(state.Tensors) != 19 {
		t.Errorf("state dict: %d tensors, want 19: %v", len(state.Tensors), state.Names())
	}
	for _, name := range []string{"net_trace.pt", "net_script.pt"} {
		f, err := Load(filepath.Join(torchVariants, name))
		if err != nil {
			t.Fatal(err)
		}
		if f.Metadata["format"] != "torchscript" {
			t.Errorf("%s: format %q", name, f.Metadata["format"])
		}
		sameTensors(t, f.Tensors, state.Tensors)
	}
}
