package demo

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// actions serve the operations that are not a kind's plain list, create,
// get, update or delete, by operationId.
var actions = map[string]handler{
	"oauthConnect":                     oauthConnect,
	"customAuthConnect":                customAuthConnect,
	"oauthUpdate":                      oauthUpdate,
	"batchUpsertIntegrations":          batchUpsertIntegrations,
	"createRevision":                   createRevision,
	"getHydratedRevision":              getHydratedRevision,
	"patchObjectConfigContent":         patchObjectConfigContent,
	"getObjectMetadataForInstallation": getObjectMetadataForInstallation,
	"getObjectMetadataForConnection":   getObjectMetadataForConnection,
	"upsertMetadataForInstallation":    upsertMetadataForInstallation,
	"upsertMetadataForConnection":      upsertMetadataForConnection,
	"listInstallationsForProject":      listInstallationsForProject,
	"listOperations":                   listOperations,
	"getBackfillProgress":              getBackfillProgress,
	"listOperationLogs":                listOperationLogs,
	"listProviders":                    listProviders,
	"generateConnection":               generateConnection,
	"getDestination":                   getDestination,
	"generateUploadUrl":                generateUploadURL,
	"addUserToOrg":                     addUserToOrg,
	"getMyInfo":                        getMyInfo,
	"acceptInvite":                     acceptInvite,
	"getOrgBillingAccount":             getOrgBillingAccount,
	"createBillingAccountSession":      createBillingAccountSession,
	"checkClaimedDomain":               checkClaimedDomain,
	"listOrgClaimedDomains":            listOrgClaimedDomains,
}

// bodyProject finds the project a body names in projectIdOrName (the
// connect operations' bodies), as if it were a path parameter.
func (c *call) bodyProject() *problem {
	name := str(c.object()["projectIdOrName"])
	project := c.h.store.lookup("/projects", name)
	if project == nil {
		p := c.h.notFound(kProject, "projectIdOrName", name, "/projects", nil, "")
		p.issues[0].in = "body"
		return p
	}
	c.found["projectIdOrName"] = project
	return nil
}

// oauthConnect answers the provider's authorization URL. The demo keeps no
// pending flow: following the URL leads to the provider, not back here.
func oauthConnect(c *call) answer {
	if p := c.bodyProject(); p != nil {
		return fail(p)
	}
	body := c.object()
	provider := c.h.store.lookup("/providers", str(body["provider"]))
	if provider == nil {
		return fail(c.refers("provider", kProvider, "/providers"))
	}
	var app *resource
	if id := str(body["providerAppId"]); id != "" {
		if p := c.refers("providerAppId", kProviderApp, c.projectPath()+"/provider-apps"); p != nil {
			return fail(p)
		}
		app = c.h.store.lookup(c.projectPath()+"/provider-apps", id)
	}
	authURL, p := c.authorizeURL(provider, app, str(body["providerWorkspaceRef"]), "demo-state-"+c.h.store.newID())
	if p != nil {
		return fail(p)
	}
	return c.ok(authURL)
}

// oauthUpdate answers the authorization URL that renews a connection.
func oauthUpdate(c *call) answer {
	conn := c.found["connectionId"]
	provider := c.h.store.lookup("/providers", str(conn.v["provider"]))
	if provider == nil {
		return fail(&problem{status: http.StatusUnprocessableEntity, detail: fmt.Sprintf("connection %q is to %q, which the demo's catalog lacks", conn.id(), conn.v["provider"])})
	}
	var app *resource
	if a, ok := conn.v["providerApp"].(map[string]any); ok {
		app = c.h.store.lookup(c.projectPath()+"/provider-apps", str(a["id"]))
	}
	authURL, p := c.authorizeURL(provider, app, str(conn.v["providerWorkspaceRef"]), "demo-state-"+conn.id())
	if p != nil {
		return fail(p)
	}
	return c.ok(authURL)
}

// authorizeURL is a provider's OAuth authorization URL for a demo flow.
func (c *call) authorizeURL(provider, app *resource, workspace, state string) (string, *problem) {
	opts, _ := provider.v["oauth2Opts"].(map[string]any)
	base := str(opts["authURL"])
	if base == "" {
		return "", c.invalid([]inputIssue{{in: "body", issue: issue{name: "provider", detail: "does not use OAuth 2 authorization codes", value: provider.id()}}})
	}
	if workspace == "" {
		workspace = "demo"
	}
	base = strings.ReplaceAll(base, "{{.workspace}}", url.PathEscape(workspace))
	q := url.Values{"response_type": {"code"}, "client_id": {"demo-client-id"}, "redirect_uri": {"https://api.withampersand.com/callbacks/v1/oauth"}, "state": {state}}
	if app != nil {
		q.Set("client_id", str(app.v["clientId"]))
		if scopes, ok := app.v["scopes"].([]any); ok && len(scopes) > 0 {
			words := make([]string, len(scopes))
			for i, s := range scopes {
				words[i] = fmt.Sprint(s)
			}
			q.Set("scope", strings.Join(words, " "))
		}
	}
	return base + "?" + q.Encode(), nil
}

// customAuthConnect finishes a custom auth flow in one step: the demo
// checks nothing with the provider, so the connection is made at once.
func customAuthConnect(c *call) answer {
	if p := c.bodyProject(); p != nil {
		return fail(p)
	}
	body := c.object()
	if id := str(body["sessionId"]); id != "" {
		return fail(&problem{status: http.StatusNotFound, detail: fmt.Sprintf("session %q not found: the demo finishes every flow in its first call, and keeps no session", id),
			issues: []inputIssue{{in: "body", issue: issue{name: "sessionId", detail: "names no session", value: id}}}})
	}
	var issues []inputIssue
	for _, name := range []string{"provider", "groupRef", "consumerRef"} {
		if str(body[name]) == "" {
			issues = append(issues, inputIssue{in: "body", issue: issue{name: name, detail: "is required on the first call"}})
		}
	}
	if len(issues) > 0 {
		return fail(c.invalid(issues))
	}
	fields := map[string]any{}
	for _, name := range []string{"provider", "groupRef", "groupName", "consumerRef", "consumerName", "providerMetadata", "customAuth"} {
		if v, ok := body[name]; ok {
			fields[name] = v
		}
	}
	conn, p := c.create(kConnection, c.projectPath()+"/connections", fields)
	if p != nil {
		return fail(p)
	}
	return c.ok(map[string]any{"connection": publicConnection(conn.v)})
}

// generateConnection makes a connection from credentials.
func generateConnection(c *call) answer {
	return createOne(c, kConnection, c.projectPath()+"/connections", c.object())
}

// manifest reads the integrations of a request's sourceYaml (an amp.yaml
// document: specVersion and integrations). The demo cannot fetch a
// sourceZipUrl.
func (c *call) manifest() (string, []map[string]any, *problem) {
	body := c.object()
	source, ok := body["sourceYaml"].(string)
	if !ok {
		if _, zip := body["sourceZipUrl"]; zip {
			return "", nil, &problem{status: http.StatusUnprocessableEntity, detail: "the demo cannot download sourceZipUrl: send the amp.yaml document in sourceYaml",
				issues: []inputIssue{{in: "body", issue: issue{name: "sourceZipUrl", detail: "is not read by the demo"}}}}
		}
		return "", nil, c.invalid([]inputIssue{{in: "body", issue: issue{name: "sourceYaml", detail: "is required (or sourceZipUrl, which the demo cannot read)"}}})
	}
	var doc any
	if err := yaml.Unmarshal([]byte(source), &doc); err != nil {
		return "", nil, c.invalid([]inputIssue{{in: "body", issue: issue{name: "sourceYaml", detail: "is not YAML: " + err.Error()}}})
	}
	asJSON, err := json.Marshal(doc)
	if err != nil {
		return "", nil, c.invalid([]inputIssue{{in: "body", issue: issue{name: "sourceYaml", detail: "does not read as JSON: " + err.Error()}}})
	}
	v, _ := decodeJSON(asJSON)
	m, _ := v.(map[string]any)
	var issues []inputIssue
	version, _ := m["specVersion"].(string)
	if version == "" {
		issues = append(issues, inputIssue{in: "body", issue: issue{name: "sourceYaml.specVersion", detail: "is required"}})
	}
	list, _ := m["integrations"].([]any)
	if len(list) == 0 {
		issues = append(issues, inputIssue{in: "body", issue: issue{name: "sourceYaml.integrations", detail: "must list at least one integration"}})
	}
	var out []map[string]any
	for i, item := range list {
		for _, is := range check(item, c.h.api.schemas["Integration-2"], fmt.Sprintf("sourceYaml.integrations[%d]", i)) {
			issues = append(issues, inputIssue{in: "body", issue: is})
		}
		if obj, ok := item.(map[string]any); ok {
			if c.h.store.lookup("/providers", str(obj["provider"])) == nil {
				issues = append(issues, inputIssue{in: "body", issue: issue{name: fmt.Sprintf("sourceYaml.integrations[%d].provider", i), detail: "names no provider of the demo's catalog", value: obj["provider"]}})
			}
			out = append(out, obj)
		}
	}
	if len(issues) > 0 {
		p := c.invalid(issues)
		p.status = http.StatusUnprocessableEntity
		return "", nil, p
	}
	return version, out, nil
}

// revise gives an integration a new revision of content.
func (c *call) revise(integration *resource, version string, content map[string]any) *problem {
	revision := map[string]any{"id": c.h.store.newID(), "specVersion": version, "createTime": c.now, "content": content}
	if _, p := c.h.store.insert(kRevision, integration.path()+"/revisions", clone(revision).(map[string]any)); p != nil {
		return p
	}
	v := clone(integration.v).(map[string]any)
	v["latestRevision"], v["updateTime"], v["provider"] = revision, c.now, content["provider"]
	return c.h.store.replace(integration, v)
}

// batchUpsertIntegrations makes or revises each integration of the
// manifest. With destructive, the API would also pause reads of objects
// a revision drops; the demo reads nothing, so it has nothing to pause.
func batchUpsertIntegrations(c *call) answer {
	version, list, p := c.manifest()
	if p != nil {
		return fail(p)
	}
	colPath := c.projectPath() + "/integrations"
	var done []*resource
	for _, content := range list {
		name := str(content["name"])
		if existing := c.h.store.lookup(colPath, name); existing != nil && existing.alias() == name {
			if p := c.revise(existing, version, content); p != nil {
				return fail(p)
			}
			done = append(done, existing)
			continue
		}
		body := map[string]any{"name": name, "provider": content["provider"], "latestRevision": map[string]any{"specVersion": version, "content": content}}
		r, p := c.create(kIntegration, colPath, body)
		if p != nil {
			return fail(p)
		}
		done = append(done, r)
	}
	return c.okList(done)
}

// createRevision revises the integration with the manifest's integration
// of the same name.
func createRevision(c *call) answer {
	version, list, p := c.manifest()
	if p != nil {
		return fail(p)
	}
	integration := c.found["integrationId"]
	for _, content := range list {
		if content["name"] == integration.alias() {
			if p := c.revise(integration, version, content); p != nil {
				return fail(p)
			}
			return c.ok(nil)
		}
	}
	return fail(&problem{status: http.StatusUnprocessableEntity, detail: fmt.Sprintf("the manifest has no integration named %q", integration.alias()),
		issues: []inputIssue{{in: "body", issue: issue{name: "sourceYaml.integrations", detail: "lacks " + integration.alias()}}}})
}

// getHydratedRevision answers a revision with the metadata of each object
// it reads and writes, from the demo's catalog of the provider's objects.
func getHydratedRevision(c *call) answer {
	integration, revision := c.found["integrationId"], c.found["revisionId"]
	connID := str(c.query["connectionId"])
	conn := c.h.store.lookup(c.projectPath()+"/connections", connID)
	if conn == nil {
		p := c.h.notFound(kConnection, "connectionId", connID, c.projectPath()+"/connections", nil, "")
		p.issues[0].in = "query"
		return fail(p)
	}
	content, _ := revision.v["content"].(map[string]any)
	provider := str(content["provider"])
	if provider == "" {
		provider = str(integration.v["provider"])
	}
	hydrated := map[string]any{}
	for _, name := range []string{"name", "displayName", "module", "provider", "proxy"} {
		if v, ok := content[name]; ok {
			hydrated[name] = clone(v)
		}
	}
	if read, ok := content["read"].(map[string]any); ok {
		var objects []any
		for _, o := range asList(read["objects"]) {
			object := clone(o).(map[string]any)
			name := str(object["objectName"])
			meta := c.objectMetadata(provider, name)
			object["displayName"] = displayName(meta, name)
			fields, _ := meta["fields"].(map[string]any)
			if fields != nil {
				object["allFieldsMetadata"] = fields
			}
			for _, list := range []string{"requiredFields", "optionalFields"} {
				for _, f := range asList(object[list]) {
					if field, ok := f.(map[string]any); ok && field["fieldName"] != nil {
						fm, _ := fields[str(field["fieldName"])].(map[string]any)
						field["displayName"] = displayName(fm, str(field["fieldName"]))
					}
				}
			}
			delete(object, "delivery")
			delete(object, "enabled")
			objects = append(objects, object)
		}
		hydrated["read"] = map[string]any{"objects": orEmpty(objects)}
	}
	if write, ok := content["write"].(map[string]any); ok {
		var objects []any
		for _, o := range asList(write["objects"]) {
			object, _ := o.(map[string]any)
			name := str(object["objectName"])
			h := map[string]any{"objectName": name, "displayName": displayName(c.objectMetadata(provider, name), name)}
			if d, ok := object["valueDefaults"]; ok {
				h["valueDefaults"] = clone(d)
			}
			objects = append(objects, h)
		}
		hydrated["write"] = map[string]any{"objects": orEmpty(objects)}
	}
	return c.ok(map[string]any{"id": revision.id(), "specVersion": revision.v["specVersion"], "createTime": revision.v["createTime"], "content": hydrated})
}

func asList(v any) []any {
	list, _ := v.([]any)
	return list
}

func orEmpty(list []any) []any {
	if list == nil {
		return []any{}
	}
	return list
}

// displayName is a metadata entry's displayName, else name capitalised.
func displayName(meta map[string]any, name string) string {
	if d := str(meta["displayName"]); d != "" {
		return d
	}
	if name == "" {
		return name
	}
	return strings.ToUpper(name[:1]) + name[1:]
}

// objectMetadata returns a provider object's metadata: the catalog's, with
// the fields the call's project upserted; nil when neither has the object.
func (c *call) objectMetadata(provider, object string) map[string]any {
	var meta map[string]any
	if base := c.h.store.lookup("/providers/"+url.PathEscape(provider)+"/objects", object); base != nil {
		meta = clone(base.v).(map[string]any)
	}
	custom := c.h.store.collection(c.fieldsPath(provider, object))
	if custom != nil && len(custom.items) > 0 {
		if meta == nil {
			meta = map[string]any{"name": object, "displayName": displayName(nil, object), "fields": map[string]any{}}
		}
		fields, _ := meta["fields"].(map[string]any)
		for _, f := range custom.items {
			fields[f.id()] = clone(f.v)
		}
	}
	return meta
}

func (c *call) fieldsPath(provider, object string) string {
	return c.projectPath() + "/providers/" + url.PathEscape(provider) + "/objects/" + url.PathEscape(object) + "/fields"
}

// okMetadata answers a provider object's metadata, without read-only
// fields when the call asks.
func (c *call) okMetadata(provider, object string) answer {
	meta := c.objectMetadata(provider, object)
	if meta == nil {
		return fail(c.noObject(provider, object))
	}
	if c.flag("excludeReadOnly") {
		fields, _ := meta["fields"].(map[string]any)
		for name, f := range fields {
			if fm, _ := f.(map[string]any); fm["readOnly"] == true {
				delete(fields, name)
			}
		}
	}
	return c.ok(meta)
}

// noObject is the 404 of an object the provider's catalog lacks.
func (c *call) noObject(provider, object string) *problem {
	var names []string
	if col := c.h.store.collection("/providers/" + url.PathEscape(provider) + "/objects"); col != nil {
		for _, r := range col.items {
			names = append(names, strconv.Quote(r.id()))
		}
	}
	holds := "the demo has no metadata for " + provider
	if len(names) > 0 {
		holds = "the demo has only " + listed(names, "and")
	}
	return &problem{status: http.StatusNotFound, detail: fmt.Sprintf("object %q of %s not found: %s", object, provider, holds), href: "https://docs.withampersand.com/",
		issues: []inputIssue{{in: "path", issue: issue{name: "objectName", detail: "names no object of " + provider, value: object}}}}
}

// installationFor finds the installation of the call's integration for a
// group.
func (c *call) installationFor(groupRef, in string) (*resource, *problem) {
	integration := c.found["integrationId"]
	if col := c.h.store.collection(integration.path() + "/installations"); col != nil {
		for _, r := range col.items {
			if group, _ := r.v["group"].(map[string]any); str(group["groupRef"]) == groupRef {
				return r, nil
			}
		}
	}
	return nil, &problem{status: http.StatusNotFound, detail: fmt.Sprintf("integration %q has no installation for group %q", integration.alias(), groupRef), href: "https://docs.withampersand.com/",
		issues: []inputIssue{{in: in, issue: issue{name: "groupRef", detail: "has no installation of " + integration.alias(), value: groupRef}}}}
}

// connectionOf finds the project's connection to provider for a group.
func (c *call) connectionOf(provider, groupRef, in string) (*resource, *problem) {
	if c.h.store.lookup("/providers", provider) == nil {
		return nil, c.h.notFound(kProvider, "provider", provider, "/providers", nil, "")
	}
	conn, p := c.connectionFor(provider, groupRef, "", "groupRef")
	if p != nil {
		p.status = http.StatusNotFound
		p.issues[0].in = in
	}
	return conn, p
}

func getObjectMetadataForInstallation(c *call) answer {
	if _, p := c.installationFor(str(c.query["groupRef"]), "query"); p != nil {
		return fail(p)
	}
	return c.okMetadata(str(c.found["integrationId"].v["provider"]), c.args["objectName"])
}

func getObjectMetadataForConnection(c *call) answer {
	provider := c.args["provider"]
	if _, p := c.connectionOf(provider, str(c.query["groupRef"]), "query"); p != nil {
		return fail(p)
	}
	return c.okMetadata(provider, c.args["objectName"])
}

func upsertMetadataForInstallation(c *call) answer {
	if _, p := c.installationFor(str(c.object()["groupRef"]), "body"); p != nil {
		return fail(p)
	}
	return c.upsertFields(str(c.found["integrationId"].v["provider"]))
}

func upsertMetadataForConnection(c *call) answer {
	provider := c.args["provider"]
	if _, p := c.connectionOf(provider, str(c.object()["groupRef"]), "body"); p != nil {
		return fail(p)
	}
	return c.upsertFields(provider)
}

// fieldValueTypes are the value types of field metadata.
var fieldValueTypes = []string{"string", "boolean", "singleSelect", "multiSelect", "date", "datetime", "int", "float", "reference", "other"}

// upsertFields creates or updates custom fields of a provider's objects in
// the call's project: later metadata answers list them.
func (c *call) upsertFields(provider string) answer {
	fields, _ := c.object()["fields"].(map[string]any)
	results := map[string]any{}
	for _, object := range sortedKeys(fields) {
		perObject := map[string]any{}
		results[object] = perObject
		for _, d := range asList(fields[object]) {
			def, _ := d.(map[string]any)
			name := str(def["fieldName"])
			valueType := str(def["valueType"])
			meta := map[string]any{"fieldName": name, "displayName": def["displayName"], "providerType": valueType, "readOnly": false, "isCustom": true, "isRequired": def["required"] == true}
			if !slices.Contains(fieldValueTypes, valueType) {
				meta["valueType"] = "other"
			} else {
				meta["valueType"] = valueType
			}
			if opts, ok := def["stringOptions"].(map[string]any); ok {
				var values []any
				for _, value := range asList(opts["values"]) {
					values = append(values, map[string]any{"value": value, "displayValue": value})
				}
				if values != nil {
					meta["values"] = values
				}
			}
			colPath := c.fieldsPath(provider, object)
			action := "create"
			if existing := c.h.store.lookup(colPath, name); existing != nil {
				action = "update"
				if p := c.h.store.replace(existing, meta); p != nil {
					return fail(p)
				}
			} else if _, p := c.h.store.insert(kField, colPath, meta); p != nil {
				return fail(p)
			}
			perObject[name] = map[string]any{"fieldName": name, "action": action}
		}
	}
	return c.ok(map[string]any{"success": true, "fields": results})
}

// listInstallationsForProject lists the installations of every
// integration of the project.
func listInstallationsForProject(c *call) answer {
	col := &collection{items: c.h.store.all(c.projectPath() + "/integrations/{}/installations")}
	return c.okList(c.filter(col))
}

// patchObjectConfigContent applies JSON Patch operations to the config of
// one object of an installation (named by its ID or by its group).
func patchObjectConfigContent(c *call) answer {
	body := c.object()
	var installation *resource
	if id := str(body["installationId"]); id != "" {
		colPath := c.found["integrationId"].path() + "/installations"
		if installation = c.h.store.lookup(colPath, id); installation == nil {
			p := c.h.notFound(kInstallation, "installationId", id, colPath, c.found["integrationId"], c.args["integrationId"])
			p.issues[0].in = "body"
			return fail(p)
		}
	} else {
		var p *problem
		if installation, p = c.installationFor(str(body["groupRef"]), "body"); p != nil {
			return fail(p)
		}
	}
	action, object := str(body["action"]), c.args["objectName"]
	content, _ := c.found["integrationId"].v["latestRevision"].(map[string]any)["content"].(map[string]any)
	listed := false
	if section, ok := content[action].(map[string]any); ok {
		for _, o := range asList(section["objects"]) {
			if m, _ := o.(map[string]any); str(m["objectName"]) == object {
				listed = true
			}
		}
	}
	if !listed {
		return fail(&problem{status: http.StatusNotFound, detail: fmt.Sprintf("integration %q does not %s object %q", c.found["integrationId"].alias(), action, object), href: "https://docs.withampersand.com/",
			issues: []inputIssue{{in: "path", issue: issue{name: "objectName", detail: "is not among the integration's " + action + " objects", value: object}}}})
	}
	v := clone(installation.v).(map[string]any)
	objects, _ := digMap(v, "config", "content", action, "objects")
	if objects == nil {
		setPath(v, "config.content."+action+".objects", map[string]any{})
		objects, _ = digMap(v, "config", "content", action, "objects")
	}
	target, _ := objects[object].(map[string]any)
	if target == nil {
		target = map[string]any{"objectName": object}
	}
	for i, ch := range asList(body["changes"]) {
		change, _ := ch.(map[string]any)
		if err := jsonPatch(target, str(change["op"]), str(change["path"]), change["value"]); err != nil {
			return fail(c.invalid([]inputIssue{{in: "body", issue: issue{name: fmt.Sprintf("changes[%d]", i), detail: err.Error(), value: change["path"]}}}))
		}
	}
	objects[object] = target
	config := v["config"].(map[string]any)
	config["revisionId"] = latestRevisionID(c.found["integrationId"])
	v["updateTime"] = c.now
	complete(v, c.h.api.schemas["Installation"])
	if p := c.fits(v, c.h.api.schemas["Installation"]); p != nil {
		return fail(p)
	}
	if p := c.h.store.replace(installation, v); p != nil {
		return fail(p)
	}
	return c.okResource(installation)
}

// jsonPatch applies one add, remove or replace operation (RFC 6902) to v.
func jsonPatch(v map[string]any, op, pointer string, value any) error {
	if !strings.HasPrefix(pointer, "/") {
		return fmt.Errorf("path must start with /")
	}
	names := strings.Split(pointer[1:], "/")
	for i := range names {
		names[i] = strings.NewReplacer("~1", "/", "~0", "~").Replace(names[i])
	}
	for _, name := range names[:len(names)-1] {
		next, ok := v[name].(map[string]any)
		if !ok {
			if op != "add" {
				return fmt.Errorf("%s: no object at %q", op, name)
			}
			next = map[string]any{}
			v[name] = next
		}
		v = next
	}
	last := names[len(names)-1]
	switch op {
	case "add":
		v[last] = clone(value)
	case "replace":
		if _, ok := v[last]; !ok {
			return fmt.Errorf("replace: nothing at %s", pointer)
		}
		v[last] = clone(value)
	case "remove":
		if _, ok := v[last]; !ok {
			return fmt.Errorf("remove: nothing at %s", pointer)
		}
		delete(v, last)
	}
	return nil
}

// listOperations lists an installation's operations, newest first, a page
// at a time: pageToken is where the page starts.
func listOperations(c *call) answer {
	installation := c.found["installationId"]
	var ops []*resource
	if col := c.h.store.collection(c.projectPath() + "/operations"); col != nil {
		ops = col.itemsWhere("installationId", installation.id())
	}
	slices.Reverse(ops)
	size := 100
	if n, ok := c.query["pageSize"].(json.Number); ok {
		if i, err := strconv.Atoi(n.String()); err == nil && i > 0 {
			size = min(i, 1000)
		}
	}
	start := 0
	if token, ok := c.query["pageToken"].(string); ok && token != "" {
		i, err := strconv.Atoi(token)
		if err != nil || i < 0 || i > len(ops) {
			return fail(c.invalid([]inputIssue{{in: "query", issue: issue{name: "pageToken", detail: "is not a token of this list", value: token}}}))
		}
		start = i
	}
	end := min(start+size, len(ops))
	var buf bytes.Buffer
	buf.WriteString(`{"results":[`)
	for i, r := range ops[start:end] {
		if i > 0 {
			buf.WriteByte(',')
		}
		encode(&buf, r.v, c.h.api.schemas["Operation"])
	}
	buf.WriteString(`],"pagination":`)
	pagination := map[string]any{"done": end == len(ops)}
	if end < len(ops) {
		pagination["nextPageToken"] = strconv.Itoa(end)
	}
	writeJSON(&buf, pagination)
	buf.WriteByte('}')
	return c.okJSON(buf.Bytes())
}

// getBackfillProgress answers the progress of the installation's latest
// read of an object it reads.
func getBackfillProgress(c *call) answer {
	installation, object := c.found["installationId"], c.args["objectName"]
	if !slices.Contains(readObjects(installation.v), object) {
		return fail(&problem{status: http.StatusNotFound, detail: fmt.Sprintf("installation %q does not read object %q: it reads %s", installation.id(), object, quoteAll(toAny(readObjects(installation.v)))), href: "https://docs.withampersand.com/",
			issues: []inputIssue{{in: "path", issue: issue{name: "objectName", detail: "is not read by this installation", value: object}}}})
	}
	progress := map[string]any{"installationId": installation.id(), "objectName": object, "operationId": "", "recordsProcessed": jsonInt(0)}
	if col := c.h.store.collection(c.projectPath() + "/operations"); col != nil {
		for _, op := range col.itemsWhere("installationId", installation.id()) {
			if p, ok := digMap(op.v, "metadata", "progress"); ok && p["objectName"] == object {
				progress = clone(p).(map[string]any)
				progress["createTime"] = op.v["createTime"]
				progress["updateTime"] = op.v["createTime"]
			}
		}
	}
	return c.ok(progress)
}

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

func listOperationLogs(c *call) answer {
	return c.ok(orEmpty(asList(c.found["operationId"].v["logs"])))
}

// listProviders answers the catalog, a map of provider names to their info.
func listProviders(c *call) answer {
	catalog := map[string]any{}
	if col := c.h.store.collection("/providers"); col != nil {
		for _, r := range col.items {
			catalog[r.id()] = r.v
		}
	}
	return c.ok(catalog)
}

// getDestination answers a destination; with rotate, it gets a new
// signing key first.
func getDestination(c *call) answer {
	r := c.target()
	if c.flag("rotate") {
		if secrets, ok := r.v["secrets"].(map[string]any); ok && secrets["webhookSigningKey"] != nil {
			v := clone(r.v).(map[string]any)
			v["secrets"].(map[string]any)["webhookSigningKey"] = c.h.signingKey()
			v["updateTime"] = c.now
			if p := c.h.store.replace(r, v); p != nil {
				return fail(p)
			}
		}
	}
	return c.okResource(r)
}

// generateUploadURL answers where to upload a zip. Nothing is there to
// upload to: the demo reads no sourceZipUrl.
func generateUploadURL(c *call) answer {
	path := "uploads/" + c.h.store.newID() + ".zip"
	return c.ok(map[string]any{"url": "https://storage.googleapis.com/ampersand-demo-uploads/" + path + "?X-Goog-Signature=demo", "bucket": "ampersand-demo-uploads", "path": path})
}

// addUserToOrg adds a builder of the demo's directory to an org.
func addUserToOrg(c *call) answer {
	org := c.found["orgId"]
	id := str(c.object()["builderId"])
	builder := c.h.store.lookup("/builders", id)
	if builder == nil {
		return fail(c.refers("builderId", kBuilder, "/builders"))
	}
	if c.h.store.lookup(org.path()+"/builders", id) != nil {
		return fail(c.invalid([]inputIssue{{in: "body", issue: issue{name: "builderId", detail: "is already a member of org " + org.id(), value: id}}}))
	}
	if _, p := c.h.store.insert(kOrgBuilder, org.path()+"/builders", clone(builder.v).(map[string]any)); p != nil {
		return fail(p)
	}
	return c.ok(nil)
}

// builderInfo is what getMyInfo says of a builder: their role in each
// project of their orgs, and in their first org.
func (c *call) builderInfo(builder *resource) map[string]any {
	roles := map[string]any{}
	info := map[string]any{"builder": builder.v, "projectRoles": roles}
	for _, org := range c.h.store.all("/orgs") {
		if c.h.store.lookup(org.path()+"/builders", builder.id()) == nil {
			continue
		}
		role := "member"
		if builder == c.h.me() {
			role = "admin"
		}
		if _, ok := info["orgRole"]; !ok {
			info["orgRole"] = map[string]any{"role": role, "principalType": "builder", "principalId": builder.id(), "org": org.v}
		}
		for _, project := range c.h.store.all("/projects") {
			if project.v["orgId"] == org.id() {
				roles[project.id()] = map[string]any{"role": role, "principalType": "builder", "principalId": builder.id(), "project": kProject.show(c, project)}
			}
		}
	}
	return info
}

func getMyInfo(c *call) answer { return c.ok(c.builderInfo(c.h.me())) }

// acceptInvite accepts a pending invite for an email address: its builder
// (a builder of the demo's directory with that email, else the demo's
// own) joins the org.
func acceptInvite(c *call) answer {
	email := str(c.object()["invitedEmail"])
	var invite *resource
	for _, r := range c.h.store.all("/orgs/{}/invites") {
		if strings.EqualFold(str(r.v["invitedEmail"]), email) && r.v["status"] == "pending" {
			invite = r
			break
		}
	}
	if invite == nil {
		return fail(&problem{status: http.StatusNotFound, detail: fmt.Sprintf("no pending invite for %q", email),
			issues: []inputIssue{{in: "body", issue: issue{name: "invitedEmail", detail: "has no pending invite", value: email}}}})
	}
	v := clone(invite.v).(map[string]any)
	v["status"], v["updateTime"] = "accepted", c.now
	if p := c.h.store.replace(invite, v); p != nil {
		return fail(p)
	}
	builder := c.h.me()
	for _, b := range c.h.store.all("/builders") {
		if strings.EqualFold(str(b.v["primaryEmail"]), email) {
			builder = b
		}
	}
	orgPath := "/orgs/" + url.PathEscape(str(invite.v["parentId"])) + "/builders"
	if c.h.store.lookup(orgPath, builder.id()) == nil {
		if _, p := c.h.store.insert(kOrgBuilder, orgPath, clone(builder.v).(map[string]any)); p != nil {
			return fail(p)
		}
	}
	return c.ok(c.builderInfo(builder))
}

// getOrgBillingAccount answers the billing account of an org (the sample
// org has one; new orgs have none).
func getOrgBillingAccount(c *call) answer {
	org := c.found["orgId"]
	if col := c.h.store.collection("/billingAccounts"); col != nil {
		if accounts := col.itemsWhere("orgId", org.id()); len(accounts) > 0 {
			return c.okResource(accounts[0])
		}
	}
	return fail(&problem{status: http.StatusNotFound, detail: fmt.Sprintf("org %q has no billing account: in the demo, only the sample org has one", org.id())})
}

func createBillingAccountSession(c *call) answer {
	account := c.found["billingAccountId"]
	q := url.Values{"return_url": {str(c.object()["redirectUrl"])}}
	return c.ok(map[string]any{"url": "https://billing.stripe.com/p/session/demo_" + url.PathEscape(account.id()) + "?" + q.Encode()})
}

func checkClaimedDomain(c *call) answer {
	raw := str(c.query["domain"])
	domain := normalizeDomain(raw)
	if domain == "" {
		return fail(c.invalid([]inputIssue{{in: "query", issue: issue{name: "domain", detail: "holds no domain", value: raw}}}))
	}
	if col := c.h.store.collection("/claimed-domains"); col != nil {
		if claims := col.itemsWhere("domain", domain); len(claims) > 0 {
			return c.okResource(claims[0])
		}
	}
	return fail(&problem{status: http.StatusNotFound, detail: fmt.Sprintf("domain %q is not claimed", domain),
		issues: []inputIssue{{in: "query", issue: issue{name: "domain", detail: "is not claimed", value: raw}}}})
}

func listOrgClaimedDomains(c *call) answer {
	org := c.found["orgId"]
	var claims []*resource
	if col := c.h.store.collection("/claimed-domains"); col != nil {
		claims = col.itemsWhere("parentId", org.id())
	}
	return c.okList(claims)
}
