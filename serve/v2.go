package serve

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"image/png"
	"net/http"

	"github.com/ideal-fsad/ideal"
	"github.com/ideal-fsad/ideal/imaging"
)

// The Open Inference Protocol v2 (KServe v2) REST endpoints: every profile is a
// model. The model takes one input, "image": either BYTES of shape [N] (N encoded
// images; base64 strings in JSON) or UINT8 of shape [H, W, 3] or [1, H, W, 3] (one
// image's RGB pixels, row-major), and gives the outputs image_score (FP32 [N]) and
// verdict (BOOL [N]: image_score ≥ the profile's threshold).

// ServerName and ServerVersion are what GET /v2 reports.
const (
	ServerName    = "ideal"
	ServerVersion = "1"
)

type tensorMeta struct {
	Name     string `json:"name"`
	Datatype string `json:"datatype"`
	Shape    []int  `json:"shape"`
}

type inferInput struct {
	Name     string          `json:"name"`
	Shape    []int           `json:"shape"`
	Datatype string          `json:"datatype"`
	Data     json.RawMessage `json:"data"`
}

type inferRequest struct {
	ID     string       `json:"id,omitempty"`
	Inputs []inferInput `json:"inputs"`
}

type inferOutput struct {
	Name     string `json:"name"`
	Shape    []int  `json:"shape"`
	Datatype string `json:"datatype"`
	Data     any    `json:"data"`
}

type inferResponse struct {
	ModelName    string        `json:"model_name"`
	ModelVersion string        `json:"model_version,omitempty"`
	ID           string        `json:"id,omitempty"`
	Outputs      []inferOutput `json:"outputs"`
}

func (s *Server) v2Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /v2/health/live", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]bool{"live": true})
	})
	mux.HandleFunc("GET /v2/health/ready", func(w http.ResponseWriter, r *http.Request) {
		code := http.StatusOK
		if !s.Ready() {
			code = http.StatusServiceUnavailable
		}
		writeJSON(w, code, map[string]bool{"ready": s.Ready()})
	})
	mux.HandleFunc("GET /v2", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"name": ServerName, "version": ServerVersion, "extensions": []string{}})
	})
	mux.HandleFunc("GET /v2/models/{name}", s.handleModel)
	mux.HandleFunc("GET /v2/models/{name}/ready", s.handleModelReady)
	mux.HandleFunc("POST /v2/models/{name}/infer", s.handleInfer)
}

func (s *Server) handleModel(w http.ResponseWriter, r *http.Request) {
	p := s.lookup(r.PathValue("name"))
	if p == nil {
		writeError(w, http.StatusNotFound, errNoProfile(r.PathValue("name")).Error())
		return
	}
	p.mu.RUnlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"name": p.spec.Name, "versions": []string{ServerVersion}, "platform": "ideal",
		"inputs":  []tensorMeta{{"image", "BYTES", []int{-1}}},
		"outputs": []tensorMeta{{"image_score", "FP32", []int{-1}}, {"verdict", "BOOL", []int{-1}}},
	})
}

func (s *Server) handleModelReady(w http.ResponseWriter, r *http.Request) {
	p := s.lookup(r.PathValue("name"))
	if p == nil {
		writeJSON(w, http.StatusNotFound, map[string]any{"name": r.PathValue("name"), "ready": false})
		return
	}
	p.mu.RUnlock()
	writeJSON(w, http.StatusOK, map[string]any{"name": p.spec.Name, "ready": true})
}

func (s *Server) handleInfer(w http.ResponseWriter, r *http.Request) {
	var req inferRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			s.fail(w, badUpload(err))
			return
		}
		writeError(w, http.StatusBadRequest, "the body is not an inference request (JSON): "+err.Error())
		return
	}
	imgs, err := req.images()
	if err != nil {
		s.fail(w, err)
		return
	}
	_, res, ok := s.scoreRequest(w, r, imgs)
	if !ok {
		return
	}
	scores, verdicts := make([]float32, len(res)), make([]bool, len(res))
	for i, sc := range res {
		scores[i], verdicts[i] = sc.ImageScore, sc.Anomalous
	}
	writeJSON(w, http.StatusOK, inferResponse{ModelName: r.PathValue("name"), ModelVersion: ServerVersion, ID: req.ID,
		Outputs: []inferOutput{
			{Name: "image_score", Shape: []int{len(res)}, Datatype: "FP32", Data: scores},
			{Name: "verdict", Shape: []int{len(res)}, Datatype: "BOOL", Data: verdicts},
		}})
}

// images are the request's images.
func (q *inferRequest) images() ([]image, error) {
	if len(q.Inputs) != 1 {
		return nil, fmt.Errorf("%w: want exactly one input (the image), got %d", ideal.ErrBadInput, len(q.Inputs))
	}
	in := q.Inputs[0]
	switch in.Datatype {
	case "BYTES":
		return in.bytesImages()
	case "UINT8":
		b, err := in.pixelsPNG()
		if err != nil {
			return nil, err
		}
		return []image{{name: in.Name + "[0]", data: b}}, nil
	}
	return nil, fmt.Errorf("%w: input datatype %q: want BYTES (encoded images) or UINT8 ([H, W, 3] pixels)", ideal.ErrBadInput, in.Datatype)
}

// bytesImages decodes a BYTES input: base64 strings, one per image.
func (in *inferInput) bytesImages() ([]image, error) {
	var strs []string
	if err := json.Unmarshal(in.Data, &strs); err != nil {
		return nil, fmt.Errorf("%w: BYTES data must be a flat array of base64 strings: %v", ideal.ErrBadInput, err)
	}
	if n := product(in.Shape); n != len(strs) {
		return nil, fmt.Errorf("%w: shape %v holds %d elements but data has %d", ideal.ErrBadInput, in.Shape, n, len(strs))
	}
	imgs := make([]image, len(strs))
	for i, s := range strs {
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, fmt.Errorf("%w: %s[%d]: not base64: %v", ideal.ErrBadInput, in.Name, i, err)
		}
		imgs[i] = image{name: fmt.Sprintf("%s[%d]", in.Name, i), data: b}
	}
	return imgs, nil
}

// pixelsPNG encodes a UINT8 [H, W, 3] input as a PNG (lossless), the detector's input.
func (in *inferInput) pixelsPNG() ([]byte, error) {
	sh := in.Shape
	if len(sh) == 4 && sh[0] == 1 {
		sh = sh[1:]
	}
	if len(sh) != 3 || sh[2] != 3 || sh[0] < 1 || sh[1] < 1 {
		return nil, fmt.Errorf("%w: UINT8 shape %v: want [H, W, 3] or [1, H, W, 3]", ideal.ErrBadInput, in.Shape)
	}
	h, w := sh[0], sh[1]
	if int64(h)*int64(w) > imaging.MaxPixels {
		return nil, fmt.Errorf("%w: %d×%d pixels is more than the limit of %d", ideal.ErrBadInput, w, h, imaging.MaxPixels)
	}
	var vals []uint16
	if err := json.Unmarshal(in.Data, &vals); err != nil {
		return nil, fmt.Errorf("%w: UINT8 data must be a flat array of numbers 0..255: %v", ideal.ErrBadInput, err)
	}
	if len(vals) != h*w*3 {
		return nil, fmt.Errorf("%w: shape %v holds %d values but data has %d", ideal.ErrBadInput, in.Shape, h*w*3, len(vals))
	}
	img := imaging.NewRGB(w, h)
	for i, v := range vals {
		if v > 255 {
			return nil, fmt.Errorf("%w: UINT8 value %d out of range", ideal.ErrBadInput, v)
		}
		img.Pix[i] = uint8(v)
	}
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.NoCompression}
	if err := enc.Encode(&buf, img); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func product(shape []int) int {
	n := 1
	for _, d := range shape {
		if d < 0 {
			return -1
		}
		n *= d
	}
	return n
}
