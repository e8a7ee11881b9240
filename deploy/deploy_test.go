package deploy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"
)

// serveFlags are the flags of `ideal serve` (issue 21) the manifests may use; a flag
// outside this list, or one that cmd/ideal/cmd_serve.go does not define, fails the test.
var serveFlags = []string{"addr", "state", "weights", "profiles", "backend", "max-parallel", "queue", "timeout", "public", "token", "tls-cert", "tls-key"}

// requiredFlags are the flags `ideal serve` cannot start without (its usage line, outside
// brackets; TestServeFlagsExist checks the two agree).
var requiredFlags = []string{"state", "weights"}

// boolFlags take no value.
var boolFlags = []string{"public"}

const (
	readyPath = "/v2/health/ready"
	livePath  = "/v2/health/live"
)

// decodeStrict decodes one YAML document into v: YAML → JSON, then encoding/json
// with unknown fields disallowed, and duplicate keys refused (sigs.k8s.io/yaml's
// UnmarshalStrict), so a misspelt or misplaced field is an error, not a silent no-op.
func decodeStrict(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(regexp.MustCompile(`(?m)^---\s*$`).FindAll(b, -1)); n > 0 {
		t.Fatalf("%s: one object per file expected, found %d document separators", path, n)
	}
	if err := yaml.UnmarshalStrict(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// typeMeta checks apiVersion and kind.
func typeMeta(t *testing.T, path string, tm metav1.TypeMeta, apiVersion, kind string) {
	t.Helper()
	if tm.APIVersion != apiVersion || tm.Kind != kind {
		t.Fatalf("%s: %s %s, want %s %s", path, tm.APIVersion, tm.Kind, apiVersion, kind)
	}
}

// objectMeta checks the name is a valid DNS-1123 subdomain (the API server's rule for
// these kinds) and label keys and values are valid.
func objectMeta(t *testing.T, path string, m metav1.ObjectMeta) {
	t.Helper()
	if m.Name == "" {
		t.Errorf("%s: metadata.name is required", path)
	}
	for _, e := range validation.IsDNS1123Subdomain(m.Name) {
		t.Errorf("%s: metadata.name %q: %s", path, m.Name, e)
	}
	for k, v := range m.Labels {
		for _, e := range validation.IsQualifiedName(k) {
			t.Errorf("%s: label key %q: %s", path, k, e)
		}
		for _, e := range validation.IsValidLabelValue(v) {
			t.Errorf("%s: label %q value %q: %s", path, k, v, e)
		}
	}
}

func k8s(name string) string { return filepath.Join("k8s", name) }

// dockerfile is what the tests need of deploy/Dockerfile.
type dockerfile struct {
	stages     []stage
	expose     []int
	user       string // of the final stage
	volumes    []string
	entrypoint []string
	cmd        []string
}

type stage struct {
	from, name string
	instrs     []instr
}

type instr struct{ op, args string }

// parseDockerfile is a minimal parser: comments, line continuations, instructions,
// stages; JSON (exec) form for ENTRYPOINT, CMD and VOLUME is required.
func parseDockerfile(t *testing.T, path string) dockerfile {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	var cur strings.Builder
	for _, l := range strings.Split(string(b), "\n") {
		trimmed := strings.TrimSpace(l)
		if strings.HasPrefix(trimmed, "#") || (trimmed == "" && cur.Len() == 0) {
			continue
		}
		if s, ok := strings.CutSuffix(trimmed, `\`); ok {
			cur.WriteString(s + " ")
			continue
		}
		cur.WriteString(trimmed)
		lines = append(lines, cur.String())
		cur.Reset()
	}
	if cur.Len() > 0 {
		t.Fatalf("%s: a line continuation runs off the end of the file", path)
	}
	var d dockerfile
	jsonArray := func(op, args string) []string {
		var v []string
		if err := json.Unmarshal([]byte(args), &v); err != nil {
			t.Fatalf("%s: %s must use the JSON (exec) form: %s: %v", path, op, args, err)
		}
		return v
	}
	known := []string{"ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK", "LABEL", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR"}
	for _, l := range lines {
		op, args, _ := strings.Cut(l, " ")
		op = strings.ToUpper(op)
		args = strings.TrimSpace(args)
		if !slices.Contains(known, op) {
			t.Fatalf("%s: unknown instruction %q", path, l)
		}
		if op == "FROM" {
			f := strings.Fields(args)
			s := stage{from: f[0]}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				s.name = f[2]
			} else if len(f) != 1 {
				t.Fatalf("%s: FROM %q", path, args)
			}
			d.stages = append(d.stages, s)
			d.user = "" // USER is per stage
			continue
		}
		if op != "ARG" && len(d.stages) == 0 {
			t.Fatalf("%s: %s before the first FROM", path, op)
		}
		if len(d.stages) > 0 {
			st := &d.stages[len(d.stages)-1]
			st.instrs = append(st.instrs, instr{op, args})
		}
		switch op {
		case "EXPOSE":
			for _, p := range strings.Fields(args) {
				n, err := strconv.Atoi(strings.TrimSuffix(p, "/tcp"))
				if err != nil {
					t.Fatalf("%s: EXPOSE %q", path, p)
				}
				d.expose = append(d.expose, n)
			}
		case "USER":
			d.user = args
		case "VOLUME":
			d.volumes = append(d.volumes, jsonArray(op, args)...)
		case "ENTRYPOINT":
			d.entrypoint = jsonArray(op, args)
		case "CMD":
			d.cmd = jsonArray(op, args)
		}
	}
	return d
}

// flagValue returns the value of --name in args (both "--name v" and "--name=v").
func flagValue(args []string, name string) (string, bool) {
	for i, a := range args {
		if v, ok := strings.CutPrefix(a, "--"+name+"="); ok {
			return v, true
		}
		if a == "--"+name && i+1 < len(args) {
			return args[i+1], true
		}
	}
	return "", false
}

// checkServeArgs checks args are `ideal serve` flags, and returns --addr's port.
func checkServeArgs(t *testing.T, where string, args []string) int {
	t.Helper()
	for i := 0; i < len(args); i++ {
		a := args[i]
		name, hasValue := strings.CutPrefix(a, "--")
		if !hasValue {
			t.Errorf("%s: argument %q is not a flag", where, a)
			continue
		}
		name, _, inline := strings.Cut(name, "=")
		if !slices.Contains(serveFlags, name) {
			t.Errorf("%s: --%s is not an `ideal serve` flag", where, name)
		}
		if !slices.Contains(boolFlags, name) && !inline {
			i++ // its value
		}
	}
	for _, f := range requiredFlags {
		if _, ok := flagValue(args, f); !ok {
			t.Errorf("%s: no --%s (ideal serve refuses to start without it)", where, f)
		}
	}
	addr, ok := flagValue(args, "addr")
	if !ok {
		t.Fatalf("%s: no --addr", where)
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("%s: --addr %q: %v", where, addr, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsUnspecified() {
		t.Errorf("%s: --addr %q: a container must listen on all interfaces (0.0.0.0)", where, addr)
	} else if !slices.Contains(args, "--public") {
		t.Errorf("%s: --addr %q without --public (the server refuses it)", where, addr)
	}
	if b, ok := flagValue(args, "backend"); !ok || b != "cpu" {
		t.Errorf("%s: --backend %q, want cpu (the static image has no gpu backend)", where, b)
	}
	n, err := strconv.Atoi(port)
	if err != nil {
		t.Fatalf("%s: --addr %q: %v", where, addr, err)
	}
	return n
}

// TestServeFlagsExist checks every flag the manifests may use is defined by the
// serve command, once it exists.
func TestServeFlagsExist(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "cmd", "ideal", "cmd_serve.go"))
	if os.IsNotExist(err) {
		t.Skip("cmd/ideal/cmd_serve.go not there yet")
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range serveFlags {
		if !bytes.Contains(b, []byte(strconv.Quote(f))) {
			t.Errorf("cmd_serve.go does not define the flag %q the manifests may use", f)
		}
	}
	// The usage line's flags outside brackets are the required ones.
	_, usage, ok := strings.Cut(string(b), "const serveUsage = `")
	if !ok {
		t.Fatal("cmd_serve.go has no serveUsage")
	}
	usage, _, _ = strings.Cut(usage, "\n")
	var required []string
	for _, w := range strings.Fields(regexp.MustCompile(`\[[^\]]*\]`).ReplaceAllString(usage, "")) {
		if name, ok := strings.CutPrefix(w, "--"); ok {
			required = append(required, name)
		}
	}
	if !slices.Equal(required, requiredFlags) {
		t.Errorf("ideal serve's usage requires %q, the test knows %q", required, requiredFlags)
	}
}

func TestDockerfile(t *testing.T) {
	d := parseDockerfile(t, "Dockerfile")
	if len(d.stages) < 2 {
		t.Fatalf("multi-stage build expected, found %d stage(s)", len(d.stages))
	}
	build, final := d.stages[0], d.stages[len(d.stages)-1]
	if build.name == "" || !strings.HasPrefix(build.from, "golang:") {
		t.Errorf("first stage: FROM %s AS %q, want a named golang stage", build.from, build.name)
	}
	var static bool
	for _, in := range build.instrs {
		if in.op == "RUN" && strings.Contains(in.args, "CGO_ENABLED=0") && strings.Contains(in.args, "go build") && strings.Contains(in.args, "./cmd/ideal") {
			static = true
		}
	}
	if !static {
		t.Error("the build stage does not build ./cmd/ideal with CGO_ENABLED=0")
	}
	if final.from != "scratch" && !strings.HasPrefix(final.from, "gcr.io/distroless/static") {
		t.Errorf("runtime stage FROM %s, want scratch or distroless/static (the binary is static)", final.from)
	}
	var copied bool
	for _, in := range final.instrs {
		if in.op == "COPY" && strings.Contains(in.args, "--from="+build.name) {
			copied = true
		}
		if in.op == "RUN" {
			t.Errorf("runtime stage runs %q: it has no shell", in.args)
		}
	}
	if !copied {
		t.Errorf("runtime stage copies nothing from the %s stage", build.name)
	}
	uid, _, _ := strings.Cut(d.user, ":")
	if n, err := strconv.Atoi(uid); err != nil || n == 0 {
		t.Errorf("USER %q: the runtime stage must run as a numeric non-root user (runAsNonRoot needs a number)", d.user)
	}
	if !slices.Equal(d.expose, []int{8090}) {
		t.Errorf("EXPOSE %v, want [8090]", d.expose)
	}
	if len(d.entrypoint) != 2 || d.entrypoint[1] != "serve" || !strings.HasSuffix(d.entrypoint[0], "/ideal") {
		t.Errorf("ENTRYPOINT %q, want [.../ideal serve]", d.entrypoint)
	}
	if port := checkServeArgs(t, "Dockerfile CMD", d.cmd); port != 8090 {
		t.Errorf("CMD listens on %d, EXPOSE says 8090", port)
	}
	state, _ := flagValue(d.cmd, "state")
	weights, _ := flagValue(d.cmd, "weights")
	if !slices.Equal(d.volumes, []string{state, weights}) {
		t.Errorf("VOLUME %q, want the --state and --weights directories %q, %q", d.volumes, state, weights)
	}
	if _, ok := flagValue(d.cmd, "token"); ok {
		t.Error("the image must not carry a token")
	}
}

// checkContainer checks a serve container: its args, port, probes, resources and
// security settings, its state mount and its token Secret. It returns the Secret
// reference it reads the token from.
func checkContainer(t *testing.T, where string, c corev1.Container, pod corev1.PodSpec, d dockerfile) *corev1.SecretKeySelector {
	t.Helper()
	if len(c.Command) != 0 {
		t.Errorf("%s: command %q overrides the image's ENTRYPOINT (ideal serve)", where, c.Command)
	}
	port := checkServeArgs(t, where, c.Args)
	if !slices.Contains(d.expose, port) {
		t.Errorf("%s: --addr port %d is not EXPOSEd by the Dockerfile (%v)", where, port, d.expose)
	}
	if len(c.Ports) != 1 || int(c.Ports[0].ContainerPort) != port {
		t.Errorf("%s: ports %+v, want the one --addr port %d", where, c.Ports, port)
	}
	// Probes: the OIP health paths, on the serving port (by number or by name).
	resolve := func(p intstr.IntOrString) int {
		if p.Type == intstr.Int {
			return p.IntValue()
		}
		for _, cp := range c.Ports {
			if cp.Name == p.StrVal {
				return int(cp.ContainerPort)
			}
		}
		t.Errorf("%s: probe port %q names no container port", where, p.StrVal)
		return -1
	}
	probe := func(kind string, p *corev1.Probe, path string) {
		if p == nil || p.HTTPGet == nil {
			t.Errorf("%s: no HTTP %s probe", where, kind)
			return
		}
		if p.HTTPGet.Path != path {
			t.Errorf("%s: %s probe path %q, want %q", where, kind, p.HTTPGet.Path, path)
		}
		if got := resolve(p.HTTPGet.Port); got != port {
			t.Errorf("%s: %s probe port %d, want %d", where, kind, got, port)
		}
		if p.HTTPGet.Scheme != "" && p.HTTPGet.Scheme != corev1.URISchemeHTTP {
			t.Errorf("%s: %s probe scheme %s, but the server has no TLS here", where, kind, p.HTTPGet.Scheme)
		}
	}
	probe("readiness", c.ReadinessProbe, readyPath)
	probe("liveness", c.LivenessProbe, livePath)
	if c.StartupProbe != nil {
		probe("startup", c.StartupProbe, livePath)
	}
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		req, okR := c.Resources.Requests[r]
		lim, okL := c.Resources.Limits[r]
		if !okR || !okL {
			t.Errorf("%s: %s request and limit are both needed (the HPA scales on the CPU request)", where, r)
		} else if req.Cmp(lim) > 0 {
			t.Errorf("%s: %s request %s above its limit %s", where, r, req.String(), lim.String())
		}
	}
	// Security: non-root (the image's user), read-only root, no privilege escalation.
	uid, _, _ := strings.Cut(d.user, ":")
	psc, sc := pod.SecurityContext, c.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || strconv.FormatInt(*psc.RunAsUser, 10) != uid {
		t.Errorf("%s: the pod must run as non-root user %s, the image's USER", where, uid)
	}
	if psc != nil && (psc.FSGroup == nil || psc.RunAsGroup == nil || *psc.FSGroup != *psc.RunAsGroup) {
		t.Errorf("%s: fsGroup must be the runAsGroup so the state volume is writable", where)
	}
	if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
		sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
		sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
		t.Errorf("%s: securityContext must set readOnlyRootFilesystem, allowPrivilegeEscalation false and drop ALL", where)
	}
	// The --state directory: mounted from a volume of the pod, the image's VOLUME.
	state, _ := flagValue(c.Args, "state")
	if !slices.Contains(d.volumes, state) {
		t.Errorf("%s: --state %q is not the image's VOLUME %v", where, state, d.volumes)
	}
	mounted := map[string]string{}
	for _, m := range c.VolumeMounts {
		mounted[m.MountPath] = m.Name
		if !slices.ContainsFunc(pod.Volumes, func(v corev1.Volume) bool { return v.Name == m.Name }) {
			t.Errorf("%s: volumeMount %q names no pod volume", where, m.Name)
		}
	}
	if _, ok := mounted[state]; !ok {
		t.Errorf("%s: nothing is mounted on --state %s (the root file system is read-only)", where, state)
	}
	if weights, _ := flagValue(c.Args, "weights"); mounted[weights] == "" || weights == state {
		t.Errorf("%s: nothing of its own is mounted on --weights %q", where, weights)
	}
	// The token: --token $(VAR), VAR from a Secret key (Kubernetes expands $(VAR) in args).
	tok, ok := flagValue(c.Args, "token")
	m := regexp.MustCompile(`^\$\(([A-Za-z_][A-Za-z0-9_]*)\)$`).FindStringSubmatch(tok)
	if !ok || m == nil {
		t.Fatalf("%s: --token %q, want $(VAR) read from a Secret", where, tok)
	}
	for _, e := range c.Env {
		if e.Name == m[1] {
			if e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
				t.Fatalf("%s: %s is not read from a Secret", where, e.Name)
			}
			return e.ValueFrom.SecretKeyRef
		}
	}
	t.Fatalf("%s: --token $(%s), but no env var %s", where, m[1], m[1])
	return nil
}

// checkSecretRef checks the referenced Secret and key exist in the example Secret.
func checkSecretRef(t *testing.T, where string, ref *corev1.SecretKeySelector) {
	t.Helper()
	var s corev1.Secret
	decodeStrict(t, k8s("secret.yaml.example"), &s)
	typeMeta(t, "secret.yaml.example", s.TypeMeta, "v1", "Secret")
	if ref.Name != s.Name {
		t.Errorf("%s reads Secret %q, the example Secret is %q", where, ref.Name, s.Name)
	}
	if _, ok := s.StringData[ref.Key]; !ok {
		if _, ok := s.Data[ref.Key]; !ok {
			t.Errorf("%s reads key %q of Secret %q, which it does not have", where, ref.Key, ref.Name)
		}
	}
	if ref.Optional != nil && *ref.Optional {
		t.Errorf("%s: the token Secret must not be optional", where)
	}
}

func TestKubernetesManifests(t *testing.T) {
	d := parseDockerfile(t, "Dockerfile")

	// Every file of k8s/ that `kubectl apply -f deploy/k8s/` applies is one of these.
	files, err := filepath.Glob(k8s("*"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"deployment.yaml", "hpa.yaml", "kserve", "pvc.yaml", "secret.yaml.example", "service.yaml"}
	var got []string
	for _, f := range files {
		got = append(got, filepath.Base(f))
	}
	if !slices.Equal(got, want) {
		t.Errorf("deploy/k8s holds %q, the tests check %q", got, want)
	}

	var dep appsv1.Deployment
	decodeStrict(t, k8s("deployment.yaml"), &dep)
	typeMeta(t, "deployment.yaml", dep.TypeMeta, "apps/v1", "Deployment")
	objectMeta(t, "deployment.yaml", dep.ObjectMeta)
	if len(dep.Spec.Template.Labels) == 0 {
		t.Error("deployment.yaml: the pod template has no labels")
	}
	sel, err := metav1.LabelSelectorAsSelector(dep.Spec.Selector)
	if err != nil || sel.Empty() {
		t.Fatalf("deployment.yaml: selector %v: %v", dep.Spec.Selector, err)
	}
	if !sel.Matches(labels.Set(dep.Spec.Template.Labels)) {
		t.Error("deployment.yaml: the selector does not match the pod template's labels")
	}
	pod := dep.Spec.Template.Spec
	if len(pod.Containers) != 1 {
		t.Fatalf("deployment.yaml: %d containers, want 1", len(pod.Containers))
	}
	c := pod.Containers[0]
	ref := checkContainer(t, "deployment.yaml", c, pod, d)
	checkSecretRef(t, "deployment.yaml", ref)
	if pod.TerminationGracePeriodSeconds == nil || *pod.TerminationGracePeriodSeconds < 30 {
		t.Error("deployment.yaml: terminationGracePeriodSeconds must leave in-flight requests time to finish")
	}
	if ru := dep.Spec.Strategy.RollingUpdate; ru == nil || ru.MaxUnavailable == nil || ru.MaxUnavailable.IntValue() != 0 {
		t.Error("deployment.yaml: a rolling update must keep every ready replica (maxUnavailable 0)")
	}

	// The state PVC the Deployment mounts.
	var pvc corev1.PersistentVolumeClaim
	decodeStrict(t, k8s("pvc.yaml"), &pvc)
	typeMeta(t, "pvc.yaml", pvc.TypeMeta, "v1", "PersistentVolumeClaim")
	objectMeta(t, "pvc.yaml", pvc.ObjectMeta)
	if _, ok := pvc.Spec.Resources.Requests[corev1.ResourceStorage]; !ok || len(pvc.Spec.AccessModes) == 0 {
		t.Error("pvc.yaml: a storage request and an access mode are required")
	}
	state, _ := flagValue(c.Args, "state")
	var stateVol string
	for _, m := range c.VolumeMounts {
		if m.MountPath == state {
			stateVol = m.Name
		}
	}
	for _, v := range pod.Volumes {
		if v.Name == stateVol && (v.PersistentVolumeClaim == nil || v.PersistentVolumeClaim.ClaimName != pvc.Name) {
			t.Errorf("deployment.yaml: the state volume is not the PVC %q", pvc.Name)
		}
	}

	// The Service: selects the Deployment's pods, targets the serving port.
	var svc corev1.Service
	decodeStrict(t, k8s("service.yaml"), &svc)
	typeMeta(t, "service.yaml", svc.TypeMeta, "v1", "Service")
	objectMeta(t, "service.yaml", svc.ObjectMeta)
	if len(svc.Spec.Selector) == 0 || !labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(dep.Spec.Template.Labels)) {
		t.Errorf("service.yaml: selector %v does not select the Deployment's pods %v", svc.Spec.Selector, dep.Spec.Template.Labels)
	}
	if len(svc.Spec.Ports) != 1 {
		t.Fatalf("service.yaml: %d ports, want 1", len(svc.Spec.Ports))
	}
	tp := svc.Spec.Ports[0].TargetPort
	if !(tp.Type == intstr.String && tp.StrVal == c.Ports[0].Name) && !(tp.Type == intstr.Int && tp.IntValue() == int(c.Ports[0].ContainerPort)) {
		t.Errorf("service.yaml: targetPort %s is not the container's port %s/%d", tp.String(), c.Ports[0].Name, c.Ports[0].ContainerPort)
	}

	// The HPA: scales this Deployment on CPU utilisation (which needs the CPU request).
	var hpa autoscalingv2.HorizontalPodAutoscaler
	decodeStrict(t, k8s("hpa.yaml"), &hpa)
	typeMeta(t, "hpa.yaml", hpa.TypeMeta, "autoscaling/v2", "HorizontalPodAutoscaler")
	objectMeta(t, "hpa.yaml", hpa.ObjectMeta)
	st := hpa.Spec.ScaleTargetRef
	if st.APIVersion != "apps/v1" || st.Kind != "Deployment" || st.Name != dep.Name {
		t.Errorf("hpa.yaml: scaleTargetRef %+v is not the Deployment %q", st, dep.Name)
	}
	if hpa.Spec.MinReplicas == nil || *hpa.Spec.MinReplicas < 1 || hpa.Spec.MaxReplicas < *hpa.Spec.MinReplicas {
		t.Errorf("hpa.yaml: replicas %v..%d", hpa.Spec.MinReplicas, hpa.Spec.MaxReplicas)
	}
	if len(hpa.Spec.Metrics) != 1 || hpa.Spec.Metrics[0].Type != autoscalingv2.ResourceMetricSourceType ||
		hpa.Spec.Metrics[0].Resource == nil || hpa.Spec.Metrics[0].Resource.Name != corev1.ResourceCPU ||
		hpa.Spec.Metrics[0].Resource.Target.Type != autoscalingv2.UtilizationMetricType ||
		hpa.Spec.Metrics[0].Resource.Target.AverageUtilization == nil {
		t.Errorf("hpa.yaml: want one Resource metric on CPU utilisation, got %+v", hpa.Spec.Metrics)
	} else if u := *hpa.Spec.Metrics[0].Resource.Target.AverageUtilization; u < 1 || u > 100 {
		t.Errorf("hpa.yaml: averageUtilization %d", u)
	}
	if pvc.Spec.AccessModes[0] != corev1.ReadWriteMany && hpa.Spec.MaxReplicas > 1 {
		t.Error("hpa.yaml: more than one replica needs a ReadWriteMany state volume")
	}
}

// inferenceService is the subset of KServe's serving.kserve.io/v1beta1
// InferenceService schema (github.com/kserve/kserve pkg/apis/serving/v1beta1) that a
// custom predictor uses, written here rather than importing the kserve module (which
// brings Knative, controller-runtime and much of Kubernetes). Strict decoding into it
// refuses any field it does not name: the predictor embeds the core/v1 PodSpec inline
// (as KServe's PredictorSpec does) plus the ComponentExtensionSpec fields used.
type inferenceService struct {
	metav1.TypeMeta `json:",inline"`
	Metadata        metav1.ObjectMeta `json:"metadata"`
	Spec            struct {
		Predictor *predictorSpec `json:"predictor"` // required by the CRD
	} `json:"spec"`
}

type predictorSpec struct {
	corev1.PodSpec `json:",inline"`
	// ComponentExtensionSpec (the fields used here).
	MinReplicas          *int32            `json:"minReplicas,omitempty"`
	MaxReplicas          int32             `json:"maxReplicas,omitempty"`
	ScaleTarget          *int32            `json:"scaleTarget,omitempty"`
	ScaleMetric          *string           `json:"scaleMetric,omitempty"`
	ContainerConcurrency *int64            `json:"containerConcurrency,omitempty"`
	TimeoutSeconds       *int64            `json:"timeout,omitempty"`
	Labels               map[string]string `json:"labels,omitempty"`
	Annotations          map[string]string `json:"annotations,omitempty"`
}

func TestKServeInferenceService(t *testing.T) {
	const path = "k8s/kserve/inferenceservice.yaml"
	d := parseDockerfile(t, "Dockerfile")
	var isvc inferenceService
	decodeStrict(t, path, &isvc)
	typeMeta(t, path, isvc.TypeMeta, "serving.kserve.io/v1beta1", "InferenceService")
	// KServe's webhook: the name must be a DNS-1035 label (it becomes a Service name).
	for _, e := range validation.IsDNS1035Label(isvc.Metadata.Name) {
		t.Errorf("%s: metadata.name %q: %s", path, isvc.Metadata.Name, e)
	}
	switch m := isvc.Metadata.Annotations["serving.kserve.io/deploymentMode"]; m {
	case "RawDeployment", "Standard":
	default:
		t.Errorf("%s: deploymentMode %q: the state PVC needs a raw (non-Knative) deployment", path, m)
	}
	p := isvc.Spec.Predictor
	if p == nil {
		t.Fatalf("%s: spec.predictor is required", path)
	}
	// A custom predictor: exactly one container, named kserve-container, and no
	// framework spec (the strict decode already refuses those fields).
	if len(p.Containers) != 1 || p.Containers[0].Name != "kserve-container" {
		t.Fatalf("%s: want one container named kserve-container (a custom predictor)", path)
	}
	c := p.Containers[0]
	// The protocol of a custom predictor is its PROTOCOL env var; the webhook accepts
	// v1 or v2, we speak the Open Inference Protocol v2.
	var proto string
	for _, e := range c.Env {
		if e.Name == "PROTOCOL" {
			proto = e.Value
		}
	}
	if proto != "v2" {
		t.Errorf("%s: PROTOCOL %q, want v2", path, proto)
	}
	if p.MinReplicas == nil || *p.MinReplicas < 1 || p.MaxReplicas < *p.MinReplicas {
		t.Errorf("%s: replicas %v..%d (min ≥ 1: the weights take a while to load)", path, p.MinReplicas, p.MaxReplicas)
	}
	if p.ScaleMetric == nil || !slices.Contains([]string{"cpu", "memory", "concurrency", "rps"}, *p.ScaleMetric) {
		t.Errorf("%s: scaleMetric %v", path, p.ScaleMetric)
	} else if *p.ScaleMetric == "cpu" && (p.ScaleTarget == nil || *p.ScaleTarget < 1 || *p.ScaleTarget > 100) {
		t.Errorf("%s: scaleTarget %v for cpu", path, p.ScaleTarget)
	}
	ref := checkContainer(t, path, c, p.PodSpec, d)
	checkSecretRef(t, path, ref)

	// The same server configuration as the plain Deployment.
	var dep appsv1.Deployment
	decodeStrict(t, k8s("deployment.yaml"), &dep)
	dc := dep.Spec.Template.Spec.Containers[0]
	if !slices.Equal(c.Args, dc.Args) || c.Image != dc.Image {
		t.Errorf("%s: image/args differ from deployment.yaml:\n%s %q\n%s %q", path, c.Image, c.Args, dc.Image, dc.Args)
	}
	if fmt.Sprint(c.Resources) != fmt.Sprint(dc.Resources) {
		t.Errorf("%s: resources differ from deployment.yaml", path)
	}
}

// TestStrictDecodeCatchesTypos checks the strict decoding the other tests rely on
// refuses what the API server would refuse or silently drop.
func TestStrictDecodeCatchesTypos(t *testing.T) {
	b, err := os.ReadFile(k8s("deployment.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ from, to string }{
		{"readinessProbe:", "readynessProbe:"},            // unknown field
		{"containerPort: 8090", "containerPort: x"},       // wrong type
		{"  replicas: 1", "  replicas: 1\n  replicas: 2"}, // duplicate key
	} {
		bad := strings.Replace(string(b), tc.from, tc.to, 1)
		if bad == string(b) {
			t.Fatalf("%q not found in deployment.yaml", tc.from)
		}
		var dep appsv1.Deployment
		if err := yaml.UnmarshalStrict([]byte(bad), &dep); err == nil {
			t.Errorf("%q → %q decoded without error", tc.from, tc.to)
		}
	}
}
