package synth

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// shape is a region of the scene.
type shape interface {
	bounds() (u0, v0, u1, v1 float64)
	contains(u, v float64) bool
}

// stroke is a polyline of a given width.
type stroke struct {
	pts   [][2]float64
	width float64
}

func (s *stroke) bounds() (u0, v0, u1, v1 float64) {
	u0, v0, u1, v1 = math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, p := range s.pts {
		u0, v0 = math.Min(u0, p[0]), math.Min(v0, p[1])
		u1, v1 = math.Max(u1, p[0]), math.Max(v1, p[1])
	}
	w := s.width
	return u0 - w, v0 - w, u1 + w, v1 + w
}

func (s *stroke) contains(u, v float64) bool {
	h := s.width / 2
	for i := 1; i < len(s.pts); i++ {
		a, b := s.pts[i-1], s.pts[i]
		dx, dy := b[0]-a[0], b[1]-a[1]
		t := 0.0
		if l := dx*dx + dy*dy; l > 0 {
			t = math.Max(0, math.Min(1, ((u-a[0])*dx+(v-a[1])*dy)/l))
		}
		if math.Hypot(u-a[0]-t*dx, v-a[1]-t*dy) <= h {
			return true
		}
	}
	return false
}

// blob is an irregular disc: radius r(φ) = r0·(1 + Σ a_k sin(kφ + p_k)).
type blob struct {
	cu, cv, r0 float64
	amp, ph    [4]float64
}

func newBlob(rng *rand.Rand, cu, cv, r0, rough float64) *blob {
	b := &blob{cu: cu, cv: cv, r0: r0}
	for k := range b.amp {
		b.amp[k] = rough * rng.Float64() / float64(k+1)
		b.ph[k] = rng.Float64() * 2 * math.Pi
	}
	return b
}

func (b *blob) bounds() (u0, v0, u1, v1 float64) {
	m := b.r0 * (1 + b.amp[0] + b.amp[1] + b.amp[2] + b.amp[3])
	return b.cu - m, b.cv - m, b.cu + m, b.cv + m
}

func (b *blob) contains(u, v float64) bool {
	du, dv := u-b.cu, v-b.cv
	phi := math.Atan2(dv, du)
	r := 1.0
	for k := range b.amp {
		r += b.amp[k] * math.Sin(float64(k+2)*phi+b.ph[k])
	}
	return math.Hypot(du, dv) <= b.r0*r
}

// union is the union of shapes.
type union []shape

func (s union) bounds() (u0, v0, u1, v1 float64) {
	u0, v0, u1, v1 = math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, p := range s {
		a, b, c, d := p.bounds()
		u0, v0, u1, v1 = math.Min(u0, a), math.Min(v0, b), math.Max(u1, c), math.Max(v1, d)
	}
	return
}

func (s union) contains(u, v float64) bool {
	for _, p := range s {
		if p.contains(u, v) {
			return true
		}
	}
	return false
}

// drawnDefect is a defect drawn on a scene: its region, and the scene's colour there
// with the defect (outside the region the scene is unchanged).
type drawnDefect struct {
	region func(u, v float64) bool
	at     field
}

// withDefect draws a defect of the given type on the scene; px is the side of a pixel
// in scene units, the least width of strokes and radius of particles.
func withDefect(sc *scene, kind string, rng *rand.Rand, px float64) (drawnDefect, error) {
	atLeast := func(x float64) float64 { return max(x, px) }
	if kind == "misplacement" { // the object moved and turned: the region is its old and new place
		old := sc.obj
		o := *old
		a := rng.Float64() * 2 * math.Pi
		d := 0.05 + 0.05*rng.Float64()
		o.cx += d * math.Cos(a)
		o.cy += d * math.Sin(a)
		o.ang += (0.35 + 0.4*rng.Float64()) * float64(1-2*rng.IntN(2))
		return drawnDefect{region: func(u, v float64) bool { return old.inside(u, v) || o.inside(u, v) }, at: o.at}, nil
	}
	u, v := point(sc, rng)
	var sh shape
	var paint func(u, v float64, c rgb) rgb
	onObject := sc.obj != nil
	dark := sc.at(u, v).lum() > 0.55
	switch kind {
	case "scratch":
		sh = curve(rng, u, v, 0.12+0.18*rng.Float64(), atLeast(0.004+0.005*rng.Float64()), 0.3)
		if dark {
			paint = func(_, _ float64, c rgb) rgb { return c.scale(0.5) }
		} else {
			paint = func(_, _ float64, c rgb) rgb { return mix(c, rgb{0.95, 0.95, 0.93}, 0.7) }
		}
	case "crack":
		sh = crack(rng, u, v, px)
		paint = func(_, _ float64, c rgb) rgb { return c.scale(0.18) }
	case "hole":
		r := 0.015 + 0.03*rng.Float64()
		b := newBlob(rng, u, v, r, 0.25)
		sh = b
		paint = func(u, v float64, _ rgb) rgb {
			t := math.Hypot(u-b.cu, v-b.cv) / (r * 1.5)
			return rgb{0.03, 0.03, 0.035}.add(rgb{0.12, 0.1, 0.08}.scale(clamp01(t)))
		}
	case "stain":
		sh = newBlob(rng, u, v, 0.03+0.05*rng.Float64(), 0.5)
		tints := []rgb{{0.75, 0.62, 0.40}, {0.55, 0.55, 0.60}, {0.85, 0.80, 0.55}}
		tint := tints[rng.IntN(len(tints))]
		seed := rng.Uint64()
		paint = func(u, v float64, c rgb) rgb { return c.mul(tint).scale(0.85 + 0.15*valueNoise(u*60, v*60, seed)) }
	case "contamination":
		var parts union
		if rng.IntN(2) == 0 { // a fibre
			parts = union{curve(rng, u, v, 0.1+0.1*rng.Float64(), atLeast(0.006), 1.2)}
		} else { // particles
			for range 1 + rng.IntN(4) {
				parts = append(parts, newBlob(rng, u+0.05*(rng.Float64()-0.5), v+0.05*(rng.Float64()-0.5), atLeast(0.006+0.012*rng.Float64()), 0.4))
			}
		}
		sh = parts
		cols := []rgb{{0.10, 0.10, 0.12}, {0.15, 0.25, 0.70}, {0.20, 0.55, 0.20}, {0.90, 0.85, 0.20}}
		col := cols[rng.IntN(len(cols))]
		paint = func(_, _ float64, c rgb) rgb { return mix(c, col, 0.9) }
	case "color":
		sh = newBlob(rng, u, v, 0.04+0.05*rng.Float64(), 0.3)
		shifts := []rgb{{0.20, -0.06, -0.12}, {-0.10, 0.16, -0.08}, {-0.12, -0.04, 0.22}}
		d := shifts[rng.IntN(len(shifts))]
		paint = func(_, _ float64, c rgb) rgb { return c.add(d) }
	case "missing_part":
		o := sc.obj
		a := rng.Float64() * 2 * math.Pi
		cu, cv := o.cx+o.radius*0.95*math.Cos(a), o.cy+o.radius*0.95*math.Sin(a)
		sh = newBlob(rng, cu, cv, o.radius*(0.25+0.2*rng.Float64()), 0.3)
		paint = func(u, v float64, _ rgb) rgb { return o.bg(u, v) }
		onObject = true
	default:
		return drawnDefect{}, fmt.Errorf("synth: unknown defect type %q", kind)
	}
	u0, v0, u1, v1 := sh.bounds()
	return drawnDefect{
		region: func(u, v float64) bool {
			return u >= u0 && u <= u1 && v >= v0 && v <= v1 && sh.contains(u, v) && (!onObject || sc.obj.inside(u, v))
		},
		at: func(u, v float64) rgb { return paint(u, v, sc.at(u, v)) },
	}, nil
}

// point picks a defect position: anywhere in the middle of a texture, on an object.
func point(sc *scene, rng *rand.Rand) (float64, float64) {
	if sc.obj == nil {
		return 0.15 + 0.7*rng.Float64(), 0.15 + 0.7*rng.Float64()
	}
	o := sc.obj
	for {
		a, r := rng.Float64()*2*math.Pi, o.radius*math.Sqrt(rng.Float64())
		u, v := o.cx+r*math.Cos(a), o.cy+r*math.Sin(a)
		if o.inside(u, v) {
			return u, v
		}
	}
}

// curve is a smooth random curve of length about l starting at (u, v); bend is the
// largest turn per segment.
func curve(rng *rand.Rand, u, v, l, width, bend float64) *stroke {
	const n = 16
	a := rng.Float64() * 2 * math.Pi
	turn := (rng.Float64()*2 - 1) * bend / n
	s := &stroke{width: width, pts: [][2]float64{{u, v}}}
	for range n {
		a += turn + (rng.Float64()*2-1)*bend/n
		u += l / n * math.Cos(a)
		v += l / n * math.Sin(a)
		s.pts = append(s.pts, [2]float64{u, v})
	}
	return s
}

// crack is a jagged line with a branch, at least px wide.
func crack(rng *rand.Rand, u, v, px float64) shape {
	jag := func(u, v, a float64, n int, w float64) *stroke {
		s := &stroke{width: w, pts: [][2]float64{{u, v}}}
		for range n {
			a += (rng.Float64()*2 - 1) * 0.9
			step := 0.01 + 0.012*rng.Float64()
			u += step * math.Cos(a)
			v += step * math.Sin(a)
			s.pts = append(s.pts, [2]float64{u, v})
		}
		return s
	}
	a := rng.Float64() * 2 * math.Pi
	main := jag(u, v, a, 10+rng.IntN(8), max(px, 0.004+0.003*rng.Float64()))
	k := len(main.pts) / 2
	branch := jag(main.pts[k][0], main.pts[k][1], a+(rng.Float64()-0.5)*2.5, 4+rng.IntN(4), max(px, 0.003))
	return union{main, branch}
}
