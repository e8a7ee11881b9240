package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/ideal-fsad/ideal/kernels"
	"github.com/ideal-fsad/ideal/serve"
	"github.com/ideal-fsad/ideal/wasm/site"
)

func init() {
	register("serve", "serve inspection profiles over HTTP (JSON API and the Open Inference Protocol v2)", runServe)
}

const serveUsage = `--state DIR --weights DIR [--profiles DIR] [--addr 127.0.0.1:8090] [--backend cpu|gpu|auto] [--max-parallel N] [--queue N] [--timeout D] [--public --token T] [--tls-cert F --tls-key F]

Serves the inspection profiles stored under --state (reloaded at start; each written
atomically). A profile names its backbone and head by their file names in --weights.
--profiles DIR imports DIR/NAME/{profile.json, normal/*, abnormal/* with STEM_mask.png}
at start, checked as an upload and stored (replacing a stored profile of that name).
  PUT    /v1/profiles/NAME        multipart: json ({"backbone","head","size","threshold"}),
                                  files normal, abnormal, mask (the i-th mask is the i-th abnormal's)
  GET    /v1/profiles[/NAME], DELETE /v1/profiles/NAME
  POST   /v1/profiles/NAME/score  raw image bytes or multipart images [?map=png|f32|contour]
  /v2/health/live, /v2/health/ready, /v2, /v2/models/NAME[/ready], POST /v2/models/NAME/infer
                                  (Open Inference Protocol v2: input BYTES [N] base64 or UINT8 [H,W,3];
                                  outputs image_score FP32, verdict BOOL)
  GET    /metrics                 Prometheus metrics
The server listens on loopback only unless --public is given with another --addr, which
then also needs --token (checked as "Authorization: Bearer T" on every route but
/v2/health/*). Ctrl-C (SIGINT) or SIGTERM stops it after the requests in flight.`

func runServe(args []string) error {
	fl := newFlagSet("serve", serveUsage)
	addr := fl.String("addr", "127.0.0.1:8090", "listen `address`; another than loopback needs --public and --token")
	var cfg serve.Config
	fl.StringVar(&cfg.State, "state", "", "folder of the stored profiles (created if missing)")
	fl.StringVar(&cfg.Weights, "weights", "", "folder of the backbone and head files profiles name")
	fl.StringVar(&cfg.Profiles, "profiles", "", "folder of profiles to import at start (`DIR`/NAME/{profile.json,normal/,abnormal/})")
	backend := fl.String("backend", "cpu", "compute backend: "+backendNames)
	fl.IntVar(&cfg.MaxParallel, "max-parallel", 2, "requests scored at once")
	fl.IntVar(&cfg.Queue, "queue", 16, "requests waiting beyond --max-parallel (0: the default, 16); more are answered 429")
	fl.DurationVar(&cfg.Timeout, "timeout", 30*time.Second, "deadline of each request")
	public := fl.Bool("public", false, "allow an --addr reachable from other machines (needs --token)")
	fl.StringVar(&cfg.Token, "token", "", "API token (bearer); needed with --public")
	cert := fl.String("tls-cert", "", "TLS certificate (PEM); with --tls-key")
	key := fl.String("tls-key", "", "TLS key (PEM); with --tls-cert")
	if err := parseFlags(fl, args); err != nil {
		return err
	}
	switch {
	case fl.NArg() > 0:
		return usageErrorf("unexpected arguments %q", fl.Args())
	case cfg.State == "" || cfg.Weights == "":
		return usageErrorf("--state and --weights are needed")
	case (*cert == "") != (*key == ""):
		return usageErrorf("--tls-cert and --tls-key go together")
	case cfg.MaxParallel < 1 || cfg.MaxParallel > 1024:
		return usageErrorf("--max-parallel %d: want 1 to 1024", cfg.MaxParallel)
	case cfg.Queue < 0 || cfg.Queue > 1<<20:
		return usageErrorf("--queue %d: want 0 to %d", cfg.Queue, 1<<20)
	case cfg.Timeout <= 0:
		return usageErrorf("--timeout %v must be positive", cfg.Timeout)
	}
	ln, err := serve.Listen(*addr, *public, cfg.Token, *cert, *key)
	if errors.Is(err, site.ErrNotLoopback) || errors.Is(err, serve.ErrNeedToken) {
		return usageErrorf("--addr %s is reachable from other machines: add --public and --token", *addr)
	}
	if err != nil {
		return err
	}
	defer ln.Close()
	if *backend != "cpu" { // cpu: each detector makes its own backend
		var be kernels.Backend
		if be, err = openBackend(*backend); err != nil {
			return err
		}
		defer be.Close()
		cfg.Backend = be
	}
	cfg.Logger = slog.New(slog.NewJSONHandler(os.Stderr, nil))
	s, err := serve.New(cfg)
	if err != nil {
		return err
	}
	ctx, release := watchInterrupt("serve", "the requests in flight", nil)
	defer release()
	fmt.Fprintf(os.Stderr, "ideal serve: http://%s/ (Ctrl-C to stop)\n", ln.Addr())
	if err := s.Serve(ctx, ln); err != nil {
		return err
	}
	return nil
}
