package main_test

import (
	"encoding/json"
	"strings"
	"testing"

	"connectrpc.com/connect"
)

// installationBody is the body of the README's CreateInstallation call.
const installationBody = `{"groupRef":"group-123","config":{"content":{"provider":"salesforce","read":{"objects":{"account":{` +
	`"objectName":"account","schedule":"*/30 * * * *","destination":"accountWebhook",` +
	`"selectedFields":{"name":true},"selectedFieldMappings":{"accountName":"name"}}}}}}}`

// TestInstallationStory drives the README's story of an installation with
// buf curl against the demo, as a new user would: create one, list it, patch
// it with an updateMask, get it, delete it, and get not_found after. Every
// step goes through a different protocol, and the upstream is the demo, a
// stand-in of the REST API driven by the spec's paths.
func TestInstallationStory(t *testing.T) {
	t.Parallel()
	p := start(t, nil, "-demo")
	base := "http://" + p.addr + "/ampersand.v1.InstallationService/"
	const scope = `"projectIdOrName":"my-project","integrationId":"read-accounts"`
	call := func(protocol, method, body string) map[string]any {
		t.Helper()
		out, stderr, code := bufCurl(t, "--protocol", protocol, "--http2-prior-knowledge", "-d", body, base+method)
		if code != 0 {
			t.Fatalf("%s (%s): exit %d\n%s%s", method, protocol, code, out, stderr)
		}
		var resp map[string]any
		if err := json.Unmarshal([]byte(out), &resp); err != nil {
			t.Fatalf("%s: %v\n%s", method, err, out)
		}
		return resp
	}

	created := call("grpc", "CreateInstallation", `{`+scope+`,"body":`+installationBody+`}`)
	installation, _ := created["installation"].(map[string]any)
	id, _ := installation["id"].(string)
	if id == "" || id == "installation-123" {
		t.Fatalf("created: %v", created)
	}

	listed := call("connect", "ListInstallations", `{`+scope+`}`)
	ids := ""
	for _, item := range listed["installations"].([]any) {
		ids += item.(map[string]any)["id"].(string) + " "
	}
	if !strings.Contains(ids, id) {
		t.Errorf("listed %s, want %s among them", ids, id)
	}

	patched := call("grpcweb", "UpdateInstallation", `{`+scope+`,"installationId":"`+id+`","body":{"installation":{"connectionId":"connection-789"},"updateMask":["connectionId"]}}`)
	if got := patched["installation"].(map[string]any)["connection"].(map[string]any)["id"]; got != "connection-789" {
		t.Errorf("patched connection %v, want connection-789", got)
	}
	got := call("grpc", "GetInstallation", `{`+scope+`,"installationId":"`+id+`"}`)
	if got["installation"].(map[string]any)["connection"].(map[string]any)["id"] != "connection-789" {
		t.Errorf("got %v after the patch", got)
	}

	call("connect", "DeleteInstallation", `{`+scope+`,"installationId":"`+id+`"}`)
	_, stderr, code := bufCurl(t, "--protocol", "grpc", "--http2-prior-knowledge", "-d", `{`+scope+`,"installationId":"`+id+`"}`, base+"GetInstallation")
	if code != int(connect.CodeNotFound)*8 || !strings.Contains(stderr, "not_found") {
		t.Errorf("get after delete: exit %d\n%s", code, stderr)
	}
}
