package train

import (
	"errors"
	"fmt"

	"github.com/ideal-fsad/ideal/model/head"
	"github.com/ideal-fsad/ideal/tensor"
)

// NewSample computes the parameter-independent part of an episode with m (which must
// have weights: the normal scores and deviations do not depend on them, but the
// episode needs a head to accept abnormal references): the NVE deviations of the
// abnormal references and of the query, the position code, the defect masks (with the
// empty-mask fallback) and the normal scores. mask is the query's pixel mask (side²
// values, > 0.5 = defect); label is 1 for an abnormal query.
func NewSample(m *head.Model, normals []*tensor.Dense, abnormals []head.Abnormal, query *tensor.Dense, label int, mask []float32, side int) (*Sample, error) {
	if len(abnormals) == 0 {
		return nil, errors.New("train: an episode needs at least one abnormal reference")
	}
	if side < 1 || len(mask) != side*side {
		return nil, fmt.Errorf("train: query mask has %d values, want %d×%d", len(mask), side, side)
	}
	ep, err := m.NewEpisode(normals, abnormals)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	defer ep.Close()
	res, err := ep.Score(query)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	dq, err := ep.Deviations(query)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	da, err := ep.AbnormalDeviations()
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	pos := ep.PositionCode()
	c := ep.Width()
	s := &Sample{C: c, G: ep.Grid(), Label: label, Side: side,
		Keys: make([]float64, len(pos.Data)), Values: f64(da.Data), Dev: f64(dq.Data),
		SN: f64(res.NormalScore), Mask: make([]float64, len(mask))}
	n := ep.Grid() * ep.Grid()
	for i, a := range abnormals {
		for j := range n * c {
			s.Keys[i*n*c+j] = float64(a.Features.Data[j]) + float64(pos.Data[i*n*c+j])
		}
	}
	for _, mk := range ep.AbnormalMasks() {
		s.Defect = append(s.Defect, mk...)
	}
	for i, v := range mask {
		if v > 0.5 {
			s.Mask[i] = 1
		}
	}
	return s, nil
}

func f64(a []float32) []float64 {
	out := make([]float64, len(a))
	for i, v := range a {
		out[i] = float64(v)
	}
	return out
}
