package apigen

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Lock is the committed record of every field and enum value number the
// generator has given, and of the file each message and enum lives in. The
// generator only adds to it: a field keeps its number for as long as the
// lock lives, a field the spec drops becomes reserved (its number and name),
// and a new field gets the number after the highest its message has used.
type Lock struct {
	Messages map[string]*LockedMessage `json:"messages"`
	Enums    map[string]*LockedEnum    `json:"enums"`
}

// LockedMessage is a message's file and field numbers.
type LockedMessage struct {
	File   string         `json:"file"`
	Fields map[string]int `json:"fields"`
}

// LockedEnum is an enum's file and value numbers.
type LockedEnum struct {
	File   string         `json:"file"`
	Values map[string]int `json:"values"`
}

// ReadLock decodes a lock; empty data is an empty lock.
func ReadLock(data []byte) (*Lock, error) {
	l := &Lock{}
	if len(bytes.TrimSpace(data)) > 0 {
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(l); err != nil {
			return nil, fmt.Errorf("read lock: %w", err)
		}
	}
	if l.Messages == nil {
		l.Messages = map[string]*LockedMessage{}
	}
	if l.Enums == nil {
		l.Enums = map[string]*LockedEnum{}
	}
	return l, nil
}

// Marshal encodes the lock with sorted keys, one entry a line.
func (l *Lock) Marshal() []byte {
	data, err := json.MarshalIndent(l, "", "  ")
	if err != nil {
		panic(err) // maps of strings and ints always marshal
	}
	return append(data, '\n')
}

// The field numbers protobuf reserves for itself.
const (
	firstReserved = 19000
	lastReserved  = 19999
)

// number gives every field and enum value its number from the lock, or the
// next free one, and lists what the lock has that the spec dropped.
func number(api *API, lock *Lock) error {
	for _, m := range api.Messages {
		locked := lock.Messages[m.Name]
		if locked == nil {
			locked = &LockedMessage{Fields: map[string]int{}}
			lock.Messages[m.Name] = locked
		}
		next := 1
		for _, n := range locked.Fields {
			next = max(next, n+1)
		}
		present := map[string]bool{}
		for _, f := range m.Fields {
			present[f.Name] = true
			if n, ok := locked.Fields[f.Name]; ok {
				f.Number = n
				continue
			}
			if next >= firstReserved && next <= lastReserved {
				next = lastReserved + 1
			}
			f.Number = next
			locked.Fields[f.Name] = next
			next++
		}
		for _, name := range sortedKeys(locked.Fields) {
			if !present[name] {
				m.Reserved = append(m.Reserved, Reserved{Number: locked.Fields[name], Name: name})
			}
		}
		sort.Slice(m.Reserved, func(i, j int) bool { return m.Reserved[i].Number < m.Reserved[j].Number })
		slices.SortStableFunc(m.Fields, func(a, b *Field) int { return a.Number - b.Number })
	}
	for _, e := range api.Enums {
		locked := lock.Enums[e.Name]
		if locked == nil {
			locked = &LockedEnum{Values: map[string]int{}}
			lock.Enums[e.Name] = locked
		}
		next := 1
		for _, n := range locked.Values {
			next = max(next, n+1)
		}
		present := map[string]bool{}
		for i, v := range e.Values {
			present[v.Name] = true
			if i == 0 {
				continue // _UNSPECIFIED is 0
			}
			if n, ok := locked.Values[v.Name]; ok {
				v.Number = n
				continue
			}
			v.Number = next
			locked.Values[v.Name] = next
			next++
		}
		for _, name := range sortedKeys(locked.Values) {
			if !present[name] {
				e.Reserved = append(e.Reserved, Reserved{Number: locked.Values[name], Name: name})
			}
		}
		sort.Slice(e.Reserved, func(i, j int) bool { return e.Reserved[i].Number < e.Reserved[j].Number })
		slices.SortStableFunc(e.Values, func(a, b *EnumValue) int { return a.Number - b.Number })
	}
	return nil
}

// Dir is the folder of the proto package's files.
const Dir = "ampersand/v1/"

// placeFiles gives every type its file: the lock's, or the one it was first
// reached from; then checks that no two files import each other, directly
// or not.
func placeFiles(api *API, lock *Lock) error {
	for _, s := range api.Services {
		s.File = Dir + s.File + ".proto"
	}
	for _, m := range api.Messages {
		m.File = Dir + m.File + ".proto"
		if l := lock.Messages[m.Name]; l.File != "" {
			m.File = l.File
		}
		lock.Messages[m.Name].File = m.File
	}
	for _, e := range api.Enums {
		e.File = Dir + e.File + ".proto"
		if l := lock.Enums[e.Name]; l.File != "" {
			e.File = l.File
		}
		lock.Enums[e.Name].File = e.File
	}
	return checkImportCycles(api)
}

func checkImportCycles(api *API) error {
	imports := Imports(api)
	state := map[string]int{} // 1: visiting, 2: done
	var visit func(file string, path []string) error
	visit = func(file string, path []string) error {
		switch state[file] {
		case 1:
			return fmt.Errorf("files import each other: %s: move a type with the lock's file", strings.Join(append(path, file), " → "))
		case 2:
			return nil
		}
		state[file] = 1
		for _, imp := range imports[file] {
			if err := visit(imp, append(path, file)); err != nil {
				return err
			}
		}
		state[file] = 2
		return nil
	}
	for _, file := range sortedKeys(imports) {
		if err := visit(file, nil); err != nil {
			return err
		}
	}
	return nil
}
