package ideal

import (
	"fmt"

	"github.com/ideal-fsad/ideal/model/head"
)

// WithHead returns a detector like d but with the head hw (nil: normal-only scoring),
// e.g. when a user picks another head file. It shares d's backend, backbone, feature
// caches and lock, so features d has computed are not computed again; its Stats count
// from zero. Closing it frees only its head: d keeps owning the backend and backbone,
// and must outlive it. hw must be as wide as the backbone's features (checked here
// when the backbone is loaded, else on first use).
func (d *Detector) WithHead(hw *head.Weights) (*Detector, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if hw != nil && d.backbone != nil && d.backbone.Width != hw.C() {
		return nil, fmt.Errorf("ideal: the head is %d channels wide but the backbone's features are %d wide (a head for another backbone?)", hw.C(), d.backbone.Width)
	}
	opt := d.opt
	opt.Head, opt.HeadWeights = "", hw
	return &Detector{opt: opt, size: d.size, be: d.be, hw: hw, disk: d.disk, mu: d.mu,
		backbone: d.backbone, borrowed: d.backbone != nil, mem: d.mem, model: head.New(d.be, hw)}, nil
}
