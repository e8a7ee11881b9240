package pipelinetest

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/ideal-fsad/ideal/cpu"
	"github.com/ideal-fsad/ideal/data/synth"
	"github.com/ideal-fsad/ideal/model/head"
	"github.com/ideal-fsad/ideal/results"
	"github.com/ideal-fsad/ideal/serve"
	"github.com/ideal-fsad/ideal/viewer"
	"github.com/ideal-fsad/ideal/wasm/engine"
	"github.com/ideal-fsad/ideal/weights"
)

const (
	tinyBackbone = "../../testdata/fixtures/dinov2-tiny/weights.safetensors"
	size         = 112 // G = 8 with the tiny backbone's patch 14
)

// surfaceResult is what each surface reports for the query.
type surfaceResult struct {
	score float32
	a     []float32 // G×G map A
}

// inputs are the files every surface is given.
type inputs struct {
	data, refs                    string // data set root and reference-set root
	normal, abnormal, mask, query string
	backbone, head                string
}

// makeInputs synthesises a one-class data set, a reference set of one normal and one
// abnormal image of it, and a fresh head.
func makeInputs(t *testing.T) inputs {
	t.Helper()
	dir := t.TempDir()
	in := inputs{data: filepath.Join(dir, "data"), refs: filepath.Join(dir, "refs"), head: filepath.Join(dir, "head.safetensors"),
		backbone: filepath.Join(dir, "backbone.safetensors")}
	// The tiny backbone with its head count in the file (the engine reads bytes, without
	// the config.json beside the fixture).
	bb, err := weights.ReadSafetensors(tinyBackbone)
	if err != nil {
		t.Fatal(err)
	}
	if err := weights.WriteSafetensors(in.backbone, bb.Tensors, map[string]string{"num_attention_heads": "3"}); err != nil {
		t.Fatal(err)
	}
	if err = synth.Generate(in.data, synth.Options{Size: size, Seed: 3, Classes: []string{"nut"}, Train: 1, TestGood: 2, PerDefect: 1}); err != nil {
		t.Fatal(err)
	}
	hw, err := head.Init(48, 45, 7)
	if err != nil {
		t.Fatal(err)
	}
	if err := hw.WriteFile(in.head); err != nil {
		t.Fatal(err)
	}
	defect := synth.DefectTypes("nut")[0]
	cls := filepath.Join(in.refs, "mvtec", "nut")
	in.normal = copyFile(t, filepath.Join(in.data, "nut", "train", "good", "000.png"), filepath.Join(cls, "normal", "000.png"))
	in.abnormal = copyFile(t, filepath.Join(in.data, "nut", "test", defect, "000.png"), filepath.Join(cls, "abnormal", "000.png"))
	in.mask = copyFile(t, filepath.Join(in.data, "nut", "ground_truth", defect, "000_mask.png"), filepath.Join(cls, "abnormal", "000_mask.png"))
	in.query = filepath.Join(in.data, "nut", "test", "good", "001.png")
	return in
}

func copyFile(t *testing.T, from, to string) string {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return to
}

// buildIdeal builds the command line.
func buildIdeal(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "ideal")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/ideal-fsad/ideal/cmd/ideal").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func run(t *testing.T, bin string, args ...string) {
	t.Helper()
	if out, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
		t.Fatalf("ideal %v: %v\n%s", args, err, out)
	}
}

// viaScore runs 'ideal score --json'.
func viaScore(t *testing.T, bin string, in inputs) surfaceResult {
	out := filepath.Join(t.TempDir(), "score.json")
	run(t, bin, "score", "--backend", "cpu", "--backbone", in.backbone, "--head", in.head, "--size", strconv.Itoa(size),
		"--normal", in.normal, "--abnormal", in.abnormal, "--abnormal-mask", in.mask, "--json", out, in.query)
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Queries []struct {
			ImageScore float32     `json:"image_score"`
			Map        [][]float32 `json:"map"`
		} `json:"queries"`
	}
	if err := json.Unmarshal(raw, &got); err != nil || len(got.Queries) != 1 {
		t.Fatalf("score JSON: %v (%d queries)", err, len(got.Queries))
	}
	return surfaceResult{got.Queries[0].ImageScore, slices.Concat(got.Queries[0].Map...)}
}

// viaEval runs 'ideal eval --refs' and takes the query's row of scores.csv and its
// maps file from view.json.
func viaEval(t *testing.T, bin string, in inputs) surfaceResult {
	out := filepath.Join(t.TempDir(), "eval")
	run(t, bin, "eval", "-q", "--backend", "cpu", "--data", in.data, "--format", "mvtec", "--backbone", in.backbone, "--head", in.head,
		"--size", strconv.Itoa(size), "--refs", in.refs, "--overlays", "0", "--out", out)
	var r surfaceResult
	f, err := os.Open(filepath.Join(out, "scores.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cr := csv.NewReader(f)
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if rec[1] == in.query {
			v, err := strconv.ParseFloat(rec[4], 32)
			if err != nil {
				t.Fatal(err)
			}
			r.score = float32(v)
		}
	}
	m, err := results.Read(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range m.Episodes[0].Queries {
		if q.Path == in.query {
			if _, r.a, _, _, err = results.ReadMaps(q.Maps); err != nil {
				t.Fatal(err)
			}
		}
	}
	if r.a == nil {
		t.Fatalf("ideal eval's view.json does not list %s", in.query)
	}
	return r
}

// viaViewer scores in the desktop viewer's background session.
func viaViewer(t *testing.T, in inputs) surfaceResult {
	be := cpu.New()
	defer be.Close()
	s, err := viewer.Open(viewer.Inputs{Backbone: in.backbone, Head: in.head, Size: size, Backend: be,
		Normal: []string{in.normal}, Abnormal: []viewer.Ref{{Path: in.abnormal, Mask: in.mask}}, Queries: []string{in.query}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.Start()
	if p := s.Wait(); p.Err != nil {
		t.Fatal(p.Err)
	}
	qs, _ := s.Results()
	if len(qs) != 1 {
		t.Fatalf("viewer: %d results", len(qs))
	}
	return surfaceResult{qs[0].ImageScore, qs[0].Maps[viewer.MapA]}
}

// viaEngine scores in the browser engine (natively, on the same backend).
func viaEngine(t *testing.T, in inputs) surfaceResult {
	read := func(p string) []byte { return readFile(t, p) }
	be := cpu.New()
	defer be.Close()
	s, err := engine.NewFromBytes(read(in.backbone), size, engine.WithBackend(be))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	hw, err := engine.HeadFromBytes(read(in.head))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetHead(hw); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetReferences([][]byte{read(in.normal)}, [][]byte{read(in.abnormal)}, [][]byte{read(in.mask)}); err != nil {
		t.Fatal(err)
	}
	r, err := s.Score(read(in.query))
	if err != nil {
		t.Fatal(err)
	}
	return surfaceResult{r.ImageScore, r.Map}
}

// viaServe scores through the inspection service: a profile uploaded over its API, the
// query posted to /v1/profiles/p/score?map=f32 (the G×G map) — the HTTP path a
// production line takes.
func viaServe(t *testing.T, in inputs) surfaceResult {
	srv, err := serve.New(serve.Config{State: t.TempDir(), Weights: filepath.Dir(in.backbone)})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if err := srv.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	spec := fmt.Sprintf(`{"backbone": %q, "head": %q, "size": %d, "threshold": 0.5}`, filepath.Base(in.backbone), filepath.Base(in.head), size)
	mw.WriteField("json", spec)
	for field, p := range map[string]string{"normal": in.normal, "abnormal": in.abnormal, "mask": in.mask} {
		w, _ := mw.CreateFormFile(field, filepath.Base(p))
		w.Write(readFile(t, p))
	}
	mw.Close()
	req, _ := http.NewRequest(http.MethodPut, hs.URL+"/v1/profiles/p", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp := do(t, req)
	resp.Body.Close()
	req, _ = http.NewRequest(http.MethodPost, hs.URL+"/v1/profiles/p/score?map=f32", bytes.NewReader(readFile(t, in.query)))
	resp = do(t, req)
	defer resp.Body.Close()
	var got struct {
		Results []struct {
			ImageScore float32 `json:"image_score"`
			Map        struct {
				Data []float32 `json:"data"`
			} `json:"map"`
		} `json:"results"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil || len(got.Results) != 1 {
		t.Fatalf("serve: %v (%d results)", err, len(got.Results))
	}
	return surfaceResult{got.Results[0].ImageScore, got.Results[0].Map.Data}
}

// do sends req and fails the test unless it succeeds.
func do(t *testing.T, req *http.Request) *http.Response {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusCreated {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("%s %s: %s %s", req.Method, req.URL.Path, resp.Status, b)
	}
	return resp
}

func readFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestOnePipeline: one query through the command line's score and eval, the viewer's
// session, the browser engine and the inspection service gives the same image score and
// G×G map, bit for bit.
func TestOnePipeline(t *testing.T) {
	in := makeInputs(t)
	bin := buildIdeal(t)
	want := viaScore(t, bin, in)
	if len(want.a) != (size/14)*(size/14) {
		t.Fatalf("ideal score: %d map values, want %d", len(want.a), (size/14)*(size/14))
	}
	if slices.Min(want.a) == slices.Max(want.a) {
		t.Fatalf("ideal score: a constant map %v", want.a)
	}
	t.Logf("ideal score --json: image score %v, A[0:4] %v", want.score, want.a[:4])
	for name, got := range map[string]surfaceResult{
		"ideal eval":     viaEval(t, bin, in),
		"viewer session": viaViewer(t, in),
		"browser engine": viaEngine(t, in),
		"ideal serve":    viaServe(t, in),
	} {
		if got.score != want.score || !slices.Equal(got.a, want.a) {
			t.Errorf("%s: score %v, map %v; ideal score --json: %v, %v", name, got.score, got.a, want.score, want.a)
		}
	}
}
