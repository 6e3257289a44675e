package apigen

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// keyOrder records the order of every object's keys in a JSON or YAML
// document, by the object's JSON pointer ("/paths/~1projects"). The OpenAPI
// reader keeps properties and paths in maps; the generator numbers new
// fields and lists operations in the spec's own order.
type keyOrder map[string][]string

func newKeyOrder(doc []byte) (keyOrder, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(doc, &root); err != nil {
		return nil, fmt.Errorf("read key order: %w", err)
	}
	order := keyOrder{}
	var walk func(n *yaml.Node, ptr string)
	walk = func(n *yaml.Node, ptr string) {
		switch n.Kind {
		case yaml.DocumentNode:
			for _, c := range n.Content {
				walk(c, ptr)
			}
		case yaml.MappingNode:
			keys := make([]string, 0, len(n.Content)/2)
			for i := 0; i+1 < len(n.Content); i += 2 {
				key := n.Content[i].Value
				keys = append(keys, key)
				walk(n.Content[i+1], ptr+"/"+escapePointer(key))
			}
			order[ptr] = keys
		case yaml.SequenceNode:
			for i, c := range n.Content {
				walk(c, fmt.Sprintf("%s/%d", ptr, i))
			}
		}
	}
	walk(&root, "")
	return order, nil
}

// escapePointer escapes a key for a JSON pointer (RFC 6901).
func escapePointer(key string) string {
	return strings.ReplaceAll(strings.ReplaceAll(key, "~", "~0"), "/", "~1")
}

// sorted returns the keys of m in the order the object at ptr lists them,
// then any others in m (there should be none) in their order of names.
func sorted[V any](order keyOrder, ptr string, m map[string]V) []string {
	out := make([]string, 0, len(m))
	seen := map[string]bool{}
	for _, k := range order[ptr] {
		if _, ok := m[k]; ok && !seen[k] {
			out = append(out, k)
			seen[k] = true
		}
	}
	var rest []string
	for k := range m {
		if !seen[k] {
			rest = append(rest, k)
		}
	}
	sortStrings(rest)
	return append(out, rest...)
}
