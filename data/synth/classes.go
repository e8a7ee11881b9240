package synth

import (
	"math"
	"math/rand/v2"
)

// field is a colour as a function of scene coordinates; the scene's unit square is
// the image (u to the right, v down).
type field func(u, v float64) rgb

// scene is one product instance before the camera: the normal appearance, and for
// objects the object's pose and parts, which the defects need.
type scene struct {
	at  field
	obj *object // nil for textures
}

// object is a part on a background, drawn in its own frame (origin at its centre,
// unrotated) and placed at (cx, cy) turned by ang.
type object struct {
	cx, cy, ang float64
	radius      float64 // the object fits in this radius
	bg          field
	local       func(x, y float64) (rgb, bool) // colour in the object's frame; false outside
}

func (o *object) toLocal(u, v float64) (float64, float64) {
	s, c := math.Sincos(-o.ang)
	du, dv := u-o.cx, v-o.cy
	return c*du - s*dv, s*du + c*dv
}

func (o *object) at(u, v float64) rgb {
	if c, ok := o.local(o.toLocal(u, v)); ok {
		return c
	}
	return o.bg(u, v)
}

func (o *object) inside(u, v float64) bool {
	_, ok := o.local(o.toLocal(u, v))
	return ok
}

// classSpec describes one class of the synthetic data set.
type classSpec struct {
	name    string
	texture bool
	defects []string
	scene   func(rng *rand.Rand) *scene
}

var textureDefects = []string{"scratch", "crack", "hole", "stain", "contamination", "color"}
var objectDefects = []string{"scratch", "crack", "contamination", "color", "missing_part", "misplacement"}

var specs = []classSpec{
	{"fabric", true, textureDefects, fabricScene},
	{"wood", true, textureDefects, woodScene},
	{"metal", true, textureDefects, metalScene},
	{"carpet", true, textureDefects, carpetScene},
	{"nut", false, objectDefects, nutScene},
	{"pill", false, objectDefects, pillScene},
}

// fabricScene: a plain weave of beige threads; each thread's shade and the weave's
// phase vary from image to image.
func fabricScene(rng *rand.Rand) *scene {
	seed := rng.Uint64()
	ou, ov := rng.Float64()*100, rng.Float64()*100
	const period = 1.0 / 28
	warp, weft := rgb{0.62, 0.52, 0.38}, rgb{0.56, 0.47, 0.35}
	return &scene{at: func(u, v float64) rgb {
		a, b := (u+ou)/period, (v+ov)/period
		i, j := math.Floor(a), math.Floor(b)
		fa, fb := a-i, b-j
		yarn := 0.9 + 0.2*valueNoise(u*260, v*260, seed)
		if (int64(i)+int64(j))&1 == 0 { // the warp thread (running along v) is on top
			prof := math.Sin(math.Pi * fa)
			shade := (0.45 + 0.55*prof) * (0.85 + 0.15*math.Sin(math.Pi*fb))
			jit := 0.9 + 0.2*hash2(int64(i), 0, seed)
			return warp.scale(shade * jit * yarn)
		}
		prof := math.Sin(math.Pi * fb)
		shade := (0.45 + 0.55*prof) * (0.85 + 0.15*math.Sin(math.Pi*fa))
		jit := 0.9 + 0.2*hash2(0, int64(j), seed+1)
		return weft.scale(shade * jit * yarn)
	}}
}

// woodScene: growth rings and fine grain along u, different for every board.
func woodScene(rng *rand.Rand) *scene {
	seed := rng.Uint64()
	ou, ov := rng.Float64()*50, rng.Float64()*50
	freq := 9 + 4*rng.Float64()
	light, dark := rgb{0.80, 0.60, 0.40}, rgb{0.52, 0.32, 0.18}
	return &scene{at: func(u, v float64) rgb {
		x, y := u+ou, v+ov
		warp := fbm(x*1.5, y*3, 3, seed)
		r := (y + 0.25*warp) * freq
		t := frac(r)
		ring := smoothstep(0.55, 0.95, t) * (1 - smoothstep(0.95, 1, t))
		grain := fbm(x*3, y*160, 2, seed+11)
		k := clamp01(0.15 + 0.65*ring + 0.45*(grain-0.5))
		return mix(light, dark, k)
	}}
}

// metalScene: brushed steel, streaks along u and a soft sheen.
func metalScene(rng *rand.Rand) *scene {
	seed := rng.Uint64()
	ou, ov := rng.Float64()*50, rng.Float64()*50
	ph := rng.Float64() * 2 * math.Pi
	base := rgb{0.60, 0.62, 0.66}
	return &scene{at: func(u, v float64) rgb {
		x, y := u+ou, v+ov
		streak := fbm(x*4, y*420, 3, seed)
		fine := valueNoise(x*30, y*900, seed+5)
		sheen := 0.07 * math.Cos(2*math.Pi*(0.6*u+0.25*v)+ph)
		return base.scale(0.9 + 0.3*(streak-0.5) + 0.08*(fine-0.5) + sheen)
	}}
}

// carpetScene: dense tufts with mottled colour.
func carpetScene(rng *rand.Rand) *scene {
	seed := rng.Uint64()
	ou, ov := rng.Float64()*50, rng.Float64()*50
	col := rgb{0.55, 0.22, 0.20}
	return &scene{at: func(u, v float64) rgb {
		x, y := u+ou, v+ov
		tuft := valueNoise(x*110, y*110, seed)
		tuft2 := valueNoise(x*230, y*230, seed+3)
		mott := fbm(x*5, y*5, 3, seed+7)
		s := 0.45 + 0.55*tuft*tuft + 0.2*(tuft2-0.5) + 0.35*(mott-0.5)
		return col.scale(s).add(rgb{0.05, 0.04, 0.05}.scale(mott))
	}}
}

// nutScene: a hexagonal steel nut on a dark belt.
func nutScene(rng *rand.Rand) *scene {
	seed := rng.Uint64()
	const R, hole, bevel = 0.3, 0.12, 0.155
	apothem := R * math.Cos(math.Pi/6)
	steel := rgb{0.66, 0.64, 0.60}
	light := [2]float64{-0.6, -0.8}
	o := &object{cx: 0.5, cy: 0.5, ang: rng.Float64() * math.Pi / 3, radius: R,
		bg: func(u, v float64) rgb {
			return rgb{0.16, 0.17, 0.18}.scale(0.85 + 0.3*fbm(u*12, v*12, 3, seed))
		},
	}
	o.local = func(x, y float64) (rgb, bool) {
		r := math.Hypot(x, y)
		if r < hole {
			return rgb{}, false
		}
		edge := math.Inf(1)
		for k := range 3 {
			s, c := math.Sincos(float64(k)*math.Pi/3 + math.Pi/6)
			d := apothem - math.Abs(c*x+s*y)
			if d < 0 {
				return rgb{}, false
			}
			edge = math.Min(edge, d)
		}
		shade := 0.85 + 0.1*valueNoise(x*140, y*140, seed+1)
		if r < bevel { // the chamfer around the hole, lit from the upper left
			shade *= 1.0 + 0.35*(x*light[0]+y*light[1])/r
		} else {
			shade *= 0.95 + 0.15*math.Sin(40*math.Atan2(y, x))*0.2
		}
		if edge < 0.02 {
			shade *= 0.7 + 15*edge
		}
		return steel.scale(shade), true
	}
	return &scene{at: o.at, obj: o}
}

// pillScene: a white capsule-shaped pill with a score line and a few red speckles
// that differ from pill to pill (a normal variation).
func pillScene(rng *rand.Rand) *scene {
	seed := rng.Uint64()
	const half, rad = 0.24, 0.12
	type dot struct{ x, y, r float64 }
	var dots []dot
	for range 3 + rng.IntN(6) {
		dots = append(dots, dot{(rng.Float64()*2 - 1) * (half + rad*0.5), (rng.Float64()*2 - 1) * rad * 0.7, 0.004 + 0.004*rng.Float64()})
	}
	body := rgb{0.93, 0.91, 0.86}
	o := &object{cx: 0.5, cy: 0.5, ang: (rng.Float64()*2 - 1) * 0.05, radius: half + rad,
		bg: func(u, v float64) rgb {
			return rgb{0.42, 0.50, 0.62}.scale(0.9 + 0.2*fbm(u*8, v*8, 3, seed))
		},
	}
	o.local = func(x, y float64) (rgb, bool) {
		ax := math.Max(0, math.Abs(x)-half)
		d := math.Hypot(ax, y)
		if d > rad {
			return rgb{}, false
		}
		t := d / rad
		c := body.scale(0.72 + 0.28*math.Sqrt(1-t*t) + 0.04*(valueNoise(x*200, y*200, seed+2)-0.5))
		if math.Abs(x) < 0.004 && math.Abs(y) < rad*0.8 {
			c = c.scale(0.8)
		}
		for _, p := range dots {
			if math.Hypot(x-p.x, y-p.y) < p.r {
				c = rgb{0.70, 0.25, 0.22}
			}
		}
		return c, true
	}
	return &scene{at: o.at, obj: o}
}
