package demo_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/ampersand-connect/gateway/internal/demo"
	"github.com/ampersand-connect/gateway/internal/rest"
)

func newClient(t *testing.T) *rest.Client {
	t.Helper()
	client, err := rest.New("http://demo.invalid/v1", rest.WithHTTPClient(&http.Client{Transport: demo.Transport{Handler: demo.NewHandler()}}))
	if err != nil {
		t.Fatal(err)
	}
	return client
}

func TestSamples(t *testing.T) {
	t.Parallel()
	client := newClient(t)
	handler := demo.NewHandler()
	if len(handler.Names()) < 2 {
		t.Fatalf("samples = %v", handler.Names())
	}
	for _, project := range []string{demo.ProjectName, demo.ProjectID} {
		for _, name := range append(handler.Names(), "123e4567-e89b-12d3-a456-426614174000") {
			integration, err := getIntegration(client, context.Background(), project, name)
			if err != nil {
				t.Fatalf("%s/%s: %v", project, name, err)
			}
			if integration.ProjectID != demo.ProjectID || integration.LatestRevision == nil {
				t.Errorf("%s/%s: %+v", project, name, integration)
			}
		}
	}
}

func TestNotFound(t *testing.T) {
	t.Parallel()
	client := newClient(t)
	for _, names := range [][2]string{{"my-project", "nope"}, {"other-project", "read-accounts"}, {"my-project", "read-accounts/x"}} {
		_, err := getIntegration(client, context.Background(), names[0], names[1])
		var e *rest.Error
		if !errors.As(err, &e) || e.StatusCode != http.StatusNotFound || e.Problem == nil || e.Problem.Detail == "" {
			t.Errorf("%v: err = %v", names, err)
		}
	}
}

// TestNotFoundNamesWhatTheDemoHolds holds the demo's messages to what it
// serves: every name a not-found message offers works, and every sample is
// offered.
func TestNotFoundNamesWhatTheDemoHolds(t *testing.T) {
	t.Parallel()
	client := newClient(t)
	quoted := regexp.MustCompile(`"([^"]+)"`)
	offered := func(project, integration string) []string {
		t.Helper()
		_, err := getIntegration(client, context.Background(), project, integration)
		var e *rest.Error
		if !errors.As(err, &e) || e.Problem == nil {
			t.Fatalf("%s/%s: err = %v", project, integration, err)
		}
		_, list, ok := strings.Cut(e.Problem.Detail, "the demo has only ")
		if !ok {
			t.Fatalf("%s/%s: the detail offers nothing: %q", project, integration, e.Problem.Detail)
		}
		var names []string
		for _, m := range quoted.FindAllStringSubmatch(list, -1) {
			names = append(names, m[1])
		}
		return names
	}

	projects := offered("other-project", "read-accounts")
	if !slices.Equal(projects, []string{demo.ProjectName, demo.ProjectID}) {
		t.Errorf("projects offered = %q", projects)
	}
	integrations := offered(demo.ProjectName, "nope")
	if !slices.Equal(integrations, demo.NewHandler().Names()) {
		t.Errorf("integrations offered = %q, samples = %q", integrations, demo.NewHandler().Names())
	}
	for _, project := range projects {
		for _, name := range integrations {
			if _, err := getIntegration(client, context.Background(), project, name); err != nil {
				t.Errorf("offered %s/%s: %v", project, name, err)
			}
		}
	}
}

func TestTransportHonoursCanceledContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := getIntegration(newClient(t), ctx, demo.ProjectName, "read-accounts")
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v", err)
	}
}

// integration is what the tests read of an integration.
type integration struct {
	ProjectID      string          `json:"projectId"`
	LatestRevision json.RawMessage `json:"latestRevision"`
}

// getIntegration gets an integration of the demo through the REST client.
func getIntegration(client *rest.Client, ctx context.Context, project, name string) (*integration, error) {
	body, err := client.Do(ctx, rest.Credentials{}, rest.Call{
		Method: "GET",
		Path:   "/projects/" + url.PathEscape(project) + "/integrations/" + url.PathEscape(name),
	})
	if err != nil {
		return nil, err
	}
	var out integration
	if err := json.Unmarshal(body.Data, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
