package serve

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ideal-fsad/ideal/wasm/site"
)

func TestServeCurl(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("no curl")
	}
	f := getFixture(t)
	_, base := start(t, Config{})
	putProfile(t, base, "p", specJSON)
	req := filepath.Join(t.TempDir(), "req.json")
	body := fmt.Sprintf(`{"inputs":[{"name":"image","shape":[1],"datatype":"BYTES","data":["%s"]}]}`, base64.StdEncoding.EncodeToString(f.query))
	os.WriteFile(req, []byte(body), 0o644)
	out, err := exec.Command(curl, "-sS", "--fail-with-body", "-H", "Content-Type: application/json", "--data-binary", "@"+req,
		base+"/v2/models/p/infer").Output()
	if err != nil {
		t.Fatalf("curl: %v %s", err, out)
	}
	if got, _ := parseInfer(t, out); got != expected(t, f, f.query) {
		t.Fatalf("curl: %v", got)
	}
}

func TestServeOverload429(t *testing.T) {
	s, base := start(t, Config{MaxParallel: 1, Queue: 1})
	putProfile(t, base, "p", specJSON)
	release, err := s.lim.acquire(context.Background()) // the one slot
	if err != nil {
		t.Fatal(err)
	}
	waiting := make(chan int)
	go func() { // takes the one queue place
		code, _ := do(t, "POST", base+"/v1/profiles/p/score", "image/png", getFixture(t).query)
		waiting <- code
	}()
	for s.lim.waitingNow() < 2 {
		time.Sleep(time.Millisecond)
	}
	req, _ := http.NewRequest("POST", base+"/v1/profiles/p/score", bytes.NewReader(getFixture(t).query))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("overload: %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	release()
	if code := <-waiting; code != 200 {
		t.Fatalf("queued request: %d", code)
	}
}

func TestServeTimeout(t *testing.T) {
	// The deadline also bounds the upload (which prepares the episode): 1 s leaves it room
	// on a loaded machine, and the score, waiting for the slot held below, runs out.
	s, base := start(t, Config{MaxParallel: 1, Timeout: time.Second})
	putProfile(t, base, "p", specJSON)
	release, _ := s.lim.acquire(context.Background())
	defer release()
	if code, b := do(t, "POST", base+"/v1/profiles/p/score", "image/png", getFixture(t).query); code != 504 {
		t.Fatalf("deadline: %d %s", code, b)
	}
}

func TestServeToken(t *testing.T) {
	if _, err := Listen("0.0.0.0:0", false, "", "", ""); !errors.Is(err, site.ErrNotLoopback) {
		t.Errorf("non-loopback without --public: %v", err)
	}
	if _, err := Listen("0.0.0.0:0", true, "", "", ""); !errors.Is(err, ErrNeedToken) {
		t.Errorf("--public without a token: %v", err)
	}
	if ln, err := Listen("0.0.0.0:0", true, "t", "", ""); err != nil {
		t.Errorf("--public with a token: %v", err)
	} else {
		ln.Close()
	}
	_, base := start(t, Config{Token: "s3cret"})
	for _, c := range []struct {
		path, auth string
		want       int
	}{{"/v1/profiles", "", 401}, {"/v1/profiles", "Bearer nope", 401}, {"/v1/profiles", "Bearer s3cret", 200},
		{"/v2/models/x", "", 401}, {"/metrics", "", 401}, {"/v2/health/live", "", 200}, {"/v2/health/ready", "", 200}} {
		if code, b := do(t, "GET", base+c.path, "", nil, "Authorization", c.auth); code != c.want {
			t.Errorf("%s %q: %d %s, want %d", c.path, c.auth, code, b, c.want)
		}
	}
}

func TestServeBadUploads(t *testing.T) {
	f := getFixture(t)
	_, base := start(t, Config{MaxBody: 1 << 20, MaxImages: 2})
	putProfile(t, base, "p", specJSON)
	big := bytes.Repeat([]byte{0x89}, 2<<20)
	many := fmt.Sprintf(`{"inputs":[{"name":"image","shape":[3],"datatype":"BYTES","data":["%[1]s","%[1]s","%[1]s"]}]}`, base64.StdEncoding.EncodeToString(f.query))
	for _, c := range []struct {
		name, method, path, ctype string
		body                      []byte
		want                      int
	}{
		{"corrupt", "POST", "/v1/profiles/p/score", "image/png", []byte("\x89PNG\r\n\x1a\ngarbage"), 400},
		{"truncated", "POST", "/v1/profiles/p/score", "image/png", f.query[:len(f.query)/2], 400},
		{"wrong type", "POST", "/v1/profiles/p/score", "text/plain", []byte("hello, world"), 400},
		{"empty", "POST", "/v1/profiles/p/score", "image/png", nil, 400},
		{"oversized", "POST", "/v1/profiles/p/score", "image/png", big, 413},
		{"too many images", "POST", "/v2/models/p/infer", "application/json", []byte(many), 400},
		{"not json", "POST", "/v2/models/p/infer", "application/json", []byte("{"), 400},
		{"bad datatype", "POST", "/v2/models/p/infer", "application/json", []byte(`{"inputs":[{"name":"image","shape":[1],"datatype":"FP32","data":[1]}]}`), 400},
		{"bad base64", "POST", "/v2/models/p/infer", "application/json", []byte(`{"inputs":[{"name":"image","shape":[1],"datatype":"BYTES","data":["@@"]}]}`), 400},
		{"no profile", "POST", "/v2/models/nope/infer", "application/json", []byte(many), 400},
		{"bad name", "PUT", "/v1/profiles/..%2f..%2fetc", "multipart/form-data; boundary=x", nil, 400},
		{"not multipart", "PUT", "/v1/profiles/q", "application/json", []byte(specJSON), 400},
		{"path backbone", "PUT", "/v1/profiles/q", "", nil, 400},
		{"corrupt reference", "PUT", "/v1/profiles/q", "", []byte("corrupt"), 400},
	} {
		ctype, body := c.ctype, c.body
		switch c.name {
		case "path backbone":
			ctype, body = profileBody(t, f, `{"backbone":"../weights/backbone.safetensors"}`)
		case "corrupt reference":
			g := f
			g.normal = []byte("not an image")
			ctype, body = profileBody(t, g, specJSON)
		}
		code, b := do(t, c.method, base+c.path, ctype, body)
		if code != c.want && !(c.name == "no profile" && code == 404) {
			t.Errorf("%s: %d %s, want %d", c.name, code, b, c.want)
		}
		if !bytes.Contains(b, []byte(`"error"`)) {
			t.Errorf("%s: no JSON error: %s", c.name, b)
		}
	}
	if code, _ := do(t, "GET", base+"/v1/profiles/q", "", nil); code != 404 {
		t.Error("a bad upload was stored")
	}
	if got, _ := infer(t, base, "p", f.query); got != expected(t, f, f.query) {
		t.Errorf("after bad uploads: %v", got)
	}
	if code, _ := do(t, "GET", base+"/v2/health/ready", "", nil); code != 200 {
		t.Errorf("unhealthy after bad uploads: %d", code)
	}
}

// TestServeKillMidUpload kills (SIGKILL) a server process in the middle of storing a
// profile, at each stage, and checks that the state then holds the old profile or
// none, never a partial one.
func TestServeKillMidUpload(t *testing.T) {
	for _, stage := range []string{"written", "aside"} {
		t.Run(stage, func(t *testing.T) {
			state := t.TempDir()
			base, child := startChild(t, state, stage)
			putProfile(t, base, "p", strings.Replace(specJSON, "0.5", "0.25", 1)) // the old one
			go func() {
				ct, body := profileBody(t, getFixture(t), specJSON)
				req, _ := http.NewRequest("PUT", base+"/v1/profiles/p", bytes.NewReader(body))
				req.Header.Set("Content-Type", ct)
				if resp, err := http.DefaultClient.Do(req); err == nil {
					resp.Body.Close()
				}
			}()
			waitFile(t, filepath.Join(state, "paused"))
			child.Process.Kill() // SIGKILL
			child.Wait()
			s, err := New(Config{State: state, Weights: getFixture(t).weights, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if err := s.Load(context.Background()); err != nil {
				t.Fatal(err)
			}
			p := s.lookup("p")
			if p == nil {
				t.Fatal("the old profile is gone")
			}
			p.mu.RUnlock()
			if p.spec.Threshold != 0.25 || len(p.spec.Normal) != 1 {
				t.Fatalf("profile after kill: %+v", p.spec)
			}
			ents, _ := os.ReadDir(filepath.Join(state, "profiles"))
			if len(ents) != 1 {
				t.Errorf("state after repair: %v", ents)
			}
		})
	}
}

// startChild runs this test binary as a server (TestServeChild) on state, which
// pauses forever at stage of the second profile write.
func startChild(t *testing.T, state, stage string) (string, *exec.Cmd) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestServeChild$")
	cmd.Env = append(os.Environ(), "IDEAL_SERVE_CHILD="+state+"|"+getFixture(t).weights+"|"+stage)
	out, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if addr, ok := strings.CutPrefix(sc.Text(), "ADDR "); ok {
			go io.Copy(io.Discard, out)
			for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
				if code, _ := do(t, "GET", "http://"+addr+"/v2/health/ready", "", nil); code == 200 {
					return "http://" + addr, cmd
				}
			}
			t.Fatal("the child never got ready")
		}
	}
	t.Fatal("the child did not start")
	return "", nil
}

// TestServeChild is the server process of TestServeKillMidUpload.
func TestServeChild(t *testing.T) {
	env := os.Getenv("IDEAL_SERVE_CHILD")
	if env == "" {
		t.Skip("run by TestServeKillMidUpload")
	}
	parts := strings.Split(env, "|")
	s, err := New(Config{State: parts[0], Weights: parts[1], Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	var writes atomic.Int32
	s.store.hook = func(stage string) {
		if stage == "written" {
			writes.Add(1)
		}
		if stage == parts[2] && writes.Load() == 2 {
			os.WriteFile(filepath.Join(parts[0], "paused"), nil, 0o644)
			time.Sleep(time.Hour)
		}
	}
	ln, err := Listen("127.0.0.1:0", false, "", "", "")
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("ADDR %s\n", ln.Addr())
	s.Serve(context.Background(), ln)
}

func waitFile(t *testing.T, path string) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if _, err := os.Stat(path); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never appeared", path)
		}
	}
}

// TestServeLoad runs 8 clients for a few seconds against one profile and reports
// throughput and latency; every request must succeed.
func TestServeLoad(t *testing.T) {
	f := getFixture(t)
	_, base := start(t, Config{MaxParallel: 2, Queue: 16})
	putProfile(t, base, "p", specJSON)
	infer(t, base, "p", f.query) // warm: the backbone's workspace is made
	rss0 := vmRSS(t)
	dur := 5 * time.Second
	if testing.Short() {
		dur = time.Second
	}
	body := []byte(fmt.Sprintf(`{"inputs":[{"name":"image","shape":[1],"datatype":"BYTES","data":["%s"]}]}`, base64.StdEncoding.EncodeToString(f.query)))
	var mu sync.Mutex
	var lat []time.Duration
	var errs atomic.Int32
	stop := time.Now().Add(dur)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for time.Now().Before(stop) {
				t0 := time.Now()
				resp, err := http.Post(base+"/v2/models/p/infer", "application/json", bytes.NewReader(body))
				if err != nil {
					errs.Add(1)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					errs.Add(1)
				}
				mu.Lock()
				lat = append(lat, time.Since(t0))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	slices.Sort(lat)
	n := len(lat)
	if n == 0 || errs.Load() != 0 {
		t.Fatalf("%d requests, %d errors", n, errs.Load())
	}
	t.Logf("load: 8 clients, %v: %d requests, %.1f req/s, p50 %v, p99 %v, errors %d, RSS start %.1f MiB, end %.1f MiB",
		dur, n, float64(n)/dur.Seconds(), lat[n/2], lat[n*99/100], errs.Load(), rss0, vmRSS(t))
}

// vmRSS is the test process's resident set (VmRSS of /proc/self/status) in MiB; the
// server runs in it. 0 where there is no /proc.
func vmRSS(t *testing.T) float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			var kb float64
			if _, err := fmt.Sscanf(strings.TrimSpace(rest), "%f kB", &kb); err != nil {
				t.Fatalf("VmRSS %q: %v", rest, err)
			}
			return kb / 1024
		}
	}
	return 0
}
