package train

import (
	"fmt"

	"github.com/ideal-fsad/ideal/model/head"
	"github.com/ideal-fsad/ideal/tensor"
)

// Params are the IDE head's parameters in float64, laid out as in the authors' state
// dict (row-major; the in-projection holds q, k, v stacked). The same type holds
// gradients.
type Params struct {
	C, M, Heads int

	T          []float64 // learnable_vectors.weight [M, C]
	InW, InB   []float64 // in_proj [3C, C], [3C]
	OutW, OutB []float64 // out_proj [C, C], [C]
	N1W, N1B   []float64 // cro_attn.norm [C]
	FC1W, FC1B []float64 // [4C, C], [4C]
	FC2W, FC2B []float64 // [C, 4C], [C]
	N2W, N2B   []float64 // norm_out [C]
}

// NewParams returns zero parameters of width c with m vectors and the given heads.
func NewParams(c, m, heads int) *Params {
	if c < 1 || m < 1 || heads < 1 || c%heads != 0 {
		panic(fmt.Sprintf("train: NewParams(%d, %d, %d)", c, m, heads))
	}
	p := &Params{C: c, M: m, Heads: heads}
	for _, f := range p.fields() {
		*f.v = make([]float64, f.n)
	}
	return p
}

type field struct {
	name string
	v    *[]float64
	n    int
}

// fields lists the parameters with their official names and sizes.
func (p *Params) fields() []field {
	c, m := p.C, p.M
	return []field{
		{head.NameVectors, &p.T, m * c},
		{head.NameInProjW, &p.InW, 3 * c * c},
		{head.NameInProjB, &p.InB, 3 * c},
		{head.NameOutProjW, &p.OutW, c * c},
		{head.NameOutProjB, &p.OutB, c},
		{head.NameNormW, &p.N1W, c},
		{head.NameNormB, &p.N1B, c},
		{head.NameFC1W, &p.FC1W, 4 * c * c},
		{head.NameFC1B, &p.FC1B, 4 * c},
		{head.NameFC2W, &p.FC2W, 4 * c * c},
		{head.NameFC2B, &p.FC2B, c},
		{head.NameNormOutW, &p.N2W, c},
		{head.NameNormOutB, &p.N2B, c},
	}
}

// Slices returns every parameter by official name (sharing memory with p).
func (p *Params) Slices() map[string][]float64 {
	out := map[string][]float64{}
	for _, f := range p.fields() {
		out[f.name] = *f.v
	}
	return out
}

// Zero sets every value to 0.
func (p *Params) Zero() {
	for _, f := range p.fields() {
		clear(*f.v)
	}
}

// Clone returns a deep copy.
func (p *Params) Clone() *Params {
	q := NewParams(p.C, p.M, p.Heads)
	qf := q.fields()
	for i, f := range p.fields() {
		copy(*qf[i].v, *f.v)
	}
	return q
}

// FromWeights converts head weights to float64 parameters.
func FromWeights(w *head.Weights) *Params {
	p := NewParams(w.C(), w.M(), w.Heads)
	for _, f := range p.fields() {
		for i, v := range w.Tensors[f.name].Data {
			(*f.v)[i] = float64(v)
		}
	}
	return p
}

// Weights converts p to head weights with cfg's hyper-parameters (cfg.Heads is
// replaced by p.Heads).
func (p *Params) Weights(cfg head.Config) *head.Weights {
	cfg.Heads = p.Heads
	w := &head.Weights{Config: cfg, Tensors: map[string]*tensor.Dense{}}
	shapes := map[string][]int{
		head.NameVectors: {p.M, p.C}, head.NameInProjW: {3 * p.C, p.C}, head.NameOutProjW: {p.C, p.C},
		head.NameFC1W: {4 * p.C, p.C}, head.NameFC2W: {p.C, 4 * p.C},
	}
	for _, f := range p.fields() {
		shape, ok := shapes[f.name]
		if !ok {
			shape = []int{f.n}
		}
		d := make([]float32, f.n)
		for i, v := range *f.v {
			d[i] = float32(v)
		}
		w.Tensors[f.name] = tensor.FromData(d, shape...)
	}
	return w
}
