package translate

import (
	"strconv"
	"strings"
	"testing"
)

func methodNamed(t testing.TB, name string) *Method {
	for _, m := range allMethods {
		if string(m.desc.Name()) == name {
			return m
		}
	}
	t.Fatalf("no method %s", name)
	return nil
}

// TestTranscodeIrregularBodies holds Transcode to NewResponse on irregular
// bodies: duplicates, nulls, zeros, bounds, escapes, nesting, each either
// given up or transcoded to the decoder's message.
func TestTranscodeIrregularBodies(t *testing.T) {
	probes := irregularBodies()
	n := 0
	for i, c := range probes {
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			if checkTranscode(t, methodNamed(t, c.method), []byte(c.body)) {
				n++
			}
		})
	}
	t.Logf("%d of %d probes transcoded", n, len(probes))
}

// irregularBody is a body of a method's answer.
type irregularBody struct {
	method, body string
}

// irregularBodies are the bodies of TestTranscodeIrregularBodies.
func irregularBodies() []irregularBody {
	const inst = "GetInstallation"
	const integ = "GetIntegration"
	const ups = "UpsertMetadataForConnection"
	ro := func(s string) string { // an installation whose read objects map is s
		return `{"config":{"content":{"read":{"objects":` + s + `}}}}`
	}
	wo := func(s string) string {
		return `{"config":{"content":{"write":{"objects":` + s + `}}}}`
	}
	rf := func(s string) string { // a requiredFields list of s
		return `{"latestRevision":{"content":{"read":{"objects":[{"requiredFields":` + s + `}]}}}}`
	}
	filt := func(v string) string {
		return ro(`{"a":{"fieldFilters":[{"fieldName":"f","operator":"eq","value":` + v + `}]}}`)
	}
	return []irregularBody{
		// Duplicates.
		{integ, `{"id":"x","Id":"y"}`},
		{integ, `{"id":"x","\u0069d":"y"}`},
		{integ, `{"name":"x","NAME":null}`},
		{integ, `{"latestRevision":{"id":"a"},"latestrevision":{"specVersion":"b"}}`},
		{integ, rf(`[{"fieldName":"a","FieldName":"b"}]`)},
		{integ, rf(`[{"fieldName":"a","mapToName":"m","MapToName":"n"}]`)},
		{integ, rf(`[{"mapToName":"m","fieldName":"a"}]`)},
		{integ, rf(`[{"FieldName":"a","mapToName":"m"}]`)},
		{integ, rf(`[{"fieldName":null,"mapToName":"m"}]`)},
		// The variant guessed from the first property, wrong and right.
		{integ, rf(`[{"mapToDisplayName":"d","mapToName":"m"}]`)},
		{integ, rf(`[{"default":"d","fieldName":"f","mapToName":"m"}]`)},
		{integ, rf(`[{"prompt":"p","fieldName":1,"mapToName":"m"}]`)},
		{integ, rf(`[{"fieldName":1,"mapToName":"m"}]`)},
		{integ, rf(`[{"fieldName":{"x":[1,2]},"mapToName":"m","prompt":"p"}]`)},
		{integ, rf(`[{"mapToName":"m","fieldName":null,"default":"d"}]`)},
		{integ, rf(`[{"mapToName":"m","mapToName":"n","fieldName":"f"}]`)},
		{integ, rf(`[{"x":1,"fieldName":"f","x":2}]`)},
		{integ, rf(`[{"default":"d","prompt":"p"}]`)},
		{integ, rf(`[{"default":"d","fieldName":"a","fieldName":1,"mapToName":"m"}]`)},
		{integ, rf(`[{"default":"d","fieldName":1,"fieldName":"a","mapToName":"m"}]`)},
		{integ, rf(`[{}]`)},
		{integ, rf(`[{"fieldName":"a"},{"mapToName":"b"},{"mapToDisplayName":"c","mapToName":"d"},{"fieldName":"e","default":"f"}]`)},
		{integ, rf(`[{ "fieldName" : "f" , "mapToDisplayName" :"d",` + "\n" + `"mapToName":"m" }]`)},
		{integ, rf(`[{"field\u004eame":"f","mapTo\u004eame":"m"}]`)},
		{integ, rf(`[{"fieldName":"f","mapToName":"m"`)},
		{integ, rf(`[{"fieldName":"f","mapToName":"m",}]`)},
		{integ, rf(`[{"fieldName" "f"}]`)},
		{integ, rf(`[{"fieldName":"f","mapToName"`)},
		{integ, rf(`[{"fieldName":null,"mapToName":"m","fieldName":"f"}]`)},
		{integ, rf(`[{"fieldName":5,"mapToName":"m"}]`)},
		{integ, rf(`[{"fieldName":"a","fieldName":5}]`)},
		{integ, rf(`[{"fieldName":5,"fieldName":"a"}]`)},
		{integ, rf(`[{"fieldName":"a","mapToName":null}]`)},
		{integ, rf(`[{"mapToName":"m","default":"d","Default":"e"}]`)},
		{integ, rf(`[{"fieldName":"","mapToName":""}]`)},
		{integ, rf(`[{}]`)},
		{integ, rf(`[{"x":1,"fieldName":"a","x":2}]`)},
		// Untagged in maps (ValueDefault).
		{inst, wo(`{"o":{"selectedValueDefaults":{"f":{"value":"s"}}}}`)},
		{inst, wo(`{"o":{"selectedValueDefaults":{"f":{"value":0}}}}`)},
		{inst, wo(`{"o":{"selectedValueDefaults":{"f":{"value":false,"applyOnUpdate":""}}}}`)},
		{inst, wo(`{"o":{"selectedValueDefaults":{"f":{"value":5,"value":"s"}}}}`)},
		{inst, wo(`{"o":{"selectedValueDefaults":{"f":{"value":"s","Value":5}}}}`)},
		{inst, wo(`{"o":{"selectedValueDefaults":{"f":{"Value":"s","value":5}}}}`)},
		{inst, wo(`{"o":{"selectedValueDefaults":{"f":{"value":null,"value":true}}}}`)},
		{inst, wo(`{"o":{"selectedValueDefaults":{"f":{"value":1.0}}}}`)},
		{inst, wo(`{"o":{"selectedValueDefaults":{"f":{"value":-2147483648}}}}`)},
		{inst, wo(`{"o":{"selectedValueDefaults":{"f":{"value":2147483648}}}}`)},
		{inst, wo(`{"o":{"selectedValueDefaults":{"f":{"value":"s"},"f":{"value":"t"}}}}`)},
		{inst, wo(`{"o":{"selectedValueDefaults":{"f":{"value":"s"},"g":{"value":1}},"selectedFieldSettings":{"f":{"default":{"integerValue":0}}}}}`)},
		// Maps.
		{inst, ro(`{"a":{"objectName":"x"},"a":{"schedule":"y"}}`)},
		{inst, ro(`{"a":{"objectName":"x"},"\u0061":{"schedule":"y"}}`)},
		{inst, ro(`{"a":{"selectedFields":{"f":true,"f":false}}}`)},
		{inst, ro(`{"a":{"selectedFields":{"f":true,"f":null}}}`)},
		{inst, ro(`{"a":{"selectedFieldMappings":{"":"","\u00e9":"\ud800","\ud83d\ude00":"x"}}}`)},
		{inst, ro(`{"a":{"selectedFieldMappings":{"k\u0000":"v"}}}`)},
		{inst, ro(`{"a":null}`)},
		{inst, ro(`{"a":{"selectedValueMappings":{"s":{"k":"v","k":"w"}}}}`)},
		{inst, ro(`{"a":{"selectedValueMappings":{"s":{"k":"v"},"s":{"j":"w"}}}}`)},
		{inst, ro(`{"a":{"selectedValueMappings":{"s":null}}}`)},
		{inst, ro(`{"a":{"selectedValueMappings":{"s":{}}}}`)},
		// A key given twice in a map of messages, after a map within its
		// value: the decoder merges the two values (found by a review).
		{inst, ro(`{"a":{"objectName":"x","selectedValueMappings":{"s":{"k":"v"}}},"a":{"schedule":"y"}}`)},
		{inst, ro(`{"a":{"selectedValueMappings":{"a":{}}},"b":{}}`)},
		// The same through a wrapper of a map of messages.
		{ups, `{"fields":{"o":{"f":{"fieldName":"a"}},"o":{"g":{"fieldName":"b"}}}}`},
		{ups, `{"fields":{"o":{"f":{"fieldName":"a"},"f":{"action":"b"}}}}`},
		// Presence and zeros.
		{inst, ro(`{"a":{"disabled":false,"backfill":{"defaultPeriod":{"days":0,"fullHistory":false}}}}`)},
		{inst, ro(`{"a":{"disabled":null,"backfill":{"defaultPeriod":{"days":-0}}}}`)},
		{inst, ro(`{"a":{"backfill":{"defaultPeriod":{"days":0.0}}}}`)},
		{inst, ro(`{"a":{"backfill":{"defaultPeriod":{"days":1e2}}}}`)},
		{inst, ro(`{"a":{"backfill":{"defaultPeriod":null}}}`)},
		{inst, ro(`{"a":{"backfill":{}}}`)},
		{inst, `{"healthStatus":"","lastOperationStatus":"","id":""}`},
		{inst, `{"healthStatus":"nope"}`},
		{inst, `{"healthStatus":null}`},
		{integ, rf(`[]`)},
		{integ, rf(`null`)},
		{integ, `{"latestRevision":{"content":{"read":{"objects":[{"enabled":""}]}}}}`},
		{integ, `{"latestRevision":{"content":{"read":{"objects":[{"delivery":{"pageSize":-2147483649}}]}}}}`},
		{integ, `{"latestRevision":{"content":{"read":{"objects":[{"delivery":{"pageSize":-2147483648}}]}}}}`},
		{integ, `{"latestRevision":{"content":{"read":{"objects":[{"delivery":{"pageSize":00}}]}}}}`},
		{integ, `{"latestRevision":{"content":{"read":{"objects":[{"delivery":{"pageSize":-}}]}}}}`},
		// Value and Struct.
		{inst, filt(`null`)},
		{inst, filt(`-0`)},
		{inst, filt(`-0.0e-5`)},
		{inst, filt(`1e308`)},
		{inst, filt(`1e309`)},
		{inst, filt(`4.9e-325`)},
		{inst, filt(`123456789012345678901234567890`)},
		{inst, filt(`""`)},
		{inst, filt(`"\ud800\udc00\udc00"`)},
		{inst, filt(`{}`)},
		{inst, filt(`[]`)},
		{inst, filt(`[null,[],{},true,false,0,"x"]`)},
		{inst, filt(`{"a":1,"a":{"b":2}}`)},
		{inst, filt(`{"a":{"b":1},"a":{"c":2}}`)},
		{inst, filt(`{"a":[1],"a":null}`)},
		{inst, filt(`{"\u0061":1,"a":2}`)},
		{inst, filt(`{"":null}`)},
		{inst, filt(`{"a":nul}`)},
		{inst, filt(`tru`)},
		{inst, filt(`[1,]`)},
		{inst, filt(strings.Repeat("[", 99) + strings.Repeat("]", 99))},
		{inst, filt(strings.Repeat(`{"a":`, 99) + "1" + strings.Repeat("}", 99))},
		{ups, `{"fields":{"o":{"f":{"metadata":{"k":"v","k":{"z":null}}}}}}`},
		{ups, `{"fields":{"o":{"f":{"metadata":null}}}}`},
		{ups, `{"fields":{"o":{"f":{"metadata":{}}}}}`},
		{ups, `{"fields":{"o":{"f":{"metadata":[]}}}}`},
		{ups, `{"success":false,"fields":{}}`},
		{ups, `{"success":null}`},
		// Timestamps.
		{integ, `{"createTime":"2024-01-01T00:00:00.123456789123Z"}`},
		{integ, `{"createTime":"2024-01-01T00:00:00.000000000Z"}`},
		{integ, `{"createTime":"1970-01-01T00:00:00Z"}`},
		{integ, `{"createTime":"1969-12-31T23:59:59.999999999Z"}`},
		{integ, `{"createTime":"0001-01-01T00:00:00Z"}`},
		{integ, `{"createTime":"0001-01-01T00:00:00+00:01"}`},
		{integ, `{"createTime":"9999-12-31T23:59:59.999999999-01:00"}`},
		{integ, `{"createTime":"2024-01-01t00:00:00z"}`},
		{integ, `{"createTime":"2024-01-01T00:00:00,5Z"}`},
		{integ, `{"createTime":"2024-01-01T24:00:00Z"}`},
		{integ, `{"createTime":"2024-02-30T00:00:00Z"}`},
		{integ, `{"createTime":"2024-01-01T00:00:00+23:59"}`},
		{integ, `{"createTime":"2024-01-01T00:00:00\u002b01:00"}`},
		{integ, `{"createTime":""}`},
		{integ, `{"createTime":null}`},
		{integ, `{"createTime":{}}`},
		// Strings.
		{integ, "{\"id\":\"\xff\xfe\xed\xa0\x80\"}"},
		{integ, `{"id":"\ud83d"}`},
		{integ, `{"id":"\ude00\ud83d"}`},
		{integ, `{"id":"\ud83d\u0041"}`},
		{integ, `{"id":"\ud83d\ud83d\ude00"}`},
		{integ, `{"id":"\u00"}`},
		{integ, "{\"id\":\"a\tb\"}"},
		{integ, `{"id":"\x"}`},
		{integ, "{\"\xff\":1,\"id\":\"a\"}"},
		// Tagged oneof.
		{"CustomAuthConnect", `{"redirect":{"url":"u"}}`},
		{"CustomAuthConnect", `{"redirect":{}}`},
		{"CustomAuthConnect", `{"redirect":{"url":"u"},"connection":{"id":"c"}}`},
		{"CustomAuthConnect", `{"redirect":{"url":"u"},"connection":null}`},
		{"CustomAuthConnect", `{"connection":null,"redirect":{"url":"u"}}`},
		{"CustomAuthConnect", `{"redirect":null}`},
		{"CustomAuthConnect", `{}`},
		{"CustomAuthConnect", `{"Redirect":{},"redirect":{}}`},
		// Whitespace, trailing data, response_body forms.
		{integ, " \t\r\n{\"id\":\"x\"} \n"},
		{integ, `{"id":"x"}{}`},
		{integ, `{"id":"x"}]`},
		{integ, "{\"id\":\"x\"}\x00"},
		{integ, "\ufeff{}"},
		{"ListIntegrations", `[]`},
		{"ListIntegrations", `[null]`},
		{"ListIntegrations", `[{},{}]`},
		{"ListIntegrations", ` [ { } ] `},
		{"ListIntegrations", `{}`},
		{"ListIntegrations", `null`},
		{"OauthConnect", `"x"`},
		{"OauthConnect", `""`},
		{"OauthConnect", `5`},
		{"OauthConnect", `null`},
		{"DeleteIntegration", `{}`},
		{"DeleteIntegration", `{"a":[1,{"b":null}]}`},
		{"DeleteIntegration", `null`},
		{"DeleteIntegration", `[]`},
		// Deep.
		{integ, strings.Repeat(`{"latestRevision":`, 3) + "{}" + strings.Repeat("}", 3)},
		{integ, `{"x":` + strings.Repeat("[", 10001) + strings.Repeat("]", 10001) + `}`},
		{integ, `{"x":` + strings.Repeat("[", 9999) + strings.Repeat("]", 9999) + `}`},
	}
}
