package apigen

import (
	"bytes"
	"io"
	"slices"
	"sort"
)

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func sortedCopy(s []string) []string {
	out := slices.Clone(s)
	sort.Strings(out)
	return out
}

func sortStrings(s []string) { sort.Strings(s) }

func bytesReader(data []byte) io.Reader { return bytes.NewReader(data) }

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
