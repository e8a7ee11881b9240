package data

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// TrainEpisode is one training episode (spec §8).
type TrainEpisode struct {
	Class    string
	Normal   []Sample // normal references
	Abnormal []Sample // abnormal references, with masks
	Query    Sample   // never one of the references
}

// Sampler draws training episodes from the test split of a data set (spec §8):
// a class uniformly at random; NShot normal references from its normal test images;
// AShot abnormal references, each of a different random defect type while unused
// types remain; a query that is normal or anomalous with probability ½ (an anomalous
// query is of a random defect type that still has an image besides the references).
// The sequence of episodes is a function of the data set and the seed.
type Sampler struct {
	rng     *rand.Rand
	n, a    int
	classes []samplerClass
	skipped []string
}

type samplerClass struct {
	name   string
	normal []Sample
	byType map[string][]Sample
}

// NewSampler returns a sampler over the classes of ds that have at least NShot+1
// normal and AShot+1 anomalous test images; the others are skipped (see Skipped).
func NewSampler(ds *Dataset, nShot, aShot int, seed uint64) (*Sampler, error) {
	if nShot < 0 || aShot < 0 || nShot+aShot == 0 {
		return nil, fmt.Errorf("data: sampler shots n=%d a=%d: need n, a ≥ 0 and at least one reference", nShot, aShot)
	}
	s := &Sampler{rng: rand.New(rand.NewPCG(seed, 0x1dea1)), n: nShot, a: aShot}
	for i := range ds.Classes {
		c := &ds.Classes[i]
		normal, anom := c.Normal(), c.Anomalous()
		if len(normal) < nShot+1 || len(anom) < aShot+1 {
			s.skipped = append(s.skipped, fmt.Sprintf("%s (%d normal and %d anomalous test images; %d and %d needed)",
				c.Name, len(normal), len(anom), nShot+1, aShot+1))
			continue
		}
		s.classes = append(s.classes, samplerClass{name: c.Name, normal: normal, byType: groupByType(anom)})
	}
	if len(s.classes) == 0 {
		return nil, fmt.Errorf("data: no class can make a training episode: %s", strings.Join(s.skipped, "; "))
	}
	return s, nil
}

// Skipped describes the classes left out for lack of images.
func (s *Sampler) Skipped() []string { return s.skipped }

// Next draws the next episode.
func (s *Sampler) Next() TrainEpisode {
	c := &s.classes[s.rng.IntN(len(s.classes))]
	ep := TrainEpisode{Class: c.name}
	perm := s.rng.Perm(len(c.normal))
	for _, i := range perm[:s.n] {
		ep.Normal = append(ep.Normal, c.normal[i])
	}
	ep.Abnormal = pickByType(s.rng, c.byType, s.a, nil)
	if s.rng.IntN(2) == 0 {
		ep.Query = c.normal[perm[s.n+s.rng.IntN(len(perm)-s.n)]]
		return ep
	}
	used := map[string]bool{}
	for _, r := range ep.Abnormal {
		used[r.Path] = true
	}
	ep.Query = pickByType(s.rng, c.byType, 1, used)[0]
	return ep
}
