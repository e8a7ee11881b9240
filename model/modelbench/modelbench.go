// Package modelbench adds the model stages to the benchmark case set of package
// kernelbench: the DINOv2 ViT-S/14 backbone with random trained-scale weights, the
// IDEAL head scoring one query (one normal and one abnormal reference), and the whole
// query (both). `ideal bench` times kernelbench.Cases followed by Stages.
package modelbench

import (
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/ideal-fsad/ideal/kernels"
	"github.com/ideal-fsad/ideal/kernels/kernelbench"
	"github.com/ideal-fsad/ideal/model/dinov2"
	"github.com/ideal-fsad/ideal/model/head"
	"github.com/ideal-fsad/ideal/tensor"
	"github.com/ideal-fsad/ideal/weights"
)

// posGrid is the trained position grid of DINOv2 ViT-S/14 (518/14).
const posGrid = 37

// Stages returns the cases "backbone", "head" and "query" for an S×S input (S a
// positive multiple of 14). FLOP counts: the backbone dinov2.Config.FLOPs; the head
// its normal-reference search 2·N²·C and projection 4·N·M·C.
func Stages(size int) ([]kernelbench.Case, error) {
	g := kernelbench.Grid(size)
	n, c := g*g, kernelbench.Width
	vit, err := dinov2.FromFile(&weights.File{Metadata: map[string]string{},
		Tensors: dinov2.RandomTrainedLike(c, kernelbench.Depth, kernelbench.Patch, posGrid, 0, 1)},
		dinov2.Options{Heads: kernelbench.Heads})
	if err != nil {
		return nil, fmt.Errorf("random ViT-S/14: %w", err)
	}
	if err := vit.CheckSize(size); err != nil {
		return nil, err
	}
	hw, err := head.Init(c, kernelbench.HeadVectors, 1)
	if err != nil {
		return nil, err
	}
	pixels := kernelbench.RandSlice(rand.New(rand.NewPCG(2, 0xbe9c)), 3*size*size, 1)
	episode, query := headInputs(hw, g)
	score := func(ep *head.Episode, q *tensor.Dense) ([]float32, error) {
		res, err := ep.Score(q)
		if err != nil {
			return nil, err
		}
		return append(slices.Clone(res.Map), res.ImageScore), nil
	}
	headFlop := 2*float64(n*n*c) + 4*float64(n*kernelbench.HeadVectors*c)
	backbone := func(be kernels.Backend) (*tensor.Dense, error) { return vit.Features(be, pixels, size) }
	return []kernelbench.Case{
		{Name: "backbone", FLOP: vit.FLOPs(size), Setup: func(be kernels.Backend) (kernelbench.Run, func(), error) {
			run := func(bool) ([]float32, error) {
				f, err := backbone(be)
				if err != nil {
					return nil, err
				}
				return f.Data, nil
			}
			return run, func() { vit.Release(be) }, nil
		}},
		{Name: "head", FLOP: headFlop, Setup: func(be kernels.Backend) (kernelbench.Run, func(), error) {
			ep, done, err := episode(be)
			if err != nil {
				return nil, nil, err
			}
			return func(bool) ([]float32, error) { return score(ep, query) }, done, nil
		}},
		{Name: "query", FLOP: vit.FLOPs(size) + headFlop, Setup: func(be kernels.Backend) (kernelbench.Run, func(), error) {
			ep, done, err := episode(be)
			if err != nil {
				return nil, nil, err
			}
			run := func(bool) ([]float32, error) {
				f, err := backbone(be)
				if err != nil {
					return nil, err
				}
				return score(ep, f)
			}
			return run, func() { done(); vit.Release(be) }, nil
		}},
	}, nil
}

// headInputs returns the head stage's episode maker (one normal and one abnormal
// reference of random features on a g×g grid, a defect in the middle quarter) and a
// random query.
func headInputs(hw *head.Weights, g int) (episode func(be kernels.Backend) (*head.Episode, func(), error), query *tensor.Dense) {
	n, c := g*g, hw.C()
	feats := func(seed uint64) *tensor.Dense {
		return tensor.FromData(kernelbench.RandSlice(rand.New(rand.NewPCG(seed, 0xbe9c)), n*c, 1), n, c)
	}
	normal, abnormal := feats(3), feats(4)
	mask := make([]bool, n)
	for y := g / 4; y < g-g/4; y++ {
		for x := g / 4; x < g-g/4; x++ {
			mask[y*g+x] = true
		}
	}
	episode = func(be kernels.Backend) (*head.Episode, func(), error) {
		hm := head.New(be, hw)
		ep, err := hm.NewEpisode([]*tensor.Dense{normal}, []head.Abnormal{{Features: abnormal, Mask: mask}})
		if err != nil {
			hm.Close()
			return nil, nil, err
		}
		return ep, func() { ep.Close(); hm.Close() }, nil
	}
	return episode, feats(5)
}
