package serve

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"image/png"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/ideal-fsad/ideal"
	"github.com/ideal-fsad/ideal/imaging"
)

// image is one query of a request.
type image struct {
	name string
	data []byte
}

// scored is one query's result.
type scored struct {
	Name       string     `json:"name"`
	ImageScore float32    `json:"image_score"`
	Anomalous  bool       `json:"anomalous"`
	Verdict    string     `json:"verdict"` // "anomalous" or "normal"
	TimeMS     float64    `json:"time_ms"`
	MapPNG     string     `json:"map_png,omitempty"` // base64 PNG heatmap (inferno) of A at the image's size
	Map        *gridJS    `json:"map,omitempty"`     // the G×G map A, float32
	Contour    *contourJS `json:"contour,omitempty"` // the region A ≥ threshold as polygons
	result     *ideal.Result
}

type gridJS struct {
	Width  int       `json:"width"`
	Height int       `json:"height"`
	Data   []float32 `json:"data"`
}

// deadline is the request's context with the per-request deadline.
func (s *Server) deadline(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), s.cfg.Timeout)
}

// scoreRequest scores a request's images against the profile its path names, within
// the request's deadline; on failure it writes the error response (404 for an unknown
// profile) and returns ok = false.
func (s *Server) scoreRequest(w http.ResponseWriter, r *http.Request, imgs []image) (spec *Spec, res []scored, ok bool) {
	ctx, cancel := s.deadline(r)
	defer cancel()
	spec, res, err := s.score(ctx, r.PathValue("name"), imgs)
	if errors.Is(err, errNotFound) {
		writeError(w, http.StatusNotFound, err.Error())
		return nil, nil, false
	}
	if err != nil {
		s.fail(w, err)
		return nil, nil, false
	}
	return spec, res, true
}

// score scores images against profile name, waiting for a slot of the limiter.
func (s *Server) score(ctx context.Context, name string, imgs []image) (*Spec, []scored, error) {
	if len(imgs) == 0 {
		return nil, nil, fmt.Errorf("%w: no image given", ideal.ErrBadInput)
	}
	if len(imgs) > s.cfg.MaxImages {
		return nil, nil, fmt.Errorf("%w: %d images; at most %d per request", ideal.ErrBadInput, len(imgs), s.cfg.MaxImages)
	}
	queued := time.Now()
	release, err := s.lim.acquire(ctx)
	if err != nil {
		return nil, nil, err
	}
	defer release()
	s.met.stage.WithLabelValues("queue").Observe(time.Since(queued).Seconds())
	p := s.lookup(name)
	if p == nil {
		return nil, nil, errNoProfile(name)
	}
	defer p.mu.RUnlock()
	out := make([]scored, len(imgs))
	for i, im := range imgs {
		t0 := time.Now()
		f, err := p.det.Features(ctx, ideal.Bytes(im.name, im.data))
		if err != nil {
			return nil, nil, err
		}
		t1 := time.Now()
		r, err := p.ep.ScoreFeatures(ctx, f)
		if err != nil {
			return nil, nil, &ideal.InputError{Path: im.name, Err: err}
		}
		t2 := time.Now()
		s.met.stage.WithLabelValues("features").Observe(t1.Sub(t0).Seconds())
		s.met.stage.WithLabelValues("score").Observe(t2.Sub(t1).Seconds())
		s.met.images.Inc()
		an := r.Anomalous(p.spec.Threshold)
		out[i] = scored{Name: im.name, ImageScore: r.ImageScore, Anomalous: an, Verdict: verdict(an),
			TimeMS: float64(t2.Sub(t0).Microseconds()) / 1000, result: r}
	}
	spec := p.spec
	return &spec, out, nil
}

func verdict(anomalous bool) string {
	if anomalous {
		return "anomalous"
	}
	return "normal"
}

// errNotFound marks a missing profile (404).
var errNotFound = errors.New("not found")

func errNoProfile(name string) error { return fmt.Errorf("no profile %q: %w", name, errNotFound) }

// handleScore scores the body's images: raw image bytes, or multipart with any number
// of image files. ?map=png adds a heatmap PNG, ?map=f32 the G×G map A, ?map=contour
// the region A ≥ threshold as polygons in image pixels.
func (s *Server) handleScore(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	mapKind := r.URL.Query().Get("map")
	if mapKind != "" && mapKind != "png" && mapKind != "f32" && mapKind != "contour" {
		writeError(w, http.StatusBadRequest, "map must be png, f32 or contour")
		return
	}
	imgs, err := s.readImages(r)
	if err != nil {
		s.fail(w, err)
		return
	}
	s.met.stage.WithLabelValues("read").Observe(time.Since(start).Seconds())
	spec, res, ok := s.scoreRequest(w, r, imgs)
	if !ok {
		return
	}
	for i := range res {
		if err := addMap(&res[i], mapKind, spec.Threshold); err != nil {
			s.fail(w, err)
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"profile": spec.Name, "threshold": spec.Threshold, "results": res,
		"time_ms": float64(time.Since(start).Microseconds()) / 1000})
}

// readImages reads a scoring request's images.
func (s *Server) readImages(r *http.Request) ([]image, error) {
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/") {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, badUpload(err)
		}
		return []image{{name: "image", data: b}}, nil
	}
	mr, err := multipartReader(r)
	if err != nil {
		return nil, err
	}
	var imgs []image
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return imgs, nil
		}
		if err != nil {
			return nil, badUpload(err)
		}
		b, err := io.ReadAll(part)
		if err != nil {
			return nil, badUpload(err)
		}
		name := part.FileName()
		if name == "" {
			name = fmt.Sprintf("image[%d]", len(imgs))
		}
		if imgs = append(imgs, image{name, b}); len(imgs) > s.cfg.MaxImages {
			return nil, fmt.Errorf("%w: more than %d images in one request", ideal.ErrBadInput, s.cfg.MaxImages)
		}
	}
}

// addMap fills in the map a request asked for (thr: the profile's threshold).
func addMap(sc *scored, kind string, thr float32) error {
	r := sc.result
	switch kind {
	case "contour":
		sc.Contour = resultContour(r, thr)
	case "f32":
		sc.Map = &gridJS{Width: r.Grid, Height: r.Grid, Data: r.Map}
	case "png":
		w, h := r.W, r.H
		if w == 0 {
			w, h = r.Side, r.Side
		}
		cm, err := imaging.LookupColormap("inferno")
		if err != nil {
			return err
		}
		var buf bytes.Buffer
		if err := png.Encode(&buf, cm.Colorize(r.Upsample(h, w), w, h)); err != nil {
			return err
		}
		sc.MapPNG = base64.StdEncoding.EncodeToString(buf.Bytes())
	}
	return nil
}
