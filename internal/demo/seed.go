package demo

import (
	"embed"
	"encoding/json"
	"fmt"
	"path"
	"strings"
)

// The sample: sample.json lists what each collection holds at start, in
// order; the integrations are files of their own, answered byte for byte
// until they change.
//
//go:embed sample.json integrations/*.json
var files embed.FS

// seedTime is the time of made-up date-times: the sample's own times are
// fixed in sample.json.
const seedTime = "2024-01-15T10:00:00Z"

// seed fills the store with the sample, checking each resource against its
// schema.
func (h *Handler) seed() error {
	data, err := files.ReadFile("sample.json")
	if err != nil {
		return err
	}
	var entries []struct {
		In    string            `json:"in"`
		Items []json.RawMessage `json:"items"`
		Files []string          `json:"files"`
	}
	if err := json.Unmarshal(data, &entries); err != nil {
		return fmt.Errorf("sample.json: %w", err)
	}
	for _, entry := range entries {
		k := kindOf(entry.In)
		if k == nil {
			return fmt.Errorf("sample.json: no kind of resource lives in %s", entry.In)
		}
		add := func(raw []byte, where string) (*resource, error) {
			v, err := decodeJSON(raw)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", where, err)
			}
			obj, _ := v.(map[string]any)
			if issues := check(obj, h.api.schemas[k.schema], ""); len(issues) > 0 {
				return nil, fmt.Errorf("%s: not a valid %s: %s %s", where, k.schema, issues[0].name, issues[0].detail)
			}
			r, p := h.store.insert(k, entry.In, obj)
			if p != nil {
				return nil, fmt.Errorf("%s: %s", where, p.detail)
			}
			return r, nil
		}
		for i, item := range entry.Items {
			if _, err := add(item, fmt.Sprintf("sample.json: %s[%d]", entry.In, i)); err != nil {
				return err
			}
		}
		for _, name := range entry.Files {
			raw, err := files.ReadFile(path.Join("integrations", name))
			if err != nil {
				return err
			}
			r, err := add(raw, name)
			if err != nil {
				return err
			}
			r.raw = raw
			if _, p := h.store.insert(kRevision, r.path()+"/revisions", clone(r.v["latestRevision"]).(map[string]any)); p != nil {
				return fmt.Errorf("%s: %s", name, p.detail)
			}
		}
	}
	return nil
}

// kindOf returns the kind whose collections live at a concrete path.
func kindOf(colPath string) *kind {
	got := strings.Split(colPath, "/")
	for _, k := range kinds {
		want := strings.Split(k.collectionPath(), "/")
		if len(want) != len(got) {
			continue
		}
		ok := true
		for i := range want {
			if want[i] != "{}" && want[i] != got[i] {
				ok = false
			}
		}
		if ok {
			return k
		}
	}
	return nil
}
