package demo

import (
	"encoding/json"
	"fmt"
)

// Sized returns a realistic integration body of at least size bytes (about
// 1.9 KB at the least): the read-accounts sample with one read object, then
// as many more read objects, each with 40 fields of both variants, as it
// takes. For benchmarks and load tests.
func Sized(size int) []byte {
	sample, err := files.ReadFile("integrations/read-accounts.json")
	if err != nil {
		panic(err) // embedded
	}
	var doc map[string]any
	if err := json.Unmarshal(sample, &doc); err != nil {
		panic(err)
	}
	content := doc["latestRevision"].(map[string]any)["content"].(map[string]any)
	read := content["read"].(map[string]any)
	objects := read["objects"].([]any)[:1]
	read["objects"] = objects
	write := content["write"].(map[string]any)
	write["objects"] = write["objects"].([]any)[:1]
	for i := 0; ; i++ {
		body, err := json.Marshal(doc)
		if err != nil {
			panic(err)
		}
		if len(body) >= size {
			return body
		}
		fields := make([]any, 0, 40)
		for j := range 40 {
			if j%4 == 3 {
				fields = append(fields, map[string]any{"mapToName": fmt.Sprintf("mapped_%d", j), "mapToDisplayName": "Mapped field", "default": "Name", "prompt": "Which field should we use?"})
			} else {
				fields = append(fields, map[string]any{"fieldName": fmt.Sprintf("Field_%d__c", j), "mapToName": fmt.Sprintf("field_%d", j), "mapToDisplayName": fmt.Sprintf("Field %d", j)})
			}
		}
		objects = append(objects, map[string]any{
			"objectName": fmt.Sprintf("object_%d", i), "destination": "webhook", "schedule": "*/10 * * * *",
			"requiredFields": fields[:20], "optionalFields": fields[20:], "optionalFieldsAuto": "all",
			"backfill": map[string]any{"defaultPeriod": map[string]any{"days": 30}},
			"delivery": map[string]any{"mode": "auto", "pageSize": 100}, "enabled": "always",
		})
		read["objects"] = objects
	}
}
