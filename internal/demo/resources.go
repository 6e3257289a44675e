package demo

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// kinds are the resources the demo stores. Most paths are the spec's; the
// builder directory (/builders), the metadata catalog
// (/providers/{}/objects) and custom fields are the demo's own, for the
// actions that read them.
var kinds = []*kind{
	kOrg, kBuilder, kOrgBuilder, kInvite, kBillingAccount, kClaimedDomain,
	kProvider, kObjectMetadata,
	kProject, kProviderApp, kIntegration, kRevision, kInstallation, kOperation,
	kAPIKey, kConnection, kDestination, kTopic, kEventRoute, kDestinationRoute,
	kJWTKey, kField,
}

var (
	kOrg = &kind{name: "org", path: "/orgs/{}", schema: "Org",
		created: func(c *call, v map[string]any) *problem {
			v["defaultTeamId"] = c.h.store.newID()
			return nil
		},
		added: func(c *call, r *resource) *problem {
			// The caller, the demo's builder, owns the org they make.
			_, p := c.h.store.insert(kOrgBuilder, r.path()+"/builders", clone(c.h.me().v).(map[string]any))
			return p
		},
	}
	kBuilder        = &kind{name: "builder", path: "/builders/{}", schema: "Builder"}
	kOrgBuilder     = &kind{name: "builder", path: "/orgs/{}/builders/{}", schema: "Builder"}
	kBillingAccount = &kind{name: "billing account", path: "/billingAccounts/{}", schema: "BillingAccount"}
	kInvite         = &kind{name: "invite", path: "/orgs/{}/invites/{}", schema: "Invite",
		created: func(c *call, v map[string]any) *problem {
			v["invitedEmail"] = v["email"]
			delete(v, "email")
			v["parentType"], v["parentId"], v["status"] = "org", c.found["orgId"].id(), "pending"
			return nil
		},
	}
	kClaimedDomain = &kind{name: "claimed domain", path: "/claimed-domains/{}", schema: "ClaimedDomainResponse", created: createdClaim}

	kProvider       = &kind{name: "provider", path: "/providers/{}", schema: "ProviderInfo", id: "name"}
	kObjectMetadata = &kind{name: "object", path: "/providers/{}/objects/{}", schema: "ObjectMetadata", id: "name"}
	kField          = &kind{name: "field", path: "/projects/{}/providers/{}/objects/{}/fields/{}", schema: "FieldMetadata", id: "fieldName"}

	kProject = &kind{name: "project", path: "/projects/{}", schema: "Project", alias: "name",
		created: func(c *call, v map[string]any) *problem {
			return c.refers("orgId", kOrg, "/orgs")
		},
		view: func(c *call, v map[string]any) map[string]any {
			if !c.flag("includeEntitlements") {
				delete(v, "entitlements")
			}
			return v
		},
	}
	kProviderApp = &kind{name: "provider app", path: "/projects/{}/provider-apps/{}", schema: "ProviderApp",
		created: func(c *call, v map[string]any) *problem { return c.refers("provider", kProvider, "/providers") },
	}
	kIntegration = &kind{name: "integration", path: "/projects/{}/integrations/{}", schema: "Integration", alias: "name",
		created: func(c *call, v map[string]any) *problem {
			revision, _ := v["latestRevision"].(map[string]any)
			revision["id"], revision["createTime"] = c.h.store.newID(), c.now
			return c.refers("provider", kProvider, "/providers")
		},
		added: func(c *call, r *resource) *problem {
			_, p := c.h.store.insert(kRevision, r.path()+"/revisions", clone(r.v["latestRevision"]).(map[string]any))
			return p
		},
	}
	kRevision     = &kind{name: "revision", path: "/projects/{}/integrations/{}/revisions/{}", schema: "Revision"}
	kInstallation = &kind{name: "installation", path: "/projects/{}/integrations/{}/installations/{}", schema: "Installation",
		created: createdInstallation, added: addedInstallation, patched: patchedInstallation, updated: updatedInstallation,
		view: func(c *call, v map[string]any) map[string]any {
			// An installation shows its connection as it is now.
			if conn, ok := v["connection"].(map[string]any); ok {
				if now := c.h.store.lookup(c.projectPath()+"/connections", str(conn["id"])); now != nil {
					v["connection"] = publicConnection(now.v)
				}
			}
			return v
		},
	}
	kOperation = &kind{name: "operation", path: "/projects/{}/operations/{}", schema: "Operation"}
	kAPIKey    = &kind{name: "API key", path: "/projects/{}/api-keys/{}", schema: "ApiKey", id: "key",
		defaults: map[string]any{"active": true, "scopes": []any{"full"}},
		created: func(c *call, v map[string]any) *problem {
			v["key"] = "amp_demo_" + strings.ReplaceAll(c.h.store.newID(), "-", "")
			return nil
		},
	}
	kConnection = &kind{name: "connection", path: "/projects/{}/connections/{}", schema: "Connection",
		created: createdConnection, patched: patchedConnection,
		view: func(c *call, v map[string]any) map[string]any {
			full, withRefresh := c.flag("includeCreds"), c.flag("includeRefreshToken")
			if !full && !withRefresh {
				return publicConnection(v)
			}
			if creds, ok := v["oauth2AuthorizationCode"].(map[string]any); ok && !withRefresh {
				creds = maps.Clone(creds)
				delete(creds, "refreshToken")
				v["oauth2AuthorizationCode"] = creds
			}
			return v
		},
	}
	kDestination = &kind{name: "destination", path: "/projects/{}/destinations/{}", schema: "DestinationWithSecrets", alias: "name",
		created: func(c *call, v map[string]any) *problem {
			if v["type"] == "webhook" {
				secrets, _ := v["secrets"].(map[string]any)
				if secrets == nil {
					secrets = map[string]any{}
					v["secrets"] = secrets
				}
				secrets["webhookSigningKey"] = c.h.signingKey()
			}
			return nil
		},
		view: func(c *call, v map[string]any) map[string]any {
			if !c.flag("includeSecrets") {
				delete(v, "secrets")
			}
			return v
		},
	}
	kTopic      = &kind{name: "topic", path: "/projects/{}/topics/{}", schema: "Topic", alias: "name"}
	kEventRoute = &kind{name: "route", path: "/projects/{}/notification-event-topic-routes/{}", schema: "NotificationEventTopicRoute",
		created: func(c *call, v map[string]any) *problem {
			return c.refers("topicId", kTopic, c.projectPath()+"/topics")
		},
	}
	kDestinationRoute = &kind{name: "route", path: "/projects/{}/topic-destination-routes/{}", schema: "TopicDestinationRoute",
		created: func(c *call, v map[string]any) *problem {
			if p := c.refers("topicId", kTopic, c.projectPath()+"/topics"); p != nil {
				return p
			}
			return c.refers("destinationId", kDestination, c.projectPath()+"/destinations")
		},
	}
	kJWTKey = &kind{name: "JWT key", path: "/projects/{}/jwt-keys/{}", schema: "JWTKey",
		defaults: map[string]any{"active": true},
		created: func(c *call, v map[string]any) *problem {
			// The demo checks the PEM armour only: it verifies no token.
			key := strings.TrimSpace(str(v["publicKeyPem"]))
			if !strings.HasPrefix(key, "-----BEGIN PUBLIC KEY-----") || !strings.HasSuffix(key, "-----END PUBLIC KEY-----") {
				return c.invalid([]inputIssue{{in: "body", issue: issue{name: "publicKeyPem", detail: "is not a PEM-encoded PUBLIC KEY block"}}})
			}
			// A request says RS256, the signing algorithm; a key says RSA,
			// its type.
			v["algorithm"] = "RSA"
			return nil
		},
		answer: func(c *call, r *resource) answer { return c.ok(map[string]any{"kid": r.id()}) },
	}
)

func init() {
	kTopic.removed = removedTopic // set here: the routes' kinds refer to topics
}

// removedTopic removes a topic's routes with it.
func removedTopic(c *call, r *resource) {
	for _, k := range []*kind{kEventRoute, kDestinationRoute} {
		if col := c.h.store.collection(c.projectPath() + "/" + strings.Split(k.path, "/")[3]); col != nil {
			for _, route := range col.itemsWhere("topicId", r.id()) {
				c.h.store.remove(route)
			}
		}
	}
}

// itemsWhere returns the resources of col whose property name is value.
func (col *collection) itemsWhere(name, value string) []*resource {
	var out []*resource
	for _, r := range col.items {
		if str(r.v[name]) == value {
			out = append(out, r)
		}
	}
	return out
}

// projectPath is the path of the call's project: /projects/project-456.
func (c *call) projectPath() string {
	if p := c.found["projectIdOrName"]; p != nil {
		return p.path()
	}
	return ""
}

// refers checks that the body property prop names a resource of kind k in
// the collection at colPath, by ID or alias, and replaces an alias with
// the ID.
func (c *call) refers(prop string, k *kind, colPath string) *problem {
	body := c.object()
	value := str(body[prop])
	if value == "" {
		return nil
	}
	r := c.h.store.lookup(colPath, value)
	if r == nil {
		p := c.h.notFound(k, prop, value, colPath, nil, "")
		p.issues[0].in = "body"
		return p
	}
	body[prop] = r.id()
	return nil
}

// me is the demo's builder: the caller of every call.
func (h *Handler) me() *resource { return h.store.lookup("/builders", "builder-id-123") }

// signingKey makes a webhook signing key (not a secret: the demo's IDs are
// the same from run to run).
func (h *Handler) signingKey() string {
	return "whsec_demo_" + strings.ReplaceAll(h.store.newID(), "-", "")
}

// publicConnection is a connection without its credentials.
func publicConnection(v map[string]any) map[string]any {
	v = maps.Clone(v)
	delete(v, "apiKey")
	delete(v, "oauth2AuthorizationCode")
	return v
}

// createdConnection makes a connection of a generateConnection (or a
// custom auth) request: its group and consumer, and the auth scheme its
// credentials call for.
func createdConnection(c *call, v map[string]any) *problem {
	provider := c.h.store.lookup("/providers", str(v["provider"]))
	if provider == nil {
		return c.refers("provider", kProvider, "/providers")
	}
	v["group"] = c.group(str(v["groupRef"]), str(v["groupName"]))
	consumer := map[string]any{"consumerRef": v["consumerRef"], "consumerName": v["consumerName"], "projectId": c.found["projectIdOrName"].id(), "createTime": c.now}
	if str(consumer["consumerName"]) == "" {
		consumer["consumerName"] = v["consumerRef"]
	}
	v["consumer"] = consumer
	for _, name := range []string{"groupRef", "groupName", "consumerRef", "consumerName"} {
		delete(v, name)
	}
	v["authScheme"] = "none"
	switch str(provider.v["authType"]) {
	case "oauth2":
		v["authScheme"] = "oauth2/authorizationCode"
	case "apiKey":
		v["authScheme"] = "apiKey"
	case "basic":
		v["authScheme"] = "basic"
	}
	for prop, scheme := range credentialSchemes {
		if _, ok := v[prop]; ok {
			v["authScheme"] = scheme
		}
	}
	v["status"] = "working"
	return nil
}

// credentialSchemes are the auth scheme each credential of a connection
// request calls for.
var credentialSchemes = map[string]string{
	"apiKey":                    "apiKey",
	"basicAuth":                 "basic",
	"oauth2ClientCredentials":   "oauth2/clientCredentials",
	"oauth2PasswordCredentials": "oauth2/password",
	"oauth2AuthorizationCode":   "oauth2/authorizationCode",
}

// patchedConnection sets a new credential, and the auth scheme it calls for.
func patchedConnection(c *call, v map[string]any, path string, value any) (bool, *problem) {
	scheme, ok := credentialSchemes[path]
	if !ok {
		return false, nil
	}
	v[path], v["authScheme"], v["updateTime"] = clone(value), scheme, c.now
	return true, nil
}

// group is the Group object of a groupRef in the call's project.
func (c *call) group(ref, name string) map[string]any {
	if name == "" {
		name = ref
	}
	return map[string]any{"groupRef": ref, "groupName": name, "projectId": c.found["projectIdOrName"].id(), "createTime": c.now}
}

// createdInstallation makes an installation of a createInstallation
// request: its group, its connection (the one named, else the group's
// connection to the integration's provider), its config on the
// integration's latest revision.
func createdInstallation(c *call, v map[string]any) *problem {
	integration := c.found["integrationId"]
	provider := str(integration.v["provider"])
	config, _ := v["config"].(map[string]any)
	content, _ := config["content"].(map[string]any)
	if got := str(content["provider"]); got != provider {
		return c.invalid([]inputIssue{{in: "body", issue: issue{name: "config.content.provider", detail: fmt.Sprintf("must be %q, the provider of integration %q", provider, integration.alias()), value: got}}})
	}
	groupRef := str(v["groupRef"])
	conn, p := c.connectionFor(provider, groupRef, str(v["connectionId"]), "connectionId")
	if p != nil {
		return p
	}
	group, _ := conn.v["group"].(map[string]any)
	v["group"] = c.group(groupRef, str(group["groupName"]))
	v["connection"] = publicConnection(conn.v)
	delete(v, "groupRef")
	delete(v, "connectionId")
	if str(config["createdBy"]) == "" {
		config["createdBy"] = "api:create-installation"
	}
	config["id"], config["createTime"] = c.h.store.newID(), c.now
	config["revisionId"] = latestRevisionID(integration)
	v["createdBy"], v["healthStatus"] = config["createdBy"], "healthy"
	if len(readObjects(v)) > 0 {
		v["lastOperationStatus"] = "success"
	}
	return nil
}

// connectionFor returns the connection an installation of a provider's
// integration for groupRef uses: the one named by id, else the group's
// first connection to the provider.
func (c *call) connectionFor(provider, groupRef, id, prop string) (*resource, *problem) {
	colPath := c.projectPath() + "/connections"
	if id != "" {
		conn := c.h.store.lookup(colPath, id)
		if conn == nil {
			p := c.h.notFound(kConnection, prop, id, colPath, nil, "")
			p.issues[0].in = "body"
			return nil, p
		}
		if got := str(conn.v["provider"]); got != provider {
			return nil, c.invalid([]inputIssue{{in: "body", issue: issue{name: prop, detail: fmt.Sprintf("names a connection to %s, not %s", got, provider), value: id}}})
		}
		return conn, nil
	}
	var groups []string
	if col := c.h.store.collection(colPath); col != nil {
		for _, conn := range col.items {
			group, _ := conn.v["group"].(map[string]any)
			if str(conn.v["provider"]) != provider {
				continue
			}
			if str(group["groupRef"]) == groupRef {
				return conn, nil
			}
			groups = append(groups, strconv.Quote(str(group["groupRef"])))
		}
	}
	detail := fmt.Sprintf("group %q has no connection to %s: pass connectionId, or make one with connections:generate", groupRef, provider)
	if len(groups) > 0 {
		detail += "; the demo's groups with one are " + listed(groups, "and")
	}
	return nil, &problem{status: http.StatusUnprocessableEntity, detail: detail,
		issues: []inputIssue{{in: "body", issue: issue{name: "groupRef", detail: "has no connection to " + provider, value: groupRef}}}}
}

// addedInstallation records the first read of each object the
// installation reads: the demo reads no records.
func addedInstallation(c *call, r *resource) *problem {
	for _, object := range readObjects(r.v) {
		if _, p := c.h.newOperation(c, r, "read", object, "["+object+"] No new data found"); p != nil {
			return p
		}
	}
	return nil
}

// newOperation records an operation of an installation, with its logs.
func (h *Handler) newOperation(c *call, installation *resource, action, object, result string) (*resource, *problem) {
	id := h.store.newID()
	config, _ := installation.v["config"].(map[string]any)
	v := map[string]any{
		"id": id, "projectId": installation.v["projectId"], "integrationId": installation.v["integrationId"],
		"installationId": installation.id(), "configId": config["id"], "actionType": action, "status": "success",
		"result": result, "createTime": c.now,
		"metadata": map[string]any{"objects": []any{object}, "progress": map[string]any{
			"installationId": installation.id(), "objectName": object, "operationId": id, "recordsProcessed": jsonInt(0),
		}},
		"logs": []any{
			map[string]any{"timestamp": c.now, "severity": "INFO", "message": map[string]any{"msg": "Started reading " + object, "operation_id": id}},
			map[string]any{"timestamp": c.now, "severity": "INFO", "message": map[string]any{"msg": result, "operation_id": id}},
		},
	}
	return h.store.insert(kOperation, c.projectPath()+"/operations", v)
}

// patchedInstallation switches an installation's connection.
func patchedInstallation(c *call, v map[string]any, path string, value any) (bool, *problem) {
	if path != "connectionId" {
		return false, nil
	}
	integration := c.found["integrationId"]
	group, _ := v["group"].(map[string]any)
	conn, p := c.connectionFor(str(integration.v["provider"]), str(group["groupRef"]), str(value), "installation.connectionId")
	if p != nil {
		return true, p
	}
	v["connection"] = publicConnection(conn.v)
	return true, nil
}

// updatedInstallation moves an updated config to the integration's latest
// revision, as the API does.
func updatedInstallation(c *call, v map[string]any) *problem {
	if config, ok := v["config"].(map[string]any); ok {
		config["revisionId"] = latestRevisionID(c.found["integrationId"])
	}
	return nil
}

func latestRevisionID(integration *resource) string {
	revision, _ := integration.v["latestRevision"].(map[string]any)
	return str(revision["id"])
}

// readObjects returns the names of the objects an installation reads.
func readObjects(v map[string]any) []string {
	objects, _ := digMap(v, "config", "content", "read", "objects")
	return sortedKeys(objects)
}

// digMap returns the object at a path of object properties.
func digMap(v map[string]any, names ...string) (map[string]any, bool) {
	for _, name := range names {
		next, ok := v[name].(map[string]any)
		if !ok {
			return nil, false
		}
		v = next
	}
	return v, true
}

// createdClaim claims a domain for an org: the domain of an email address
// or URL, without www.
func createdClaim(c *call, v map[string]any) *problem {
	domain := normalizeDomain(str(v["domain"]))
	if domain == "" {
		return c.invalid([]inputIssue{{in: "body", issue: issue{name: "domain", detail: "holds no domain", value: v["domain"]}}})
	}
	v["domain"] = domain
	if v["parentType"] != "org" {
		return c.invalid([]inputIssue{{in: "body", issue: issue{name: "parentType", detail: `must be "org"`, value: v["parentType"]}}})
	}
	if p := c.refers("parentId", kOrg, "/orgs"); p != nil {
		return p
	}
	v["parentId"] = c.object()["parentId"]
	if col := c.h.store.collection("/claimed-domains"); col != nil && len(col.itemsWhere("domain", domain)) > 0 {
		return &problem{status: http.StatusConflict, detail: fmt.Sprintf("domain %q is already claimed", domain)}
	}
	return nil
}

// normalizeDomain returns the domain of an email address, URL or domain.
func normalizeDomain(s string) string {
	s = strings.TrimSpace(strings.ToLower(s))
	if _, after, ok := strings.Cut(s, "@"); ok {
		s = after
	}
	if strings.Contains(s, "://") {
		if u, err := url.Parse(s); err == nil {
			s = u.Hostname()
		}
	}
	s, _, _ = strings.Cut(s, "/")
	s = strings.TrimPrefix(s, "www.")
	if !strings.Contains(s, ".") || strings.ContainsAny(s, " :?#") {
		return ""
	}
	return s
}

func jsonInt(n int) any { return json.Number(strconv.Itoa(n)) }
