package apigen

import (
	"strings"
	"unicode"
)

// words splits a name into its words: at spaces and punctuation, at a lower
// case letter or digit followed by an upper case one ("projectId" → project,
// Id), and before the last capital of a run of capitals followed by a lower
// case letter ("JWTKey" → JWT, Key; "docsURL" → docs, URL), when the run
// has three capitals or more ("OAuth" is one word). A digit stays
// with the word before it ("oauth2Opts" → oauth2, Opts).
func words(s string) []string {
	var out []string
	runes := []rune(s)
	start := -1
	for i, r := range runes {
		if !isAlnum(r) {
			if start >= 0 {
				out = append(out, string(runes[start:i]))
				start = -1
			}
			continue
		}
		if start < 0 {
			start = i
			continue
		}
		prev := runes[i-1]
		boundary := unicode.IsUpper(r) && (unicode.IsLower(prev) || unicode.IsDigit(prev)) ||
			unicode.IsUpper(r) && unicode.IsUpper(prev) && i >= 2 && unicode.IsUpper(runes[i-2]) &&
				i+1 < len(runes) && unicode.IsLower(runes[i+1])
		if boundary {
			out = append(out, string(runes[start:i]))
			start = i
		}
	}
	if start >= 0 {
		out = append(out, string(runes[start:]))
	}
	return out
}

func isAlnum(r rune) bool {
	return r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r))
}

// snakeCase is a proto field name: "projectIdOrName" → "project_id_or_name",
// "docsURL" → "docs_url", "operation_id" → "operation_id".
func snakeCase(s string) string {
	ws := words(s)
	for i, w := range ws {
		ws[i] = strings.ToLower(w)
	}
	return strings.Join(ws, "_")
}

// upperSnakeCase is an enum value's suffix: "oauth2/authorizationCode" →
// "OAUTH2_AUTHORIZATION_CODE", "connection.created" → "CONNECTION_CREATED".
func upperSnakeCase(s string) string {
	return strings.ToUpper(snakeCase(s))
}

// pascalCase joins the words of s, each starting with a capital and
// otherwise unchanged: "enabled" → "Enabled", "defaultPeriod" →
// "DefaultPeriod", "API Key" → "APIKey".
func pascalCase(s string) string {
	var b strings.Builder
	for _, w := range words(s) {
		r := []rune(w)
		r[0] = unicode.ToUpper(r[0])
		b.WriteString(string(r))
	}
	return b.String()
}

// ServiceName is the service of an OpenAPI tag: the tag's words, each
// starting with a capital and otherwise unchanged, "&" read as "And", other
// punctuation and spaces dropped, then "Service": "Provider App" →
// "ProviderAppService", "Objects & Fields" → "ObjectsAndFieldsService".
func ServiceName(tag string) string {
	var b strings.Builder
	for _, field := range strings.Fields(strings.ReplaceAll(tag, "&", " And ")) {
		first := true
		for _, r := range field {
			if !isAlnum(r) {
				continue
			}
			if first {
				r = unicode.ToUpper(r)
				first = false
			}
			b.WriteRune(r)
		}
	}
	return b.String() + "Service"
}

// RPCName is the RPC of an operation: its operationId with the first letter
// capitalised and nothing else changed: "createJWTKey" → "CreateJWTKey".
func RPCName(operationID string) string {
	r := []rune(operationID)
	if len(r) == 0 {
		return ""
	}
	r[0] = unicode.ToUpper(r[0])
	return string(r)
}

// defaultJSONName is the JSON name protoc gives a field named name.
func defaultJSONName(name string) string {
	var b strings.Builder
	upper := false
	for _, r := range name {
		switch {
		case r == '_':
			upper = true
		case upper:
			b.WriteRune(unicode.ToUpper(r))
			upper = false
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// plural is the English plural of a snake_case name's last word, by the
// simple rules that cover the API's nouns: "project" → "projects",
// "jwt_key" → "jwt_keys", "claimed_domain_response" →
// "claimed_domain_responses", "policy" → "policies".
func plural(name string) string {
	switch {
	case strings.HasSuffix(name, "s"), strings.HasSuffix(name, "x"),
		strings.HasSuffix(name, "ch"), strings.HasSuffix(name, "sh"):
		return name + "es"
	case strings.HasSuffix(name, "y") && len(name) > 1 && !strings.ContainsRune("aeiou", rune(name[len(name)-2])):
		return name[:len(name)-1] + "ies"
	}
	return name + "s"
}

// isIdent reports whether s is a proto identifier.
func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_', r < unicode.MaxASCII && unicode.IsLetter(r):
		case i > 0 && r < unicode.MaxASCII && unicode.IsDigit(r):
		default:
			return false
		}
	}
	return true
}

// trimWords drops the leading words of name that are among the words of
// owner: a variant "IntegrationFieldExistent" of "IntegrationField" is
// "Existent", "IntegrationFieldMapping" of "HydratedIntegrationField" is
// "Mapping". A name with no word left is returned whole.
func trimWords(name, owner string) string {
	have := map[string]bool{}
	for _, w := range words(owner) {
		have[w] = true
	}
	ws := words(name)
	i := 0
	for i < len(ws) && have[ws[i]] {
		i++
	}
	if i == len(ws) {
		return name
	}
	return strings.Join(ws[i:], "")
}
