// Package demo is a stand-in for Ampersand's REST API that answers from
// built-in sample integrations, with no network and no credentials. It
// serves the same HTTP answers the real API would, so a demo call goes
// through the whole service: the REST client, the translator and the error
// mapping.
package demo

import (
	"embed"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
)

// ProjectName and ProjectID name the one demo project.
const (
	ProjectName = "my-project"
	ProjectID   = "project-456"
)

//go:embed integrations/*.json
var files embed.FS

type sample struct {
	id   string
	body []byte
}

// Handler serves GET /projects/{projectIdOrName}/integrations/{integrationIdOrName}
// for the demo project's sample integrations, by ID or by name, and
// application/problem+json 404s for anything else.
type Handler struct {
	byName map[string]sample
}

// NewHandler returns a handler over the built-in samples.
func NewHandler() *Handler {
	h := &Handler{byName: map[string]sample{}}
	entries, err := files.ReadDir("integrations")
	if err != nil {
		panic(err) // embedded at build time
	}
	for _, entry := range entries {
		body, err := files.ReadFile(path.Join("integrations", entry.Name()))
		if err != nil {
			panic(err)
		}
		var head struct{ ID string }
		if err := json.Unmarshal(body, &head); err != nil {
			panic(fmt.Sprintf("demo sample %s: %v", entry.Name(), err))
		}
		h.byName[strings.TrimSuffix(entry.Name(), ".json")] = sample{id: head.ID, body: body}
	}
	return h
}

// Names returns the names of the sample integrations, sorted.
func (h *Handler) Names() []string {
	names := make([]string, 0, len(h.byName))
	for name := range h.byName {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	project, integration, ok := parsePath(r.URL.EscapedPath())
	if r.Method != http.MethodGet || !ok {
		writeProblem(w, http.StatusNotFound, "Not Found", "no such route in the demo API", "")
		return
	}
	if project != ProjectName && project != ProjectID {
		writeProblem(w, http.StatusNotFound, "Not Found",
			fmt.Sprintf("project %q not found: the demo has only project %q (ID %q)", project, ProjectName, ProjectID), "")
		return
	}
	for name, s := range h.byName {
		if integration == name || integration == s.id {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(s.body)
			return
		}
	}
	writeProblem(w, http.StatusNotFound, "Not Found",
		fmt.Sprintf("integration %q not found in project %q: the demo has only %s (by name or ID)", integration, project, h.listed()),
		"https://docs.withampersand.com/")
}

// listed names the sample integrations for a message: "a", "b" and "c".
func (h *Handler) listed() string {
	names := h.Names()
	for i, name := range names {
		names[i] = strconv.Quote(name)
	}
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

// parsePath splits /…/projects/{p}/integrations/{i} into its unescaped names.
func parsePath(escaped string) (project, integration string, ok bool) {
	parts := strings.Split(strings.TrimPrefix(escaped, "/"), "/")
	n := len(parts)
	if n < 4 || parts[n-4] != "projects" || parts[n-2] != "integrations" {
		return "", "", false
	}
	project, err1 := url.PathUnescape(parts[n-3])
	integration, err2 := url.PathUnescape(parts[n-1])
	return project, integration, err1 == nil && err2 == nil
}

func writeProblem(w http.ResponseWriter, status int, title, detail, href string) {
	problem := map[string]any{
		"type":      "about:blank",
		"title":     title,
		"status":    status,
		"detail":    detail,
		"subsystem": "demo",
		"requestId": "demo-request",
	}
	if href != "" {
		problem["href"] = href
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(problem)
}

// Transport is an [http.RoundTripper] that serves every request with a
// handler, in process: no socket, no network.
type Transport struct {
	Handler http.Handler
}

// RoundTrip implements [http.RoundTripper].
func (t Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := req.Context().Err(); err != nil {
		return nil, err
	}
	rec := httptest.NewRecorder()
	t.Handler.ServeHTTP(rec, req)
	resp := rec.Result()
	resp.Request = req
	return resp, nil
}
