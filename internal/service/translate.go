package service

import (
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/types/known/timestamppb"

	ampersandv1 "github.com/ampersand-connect/gateway/gen/ampersand/v1"
)

// translator holds the rules that turn REST values into proto values, which
// the one-pass decoder (decode.go) and the two-step reference path of the
// tests share: timestamps, enums, and errors that say where they were
// ("latestRevision.content.read.objects[3]"). Bad data (a field item that
// is neither variant, a bad timestamp) is an error, the first one kept; an
// enum value the schema does not know becomes _UNSPECIFIED and is reported
// to unknownEnum.
type translator struct {
	unknownEnum func(path, value string)
	err         error
}

// InvalidIntegrationError is an integration the upstream sent that cannot be
// translated.
type InvalidIntegrationError struct {
	// Path is where the bad value was, e.g. "latestRevision.content.read.objects[3].requiredFields[1]".
	Path string
	// Reason says what was wrong.
	Reason string
}

func (e *InvalidIntegrationError) Error() string {
	return e.Path + ": " + e.Reason
}

func (t *translator) fail(p *path, format string, args ...any) {
	if t.err == nil {
		t.err = &InvalidIntegrationError{Path: p.String(), Reason: fmt.Sprintf(format, args...)}
	}
}

func (t *translator) optionalFieldsAuto(p *path, in string) ampersandv1.OptionalFieldsAuto {
	switch in {
	case "":
		return ampersandv1.OptionalFieldsAuto_OPTIONAL_FIELDS_AUTO_UNSPECIFIED
	case "all":
		return ampersandv1.OptionalFieldsAuto_OPTIONAL_FIELDS_AUTO_ALL
	}
	t.unknown(p, in)
	return ampersandv1.OptionalFieldsAuto_OPTIONAL_FIELDS_AUTO_UNSPECIFIED
}

func (t *translator) deliveryMode(p *path, in string) ampersandv1.DeliveryMode {
	switch in {
	case "":
		return ampersandv1.DeliveryMode_DELIVERY_MODE_UNSPECIFIED
	case "onRequest":
		return ampersandv1.DeliveryMode_DELIVERY_MODE_ON_REQUEST
	case "auto":
		return ampersandv1.DeliveryMode_DELIVERY_MODE_AUTO
	}
	t.unknown(p, in)
	return ampersandv1.DeliveryMode_DELIVERY_MODE_UNSPECIFIED
}

func (t *translator) enablement(p *path, in string) ampersandv1.Enablement {
	switch in {
	case "":
		return ampersandv1.Enablement_ENABLEMENT_UNSPECIFIED
	case "always":
		return ampersandv1.Enablement_ENABLEMENT_ALWAYS
	}
	t.unknown(p, in)
	return ampersandv1.Enablement_ENABLEMENT_UNSPECIFIED
}

func (t *translator) watchFieldsAuto(p *path, in string) ampersandv1.WatchFieldsAuto {
	switch in {
	case "":
		return ampersandv1.WatchFieldsAuto_WATCH_FIELDS_AUTO_UNSPECIFIED
	case "all":
		return ampersandv1.WatchFieldsAuto_WATCH_FIELDS_AUTO_ALL
	case "selected":
		return ampersandv1.WatchFieldsAuto_WATCH_FIELDS_AUTO_SELECTED
	}
	t.unknown(p, in)
	return ampersandv1.WatchFieldsAuto_WATCH_FIELDS_AUTO_UNSPECIFIED
}

// timestamp parses an RFC 3339 date-time (any offset, any fraction of a
// second). An empty string is an unset timestamp.
func (t *translator) timestamp(p *path, in string) *timestamppb.Timestamp {
	if in == "" {
		return nil
	}
	ts, err := parseTimestamp(in)
	if err != nil {
		t.fail(p, "invalid date-time %s", strconv.Quote(truncate(in, 64)))
		return nil
	}
	return ts
}

func (t *translator) unknown(p *path, value string) {
	if t.unknownEnum != nil {
		t.unknownEnum(p.String(), value)
	}
}

// parseTimestamp parses an RFC 3339 date-time into a valid Timestamp.
func parseTimestamp(in string) (*timestamppb.Timestamp, error) {
	parsed, err := time.Parse(time.RFC3339Nano, in)
	if err != nil {
		return nil, err
	}
	ts := timestamppb.New(parsed)
	if err := ts.CheckValid(); err != nil {
		return nil, err
	}
	return ts, nil
}

// path is where a value is in the integration, built as the translator
// descends and rendered only when something is reported: a successful
// translation builds no string.
type path struct {
	parent *path
	name   string // a property; "" for an array index
	index  int
}

// root is the path of the integration itself.
var root = &path{}

func (p *path) field(name string) *path { return &path{parent: p, name: name} }

func (p *path) at(i int) *path { return &path{parent: p, index: i} }

// String renders the path: "latestRevision.content.read.objects[3].requiredFields[1]".
// It walks up from p twice, measuring then writing right to left, and stores
// no node anywhere, so that a path never escapes to the heap.
func (p *path) String() string {
	size := 0
	for n := p; n != nil && n.parent != nil; n = n.parent {
		size += n.len()
	}
	b := make([]byte, size)
	end := size
	for n := p; n != nil && n.parent != nil; n = n.parent {
		start := end - n.len()
		if n.name == "" {
			w := b[start:start]
			w = append(w, '[')
			w = strconv.AppendInt(w, int64(n.index), 10)
			_ = append(w, ']')
		} else {
			w := append(b[start:start], '.')
			_ = append(w, n.name...)
		}
		end = start
	}
	if len(b) > 0 && b[0] == '.' {
		b = b[1:]
	}
	return string(b)
}

// len is the length of the node's rendering, a leading '.' included.
func (p *path) len() int {
	if p.name == "" {
		return 2 + len(strconv.Itoa(p.index))
	}
	return 1 + len(p.name)
}

// truncate cuts s to at most n bytes, for quoting upstream values in
// messages: on a rune boundary, so that a character is never cut in two
// (a string that was valid UTF-8 stays valid).
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for back := 0; back < utf8.UTFMax-1 && n > 0 && !utf8.RuneStart(s[n]); back++ {
		n--
	}
	return s[:n] + "..."
}
