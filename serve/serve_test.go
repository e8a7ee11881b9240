package serve

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ideal-fsad/ideal"
	"github.com/ideal-fsad/ideal/data/synth"
	"github.com/ideal-fsad/ideal/model/head"
	"github.com/ideal-fsad/ideal/weights"
)

const (
	tinyBackbone = "../testdata/fixtures/dinov2-tiny/weights.safetensors"
	size         = 112 // G = 8 with the tiny backbone's patch 14
)

// fixture is a weights folder (backbone.safetensors, head.safetensors) and images.
type fixture struct {
	weights                       string
	normal, abnormal, mask, query []byte
	query2                        []byte
}

var (
	fixOnce sync.Once
	fix     fixture
	fixErr  error
)

// getFixture makes the fixture once per test binary.
func getFixture(t *testing.T) fixture {
	t.Helper()
	fixOnce.Do(func() { fixErr = makeFixture() })
	if fixErr != nil {
		t.Fatal(fixErr)
	}
	return fix
}

func makeFixture() error {
	dir, err := os.MkdirTemp("", "serve-fixture-")
	if err != nil {
		return err
	}
	fix.weights = filepath.Join(dir, "weights")
	os.MkdirAll(fix.weights, 0o755)
	bb, err := weights.ReadSafetensors(tinyBackbone)
	if err != nil {
		return err
	}
	if err := weights.WriteSafetensors(filepath.Join(fix.weights, "backbone.safetensors"), bb.Tensors, map[string]string{"num_attention_heads": "3"}); err != nil {
		return err
	}
	hw, err := head.Init(48, 45, 7)
	if err != nil {
		return err
	}
	if err := hw.WriteFile(filepath.Join(fix.weights, "head.safetensors")); err != nil {
		return err
	}
	data := filepath.Join(dir, "data")
	if err := synth.Generate(data, synth.Options{Size: size, Seed: 3, Classes: []string{"nut"}, Train: 1, TestGood: 2, PerDefect: 1}); err != nil {
		return err
	}
	defect := synth.DefectTypes("nut")[0]
	rd := func(p string) []byte {
		b, e := os.ReadFile(filepath.Join(data, "nut", p))
		if e != nil && err == nil {
			err = e
		}
		return b
	}
	fix.normal, fix.abnormal = rd("train/good/000.png"), rd("test/"+defect+"/000.png")
	fix.mask, fix.query, fix.query2 = rd("ground_truth/"+defect+"/000_mask.png"), rd("test/good/001.png"), rd("test/good/000.png")
	return err
}

// expected scores a query with an independent detector and episode.
func expected(t *testing.T, f fixture, query []byte) float32 {
	t.Helper()
	det, err := ideal.New(ideal.Options{Backbone: filepath.Join(f.weights, "backbone.safetensors"),
		Head: filepath.Join(f.weights, "head.safetensors"), Size: size})
	if err != nil {
		t.Fatal(err)
	}
	defer det.Close()
	m, err := decodeMask("mask", f.mask)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ep, err := det.Episode(ctx, ideal.Refs{Normal: []ideal.Input{ideal.Bytes("n", f.normal)},
		Abnormal: []ideal.Abnormal{{Input: ideal.Bytes("a", f.abnormal), Mask: m}}})
	if err != nil {
		t.Fatal(err)
	}
	defer ep.Close()
	r, err := ep.Score(ctx, ideal.Bytes("q", query))
	if err != nil {
		t.Fatal(err)
	}
	return r.ImageScore
}

// start serves a server of cfg on loopback until the test ends; it returns the
// server and its base URL once ready.
func start(t *testing.T, cfg Config) (*Server, string) {
	t.Helper()
	if cfg.Weights == "" {
		cfg.Weights = getFixture(t).weights
	}
	if cfg.State == "" {
		cfg.State = t.TempDir()
	}
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := Listen("127.0.0.1:0", false, "", "", "")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	for deadline := time.Now().Add(20 * time.Second); !s.Ready(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("not ready")
		}
	}
	return s, "http://" + ln.Addr().String()
}

// profileBody is a multipart profile upload of the fixture's references.
func profileBody(t *testing.T, f fixture, spec string) (string, []byte) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("json", spec)
	for _, p := range []struct {
		field string
		data  []byte
	}{{"normal[]", f.normal}, {"abnormal[]", f.abnormal}, {"mask[]", f.mask}} {
		w, _ := mw.CreateFormFile(p.field, "x.png")
		w.Write(p.data)
	}
	mw.Close()
	return mw.FormDataContentType(), buf.Bytes()
}

const specJSON = `{"backbone":"backbone.safetensors","head":"head.safetensors","size":112,"threshold":0.5}`

// do sends a request and returns the status and body.
func do(t *testing.T, method, url, ctype string, body []byte, hdr ...string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func putProfile(t *testing.T, base, name, spec string) {
	t.Helper()
	ct, body := profileBody(t, getFixture(t), spec)
	if code, b := do(t, "PUT", base+"/v1/profiles/"+name, ct, body); code != 200 && code != 201 {
		t.Fatalf("PUT %s: %d %s", name, code, b)
	}
}

// infer scores query through /v2/models/NAME/infer (BYTES).
func infer(t *testing.T, base, name string, query []byte) (float32, bool) {
	t.Helper()
	req := fmt.Sprintf(`{"id":"1","inputs":[{"name":"image","shape":[1],"datatype":"BYTES","data":["%s"]}]}`,
		base64.StdEncoding.EncodeToString(query))
	code, b := do(t, "POST", base+"/v2/models/"+name+"/infer", "application/json", []byte(req))
	if code != 200 {
		t.Fatalf("infer: %d %s", code, b)
	}
	return parseInfer(t, b)
}

func parseInfer(t *testing.T, b []byte) (float32, bool) {
	t.Helper()
	var resp struct {
		ModelName string `json:"model_name"`
		Outputs   []struct {
			Name     string          `json:"name"`
			Datatype string          `json:"datatype"`
			Shape    []int           `json:"shape"`
			Data     json.RawMessage `json:"data"`
		} `json:"outputs"`
	}
	if err := json.Unmarshal(b, &resp); err != nil || len(resp.Outputs) != 2 {
		t.Fatalf("infer response %s: %v", b, err)
	}
	var sc []float32
	var v []bool
	if resp.Outputs[0].Name != "image_score" || resp.Outputs[0].Datatype != "FP32" || resp.Outputs[1].Datatype != "BOOL" {
		t.Fatalf("outputs: %s", b)
	}
	if json.Unmarshal(resp.Outputs[0].Data, &sc) != nil || json.Unmarshal(resp.Outputs[1].Data, &v) != nil || len(sc) != 1 || len(v) != 1 {
		t.Fatalf("outputs: %s", b)
	}
	return sc[0], v[0]
}

func TestServeProfileRoundTrip(t *testing.T) {
	_, base := start(t, Config{})
	putProfile(t, base, "line-1", specJSON)
	code, b := do(t, "GET", base+"/v1/profiles", "", nil)
	var list struct {
		Profiles []profileInfo `json:"profiles"`
	}
	if json.Unmarshal(b, &list); code != 200 || len(list.Profiles) != 1 || list.Profiles[0].Name != "line-1" || list.Profiles[0].Abnormal != 1 {
		t.Fatalf("list: %d %s", code, b)
	}
	if code, b = do(t, "GET", base+"/v1/profiles/line-1", "", nil); code != 200 {
		t.Fatalf("get: %d %s", code, b)
	}
	var res struct {
		Results []scored `json:"results"`
	}
	code, b = do(t, "POST", base+"/v1/profiles/line-1/score?map=f32", "image/png", getFixture(t).query)
	if json.Unmarshal(b, &res); code != 200 || len(res.Results) != 1 || res.Results[0].Map == nil || len(res.Results[0].Map.Data) != 64 {
		t.Fatalf("score: %d %s", code, b)
	}
	if want := expected(t, getFixture(t), getFixture(t).query); res.Results[0].ImageScore != want {
		t.Errorf("score %v, want %v", res.Results[0].ImageScore, want)
	}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for i, q := range [][]byte{getFixture(t).query, getFixture(t).query2} {
		w, _ := mw.CreateFormFile("image", fmt.Sprintf("q%d.png", i))
		w.Write(q)
	}
	mw.Close()
	code, b = do(t, "POST", base+"/v1/profiles/line-1/score?map=png", mw.FormDataContentType(), buf.Bytes())
	if json.Unmarshal(b, &res); code != 200 || len(res.Results) != 2 || res.Results[1].MapPNG == "" || res.Results[1].Name != "q1.png" {
		t.Fatalf("multipart score: %d %.300s", code, b)
	}
	if code, b = do(t, "DELETE", base+"/v1/profiles/line-1", "", nil); code != 204 {
		t.Fatalf("delete: %d %s", code, b)
	}
	if code, _ = do(t, "GET", base+"/v1/profiles/line-1", "", nil); code != 404 {
		t.Fatalf("get after delete: %d", code)
	}
	if code, _ = do(t, "POST", base+"/v1/profiles/line-1/score", "image/png", getFixture(t).query); code != 404 {
		t.Fatalf("score after delete: %d", code)
	}
}

func TestServeInferMatchesEpisode(t *testing.T) {
	f := getFixture(t)
	_, base := start(t, Config{})
	putProfile(t, base, "p", specJSON)
	want := expected(t, f, f.query)
	got, verdict := infer(t, base, "p", f.query)
	if got != want || verdict != (want >= 0.5) {
		t.Fatalf("infer: %v %v, want %v (bit for bit)", got, verdict, want)
	}
	for _, path := range []string{"/v2/health/live", "/v2/health/ready", "/v2", "/v2/models/p", "/v2/models/p/ready"} {
		if code, b := do(t, "GET", base+path, "", nil); code != 200 {
			t.Errorf("%s: %d %s", path, code, b)
		}
	}
	if code, _ := do(t, "GET", base+"/v2/models/nope/ready", "", nil); code != 404 {
		t.Errorf("ready of a missing model: %d", code)
	}
	code, b := do(t, "GET", base+"/metrics", "", nil)
	if code != 200 || !bytes.Contains(b, []byte(`ideal_requests_total{code="200",route="/v2/models/{name}/infer"} 1`)) ||
		!bytes.Contains(b, []byte(`ideal_stage_duration_seconds_count{stage="features"}`)) {
		t.Errorf("metrics: %d %s", code, b)
	}
}

func TestServeReadyAfterLoad(t *testing.T) {
	cfg := Config{State: t.TempDir(), Weights: getFixture(t).weights, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rec := func(path string) int {
		code, _ := doHandler(s.Handler(), "GET", path)
		return code
	}
	if rec("/v2/health/ready") != 503 || rec("/v2/health/live") != 200 {
		t.Fatal("ready before Load")
	}
	if err := s.Load(context.Background()); err != nil || rec("/v2/health/ready") != 200 {
		t.Fatalf("not ready after Load: %v", err)
	}
}

func TestServeRestartReloads(t *testing.T) {
	f := getFixture(t)
	state := t.TempDir()
	func() {
		s, base := start(t, Config{State: state})
		putProfile(t, base, "keep", specJSON)
		s.Close()
	}()
	_, base := start(t, Config{State: state})
	if got, _ := infer(t, base, "keep", f.query); got != expected(t, f, f.query) {
		t.Fatalf("after restart: %v", got)
	}
}

// doHandler runs a request through h in memory.
func doHandler(h http.Handler, method, path string) (int, []byte) {
	req, _ := http.NewRequest(method, path, nil)
	req.RemoteAddr = "127.0.0.1:1"
	rw := &memWriter{h: http.Header{}}
	h.ServeHTTP(rw, req)
	return rw.code, rw.buf.Bytes()
}

type memWriter struct {
	h    http.Header
	code int
	buf  bytes.Buffer
}

func (m *memWriter) Header() http.Header { return m.h }
func (m *memWriter) WriteHeader(c int) {
	if m.code == 0 {
		m.code = c
	}
}
func (m *memWriter) Write(b []byte) (int, error) {
	m.WriteHeader(200)
	return m.buf.Write(b)
}

var _ net.Listener // keep net for the helpers in other files
