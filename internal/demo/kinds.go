package demo

import (
	"fmt"
	"maps"
	"net/http"
	"strings"
)

// handler serves one operation, with the store locked.
type handler func(c *call) answer

// kind is a sort of resource the demo stores: what the spec cannot say
// about it. The operations on a kind's collection (GET lists, POST
// creates) and on one of them (GET, PATCH, DELETE) are served by the
// generic handlers of this file; the others are actions (actions.go).
type kind struct {
	name   string // for messages, and its references: "project" is projectId
	path   string // the path of one, each parameter as {}: /projects/{}/topics/{}
	schema string // the component it is stored as, and answered as
	id     string // the property that holds its ID; "id" when empty
	alias  string // a property that names it too, unique in its collection

	// defaults are properties a new one has unless its request sets them.
	defaults map[string]any
	// created fills in what a create request does not say, and checks
	// what it refers to.
	created func(c *call, v map[string]any) *problem
	// patched applies one updateMask path that is not a plain copy
	// (installation's connectionId), reporting whether it did.
	patched func(c *call, v map[string]any, path string, value any) (bool, *problem)
	// added runs after a create has stored the resource.
	added func(c *call, r *resource) *problem
	// removed runs before a delete removes the resource.
	removed func(c *call, r *resource)
	// updated runs after an update, before the value is stored.
	updated func(c *call, v map[string]any) *problem
	// view returns what an answer shows of a value (a copy; secrets only
	// when the call asks for them).
	view func(c *call, v map[string]any) map[string]any
	// answer answers a create whose answer is not the resource itself.
	answer func(c *call, r *resource) answer
}

func (k *kind) idProp() string {
	if k.id == "" {
		return "id"
	}
	return k.id
}

// ref is the property other resources name one of this kind by: projectId.
func (k *kind) ref() string {
	words := strings.Fields(k.name)
	for i := 1; i < len(words); i++ {
		words[i] = strings.ToUpper(words[i][:1]) + words[i][1:]
	}
	return strings.Join(words, "") + "Id"
}

// collectionPath is the template of the collection of k's resources.
func (k *kind) collectionPath() string { return strings.TrimSuffix(k.path, "/{}") }

// show returns what an answer shows of r.
func (k *kind) show(c *call, r *resource) map[string]any {
	if k.view == nil {
		return r.v
	}
	return k.view(c, maps.Clone(r.v))
}

// template turns a spec path into a kind's form: /projects/{}/topics/{}.
// With upTo, it stops after that many segments and drops the last
// parameter's suffix.
func template(segs []segment, upTo int) string {
	var b strings.Builder
	for i, seg := range segs[:upTo] {
		b.WriteByte('/')
		if seg.param == "" {
			b.WriteString(seg.literal)
			continue
		}
		b.WriteString("{}")
		if i < upTo-1 {
			b.WriteString(seg.literal)
		}
	}
	return b.String()
}

// bind gives each operation of a its handler: its action, else the
// generic handler its path and method call for. It returns the
// operations it found no handler for.
func bind(a *api, kinds []*kind, actions map[string]handler) (unserved []string) {
	byPath := map[string]*kind{}
	for _, k := range kinds {
		byPath[k.path] = k
	}
	for _, op := range a.ops {
		op.pathKinds = make([]*kind, len(op.segs))
		for i, seg := range op.segs {
			if seg.param != "" {
				op.pathKinds[i] = byPath[template(op.segs, i+1)]
			}
		}
		op.serve = actions[op.id]
		if op.serve == nil {
			op.serve = generic(op, byPath)
		}
		if op.serve == nil {
			unserved = append(unserved, op.id)
			op.serve = notServed
		}
	}
	return unserved
}

// generic returns the handler of a kind's collection or item operation.
func generic(op *operation, byPath map[string]*kind) handler {
	n := len(op.segs)
	last := op.segs[n-1]
	if k := op.pathKinds[n-1]; k != nil && last.literal == "" {
		switch op.method {
		case http.MethodGet:
			return getOne
		case http.MethodPatch:
			return updateOne
		case http.MethodDelete:
			return deleteOne
		}
		return nil
	}
	k := byPath[template(op.segs, n)+"/{}"]
	if last.param != "" || k == nil {
		return nil
	}
	switch op.method {
	case http.MethodGet:
		return func(c *call) answer { return c.okList(c.filter(c.h.store.collection(c.path))) }
	case http.MethodPost:
		return func(c *call) answer { return createOne(c, k, c.path, c.object()) }
	}
	return nil
}

func notServed(c *call) answer {
	return fail(&problem{status: http.StatusNotImplemented, detail: "the demo does not serve " + c.op.id})
}

// filter returns the resources of col that the call's query parameters
// select: a parameter selects on the property of its name, at the top or
// one object down (groupRef is group.groupRef).
func (c *call) filter(col *collection) []*resource {
	if col == nil {
		return nil
	}
	var out []*resource
	for _, r := range col.items {
		keep := true
		for name, want := range c.query {
			if name == "pageSize" || name == "pageToken" {
				continue
			}
			if !selects(r.v, name, fmt.Sprint(want)) {
				keep = false
				break
			}
		}
		if keep {
			out = append(out, r)
		}
	}
	return out
}

func selects(v map[string]any, name, want string) bool {
	if got, ok := v[name]; ok {
		return fmt.Sprint(got) == want
	}
	for _, sub := range v {
		if m, ok := sub.(map[string]any); ok {
			if got, ok := m[name]; ok {
				return fmt.Sprint(got) == want
			}
		}
	}
	return false
}

// target is the resource the call's last path parameter names.
func (c *call) target() *resource {
	for i := len(c.op.segs) - 1; i >= 0; i-- {
		if p := c.op.segs[i].param; p != "" {
			return c.found[p]
		}
	}
	return nil
}

func getOne(c *call) answer { return c.okResource(c.target()) }

func deleteOne(c *call) answer {
	r := c.target()
	if r.kind.removed != nil {
		r.kind.removed(c, r)
	}
	c.h.store.remove(r)
	return c.ok(nil)
}

// createOne makes a resource of kind k in the collection at colPath from
// a request's body: the body's properties, then k's defaults, its ID, its
// parents' IDs and times, what k's created adds, and whatever else its
// schema requires.
func createOne(c *call, k *kind, colPath string, body map[string]any) answer {
	r, p := c.create(k, colPath, body)
	if p != nil {
		return fail(p)
	}
	switch {
	case k.answer != nil:
		return k.answer(c, r)
	case c.op.result == nil:
		return c.ok(nil)
	}
	return c.okResource(r)
}

// create makes and stores a resource of kind k from a body, as createOne
// describes.
func (c *call) create(k *kind, colPath string, body map[string]any) (*resource, *problem) {
	v := clone(body).(map[string]any)
	for name, d := range k.defaults {
		if _, ok := v[name]; !ok {
			v[name] = clone(d)
		}
	}
	s := c.h.api.schemas[k.schema]
	v[k.idProp()] = c.h.store.newID()
	for _, r := range c.found {
		if s.props[r.kind.ref()] != nil {
			v[r.kind.ref()] = r.id()
		}
	}
	for _, name := range []string{"createTime", "updateTime"} {
		if s.props[name] != nil {
			v[name] = c.now
		}
	}
	if k.created != nil {
		if p := k.created(c, v); p != nil {
			return nil, p
		}
	}
	complete(v, s)
	if p := c.fits(v, s); p != nil {
		return nil, p
	}
	r, p := c.h.store.insert(k, colPath, v)
	if p != nil {
		return nil, p
	}
	if k.added != nil {
		if p := k.added(c, r); p != nil {
			return nil, p
		}
	}
	return r, nil
}

// updateOne applies a PATCH: with an updateMask, each path of it is copied
// from the body's resource object (or cleared, when the body has no value
// there and the schema does not require one); without, every property of
// the body is.
func updateOne(c *call) answer {
	r := c.target()
	v, p := c.patch(r)
	if p != nil {
		return fail(p)
	}
	if p := c.h.store.replace(r, v); p != nil {
		return fail(p)
	}
	return c.okResource(r)
}

// patch returns r's value as the call's body changes it.
func (c *call) patch(r *resource) (map[string]any, *problem) {
	k := r.kind
	s := c.h.api.schemas[k.schema]
	body := c.object()
	v := clone(r.v).(map[string]any)
	if c.op.body.property("updateMask") == nil {
		for name, value := range body {
			v[name] = clone(value)
		}
	} else {
		wrapper := ""
		for _, name := range c.op.body.deref().required {
			if name != "updateMask" {
				wrapper = name
			}
		}
		from, _ := body[wrapper].(map[string]any)
		fromSchema := c.op.body.property(wrapper)
		for _, path := range body["updateMask"].([]any) {
			path := path.(string)
			if !reaches(fromSchema, path) {
				return nil, c.invalid([]inputIssue{{in: "body", issue: issue{name: "updateMask", detail: fmt.Sprintf("%q names nothing %s has", path, wrapper), value: path}}})
			}
			value, present := getPath(from, path)
			if k.patched != nil && present {
				done, p := k.patched(c, v, path, value)
				if p != nil {
					return nil, p
				}
				if done {
					continue
				}
			}
			switch {
			case present:
				setPath(v, path, clone(value))
			case requires(s, path):
				return nil, c.invalid([]inputIssue{{in: "body", issue: issue{name: wrapper + "." + path, detail: "is in updateMask but has no value, and a " + k.name + " needs one"}}})
			default:
				deletePath(v, path)
			}
		}
	}
	if s.props["updateTime"] != nil {
		v["updateTime"] = c.now
	}
	if k.updated != nil {
		if p := k.updated(c, v); p != nil {
			return nil, p
		}
	}
	complete(v, s)
	if p := c.fits(v, s); p != nil {
		return nil, p
	}
	return v, nil
}

// fits refuses a resource that a request made invalid against its schema
// (a request schema that allows what the resource's does not), so that
// every answer stays valid.
func (c *call) fits(v map[string]any, s *schema) *problem {
	issues := check(v, s, "")
	if len(issues) == 0 {
		return nil
	}
	in := make([]inputIssue, len(issues))
	for i, is := range issues {
		in[i] = inputIssue{in: "body", issue: is}
	}
	return c.invalid(in)
}

// reaches reports whether a dotted path names something of s.
func reaches(s *schema, path string) bool {
	for _, name := range strings.Split(path, ".") {
		if s = s.property(name); s == nil {
			return false
		}
	}
	return true
}

// requires reports whether s requires the value at a dotted path.
func requires(s *schema, path string) bool {
	names := strings.Split(path, ".")
	for _, name := range names[:len(names)-1] {
		if s = s.property(name); s == nil {
			return false
		}
	}
	return s.isRequired(names[len(names)-1])
}

func getPath(v map[string]any, path string) (any, bool) {
	var cur any = v
	for _, name := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[name]; !ok {
			return nil, false
		}
	}
	return cur, true
}

func setPath(v map[string]any, path string, value any) {
	names := strings.Split(path, ".")
	for _, name := range names[:len(names)-1] {
		next, ok := v[name].(map[string]any)
		if !ok {
			next = map[string]any{}
			v[name] = next
		}
		v = next
	}
	v[names[len(names)-1]] = value
}

func deletePath(v map[string]any, path string) {
	names := strings.Split(path, ".")
	for _, name := range names[:len(names)-1] {
		next, ok := v[name].(map[string]any)
		if !ok {
			return
		}
		v = next
	}
	delete(v, names[len(names)-1])
}
