package demo

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// store holds the resources of a handler, by collection. A collection's
// path is concrete (/projects/project-456/topics), its kind's is a
// template (/projects/{}/topics/{}).
type store struct {
	cols  map[string]*collection
	count map[*kind]int
	bytes int    // the JSON size of every resource held
	seq   uint64 // how many IDs were made

	maxPerKind, maxBytes int // MaxPerKind and MaxStoredBytes, but for tests
}

// collection holds the resources of one kind under one parent.
type collection struct {
	path  string
	kind  *kind
	items []*resource // in the order they were made
	byID  map[string]*resource
	byAlt map[string]*resource // by alias, for kinds that have one
}

// resource is one stored resource: its JSON, decoded.
type resource struct {
	col  *collection
	kind *kind
	v    map[string]any
	raw  []byte // the sample's own bytes, answered as they are until the resource changes
	size int
}

func (r *resource) id() string    { return str(r.v[r.kind.idProp()]) }
func (r *resource) alias() string { return str(r.v[r.kind.alias]) }

// path is the resource's own path, under which its children's collections are.
func (r *resource) path() string { return r.col.path + "/" + url.PathEscape(r.id()) }

func (s *store) init() {
	s.cols = map[string]*collection{}
	s.count = map[*kind]int{}
	s.maxPerKind, s.maxBytes = MaxPerKind, MaxStoredBytes
}

func (s *store) collection(path string) *collection { return s.cols[path] }

// lookup finds a resource of a collection by ID, or by alias.
func (s *store) lookup(colPath, key string) *resource {
	col := s.cols[colPath]
	if col == nil {
		return nil
	}
	if r := col.byID[key]; r != nil {
		return r
	}
	return col.byAlt[key]
}

// newID makes the next ID: a UUID (version 4 in form) drawn from a counter,
// so that a handler's IDs are the same from run to run.
func (s *store) newID() string {
	s.seq++
	sum := sha256.Sum256([]byte("demo:" + strconv.FormatUint(s.seq, 10)))
	sum[6] = sum[6]&0x0f | 0x40
	sum[8] = sum[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", sum[0:4], sum[4:6], sum[6:8], sum[8:10], sum[10:16])
}

// insert adds v as a new resource of kind k to the collection at colPath.
func (s *store) insert(k *kind, colPath string, v map[string]any) (*resource, *problem) {
	if s.count[k] >= s.maxPerKind {
		return nil, &problem{status: http.StatusTooManyRequests, detail: fmt.Sprintf("the demo holds at most %d %ss: delete some first", s.maxPerKind, k.name)}
	}
	size := sizeOf(v)
	if s.bytes+size > s.maxBytes {
		return nil, s.full()
	}
	col := s.cols[colPath]
	if col == nil {
		col = &collection{path: colPath, kind: k, byID: map[string]*resource{}, byAlt: map[string]*resource{}}
		s.cols[colPath] = col
	}
	r := &resource{col: col, kind: k, v: v, size: size}
	if col.byID[r.id()] != nil {
		return nil, &problem{status: http.StatusConflict, detail: fmt.Sprintf("%s %q already exists", k.name, r.id())}
	}
	if p := col.checkAlias(r, ""); p != nil {
		return nil, p
	}
	col.items = append(col.items, r)
	col.byID[r.id()] = r
	if k.alias != "" {
		col.byAlt[r.alias()] = r
	}
	s.count[k]++
	s.bytes += size
	return r, nil
}

// checkAlias refuses a second resource with the same alias.
func (col *collection) checkAlias(r *resource, old string) *problem {
	if r.kind.alias == "" || r.alias() == old {
		return nil
	}
	if other := col.byAlt[r.alias()]; other != nil && other != r {
		return &problem{status: http.StatusConflict, detail: fmt.Sprintf("a %s named %q already exists", r.kind.name, r.alias()),
			issues: []inputIssue{{in: "body", issue: issue{name: r.kind.alias, detail: "is taken", value: r.alias()}}}}
	}
	return nil
}

// replace gives r a new value.
func (s *store) replace(r *resource, v map[string]any) *problem {
	size := sizeOf(v)
	if s.bytes-r.size+size > s.maxBytes {
		return s.full()
	}
	old := r.alias()
	next := &resource{col: r.col, kind: r.kind, v: v}
	if p := r.col.checkAlias(next, old); p != nil {
		return p
	}
	if r.kind.alias != "" {
		delete(r.col.byAlt, old)
		r.col.byAlt[next.alias()] = r
	}
	s.bytes += size - r.size
	r.v, r.raw, r.size = v, nil, size
	return nil
}

// remove deletes r and every collection under it.
func (s *store) remove(r *resource) {
	col := r.col
	prefix := r.path() + "/"
	for path, child := range s.cols {
		if strings.HasPrefix(path, prefix) {
			for _, c := range child.items {
				s.count[c.kind]--
				s.bytes -= c.size
			}
			delete(s.cols, path)
		}
	}
	for i, item := range col.items {
		if item == r {
			col.items = append(col.items[:i:i], col.items[i+1:]...)
			break
		}
	}
	delete(col.byID, r.id())
	if r.kind.alias != "" {
		delete(col.byAlt, r.alias())
	}
	s.count[r.kind]--
	s.bytes -= r.size
}

// all returns the resources of every collection whose path matches the
// template (with {} for any segment), in the order of their collections'
// paths and then of their making.
func (s *store) all(template string) []*resource {
	want := strings.Split(template, "/")
	var paths []string
	for path := range s.cols {
		got := strings.Split(path, "/")
		if len(got) != len(want) {
			continue
		}
		ok := true
		for i := range want {
			if want[i] != "{}" && want[i] != got[i] {
				ok = false
				break
			}
		}
		if ok {
			paths = append(paths, path)
		}
	}
	slices.Sort(paths)
	var out []*resource
	for _, path := range paths {
		out = append(out, s.cols[path].items...)
	}
	return out
}

func (s *store) full() *problem {
	return &problem{status: http.StatusTooManyRequests, detail: fmt.Sprintf("the demo holds at most %d bytes of resources: delete some first", s.maxBytes)}
}

func sizeOf(v any) int {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // decoded JSON
	}
	return len(b)
}

// str returns v when it is a string, else "".
func str(v any) string {
	s, _ := v.(string)
	return s
}

// resolve finds the resource each path parameter of the call names, for
// the parameters that name a kind's resources; the first one missing is a
// 404 problem.
func (c *call) resolve() *problem {
	c.found = map[string]*resource{}
	path := ""
	var parent *resource
	var parentArg string
	for i, seg := range c.op.segs {
		if seg.param == "" {
			path += "/" + seg.literal
			continue
		}
		value := c.args[seg.param]
		k := c.op.pathKinds[i]
		if k == nil {
			path += "/" + url.PathEscape(value) + seg.literal
			continue
		}
		r := c.h.store.lookup(path, value)
		if r == nil {
			return c.h.notFound(k, seg.param, value, path, parent, parentArg)
		}
		c.found[seg.param] = r
		path = r.path() + seg.literal
		parent, parentArg = r, value
	}
	c.path = path
	return nil
}

// notFound is the 404 of an ID that names nothing: it says what the demo
// holds instead, so that a reader can pick one.
func (h *Handler) notFound(k *kind, param, value, colPath string, parent *resource, parentArg string) *problem {
	var offered []string
	count := 0
	if col := h.store.collection(colPath); col != nil {
		count = len(col.items)
		for _, r := range col.items {
			if len(offered) == 10 {
				break
			}
			switch {
			case k.alias != "" && parent == nil:
				offered = append(offered, fmt.Sprintf("%q (ID %q)", r.alias(), r.id()))
			case k.alias != "":
				offered = append(offered, strconv.Quote(r.alias()))
			default:
				offered = append(offered, strconv.Quote(r.id()))
			}
		}
	}
	if more := count - len(offered); more > 0 {
		offered = append(offered, fmt.Sprintf("%d more", more))
	}
	where := ""
	if parent != nil {
		where = fmt.Sprintf(" in %s %q", parent.kind.name, parentArg)
	}
	var holds string
	switch {
	case count == 0:
		holds = "the demo has none"
	case k.alias != "" && parent == nil:
		noun := k.name
		if count > 1 {
			noun += "s"
		}
		holds = "the demo has only " + noun + " " + listed(offered, "and")
	case k.alias != "":
		holds = "the demo has only " + listed(offered, "and") + " (by name or ID)"
	default:
		holds = "the demo has only " + listed(offered, "and")
	}
	p := &problem{status: http.StatusNotFound, detail: fmt.Sprintf("%s %q not found%s: %s", k.name, value, where, holds),
		issues: []inputIssue{{in: "path", issue: issue{name: param, detail: "names no " + k.name, value: value}}}}
	if parent != nil {
		p.href = "https://docs.withampersand.com/"
	}
	return p
}

// encodeResource writes r as an answer of schema s shows it: the
// sample's own bytes when r is unchanged and s is its kind's schema.
func (c *call) encodeResource(buf *bytes.Buffer, r *resource, s *schema) {
	if r.raw != nil && s.deref() == c.h.api.schemas[r.kind.schema] {
		if err := json.Compact(buf, r.raw); err == nil {
			return
		}
	}
	encode(buf, r.kind.show(c, r), s)
}

// okResource answers with r: the sample's own bytes, whole, when r is
// unchanged and the answer's schema is its kind's.
func (c *call) okResource(r *resource) answer {
	if r.raw != nil && c.op.result.deref() == c.h.api.schemas[r.kind.schema] {
		return c.okJSON(r.raw)
	}
	var buf bytes.Buffer
	encode(&buf, r.kind.show(c, r), c.op.result)
	return c.okJSON(buf.Bytes())
}

// okList answers with resources, in an array.
func (c *call) okList(items []*resource) answer {
	var buf bytes.Buffer
	buf.WriteByte('[')
	for i, r := range items {
		if i > 0 {
			buf.WriteByte(',')
		}
		c.encodeResource(&buf, r, c.op.result.deref().Items)
	}
	buf.WriteByte(']')
	return c.okJSON(buf.Bytes())
}
