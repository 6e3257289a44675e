package translate

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	ampersandv1 "github.com/ampersand-connect/gateway/gen/ampersand/v1"
)

// The two-step path, the reference the one-pass decoder is held to
// (FuzzDecodeMatchesTwoSteps): encoding/json decodes the body into Go's
// generic values, then ref translates those by the same rules, written
// plainly over maps and slices. It shares the plans (what each field is)
// with the decoder, and none of its reading.

type refError struct{ msg string }

func (e *refError) Error() string { return e.msg }

func twoSteps(body []byte, pl *plan, fp *fieldPlan) (proto.Message, error) {
	if len(body) == 0 && len(pl.fields) == 0 {
		return pl.newMessage().Interface(), nil
	}
	r := bytes.NewReader(body)
	dec := json.NewDecoder(r)
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	rest, _ := io.ReadAll(io.MultiReader(dec.Buffered(), r))
	if len(bytes.TrimLeft(rest, " \t\r\n")) > 0 {
		return nil, errors.New("data after the value")
	}
	m := pl.newMessage()
	var err error
	if fp != nil {
		if v == nil {
			return nil, &refError{"null body"}
		}
		err = refField(fp, v, m)
	} else {
		err = refMessage(pl, v, m)
	}
	if err != nil {
		return nil, err
	}
	return m.Interface(), nil
}

func refMessage(pl *plan, v any, m protoreflect.Message) error {
	switch pl.wkt {
	case wktTimestamp:
		s, ok := v.(string)
		if !ok {
			return &refError{"timestamp not a string"}
		}
		ts, err := ParseTimestamp(s)
		if err != nil {
			return err
		}
		out := m.Interface().(*timestamppb.Timestamp)
		out.Seconds, out.Nanos = ts.Seconds, ts.Nanos
		return nil
	case wktStruct:
		obj, ok := v.(map[string]any)
		if !ok {
			return &refError{"struct not an object"}
		}
		s, err := structpb.NewStruct(numbersToFloats(obj).(map[string]any))
		if err != nil {
			return err
		}
		proto.Merge(m.Interface(), s)
		return nil
	case wktValue:
		val, err := structpb.NewValue(numbersToFloats(v))
		if err != nil {
			return err
		}
		proto.Merge(m.Interface(), val)
		return nil
	}
	if pl.wrapper != nil {
		return refField(pl.wrapper, v, m)
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return &refError{"not an object"}
	}
	var variant *variantPlan
	if pl.untagged != nil {
		for _, vp := range pl.untagged.variants {
			fits := true
			for _, r := range vp.required {
				value, ok := obj[pl.untagged.required[r.index]]
				if !ok || value == nil || !refHasType(value, r.want) {
					fits = false
				}
			}
			if fits {
				variant = vp
				break
			}
		}
		if variant == nil {
			return &refError{"no variant"}
		}
	}
	for key, value := range obj {
		target := m
		fp := refLookup(pl, key)
		if fp == nil && variant != nil {
			fp = refLookup(variant.msg, key)
			target = m.Mutable(variant.fd).Message()
		}
		if fp == nil {
			continue
		}
		if err := refField(fp, value, target); err != nil {
			return err
		}
	}
	if variant != nil && !m.Has(variant.fd) {
		m.Mutable(variant.fd)
	}
	for _, od := range pl.oneofs {
		if pl.untagged != nil && od == pl.untagged.desc {
			continue
		}
		if m.WhichOneof(od) == nil {
			return &refError{"no variant"}
		}
	}
	return nil
}

// refLookup finds a property's field, exactly or else case-insensitively.
func refLookup(pl *plan, key string) *fieldPlan {
	if fp, ok := pl.byName[key]; ok {
		return fp
	}
	for _, fp := range pl.fields {
		if strings.EqualFold(key, fp.name) {
			return fp
		}
	}
	return nil
}

func refHasType(v any, want jsonType) bool {
	switch v := v.(type) {
	case string:
		return want == jsonString || want == jsonAny
	case bool:
		return want == jsonBool || want == jsonAny
	case json.Number:
		integer := !strings.ContainsAny(string(v), ".eE")
		return want == jsonNumber || want == jsonAny || want == jsonInteger && integer
	case map[string]any:
		return want == jsonObject || want == jsonAny
	case []any:
		return want == jsonArray || want == jsonAny
	}
	return false
}

func refField(fp *fieldPlan, v any, m protoreflect.Message) error {
	if v == nil {
		m.Clear(fp.fd)
		return nil
	}
	switch {
	case fp.list:
		items, ok := v.([]any)
		if !ok {
			return &refError{"not an array"}
		}
		list := m.Mutable(fp.fd).List()
		list.Truncate(0)
		for _, item := range items {
			if fp.value.msg != nil {
				elem := list.AppendMutable().Message()
				if item == nil {
					if err := refEmpty(fp.value.msg, elem); err != nil {
						return err
					}
					continue
				}
				if err := refMessage(fp.value.msg, item, elem); err != nil {
					return err
				}
				continue
			}
			if item == nil {
				list.Append(zero(&fp.value))
				continue
			}
			value, err := refScalar(&fp.value, item)
			if err != nil {
				return err
			}
			list.Append(value)
		}
	case fp.isMap:
		obj, ok := v.(map[string]any)
		if !ok {
			return &refError{"not an object"}
		}
		mp := m.Mutable(fp.fd).Map()
		for key, item := range obj {
			mk := protoreflect.ValueOfString(key).MapKey()
			if fp.value.msg != nil {
				if item == nil {
					if err := refEmpty(fp.value.msg, mp.Mutable(mk).Message()); err != nil {
						return err
					}
					continue
				}
				if err := refMessage(fp.value.msg, item, mp.Mutable(mk).Message()); err != nil {
					return err
				}
				continue
			}
			if item == nil {
				mp.Set(mk, zero(&fp.value))
				continue
			}
			value, err := refScalar(&fp.value, item)
			if err != nil {
				return err
			}
			mp.Set(mk, value)
		}
	case fp.value.msg != nil:
		return refMessage(fp.value.msg, v, m.Mutable(fp.fd).Message())
	default:
		value, err := refScalar(&fp.value, v)
		if err != nil {
			return err
		}
		m.Set(fp.fd, value)
	}
	return nil
}

func refEmpty(pl *plan, m protoreflect.Message) error {
	if pl.wkt != wktNone || pl.wrapper != nil {
		return nil
	}
	if pl.untagged != nil || len(pl.oneofs) > 0 {
		return &refError{"no variant"}
	}
	return nil
}

func refScalar(vp *valuePlan, v any) (protoreflect.Value, error) {
	switch vp.kind {
	case protoreflect.StringKind:
		if s, ok := v.(string); ok {
			return protoreflect.ValueOfString(s), nil
		}
	case protoreflect.BoolKind:
		if b, ok := v.(bool); ok {
			return protoreflect.ValueOfBool(b), nil
		}
	case protoreflect.Int32Kind, protoreflect.Int64Kind:
		n, ok := v.(json.Number)
		if !ok || strings.ContainsAny(string(n), ".eE") {
			break
		}
		i, err := strconv.ParseInt(string(n), 10, 64)
		if err != nil {
			break
		}
		if vp.kind == protoreflect.Int32Kind {
			if i < math.MinInt32 || i > math.MaxInt32 {
				break
			}
			return protoreflect.ValueOfInt32(int32(i)), nil
		}
		return protoreflect.ValueOfInt64(i), nil
	case protoreflect.DoubleKind:
		if n, ok := v.(json.Number); ok {
			f, err := strconv.ParseFloat(string(n), 64)
			if err == nil {
				return protoreflect.ValueOfFloat64(f), nil
			}
		}
	case protoreflect.EnumKind:
		if s, ok := v.(string); ok {
			return protoreflect.ValueOfEnum(vp.enum.byREST[s]), nil
		}
	}
	return protoreflect.Value{}, &refError{"wrong type"}
}

// numbersToFloats turns json.Numbers into float64s, for structpb.
func numbersToFloats(v any) any {
	switch v := v.(type) {
	case json.Number:
		f, _ := strconv.ParseFloat(string(v), 64)
		return f
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = numbersToFloats(e)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = numbersToFloats(e)
		}
		return out
	}
	return v
}

// hasDuplicateKeys reports whether some object of a valid JSON document
// names a property twice (also in another case): encoding/json keeps the
// last in a map, where the decoder merges into a message; no sane upstream
// sends them.
func hasDuplicateKeys(body []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(body))
	type frame struct {
		object, atKey bool
		keys          map[string]bool
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if delim, ok := tok.(json.Delim); ok {
			switch delim {
			case '{', '[':
				if top != nil && top.object {
					top.atKey = true
				}
				stack = append(stack, &frame{object: delim == '{', atKey: delim == '{', keys: map[string]bool{}})
			default:
				stack = stack[:len(stack)-1]
			}
			continue
		}
		if top == nil || !top.object {
			continue
		}
		if s, ok := tok.(string); ok && top.atKey {
			folded := strings.ToLower(strings.NewReplacer("ſ", "s", "K", "k").Replace(s))
			if top.keys[folded] {
				return true
			}
			top.keys[folded] = true
			top.atKey = false
			continue
		}
		top.atKey = true
	}
}

// checkSameAsTwoSteps holds the decoder to the reference on one body of a
// method's response.
func checkSameAsTwoSteps(t *testing.T, m *Method, body []byte) {
	t.Helper()
	if hasDuplicateKeys(body) {
		return
	}
	fast, fastErr := m.NewResponse(body, "application/json", nil)
	ref, refErr := twoSteps(body, m.response, m.responseBody)
	if (fastErr == nil) != (refErr == nil) {
		t.Fatalf("one pass: %v; two steps: %v", fastErr, refErr)
	}
	if fastErr == nil && !proto.Equal(fast, ref) {
		t.Fatalf("one pass and two steps differ:\n%v\n%v", fast, ref)
	}
	var invalid *InvalidError
	if fastErr != nil && !errors.As(fastErr, &invalid) {
		t.Fatalf("error %T, want *InvalidError", fastErr)
	}
}

func TestDecodeMatchesTwoSteps(t *testing.T) {
	t.Parallel()
	forEachInput(t, func(name string, body []byte) {
		t.Run(name, func(t *testing.T) { checkSameAsTwoSteps(t, getIntegration, body) })
	})
	for _, body := range []string{
		`{"id":"x","latestRevision":{"content":{"read":{"objects":[{"requiredFields":[null]}]}}}}`,
		`{"id":"x","ID":"y"}`,
		`{"iD":"x","latestRevision":null}`,
		`{"createTime":"2024-01-01T00:00:00+02:00"}`,
		`{"latestRevision":{"content":{"read":{"objects":[{"backfill":{"defaultPeriod":{"days":1e2}}}]}}}}`,
		`{"latestRevision":{"content":{"read":{"objects":[{"requiredFields":[{"fieldName":5,"mapToName":"m"}]}]}}}}`,
		`[]`, `null`, `"x"`, `{}`, `{"id":"\ud800"}`,
	} {
		checkSameAsTwoSteps(t, getIntegration, []byte(body))
	}
}

// FuzzDecodeMatchesTwoSteps holds the one-pass decoder to the two-step
// path on arbitrary bodies of GetIntegration's answer.
func FuzzDecodeMatchesTwoSteps(f *testing.F) {
	addCorpus(f, "testdata/integrations/*.json")
	f.Fuzz(func(t *testing.T, body []byte) {
		checkSameAsTwoSteps(t, getIntegration, body)
	})
}

// forEachInput calls f with the name and the body of every GetIntegration
// answer in testdata/integrations.
func forEachInput(t *testing.T, f func(name string, body []byte)) {
	t.Helper()
	files, err := filepath.Glob("testdata/integrations/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no inputs: %v", err)
	}
	for _, file := range files {
		body, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		f(filepath.Base(file), body)
	}
}

// addCorpus seeds f with every file matching pattern.
func addCorpus(f *testing.F, pattern string) {
	f.Helper()
	addCorpusWith(f, pattern, func(body []byte) { f.Add(body) })
}

// addCorpusWith calls add with every file matching pattern but golden ones.
func addCorpusWith(f *testing.F, pattern string, add func([]byte)) {
	f.Helper()
	files, err := filepath.Glob(pattern)
	if err != nil || len(files) == 0 {
		f.Fatalf("no seeds for %s: %v", pattern, err)
	}
	for _, file := range files {
		if strings.HasSuffix(file, ".golden.json") {
			continue
		}
		body, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		add(body)
	}
}

var _ = ampersandv1.File_ampersand_v1_options_proto
