package kubernetes

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// repoRoot is the repository's root, from this folder.
const repoRoot = "../.."

// serviceName is the service the server reports health for, besides "".
const serviceName = "ampersand.v1.IntegrationService"

// goRuntimeEnv are variables the Go runtime reads, which a manifest may set
// though the binary has no flag for them.
var goRuntimeEnv = []string{"GOMEMLIMIT", "GOMAXPROCS", "GOGC", "GODEBUG"}

// kustomization is the part of kustomization.yaml that this folder uses.
type kustomization struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Resources  []string `json:"resources"`
	Images     []image  `json:"images"`
}

// image is an image that kustomization.yaml renames or tags.
type image struct {
	Name    string `json:"name"`
	NewName string `json:"newName"`
	NewTag  string `json:"newTag"`
}

// manifests are this folder's objects, decoded strictly.
type manifests struct {
	kustomization kustomization
	deployment    appsv1.Deployment
	service       corev1.Service
	hpa           autoscalingv2.HorizontalPodAutoscaler
	pdb           policyv1.PodDisruptionBudget
}

// decodeStrict decodes YAML into v, failing on a field that v's type does
// not have and on a key given twice.
func decodeStrict(data []byte, v any) error {
	return yaml.UnmarshalStrict(data, v)
}

// load decodes kustomization.yaml and every resource it lists, each into
// the Kubernetes API type of its apiVersion and kind.
func load(t *testing.T) *manifests {
	t.Helper()
	m := &manifests{}
	data, err := os.ReadFile("kustomization.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := decodeStrict(data, &m.kustomization); err != nil {
		t.Fatalf("kustomization.yaml: %v", err)
	}
	files, err := filepath.Glob("*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	files = slices.DeleteFunc(files, func(f string) bool { return f == "kustomization.yaml" })
	if !slices.Equal(slices.Sorted(slices.Values(m.kustomization.Resources)), files) {
		t.Errorf("kustomization.yaml lists %q; the folder holds %q", m.kustomization.Resources, files)
	}
	seen := map[string]bool{}
	for _, file := range m.kustomization.Resources {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var meta metav1.TypeMeta
		if err := yaml.Unmarshal(data, &meta); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		kind := meta.APIVersion + " " + meta.Kind
		var target any
		switch kind {
		case "apps/v1 Deployment":
			target = &m.deployment
		case "v1 Service":
			target = &m.service
		case "autoscaling/v2 HorizontalPodAutoscaler":
			target = &m.hpa
		case "policy/v1 PodDisruptionBudget":
			target = &m.pdb
		default:
			t.Fatalf("%s: unexpected %s", file, kind)
		}
		if seen[kind] {
			t.Fatalf("%s: a second %s", file, kind)
		}
		seen[kind] = true
		if err := decodeStrict(data, target); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
	}
	if len(seen) != 4 {
		t.Fatalf("found %d of the 4 kinds of object", len(seen))
	}
	return m
}

func TestStrictDecodingRejectsUnknownFields(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{
		"spec:\n  template:\n    spec:\n      containers:\n        - name: x\n          readinesProbe: {}\n", // a typo
		"spec:\n  replicas: 2\n  replicas: 3\n", // a key twice
		"spec:\n  replicas: two\n",
	} {
		if err := decodeStrict([]byte(bad), &appsv1.Deployment{}); err == nil {
			t.Errorf("decoded without error:\n%s", bad)
		}
	}
}

// binaryInfo is what the server's -h says of it.
type binaryInfo struct {
	path     string
	flags    map[string]string // flag name → default
	env      []string          // variable names; a trailing * is a prefix
	stopping time.Duration     // shutdown's own time beyond -drain-delay and -upstream-timeout
}

var (
	buildOnce sync.Once
	built     *binaryInfo
	buildErr  error
)

// server builds the server and reads its -h.
func server(t *testing.T) *binaryInfo {
	t.Helper()
	buildOnce.Do(func() { built, buildErr = buildServer() })
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return built
}

func buildServer() (*binaryInfo, error) {
	dir, err := os.MkdirTemp("", "ampersand-connect-k8s")
	if err != nil {
		return nil, err
	}
	info := &binaryInfo{path: filepath.Join(dir, "server"), flags: map[string]string{}}
	build := exec.Command("go", "build", "-o", info.path, "./cmd/ampersand-connect")
	build.Dir = repoRoot
	if out, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build: %v\n%s", err, out)
	}
	help := exec.Command(info.path, "-h")
	help.Env = []string{} // the defaults, not this environment's
	usage, err := help.CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("server -h: %v\n%s", err, usage)
	}
	flagLine := regexp.MustCompile(`^  -([a-z0-9-]+)`)
	envOf := regexp.MustCompile(`\(env ([A-Z0-9_]+)\)`)
	defaultOf := regexp.MustCompile(`\(default "([^"]*)"\)`)
	envOnly := regexp.MustCompile(`^  ([A-Z][A-Z0-9_]*\*?(?:, [A-Z][A-Z0-9_]*\*?)*)\s*$`)
	stopping := regexp.MustCompile(`within -drain-delay \+ -upstream-timeout \+ (\S+?):`)
	var flag string
	for line := range strings.Lines(string(usage)) {
		if m := flagLine.FindStringSubmatch(line); m != nil {
			flag = m[1]
			info.flags[flag] = ""
			continue
		}
		if flag != "" && strings.HasPrefix(line, "    \t") {
			if m := envOf.FindStringSubmatch(line); m != nil {
				info.env = append(info.env, m[1])
			}
			if m := defaultOf.FindStringSubmatch(line); m != nil {
				info.flags[flag] = m[1]
			}
			continue
		}
		flag = ""
		if m := envOnly.FindStringSubmatch(line); m != nil {
			info.env = append(info.env, strings.Split(m[1], ", ")...)
		}
		if m := stopping.FindStringSubmatch(line); m != nil {
			if info.stopping, err = time.ParseDuration(m[1]); err != nil {
				return nil, fmt.Errorf("server -h: %v", err)
			}
		}
	}
	if len(info.flags) < 10 || !slices.Contains(info.env, "AMPERSAND_API_KEY") || info.stopping == 0 {
		return nil, fmt.Errorf("server -h: could not read its flags, variables and stopping time:\n%s", usage)
	}
	return info, nil
}

// knowsEnv reports whether the binary (or the Go runtime) reads name.
func (b *binaryInfo) knowsEnv(name string) bool {
	if slices.Contains(goRuntimeEnv, name) {
		return true
	}
	return slices.ContainsFunc(b.env, func(known string) bool {
		if prefix, ok := strings.CutSuffix(known, "*"); ok {
			return strings.HasPrefix(name, prefix)
		}
		return name == known
	})
}

// args returns the container's flags by name, each checked against the
// binary's, with the binary's defaults for those not given.
func (b *binaryInfo) args(t *testing.T, c corev1.Container) map[string]string {
	t.Helper()
	if len(c.Command) != 0 {
		t.Errorf("command %q replaces the image's entrypoint", c.Command)
	}
	values := map[string]string{}
	for name, def := range b.flags {
		values[name] = def
	}
	given := map[string]bool{}
	for _, arg := range c.Args {
		name, value, ok := strings.Cut(strings.TrimPrefix(arg, "-"), "=")
		if !ok || !strings.HasPrefix(arg, "-") || strings.HasPrefix(arg, "--") {
			t.Errorf("arg %q: write flags as -name=value", arg)
			continue
		}
		if _, known := b.flags[name]; !known {
			t.Errorf("arg %q: the binary has no flag -%s", arg, name)
		}
		if given[name] {
			t.Errorf("arg %q: -%s given twice", arg, name)
		}
		given[name] = true
		values[name] = value
	}
	return values
}

func port(t *testing.T, flag, addr string) int32 {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("-%s=%s: %v", flag, addr, err)
	}
	n, err := strconv.ParseInt(p, 10, 32)
	if err != nil || n <= 0 {
		t.Fatalf("-%s=%s: not a fixed port", flag, addr)
	}
	return int32(n)
}

func duration(t *testing.T, flag, value string) time.Duration {
	t.Helper()
	d, err := time.ParseDuration(value)
	if err != nil {
		t.Fatalf("-%s=%s: %v", flag, value, err)
	}
	return d
}

// dockerUser returns the user and group of the Dockerfile's last stage.
func dockerUser(t *testing.T) (uid, gid int64) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	user := ""
	for line := range strings.Lines(string(data)) {
		fields := strings.Fields(line)
		switch {
		case len(fields) > 0 && strings.EqualFold(fields[0], "FROM"):
			user = "" // a new stage
		case len(fields) == 2 && strings.EqualFold(fields[0], "USER"):
			user = fields[1]
		}
	}
	u, g, _ := strings.Cut(user, ":")
	uid, err = strconv.ParseInt(u, 10, 64)
	if err != nil {
		t.Fatalf("the Dockerfile's USER %q is not numeric (runAsNonRoot cannot check a name)", user)
	}
	gid, err = strconv.ParseInt(g, 10, 64)
	if err != nil {
		t.Fatalf("the Dockerfile's USER %q has no numeric group", user)
	}
	return uid, gid
}

func TestManifests(t *testing.T) {
	t.Parallel()
	m := load(t)
	bin := server(t)
	d := m.deployment
	pod := d.Spec.Template.Spec
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(pod.Containers))
	}
	c := pod.Containers[0]
	labels := d.Spec.Template.Labels

	t.Run("selectors", func(t *testing.T) {
		for name, selector := range map[string]*metav1.LabelSelector{"Deployment": d.Spec.Selector, "PodDisruptionBudget": m.pdb.Spec.Selector} {
			if selector == nil || len(selector.MatchLabels) == 0 || len(selector.MatchExpressions) != 0 {
				t.Errorf("%s: select by matchLabels alone", name)
				continue
			}
			for k, v := range selector.MatchLabels {
				if labels[k] != v {
					t.Errorf("%s selects %s=%s; the pods are labelled %v", name, k, v, labels)
				}
			}
		}
		if len(m.service.Spec.Selector) == 0 {
			t.Error("the Service selects no pods")
		}
		for k, v := range m.service.Spec.Selector {
			if labels[k] != v {
				t.Errorf("the Service selects %s=%s; the pods are labelled %v", k, v, labels)
			}
		}
		ref := m.hpa.Spec.ScaleTargetRef
		if ref.APIVersion != "apps/v1" || ref.Kind != "Deployment" || ref.Name != d.Name {
			t.Errorf("the HorizontalPodAutoscaler scales %v, not the Deployment %s", ref, d.Name)
		}
	})

	args := bin.args(t, c)
	t.Run("env", func(t *testing.T) {
		for _, e := range c.Env {
			if !bin.knowsEnv(e.Name) {
				t.Errorf("env %s: neither the binary (see -h) nor the Go runtime reads it", e.Name)
			}
			if e.Name == "AMPERSAND_API_KEY" && (e.Value != "" || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil) {
				t.Errorf("env %s: take it from a Secret, not a literal", e.Name)
			}
		}
		if len(c.EnvFrom) != 0 {
			t.Error("envFrom: name each variable, so that this test can check it")
		}
	})

	addrPort := port(t, "addr", args["addr"])
	if args["grpc-addr"] == "" {
		t.Fatal("no -grpc-addr: the probes use the gRPC port")
	}
	grpcPort := port(t, "grpc-addr", args["grpc-addr"])
	t.Run("ports", func(t *testing.T) {
		ports := map[string]int32{}
		for _, p := range c.Ports {
			ports[p.Name] = p.ContainerPort
			if p.Protocol != corev1.ProtocolTCP {
				t.Errorf("port %s: protocol %s", p.Name, p.Protocol)
			}
		}
		if want := map[string]int32{"http": addrPort, "grpc": grpcPort}; !maps.Equal(ports, want) {
			t.Errorf("container ports %v; the args listen on %v", ports, want)
		}
		served := map[string]bool{}
		for _, p := range m.service.Spec.Ports {
			if _, ok := ports[p.TargetPort.StrVal]; !ok {
				t.Errorf("Service port %s: targetPort %s is no container port's name", p.Name, p.TargetPort.String())
			}
			served[p.TargetPort.StrVal] = true
			if p.AppProtocol == nil || *p.AppProtocol != "kubernetes.io/h2c" {
				t.Errorf("Service port %s: appProtocol is not kubernetes.io/h2c", p.Name)
			}
		}
		if !served["http"] || !served["grpc"] {
			t.Errorf("the Service exposes %v, not both ports", served)
		}
	})

	grace := time.Duration(*pod.TerminationGracePeriodSeconds) * time.Second
	t.Run("probes and stopping", func(t *testing.T) {
		for name, probe := range map[string]*corev1.Probe{"readiness": c.ReadinessProbe, "liveness": c.LivenessProbe} {
			if probe == nil || probe.GRPC == nil {
				t.Errorf("%s: not a gRPC health probe", name)
				continue
			}
			if probe.GRPC.Port != grpcPort && probe.GRPC.Port != addrPort {
				t.Errorf("%s: port %d is neither listener's (%d, %d)", name, probe.GRPC.Port, addrPort, grpcPort)
			}
			if s := probe.GRPC.Service; s != nil && *s != "" && *s != serviceName {
				t.Errorf("%s: the server reports no health for %q", name, *s)
			}
		}
		if l := c.LivenessProbe; l != nil && time.Duration(l.PeriodSeconds*l.FailureThreshold)*time.Second <= grace {
			t.Errorf("liveness fails after %ds of NOT_SERVING, within the grace period (%v): it could kill a draining pod",
				l.PeriodSeconds*l.FailureThreshold, grace)
		}
		drain, timeout := duration(t, "drain-delay", args["drain-delay"]), duration(t, "upstream-timeout", args["upstream-timeout"])
		if drain <= 0 {
			t.Error("-drain-delay is 0: load balancers get no time to stop sending calls")
		}
		if need := drain + timeout + bin.stopping; grace < need {
			t.Errorf("terminationGracePeriodSeconds %v < -drain-delay %v + -upstream-timeout %v + %v (see server -h)", grace, drain, timeout, bin.stopping)
		}
	})

	t.Run("security", func(t *testing.T) {
		uid, gid := dockerUser(t)
		psc, sc := pod.SecurityContext, c.SecurityContext
		if psc == nil || sc == nil {
			t.Fatal("no security context")
		}
		if uid == 0 || psc.RunAsUser == nil || *psc.RunAsUser != uid || psc.RunAsGroup == nil || *psc.RunAsGroup != gid {
			t.Errorf("runAsUser/runAsGroup %v/%v; the Dockerfile's USER is %d:%d (not root)", deref(psc.RunAsUser), deref(psc.RunAsGroup), uid, gid)
		}
		if !isTrue(psc.RunAsNonRoot) || !isTrue(sc.RunAsNonRoot) {
			t.Error("runAsNonRoot is not true")
		}
		if psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
			t.Error("seccomp profile is not RuntimeDefault")
		}
		if !isTrue(sc.ReadOnlyRootFilesystem) || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			t.Error("the root filesystem is writable, or privileges may escalate")
		}
		if sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) != 0 {
			t.Error("capabilities: drop ALL, add none")
		}
		if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
			t.Error("the server never calls the Kubernetes API: mount no token")
		}
		name, _, _ := strings.Cut(c.Image, ":")
		if !slices.ContainsFunc(m.kustomization.Images, func(i image) bool { return i.Name == name }) {
			t.Errorf("kustomization.yaml does not set the image %s", name)
		}
	})

	t.Run("resources and scaling", func(t *testing.T) {
		req, lim := c.Resources.Requests, c.Resources.Limits
		for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			if req.Name(r, resource.DecimalSI).IsZero() || lim.Name(r, resource.DecimalSI).IsZero() {
				t.Errorf("%s: set a request and a limit", r)
			} else if lim.Name(r, resource.DecimalSI).Cmp(*req.Name(r, resource.DecimalSI)) < 0 {
				t.Errorf("%s: the limit is below the request", r)
			}
		}
		// The load test's peak RSS, at 200 calls in flight (README.md).
		measured := resource.MustParse("33Mi")
		if req.Memory().Value() < 2*measured.Value() {
			t.Errorf("memory request %v: less than twice the load test's peak (%v)", req.Memory(), &measured)
		}
		for _, e := range c.Env {
			if e.Name != "GOMEMLIMIT" {
				continue
			}
			// Go's units (MiB, GiB) less their B are Kubernetes' (Mi, Gi).
			limit, err := resource.ParseQuantity(strings.TrimSuffix(e.Value, "B"))
			if err != nil || limit.Cmp(*lim.Memory()) >= 0 || limit.Cmp(*req.Memory()) <= 0 {
				t.Errorf("GOMEMLIMIT %s: between the memory request (%v) and limit (%v)", e.Value, req.Memory(), lim.Memory())
			}
		}
		hpa := m.hpa.Spec
		if hpa.MinReplicas == nil || *hpa.MinReplicas < 2 || hpa.MaxReplicas <= *hpa.MinReplicas {
			t.Errorf("replicas %v to %d: at least 2, and room to grow", deref32(hpa.MinReplicas), hpa.MaxReplicas)
		}
		if len(hpa.Metrics) == 0 || hpa.Metrics[0].Resource == nil || hpa.Metrics[0].Resource.Name != corev1.ResourceCPU ||
			hpa.Metrics[0].Resource.Target.Type != autoscalingv2.UtilizationMetricType {
			t.Error("the HorizontalPodAutoscaler does not scale on CPU utilization")
		}
		pdb := m.pdb.Spec
		switch {
		case pdb.MaxUnavailable != nil:
			if pdb.MaxUnavailable.IntValue() < 1 && pdb.MaxUnavailable.StrVal == "" {
				t.Error("maxUnavailable 0: no node could ever be drained")
			}
		case pdb.MinAvailable != nil:
			if hpa.MinReplicas != nil && pdb.MinAvailable.IntValue() >= int(*hpa.MinReplicas) {
				t.Error("minAvailable leaves no pod to evict at the fewest replicas")
			}
		default:
			t.Error("the PodDisruptionBudget sets neither minAvailable nor maxUnavailable")
		}
	})
}

// TestManifestStartsTheBinary runs the binary with the container's args and
// env (listening on free loopback ports instead), calls grpc.health.v1 as
// the probes do and gets SERVING; after SIGTERM, readiness gets NOT_SERVING
// while the server drains, and the server exits within the grace period.
func TestManifestStartsTheBinary(t *testing.T) {
	t.Parallel()
	m := load(t)
	bin := server(t)
	c := m.deployment.Spec.Template.Spec.Containers[0]
	args := bin.args(t, c)
	probePorts := map[int32]string{port(t, "addr", args["addr"]): "listening", port(t, "grpc-addr", args["grpc-addr"]): "gRPC listening"}

	var run []string
	for _, arg := range c.Args {
		switch {
		case strings.HasPrefix(arg, "-addr="), strings.HasPrefix(arg, "-grpc-addr="):
			name, _, _ := strings.Cut(arg, "=")
			run = append(run, name+"=127.0.0.1:0")
		default:
			run = append(run, arg)
		}
	}
	cmd := exec.Command(bin.path, run...)
	cmd.Env = []string{}
	for _, e := range c.Env {
		value := e.Value
		if e.ValueFrom != nil {
			value = "from-a-secret"
		}
		cmd.Env = append(cmd.Env, e.Name+"="+value)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	addrs := make(chan map[string]string, 1)
	go func() {
		found := map[string]string{}
		scanner := bufio.NewScanner(stderr)
		for scanner.Scan() {
			var line struct{ Msg, Addr string }
			if json.Unmarshal(scanner.Bytes(), &line) == nil && (line.Msg == "listening" || line.Msg == "gRPC listening") {
				found[line.Msg] = line.Addr
				if len(found) == 2 {
					addrs <- found
				}
			}
		}
		done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
	})
	var listeners map[string]string
	select {
	case listeners = <-addrs:
	case err := <-done:
		t.Fatalf("the binary stopped with the manifest's args and env: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("the binary did not start")
	}

	probeAddr := func(p *corev1.Probe) (string, string) {
		service := ""
		if p.GRPC.Service != nil {
			service = *p.GRPC.Service
		}
		return listeners[probePorts[p.GRPC.Port]], service
	}
	for name, probe := range map[string]*corev1.Probe{"readiness": c.ReadinessProbe, "liveness": c.LivenessProbe} {
		addr, service := probeAddr(probe)
		if status, err := healthCheck(addr, service); err != nil || status != servingStatus {
			t.Errorf("%s probe (%q at %s): status %d, %v; want SERVING", name, service, addr, status, err)
		}
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	addr, service := probeAddr(c.ReadinessProbe)
	for {
		status, err := healthCheck(addr, service)
		if err == nil && status == notServingStatus {
			break
		}
		if time.Since(stopped) > 5*time.Second {
			t.Fatalf("readiness still %d, %v after SIGTERM", status, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	grace := time.Duration(*m.deployment.Spec.Template.Spec.TerminationGracePeriodSeconds) * time.Second
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("exit after SIGTERM: %v", err)
		}
	case <-time.After(grace):
		t.Errorf("still running after the grace period (%v)", grace)
	}
}

// The statuses of grpc.health.v1.HealthCheckResponse.
const (
	servingStatus    = 1
	notServingStatus = 2
)

// healthCheck calls grpc.health.v1.Health/Check for service, as the
// kubelet's gRPC probe does (h2c, no TLS), and returns the status.
func healthCheck(addr, service string) (int, error) {
	msg := []byte{}
	if service != "" {
		msg = append([]byte{0x0a, byte(len(service))}, service...) // field 1, a short string
	}
	frame := make([]byte, 5, 5+len(msg))
	binary.BigEndian.PutUint32(frame[1:], uint32(len(msg)))
	frame = append(frame, msg...)
	req, err := http.NewRequest(http.MethodPost, "http://"+addr+"/grpc.health.v1.Health/Check", bytes.NewReader(frame))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/grpc")
	req.Header.Set("Te", "trailers")
	protocols := new(http.Protocols)
	protocols.SetUnencryptedHTTP2(true)
	client := &http.Client{Transport: &http.Transport{Protocols: protocols}, Timeout: 5 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	status := resp.Trailer.Get("Grpc-Status")
	if status == "" {
		status = resp.Header.Get("Grpc-Status") // trailers-only
	}
	if status != "0" {
		return 0, fmt.Errorf("grpc-status %q", status)
	}
	if len(body) < 5 {
		return 0, fmt.Errorf("a response of %d bytes", len(body))
	}
	switch resp := body[5:]; {
	case len(resp) == 0:
		return 0, nil // UNKNOWN, the default
	case len(resp) == 2 && resp[0] == 0x08: // field 1, a varint
		return int(resp[1]), nil
	default:
		return 0, fmt.Errorf("an unexpected response %x", resp)
	}
}

func isTrue(b *bool) bool { return b != nil && *b }

func deref(p *int64) any {
	if p == nil {
		return nil
	}
	return *p
}

func deref32(p *int32) any {
	if p == nil {
		return nil
	}
	return *p
}
