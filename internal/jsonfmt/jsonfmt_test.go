package jsonfmt

import (
	"encoding/json"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

func TestAppendString(t *testing.T) {
	for _, s := range []string{"", "plain", `q"b\s`, "\x00\x01\x1f\t\n\r\b\f", "café ☃ 😀", "<&>\u2028"} {
		b, ok := AppendString([]byte("x"), s)
		if !ok {
			t.Errorf("%q: not valid", s)
			continue
		}
		var got string
		if err := json.Unmarshal(b[1:], &got); err != nil || got != s {
			t.Errorf("%q: wrote %s (%v)", s, b, err)
		}
		want, _ := protojson.Marshal(wrapperspb.String(s))
		if string(b[1:]) != string(want) {
			t.Errorf("%q: wrote %s, protojson %s", s, b[1:], want)
		}
	}
	if _, ok := AppendString(nil, "a\xffb"); ok {
		t.Error("invalid UTF-8 reported valid")
	}
}

func TestAppendTimestamp(t *testing.T) {
	for _, ts := range []*timestamppb.Timestamp{
		{}, {Seconds: 1, Nanos: 500_000_000}, {Seconds: 1714640000, Nanos: 456_076_000},
		{Seconds: -62135596800}, {Seconds: 253402300799, Nanos: 999_999_999}, {Seconds: 5, Nanos: 7},
	} {
		want, err := protojson.Marshal(ts)
		if err != nil {
			t.Fatal(err)
		}
		if got := AppendTimestamp(nil, ts.Seconds, ts.Nanos); string(got) != string(want) {
			t.Errorf("%v: %s, want %s", ts.AsTime().Format(time.RFC3339Nano), got, want)
		}
	}
}
