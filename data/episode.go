package data

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
)

// Setting is the test setting of spec §1.
type Setting string

const (
	// General judges every query.
	General Setting = "general"
	// Hard removes the anomalous queries whose defect type appears among the
	// abnormal references, so that only unseen defect types are judged. VisA names
	// no defect types (all are "bad"), so there it removes every anomalous query.
	Hard Setting = "hard"
)

// ParseSetting parses "general" or "hard".
func ParseSetting(s string) (Setting, error) {
	switch Setting(s) {
	case General, Hard:
		return Setting(s), nil
	}
	return "", fmt.Errorf("data: unknown setting %q (want general or hard)", s)
}

// EpisodeOptions configure NewEpisode.
type EpisodeOptions struct {
	NShot, AShot int     // numbers of normal and abnormal references (0 allowed, not both)
	Setting      Setting // General when empty
	// Refs are the class's fixed references (ReadRefSet); the first NShot normal and
	// AShot abnormal ones are used. When nil the references are drawn with Seed.
	Refs *Refs
	Seed uint64
	// KeepRefs keeps the references among the queries (the authors' released MVTec
	// and MPDD logs did; see the README).
	KeepRefs bool
	// Exclude are test images left out of the queries, by absolute path
	// (filepath.Abs); nil leaves none out.
	Exclude map[string]bool
}

// excluded reports whether opt.Exclude names the image at path.
func (opt *EpisodeOptions) excluded(path string) bool {
	if len(opt.Exclude) == 0 {
		return false
	}
	a, err := filepath.Abs(path)
	return err == nil && opt.Exclude[a]
}

// Episode is the evaluation episode of one class.
type Episode struct {
	Class    string
	Setting  Setting
	Normal   []Sample // normal references
	Abnormal []Sample // abnormal references, with masks
	Queries  []Sample // test images without the references (and, in the hard setting, without the seen defect types)
	Removed  int      // test images removed from the queries (references, excluded images, seen defect types)
	// Warnings: fixed references repeated, or matching no test image.
	Warnings []string
}

// NewEpisode builds the evaluation episode of class c.
//
// Drawn references: NShot normal images from the training images (from the normal test
// images when the class has no training images, e.g. the folder layout) and AShot
// anomalous test images, each of a different defect type as long as unused types
// remain (the types' order and the images are drawn at random). The draw depends on
// Seed and the class name only, so it does not change with the other classes read.
//
// Fixed references (opt.Refs) are matched to the test images by content (size and
// SHA-256): a test image identical to a reference is removed from the queries, and an
// abnormal reference without a defect type takes the type of its match; a reference
// that matches none is a warning. With fewer fixed references than wanted they are
// repeated cyclically (as the authors' loader does), with a warning.
// The hard setting needs the defect type of every abnormal reference. opt.KeepRefs
// keeps the references among the queries; opt.Exclude leaves test images out.
func NewEpisode(c *Class, opt EpisodeOptions) (*Episode, error) {
	if opt.NShot < 0 || opt.AShot < 0 || opt.NShot+opt.AShot == 0 {
		return nil, fmt.Errorf("data: class %s: shots n=%d a=%d: need n, a ≥ 0 and at least one reference", c.Name, opt.NShot, opt.AShot)
	}
	if opt.Setting == "" {
		opt.Setting = General
	}
	if _, err := ParseSetting(string(opt.Setting)); err != nil {
		return nil, err
	}
	ep := &Episode{Class: c.Name, Setting: opt.Setting}
	refPaths := map[string]bool{}
	if opt.Refs != nil {
		if err := fixedRefs(ep, c, opt, refPaths); err != nil {
			return nil, err
		}
	} else if err := drawRefs(ep, c, opt); err != nil {
		return nil, err
	}
	for _, r := range slices.Concat(ep.Normal, ep.Abnormal) {
		refPaths[r.Path] = true
	}
	if opt.KeepRefs {
		clear(refPaths)
	}
	seen := map[string]bool{}
	if opt.Setting == Hard {
		for _, r := range ep.Abnormal {
			if r.DefectType == "" {
				return nil, fmt.Errorf("data: class %s: the hard setting needs the defect type of the reference %s: put it in abnormal/<type>/ or use a copy of a test image of the data set",
					c.Name, r.Path)
			}
			seen[r.DefectType] = true
		}
	}
	for _, s := range c.Test {
		if refPaths[s.Path] || (s.Anomalous && seen[s.DefectType]) || opt.excluded(s.Path) {
			ep.Removed++
			continue
		}
		ep.Queries = append(ep.Queries, s)
	}
	return ep, nil
}

// fixedRefs takes the references from opt.Refs and adds the paths of the test images
// identical to them to drop.
func fixedRefs(ep *Episode, c *Class, opt EpisodeOptions, drop map[string]bool) error {
	r := opt.Refs
	nn, na := min(opt.NShot, len(r.Normal)), min(opt.AShot, len(r.Abnormal))
	if nn == 0 && opt.NShot > 0 || na == 0 && opt.AShot > 0 {
		return fmt.Errorf("data: class %s: the reference set has %d normal and %d abnormal images; %d and %d wanted",
			c.Name, len(r.Normal), len(r.Abnormal), opt.NShot, opt.AShot)
	}
	ep.Normal = slices.Clone(r.Normal[:nn])
	ep.Abnormal = slices.Clone(r.Abnormal[:na])
	refs := slices.Concat(ep.Normal, ep.Abnormal)
	match, err := matchContent(refs, c.Test)
	if err != nil {
		return err
	}
	var lost []Sample // references that match no test image
	for i, j := range match {
		if j < 0 {
			lost = append(lost, refs[i])
			continue
		}
		q := c.Test[j]
		drop[q.Path] = true
		if i >= nn && ep.Abnormal[i-nn].DefectType == "" {
			ep.Abnormal[i-nn].DefectType = q.DefectType
		}
	}
	if !opt.KeepRefs {
		if err := warnUnmatched(ep, c, lost); err != nil {
			return err
		}
	}
	ep.Normal = repeatRefs(ep, "normal", ep.Normal, opt.NShot)
	ep.Abnormal = repeatRefs(ep, "abnormal", ep.Abnormal, opt.AShot)
	return nil
}

// warnUnmatched warns about the references lost that match no test image (those
// from the training images are fine): they used to be kept as queries unnoticed.
func warnUnmatched(ep *Episode, c *Class, lost []Sample) error {
	if len(lost) == 0 {
		return nil
	}
	train, err := matchContent(lost, c.Train)
	if err != nil {
		return err
	}
	for i, r := range lost {
		if train[i] < 0 {
			ep.Warnings = append(ep.Warnings, fmt.Sprintf("the reference %s matches no test or training image (by content), so no query is removed for it: is the reference set for this data set?", r.Path))
		}
	}
	return nil
}

// repeatRefs repeats refs cyclically up to n images, as the authors' loader does,
// with a warning.
func repeatRefs(ep *Episode, kind string, refs []Sample, n int) []Sample {
	if len(refs) >= n {
		return refs
	}
	images := "images"
	if len(refs) == 1 {
		images = "image"
	}
	ep.Warnings = append(ep.Warnings, fmt.Sprintf("the reference set has %d %s %s, %d wanted: each is used %s (repeated cyclically, as the authors' loader does)",
		len(refs), kind, images, n, timesText(len(refs), n)))
	out := make([]Sample, n)
	for i := range out {
		out[i] = refs[i%len(refs)]
	}
	return out
}

// timesText says how often each of have references is used to make want.
func timesText(have, want int) string {
	if want%have == 0 {
		return fmt.Sprintf("%d times", want/have)
	}
	return fmt.Sprintf("%d or %d times", want/have, want/have+1)
}

// classRand returns the random source of a class's draw.
func classRand(seed uint64, class string) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(class))
	return rand.New(rand.NewPCG(seed, h.Sum64()))
}

func drawRefs(ep *Episode, c *Class, opt EpisodeOptions) error {
	rng := classRand(opt.Seed, c.Name)
	pool, from := c.Train, "training"
	if len(pool) == 0 {
		pool, from = c.Normal(), "normal test"
	}
	if len(pool) < opt.NShot {
		return fmt.Errorf("data: class %s: %d normal references wanted, the class has %d %s images", c.Name, opt.NShot, len(pool), from)
	}
	for _, i := range rng.Perm(len(pool))[:opt.NShot] {
		ep.Normal = append(ep.Normal, pool[i])
	}
	anom := c.Anomalous()
	if len(anom) < opt.AShot {
		return fmt.Errorf("data: class %s: %d abnormal references wanted, the class has %d anomalous test images", c.Name, opt.AShot, len(anom))
	}
	ep.Abnormal = pickByType(rng, groupByType(anom), opt.AShot, nil)
	return nil
}

// groupByType groups anomalous samples by defect type.
func groupByType(anom []Sample) map[string][]Sample {
	g := map[string][]Sample{}
	for _, s := range anom {
		g[s.DefectType] = append(g[s.DefectType], s)
	}
	return g
}

// pickByType draws k distinct samples not in used, each of a different defect type
// as long as unused types remain: the types are visited in a random order, round
// after round, and a random remaining sample of each visited type is taken. The
// caller makes sure enough samples exist.
func pickByType(rng *rand.Rand, byType map[string][]Sample, k int, used map[string]bool) []Sample {
	types := sortedKeys(byType)
	rng.Shuffle(len(types), func(i, j int) { types[i], types[j] = types[j], types[i] })
	left := map[string][]Sample{}
	for _, t := range types {
		for _, s := range byType[t] {
			if !used[s.Path] {
				left[t] = append(left[t], s)
			}
		}
	}
	var out []Sample
	for len(out) < k {
		progress := false
		for _, t := range types {
			if len(out) == k {
				break
			}
			l := left[t]
			if len(l) == 0 {
				continue
			}
			i := rng.IntN(len(l))
			out = append(out, l[i])
			left[t] = slices.Delete(l, i, i+1)
			progress = true
		}
		if !progress {
			panic("data: pickByType: not enough samples")
		}
	}
	return out
}

// Describe returns a one-line summary of the episode's references for logs.
func (e *Episode) Describe() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d normal, %d abnormal references", e.Class, len(e.Normal), len(e.Abnormal))
	if len(e.Abnormal) > 0 {
		var t []string
		for _, a := range e.Abnormal {
			t = append(t, a.DefectType)
		}
		fmt.Fprintf(&b, " (%s)", strings.Join(t, ", "))
	}
	fmt.Fprintf(&b, "; %d queries (%s setting, %d removed)", len(e.Queries), e.Setting, e.Removed)
	return b.String()
}

// Episodes builds the evaluation episode of every class of ds. With refs (from
// ReadRefSet) every class must have its fixed references there; without, references
// are drawn with opt.Seed. opt.Refs is ignored.
func Episodes(ds *Dataset, refs map[string]*Refs, opt EpisodeOptions) ([]*Episode, error) {
	out := make([]*Episode, 0, len(ds.Classes))
	for i := range ds.Classes {
		c := &ds.Classes[i]
		o := opt
		o.Refs = nil
		if refs != nil {
			if o.Refs = refs[c.Name]; o.Refs == nil {
				return nil, fmt.Errorf("data: the reference set has no class %s", c.Name)
			}
		}
		ep, err := NewEpisode(c, o)
		if err != nil {
			return nil, err
		}
		out = append(out, ep)
	}
	return out, nil
}
