package translate

import "testing"

func TestMediaTypeOf(t *testing.T) {
	for in, want := range map[string]string{
		"application/json":                "application/json",
		"application/json; charset=utf-8": "application/json",
		"Application/JSON; charset=UTF-8": "application/json",
		"text/plain; charset=utf-8":       "text/plain",
		"application/problem+json":        "application/problem+json",
		"":                                "",
		"not a media type; =":             "",
	} {
		if got := mediaTypeOf(in); got != want {
			t.Errorf("mediaTypeOf(%q) = %q, want %q", in, got, want)
		}
	}
}
