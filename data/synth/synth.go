package synth

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"image"
	"image/png"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/ideal-fsad/ideal/internal/atomicfile"
)

// Options configure Generate. Zero counts and size take the defaults.
type Options struct {
	Size      int      // image side in pixels (default 256)
	Seed      uint64   // the data set is a function of Seed, Size and the counts
	Classes   []string // classes to make (default: all, see Classes)
	Train     int      // normal training images per class (default 10)
	TestGood  int      // normal test images per class (default 6)
	PerDefect int      // test images per defect type and class (default 3)
	// Progress, when set, is called after each image with the number done and the total.
	// Calls come from several goroutines, one at a time.
	Progress func(done, total int)
	// Replace allows class folders that already exist in a folder made by Generate
	// (one holding synth.json): they are removed first. Without it an existing class
	// folder is an error, so that no stale image of an earlier run is mixed in.
	Replace bool
}

// Defaults.
const (
	DefaultSize      = 256
	DefaultTrain     = 10
	DefaultTestGood  = 6
	DefaultPerDefect = 3
)

// Classes returns the names of the classes Generate can make, textures first.
func Classes() []string {
	var n []string
	for _, s := range specs {
		n = append(n, s.name)
	}
	return n
}

// DefectTypes returns the defect types of a class, or nil for an unknown class.
func DefectTypes(class string) []string {
	for _, s := range specs {
		if s.name == class {
			return slices.Clone(s.defects)
		}
	}
	return nil
}

// IsTexture reports whether a class is a texture (else an object on a background).
func IsTexture(class string) bool {
	for _, s := range specs {
		if s.name == class {
			return s.texture
		}
	}
	return false
}

// job is one image to make.
type job struct {
	spec  *classSpec
	split string // train or test
	typ   string // "good" or a defect type
	index int
}

func (j job) dir(out string) string { return filepath.Join(out, j.spec.name, j.split, j.typ) }

func (j job) name() string { return fmt.Sprintf("%03d", j.index) }

// ManifestName is the file Generate writes at the top of its output folder.
const ManifestName = "synth.json"

// manifest records how a data set was made.
type manifest struct {
	Generator string              `json:"generator"`
	Seed      uint64              `json:"seed"`
	Size      int                 `json:"size"`
	Train     int                 `json:"train"`
	TestGood  int                 `json:"test_good"`
	PerDefect int                 `json:"per_defect"`
	Classes   map[string][]string `json:"classes"` // class → defect types
	Mask      string              `json:"mask"`
}

// Generate writes the synthetic data set into out in the MVTec AD layout
// (<class>/train/good, <class>/test/good, <class>/test/<type>,
// <class>/ground_truth/<type>/<name>_mask.png) and a manifest, synth.json.
// Every file is written atomically. Class folders that exist already are an error
// unless opt.Replace is set (see Options).
func Generate(out string, opt Options) error {
	if err := opt.fillDefaults(); err != nil {
		return err
	}
	chosen, err := chooseClasses(opt.Classes)
	if err != nil {
		return err
	}
	if err := clearClasses(out, chosen, opt.Replace); err != nil {
		return err
	}
	jobs, m := planJobs(chosen, opt)
	if err := makeJobDirs(out, jobs); err != nil {
		return err
	}
	if err := runJobs(out, jobs, opt); err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(out, ManifestName), func(w io.Writer) error {
		e := json.NewEncoder(w)
		e.SetIndent("", "  ")
		return e.Encode(m)
	})
}

// fillDefaults sets the zero size and counts of opt to their defaults and checks
// that all lie in range.
func (opt *Options) fillDefaults() error {
	if opt.Size == 0 {
		opt.Size = DefaultSize
	}
	if opt.Size < 32 || opt.Size > 4096 {
		return fmt.Errorf("synth: size %d out of range [32, 4096]", opt.Size)
	}
	for _, c := range []struct {
		n   *int
		def int
		min int
		nm  string
	}{{&opt.Train, DefaultTrain, 1, "train"}, {&opt.TestGood, DefaultTestGood, 1, "test"}, {&opt.PerDefect, DefaultPerDefect, 1, "per-defect"}} {
		if *c.n == 0 {
			*c.n = c.def
		}
		if *c.n < c.min || *c.n > 10000 {
			return fmt.Errorf("synth: %s count %d out of range [%d, 10000]", c.nm, *c.n, c.min)
		}
	}
	return nil
}

// chooseClasses returns the specs of the named classes, each once, in the order
// first named; no names choose every class.
func chooseClasses(names []string) ([]*classSpec, error) {
	var chosen []*classSpec
	if len(names) == 0 {
		for i := range specs {
			chosen = append(chosen, &specs[i])
		}
		return chosen, nil
	}
	for _, name := range names {
		i := slices.IndexFunc(specs, func(s classSpec) bool { return s.name == name })
		if i < 0 {
			return nil, fmt.Errorf("synth: unknown class %q (known: %s)", name, strings.Join(Classes(), ", "))
		}
		if !slices.Contains(chosen, &specs[i]) {
			chosen = append(chosen, &specs[i])
		}
	}
	return chosen, nil
}

// clearClasses removes the existing class folders of chosen under out when replace
// is set and out holds a synth manifest; otherwise an existing folder is an error.
func clearClasses(out string, chosen []*classSpec, replace bool) error {
	for _, s := range chosen {
		dir := filepath.Join(out, s.name)
		if _, err := os.Lstat(dir); err != nil {
			continue
		}
		if !replace {
			return fmt.Errorf("synth: %s exists; choose another output folder or replace it", dir)
		}
		if _, err := os.Stat(filepath.Join(out, ManifestName)); err != nil {
			return fmt.Errorf("synth: %s exists and %s holds no %s: not replacing a folder synth did not make", dir, out, ManifestName)
		}
		if err := os.RemoveAll(dir); err != nil {
			return fmt.Errorf("synth: %w", err)
		}
	}
	return nil
}

// planJobs lists the images to make for the chosen classes, and the manifest that
// describes them.
func planJobs(chosen []*classSpec, opt Options) ([]job, manifest) {
	var jobs []job
	m := manifest{Generator: "ideal synth", Seed: opt.Seed, Size: opt.Size, Train: opt.Train, TestGood: opt.TestGood,
		PerDefect: opt.PerDefect, Classes: map[string][]string{},
		Mask: "the pixels whose centre falls in the defect's drawn region"}
	for _, s := range chosen {
		m.Classes[s.name] = s.defects
		for i := range opt.Train {
			jobs = append(jobs, job{s, "train", "good", i})
		}
		for i := range opt.TestGood {
			jobs = append(jobs, job{s, "test", "good", i})
		}
		for _, t := range s.defects {
			for i := range opt.PerDefect {
				jobs = append(jobs, job{s, "test", t, i})
			}
		}
	}
	return jobs, m
}

// makeJobDirs creates the image folder of every job under out, and the
// ground-truth folder of every defect type.
func makeJobDirs(out string, jobs []job) error {
	for _, j := range jobs {
		if err := os.MkdirAll(j.dir(out), 0o755); err != nil {
			return fmt.Errorf("synth: %w", err)
		}
		if j.typ != "good" {
			if err := os.MkdirAll(filepath.Join(out, j.spec.name, "ground_truth", j.typ), 0o755); err != nil {
				return fmt.Errorf("synth: %w", err)
			}
		}
	}
	return nil
}

// runJobs makes the images of jobs under out on GOMAXPROCS workers, reporting
// progress through opt.Progress, and returns the errors of all that failed.
func runJobs(out string, jobs []job, opt Options) error {
	var (
		mu   sync.Mutex
		done int
		errs []error
		wg   sync.WaitGroup
		next = make(chan job)
	)
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for j := range next {
				err := makeImage(out, j, opt)
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
				}
				done++
				if opt.Progress != nil {
					opt.Progress(done, len(jobs))
				}
				mu.Unlock()
			}
		})
	}
	for _, j := range jobs {
		next <- j
	}
	close(next)
	wg.Wait()
	return errors.Join(errs...)
}

// jobRand returns the random source of one image: a function of the seed and the
// image's place in the data set only.
func jobRand(seed uint64, j job) *rand.Rand {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s/%s/%s/%d", j.spec.name, j.split, j.typ, j.index)
	return rand.New(rand.NewPCG(seed, h.Sum64()))
}

// camera is the nuisance of one shot: pose, lighting and sensor noise.
type camera struct {
	size         int
	sin, cos     float64 // of the rotation about the image centre
	tu, tv       float64 // shift, scene units
	gain, offset float64
	tint         rgb
	grad         [2]float64 // illumination gradient per scene unit along u and v
	noise        float64    // sensor noise σ, [0, 1] units
}

func newCamera(rng *rand.Rand, texture bool, size int) camera {
	maxAng, maxShift := 0.07, 0.03 // radians, scene units
	if texture {
		maxAng = 0.05
	}
	sym := func(m float64) float64 { return (rng.Float64()*2 - 1) * m }
	s, c := math.Sincos(-sym(maxAng))
	return camera{
		size: size, sin: s, cos: c, tu: sym(maxShift), tv: sym(maxShift),
		gain: 1 + sym(0.12), offset: sym(0.03),
		tint:  rgb{1 + sym(0.03), 1 + sym(0.02), 1 + sym(0.03)},
		grad:  [2]float64{sym(0.12), sym(0.12)},
		noise: (1.5 + 1.5*rng.Float64()) / 255,
	}
}

// scene returns the scene coordinates seen at the centre of pixel (x, y).
func (cam *camera) scene(x, y int) (float64, float64) {
	px := (float64(x)+0.5)/float64(cam.size) - 0.5 - cam.tu
	py := (float64(y)+0.5)/float64(cam.size) - 0.5 - cam.tv
	return 0.5 + cam.cos*px - cam.sin*py, 0.5 + cam.sin*px + cam.cos*py
}

// render samples a scene field at every pixel centre.
func (cam *camera) render(f field) []rgb {
	img := make([]rgb, cam.size*cam.size)
	for y := range cam.size {
		for x := range cam.size {
			img[y*cam.size+x] = f(cam.scene(x, y))
		}
	}
	return img
}

// drawDefect marks the pixels whose centre falls in the defect's region and returns
// the mask and its area; with paint set it also repaints them in img.
func (cam *camera) drawDefect(d drawnDefect, img []rgb, paint bool) (*image.Gray, int) {
	m := image.NewGray(image.Rect(0, 0, cam.size, cam.size))
	n := 0
	for y := range cam.size {
		for x := range cam.size {
			u, v := cam.scene(x, y)
			if d.region(u, v) {
				i := y*cam.size + x
				m.Pix[i] = 255
				n++
				if paint {
					img[i] = d.at(u, v)
				}
			}
		}
	}
	return m, n
}

// expose applies lighting and sensor noise and quantises to 8 bits.
func (cam *camera) expose(img []rgb, rng *rand.Rand) *image.RGBA {
	size := cam.size
	out := image.NewRGBA(image.Rect(0, 0, size, size))
	for y := range size {
		gy := cam.grad[1] * ((float64(y)+0.5)/float64(size) - 0.5)
		for x := range size {
			g := cam.gain + gy + cam.grad[0]*((float64(x)+0.5)/float64(size)-0.5)
			p := img[y*size+x]
			o := out.PixOffset(x, y)
			for k := range 3 {
				val := p[k]*g*cam.tint[k] + cam.offset + rng.NormFloat64()*cam.noise
				out.Pix[o+k] = uint8(math.Round(255 * clamp01(val)))
			}
			out.Pix[o+3] = 255
		}
	}
	return out
}

// Accepted defect areas, as fractions of the image: smaller or larger draws (a
// defect that fell mostly off the object, say) are drawn again.
const (
	minDefectArea = 0.0015
	maxDefectArea = 1.0 / 3
)

func makeImage(out string, j job, opt Options) error {
	rng := jobRand(opt.Seed, j)
	sc := j.spec.scene(rng)
	cam := newCamera(rng, j.spec.texture, opt.Size)
	img := cam.render(sc.at)
	var mask *image.Gray
	if j.typ != "good" {
		area := float64(opt.Size * opt.Size)
		lo, hi := max(6, int(minDefectArea*area)), int(maxDefectArea*area)
		for try := 0; ; try++ {
			d, err := withDefect(sc, j.typ, rng, 1/float64(opt.Size))
			if err != nil {
				return err
			}
			if _, n := cam.drawDefect(d, img, false); n >= lo && n <= hi {
				mask, _ = cam.drawDefect(d, img, true)
				break
			}
			if try == 50 {
				return fmt.Errorf("synth: %s/%s %s: no defect of a usable size in 50 draws", j.spec.name, j.typ, j.name())
			}
		}
	}
	rgba := cam.expose(img, rng)
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := atomicfile.Write(filepath.Join(j.dir(out), j.name()+".png"), func(w io.Writer) error { return enc.Encode(w, rgba) }); err != nil {
		return fmt.Errorf("synth: %w", err)
	}
	if mask != nil {
		p := filepath.Join(out, j.spec.name, "ground_truth", j.typ, j.name()+"_mask.png")
		if err := atomicfile.Write(p, func(w io.Writer) error { return enc.Encode(w, mask) }); err != nil {
			return fmt.Errorf("synth: %w", err)
		}
	}
	return nil
}
