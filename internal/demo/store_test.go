package demo_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/ampersand-connect/gateway/internal/demo"
)

// client calls a demo handler through [demo.Transport], as the server does.
type client struct {
	t    *testing.T
	http *http.Client
}

func newDemoClient(t *testing.T, h *demo.Handler) client {
	return client{t: t, http: &http.Client{Transport: demo.Transport{Handler: h}}}
}

// do sends a request with a JSON body (unless body is nil) and returns the
// answer; it fails the test when the status is not want.
func (c client) do(want int, method, path string, body any) (http.Header, []byte) {
	c.t.Helper()
	var r io.Reader
	if raw, ok := body.(json.RawMessage); ok {
		r = bytes.NewReader(raw) // as it is, valid JSON or not
	} else if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			c.t.Fatal(err)
		}
		r = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, "http://demo.invalid/v1"+path, r)
	if err != nil {
		c.t.Fatal(err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	if resp.StatusCode != want {
		c.t.Fatalf("%s %s: %s %s, want %d", method, path, resp.Status, data, want)
	}
	return resp.Header, data
}

// json sends a request and decodes its JSON answer.
func (c client) json(want int, method, path string, body any) map[string]any {
	c.t.Helper()
	_, data := c.do(want, method, path, body)
	var v map[string]any
	if err := json.Unmarshal(data, &v); err != nil {
		c.t.Fatalf("%s %s: %v: %s", method, path, err, data)
	}
	return v
}

// list sends a GET and decodes its JSON array.
func (c client) list(path string) []map[string]any {
	c.t.Helper()
	_, data := c.do(http.StatusOK, http.MethodGet, path, nil)
	var v []map[string]any
	if err := json.Unmarshal(data, &v); err != nil {
		c.t.Fatalf("GET %s: %v: %s", path, err, data)
	}
	return v
}

func ids(items []map[string]any) []string {
	var out []string
	for _, item := range items {
		out = append(out, fmt.Sprint(item["id"]))
	}
	return out
}

func dig(v any, path ...string) any {
	for _, name := range path {
		m, _ := v.(map[string]any)
		v = m[name]
	}
	return v
}

// TestInstallationStory is the README's story: create an installation of
// read-accounts, list it, switch its connection and change its config
// with updateMask, read the changes back, delete it, and get 404.
func TestInstallationStory(t *testing.T) {
	t.Parallel()
	c := newDemoClient(t, demo.NewHandler())
	const installations = "/projects/my-project/integrations/read-accounts/installations"

	created := c.json(http.StatusCreated, http.MethodPost, installations, map[string]any{
		"groupRef": "group-123",
		"config": map[string]any{"content": map[string]any{
			"provider": "salesforce",
			"read": map[string]any{"objects": map[string]any{"contact": map[string]any{
				"objectName": "contact", "schedule": "*/15 * * * *", "selectedFields": map[string]any{"email": true}, "selectedFieldMappings": map[string]any{},
			}}},
		}},
	})
	id, _ := created["id"].(string)
	if id == "" || dig(created, "connection", "id") != "connection-123" || dig(created, "group", "groupRef") != "group-123" ||
		dig(created, "config", "revisionId") != "revision-id-1" || created["healthStatus"] != "healthy" || dig(created, "connection", "oauth2AuthorizationCode") != nil {
		t.Fatalf("created %v", created)
	}
	if got := ids(c.list(installations)); !slices.Equal(got, []string{"installation-123", id}) {
		t.Errorf("listed %v", got)
	}
	if got := ids(c.list("/projects/my-project/installations?groupRef=group-123")); !slices.Equal(got, []string{"installation-123", id}) {
		t.Errorf("listed for the project %v", got)
	}

	patched := c.json(http.StatusOK, http.MethodPatch, installations+"/"+id, map[string]any{
		"updateMask": []string{"connectionId"}, "installation": map[string]any{"connectionId": "connection-789"},
	})
	if dig(patched, "connection", "id") != "connection-789" || patched["updateTime"] == nil {
		t.Errorf("patched connection: %v", patched)
	}

	conn := c.json(http.StatusCreated, http.MethodPost, "/projects/my-project/connections:generate", map[string]any{
		"provider": "salesforce", "groupRef": "group-123", "consumerRef": "consumer-456",
	})
	patched = c.json(http.StatusOK, http.MethodPatch, installations+"/"+id, map[string]any{
		"updateMask": []string{"connectionId"}, "installation": map[string]any{"connectionId": conn["id"]},
	})
	if dig(patched, "connection", "id") != conn["id"] {
		t.Errorf("patched to a new connection: %v", patched)
	}
	c.json(http.StatusOK, http.MethodPatch, installations+"/"+id, map[string]any{
		"updateMask":   []string{"config.content.read.objects.contact"},
		"installation": map[string]any{"config": map[string]any{"content": map[string]any{"read": map[string]any{"objects": map[string]any{"contact": map[string]any{"objectName": "contact", "schedule": "0 * * * *"}}}}}},
	})
	got := c.json(http.StatusOK, http.MethodGet, installations+"/"+id, nil)
	contact := dig(got, "config", "content", "read", "objects", "contact")
	if dig(got, "connection", "id") != conn["id"] || dig(contact, "schedule") != "0 * * * *" || dig(contact, "selectedFields") == nil {
		t.Errorf("got %v", got)
	}

	c.do(http.StatusNoContent, http.MethodDelete, installations+"/"+id, nil)
	_, data := c.do(http.StatusNotFound, http.MethodGet, installations+"/"+id, nil)
	var problem problemDoc
	if err := json.Unmarshal(data, &problem); err != nil || !slices.Equal(problem.names("path"), []string{"installationId"}) ||
		!strings.Contains(problem.Detail, `installation "`+id+`" not found in integration "read-accounts"`) {
		t.Errorf("after delete: %s", data)
	}
	if got := ids(c.list(installations)); !slices.Equal(got, []string{"installation-123"}) {
		t.Errorf("listed after delete %v", got)
	}
}

// TestSampleIntegrationsUnchanged holds GetIntegration's answers to the
// sample files, byte for byte, by name and by ID, in the project named
// either way.
func TestSampleIntegrationsUnchanged(t *testing.T) {
	t.Parallel()
	c := newDemoClient(t, demo.NewHandler())
	for name, id := range map[string]string{"read-accounts": "123e4567-e89b-12d3-a456-426614174000", "write-contacts": "9b2f7c1e-4d3a-4f6b-8a1e-2c5d6e7f8a9b"} {
		want, err := os.ReadFile("integrations/" + name + ".json")
		if err != nil {
			t.Fatal(err)
		}
		for _, project := range []string{demo.ProjectName, demo.ProjectID} {
			for _, key := range []string{name, id} {
				header, got := c.do(http.StatusOK, http.MethodGet, "/projects/"+project+"/integrations/"+key, nil)
				if !bytes.Equal(got, want) || header.Get("Content-Type") != "application/json" {
					t.Errorf("%s/%s: %s %s", project, key, header.Get("Content-Type"), got)
				}
			}
		}
	}
}

func TestEveryOperationServed(t *testing.T) {
	t.Parallel()
	if got := demo.Unserved(); len(got) > 0 {
		t.Errorf("unserved: %v", got)
	}
}

// TestConcurrentUse runs writers and readers of the same collections at
// once (run with -race): every write lands, and each deleted resource is
// gone.
func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	h := demo.NewHandler()
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			c := newDemoClient(t, h)
			for i := range 25 {
				topic := c.json(http.StatusCreated, http.MethodPost, "/projects/my-project/topics", map[string]any{"name": fmt.Sprintf("topic-%d-%d", w, i)})
				path := "/projects/my-project/topics/" + topic["id"].(string)
				c.json(http.StatusOK, http.MethodPatch, path, map[string]any{"name": fmt.Sprintf("renamed-%d-%d", w, i)})
				c.list("/projects/my-project/topics")
				c.json(http.StatusCreated, http.MethodPost, "/projects/my-project/notification-event-topic-routes", map[string]any{"eventType": "connection.created", "topicId": topic["id"]})
				c.json(http.StatusOK, http.MethodGet, "/projects/my-project/integrations/read-accounts/installations/installation-123", nil)
				c.do(http.StatusNoContent, http.MethodDelete, path, nil)
			}
		})
	}
	wg.Wait()
	c := newDemoClient(t, h)
	if got := ids(c.list("/projects/my-project/topics")); !slices.Equal(got, []string{"topic-123"}) {
		t.Errorf("topics left: %v", got)
	}
	if got := ids(c.list("/projects/my-project/notification-event-topic-routes")); !slices.Equal(got, []string{"route-123"}) {
		t.Errorf("routes left (a topic's routes go with it): %v", got)
	}
}

// TestLimits fills a handler to its limits: one more resource is a 429
// problem, and deleting one makes room.
func TestLimits(t *testing.T) {
	t.Parallel()
	h := demo.NewHandler()
	h.SetLimits(3, demo.MaxStoredBytes)
	c := newDemoClient(t, h)
	c.json(http.StatusCreated, http.MethodPost, "/projects/my-project/topics", map[string]any{"name": "a"})
	last := c.json(http.StatusCreated, http.MethodPost, "/projects/my-project/topics", map[string]any{"name": "b"})
	problem := c.json(http.StatusTooManyRequests, http.MethodPost, "/projects/my-project/topics", map[string]any{"name": "c"})
	if !strings.Contains(fmt.Sprint(problem["detail"]), "at most 3 topics") {
		t.Errorf("problem %v", problem)
	}
	c.do(http.StatusNoContent, http.MethodDelete, "/projects/my-project/topics/"+last["id"].(string), nil)
	c.json(http.StatusCreated, http.MethodPost, "/projects/my-project/topics", map[string]any{"name": "c"})

	h = demo.NewHandler()
	h.SetLimits(demo.MaxPerKind, 1)
	c = newDemoClient(t, h)
	c.json(http.StatusTooManyRequests, http.MethodPost, "/projects/my-project/topics", map[string]any{"name": "a"})

	big := strings.Repeat("x", demo.MaxBodyBytes)
	c.json(http.StatusRequestEntityTooLarge, http.MethodPost, "/projects/my-project/topics", map[string]any{"name": big})
}

// TestRequests covers what a request can get wrong besides IDs and
// required properties.
func TestRequests(t *testing.T) {
	t.Parallel()
	c := newDemoClient(t, demo.NewHandler())
	if p := c.json(http.StatusNotFound, http.MethodGet, "/nope", nil); p["detail"] != "no such route in the demo API" {
		t.Errorf("unknown route: %v", p)
	}
	header, _ := c.do(http.StatusMethodNotAllowed, http.MethodDelete, "/projects", nil)
	if header.Get("Allow") != "GET, POST" {
		t.Errorf("Allow: %q", header.Get("Allow"))
	}
	tests := []struct {
		name, method, path string
		body               any
		status             int
		in, issue          string
	}{
		{"a query flag that is not a boolean", http.MethodGet, "/projects/my-project/connections/connection-123?includeCreds=maybe", nil, 400, "query", "includeCreds"},
		{"a required query parameter", http.MethodGet, "/claimed-domains", nil, 400, "query", "domain"},
		{"a property of the wrong type", http.MethodPost, "/projects/my-project/topics", map[string]any{"name": 7}, 400, "body", "name"},
		{"a value too long", http.MethodPost, "/projects/my-project/topics", map[string]any{"name": strings.Repeat("t", 65)}, 400, "body", "name"},
		{"a value not of the enum", http.MethodPost, "/projects/my-project/notification-event-topic-routes", map[string]any{"eventType": "nope", "topicId": "topic-123"}, 400, "body", "eventType"},
		{"a mask path the body cannot have", http.MethodPatch, "/projects/my-project", map[string]any{"updateMask": []string{"orgId"}, "project": map[string]any{}}, 400, "body", "updateMask"},
		{"a mask clearing a required property", http.MethodPatch, "/projects/my-project", map[string]any{"updateMask": []string{"name"}, "project": map[string]any{}}, 400, "body", "project.name"},
		{"a reference to nothing", http.MethodPost, "/projects/my-project/topic-destination-routes", map[string]any{"topicId": "topic-123", "destinationId": "nope"}, 404, "body", "destinationId"},
		{"a name taken", http.MethodPost, "/projects/my-project/topics", map[string]any{"name": "connection-events"}, 409, "body", "name"},
		{"a group without a connection", http.MethodPost, "/projects/my-project/integrations/read-accounts/installations", map[string]any{
			"groupRef": "group-999", "config": map[string]any{"content": map[string]any{"provider": "salesforce"}}}, 422, "body", "groupRef"},
		{"a config for another provider", http.MethodPost, "/projects/my-project/integrations/read-accounts/installations", map[string]any{
			"groupRef": "group-123", "config": map[string]any{"content": map[string]any{"provider": "hubspot"}}}, 400, "body", "config.content.provider"},
		{"a JSON Patch that breaks the config", http.MethodPatch, "/projects/my-project/integrations/read-accounts/objects/account/config-content", map[string]any{
			"groupRef": "group-123", "action": "read", "changes": []any{map[string]any{"op": "replace", "path": "/schedule", "value": 5}}}, 400, "body", "config.content.read.objects.account.schedule"},
		{"a body that is not JSON", http.MethodPost, "/projects/my-project/topics", json.RawMessage(`{`), 400, "body", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newDemoClient(t, demo.NewHandler())
			_, data := c.do(tt.status, tt.method, tt.path, tt.body)
			var p problemDoc
			if err := json.Unmarshal(data, &p); err != nil {
				t.Fatal(err)
			}
			if !slices.Contains(p.names(tt.in), tt.issue) {
				t.Errorf("issues %+v do not name %s %s: %s", p.Issues, tt.in, tt.issue, data)
			}
		})
	}
}

// TestSecrets shows credentials and secrets only when a call asks.
func TestSecrets(t *testing.T) {
	t.Parallel()
	c := newDemoClient(t, demo.NewHandler())
	const conn = "/projects/my-project/connections/connection-123"
	if v := c.json(http.StatusOK, http.MethodGet, conn, nil); v["oauth2AuthorizationCode"] != nil {
		t.Errorf("credentials without includeCreds: %v", v)
	}
	v := c.json(http.StatusOK, http.MethodGet, conn+"?includeCreds=true", nil)
	if dig(v, "oauth2AuthorizationCode", "accessToken", "token") != "demo-access-token" || dig(v, "oauth2AuthorizationCode", "refreshToken") != nil {
		t.Errorf("includeCreds: %v", v["oauth2AuthorizationCode"])
	}
	v = c.json(http.StatusOK, http.MethodGet, conn+"?includeRefreshToken=true", nil)
	if dig(v, "oauth2AuthorizationCode", "refreshToken", "token") != "demo-refresh-token" {
		t.Errorf("includeRefreshToken: %v", v["oauth2AuthorizationCode"])
	}
	for _, item := range c.list("/projects/my-project/connections") {
		if item["oauth2AuthorizationCode"] != nil {
			t.Errorf("listed with credentials: %v", item)
		}
	}

	const dest = "/projects/my-project/destinations/accountWebhook"
	if v := c.json(http.StatusOK, http.MethodGet, dest, nil); v["secrets"] != nil {
		t.Errorf("secrets without includeSecrets: %v", v)
	}
	if v := c.json(http.StatusOK, http.MethodGet, dest+"?includeSecrets=true", nil); dig(v, "secrets", "webhookSigningKey") != "whsec_demo_123" {
		t.Errorf("includeSecrets: %v", v)
	}
	v = c.json(http.StatusOK, http.MethodGet, dest+"?includeSecrets=true&rotate=true", nil)
	if key := dig(v, "secrets", "webhookSigningKey"); key == "whsec_demo_123" || key == nil {
		t.Errorf("rotate: %v", v)
	}
	if v := c.json(http.StatusOK, http.MethodGet, "/projects/my-project", nil); v["entitlements"] != nil {
		t.Errorf("entitlements without includeEntitlements: %v", v)
	}
}

// TestDeleteTakesChildren deletes an integration: its installations go
// with it.
func TestDeleteTakesChildren(t *testing.T) {
	t.Parallel()
	h := demo.NewHandler()
	c := newDemoClient(t, h)
	c.do(http.StatusNoContent, http.MethodDelete, "/projects/my-project/integrations/read-accounts", nil)
	if got := c.list("/projects/my-project/installations"); len(got) != 0 {
		t.Errorf("installations left: %v", ids(got))
	}
	c.do(http.StatusNotFound, http.MethodGet, "/projects/my-project/integrations/read-accounts/installations/installation-123", nil)
	if got := h.Names(); !slices.Equal(got, []string{"write-contacts"}) {
		t.Errorf("Names() = %v", got)
	}
}

// TestStableIDs makes the same resource in two handlers: it gets the same
// ID, so that a script's output is the same from run to run.
func TestStableIDs(t *testing.T) {
	t.Parallel()
	var got []any
	for range 2 {
		c := newDemoClient(t, demo.NewHandler())
		got = append(got, c.json(http.StatusCreated, http.MethodPost, "/projects/my-project/topics", map[string]any{"name": "a"})["id"])
	}
	if got[0] != got[1] || len(fmt.Sprint(got[0])) != 36 {
		t.Errorf("IDs %v", got)
	}
}

// BenchmarkNewHandler measures a handler's start: the spec is read once
// per process (the first call), the sample for each handler.
func BenchmarkNewHandler(b *testing.B) {
	for b.Loop() {
		demo.NewHandler()
	}
}

// TestREADMENamesWhatTheDemoHolds holds the README's quick start to the
// sample: every ID it offers (my-project, installation-123,
// grace@example.com...) is one the sample has.
func TestREADMENamesWhatTheDemoHolds(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "The demo is an in-memory")
	section, _, _ = strings.Cut(section, "\n## ")
	if !ok {
		t.Fatal("the README has no demo section")
	}
	var sample []byte
	for _, name := range []string{"sample.json", "integrations/read-accounts.json", "integrations/write-contacts.json"} {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		sample = append(sample, data...)
	}
	id := regexp.MustCompile("`([a-z]+(?:-[a-z0-9]+)+|amp_[a-z0-9_]+|[a-z]+@[a-z.]+)`")
	offered := id.FindAllStringSubmatch(section, -1)
	if len(offered) < 15 {
		t.Fatalf("only %d IDs offered", len(offered))
	}
	for _, m := range offered {
		if !bytes.Contains(sample, []byte(`"`+m[1]+`"`)) {
			t.Errorf("the README offers %s, which the sample lacks", m[1])
		}
	}
}
