package apigen

import (
	"fmt"

	"gopkg.in/yaml.v3"
)

// Overrides are what the generator cannot derive from the spec. Every key
// must name something in the spec; the generator refuses one left over.
type Overrides struct {
	// Names renames messages and enums: the key is the name the generator
	// derives (a component schema's name, or for an inline schema its
	// owner's name and the property's, "IntegrationObjectEnabled"). Several
	// keys may give one name to schemas that are the same.
	Names map[string]string `yaml:"names"`
	// Fields renames fields: "Message.derived_name" → name. The JSON name
	// stays the REST name.
	Fields map[string]string `yaml:"fields"`
	// Oneofs renames oneofs: "Message.derived_name" → name.
	Oneofs map[string]string `yaml:"oneofs"`
}

// ReadOverrides decodes overrides, refusing unknown keys.
func ReadOverrides(data []byte) (*Overrides, error) {
	ov := &Overrides{}
	if len(data) == 0 {
		return ov, nil
	}
	dec := yaml.NewDecoder(bytesReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(ov); err != nil {
		return nil, fmt.Errorf("read overrides: %w", err)
	}
	return ov, nil
}
