package service

import (
	"container/list"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// cache keeps translated responses for a time, keyed by [callKey] (a hash
// of the credentials and the names: a caller never sees an answer made for
// other credentials), bounded in memory with least-recently-used eviction.
// It also keeps each response encoded, once per codec, so that a hit is a
// map lookup and a copy (see [cachingCodec]). A nil *cache holds nothing.
type cache struct {
	ttl      time.Duration
	maxBytes int64
	now      func() time.Time

	mu      sync.Mutex
	entries map[callKey]*list.Element // of *cacheEntry
	lru     *list.List                // front: most recently used
	bytes   int64
	// scopes are the keys of each scope's entries (a caller's project),
	// for writes to drop them; writes counts the writes, so that an answer
	// fetched while one happened is not kept.
	scopes map[callKey]map[callKey]struct{}
	writes uint64
}

type cacheEntry struct {
	key     callKey
	scope   callKey
	resp    *message
	expires time.Time
	cost    int64
	// For the memo: the body the response was made from, and the unknown
	// enum values met on the way.
	digest  uint64
	length  int
	unknown []unknownValue
}

// unknownValue is an enum value the schema does not know, where it was.
type unknownValue struct{ path, value string }

// costFactor turns a response's encoded size into the memory charged for
// it: the message itself and its two encodings.
const costFactor = 4

func newCache(ttl time.Duration, maxBytes int64) *cache {
	return &cache{
		ttl:      ttl,
		maxBytes: maxBytes,
		now:      time.Now,
		entries:  map[callKey]*list.Element{},
		scopes:   map[callKey]map[callKey]struct{}{},
		lru:      list.New(),
	}
}

// get returns the fresh response for key, or nil.
func (c *cache) get(key callKey) *message {
	if entry := c.lookup(key, nil); entry != nil {
		return entry.resp
	}
	return nil
}

// lookup returns the fresh entry for key that match accepts (any, when
// match is nil), marking it used; an expired entry is dropped.
func (c *cache) lookup(key callKey, match func(*cacheEntry) bool) *cacheEntry {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	elem, ok := c.entries[key]
	if !ok {
		return nil
	}
	entry := elem.Value.(*cacheEntry)
	if !c.now().Before(entry.expires) {
		c.remove(elem)
		return nil
	}
	if match != nil && !match(entry) {
		return nil
	}
	c.lru.MoveToFront(elem)
	return entry
}

// put keeps resp for key until the TTL passes or room is needed. A response
// larger than the whole cache is not kept.
func (c *cache) put(key callKey, resp *message) {
	c.putEntry(&cacheEntry{key: key, resp: resp}, false, 0)
}

// generation returns the count of writes so far, to pass to putIn.
func (c *cache) generation() uint64 {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.writes
}

// putIn is put for an answer of scope (a caller's project) fetched since
// generation: it is not kept if a write happened meanwhile, since it may
// not show it.
func (c *cache) putIn(scope callKey, generation uint64, key callKey, resp *message) {
	c.putEntry(&cacheEntry{key: key, scope: scope, resp: resp}, true, generation)
}

// dropScope drops the entries of scope: a write of the caller's to that
// project happened.
func (c *cache) dropScope(scope callKey) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.writes++
	for key := range c.scopes[scope] {
		if elem, ok := c.entries[key]; ok {
			c.remove(elem)
		}
	}
}

// memoized returns the entry for key if it was made from a body of this
// digest and length, else nil.
func (c *cache) memoized(key callKey, digest uint64, length int) *cacheEntry {
	return c.lookup(key, func(e *cacheEntry) bool { return e.digest == digest && e.length == length })
}

func (c *cache) putEntry(entry *cacheEntry, scoped bool, generation uint64) {
	if c == nil {
		return
	}
	key, resp := entry.key, entry.resp
	// What the cache holds, several calls send.
	cost := int64(shareEncodings(resp)+64) * costFactor
	if cost > c.maxBytes {
		return
	}
	entry.expires, entry.cost = c.now().Add(c.ttl), cost
	c.mu.Lock()
	defer c.mu.Unlock()
	if scoped && generation != c.writes {
		return
	}
	if elem, ok := c.entries[key]; ok {
		c.remove(elem)
	}
	for c.bytes+cost > c.maxBytes && c.lru.Len() > 0 {
		c.remove(c.lru.Back())
	}
	c.entries[key] = c.lru.PushFront(entry)
	c.bytes += cost
	if scoped {
		keys := c.scopes[entry.scope]
		if keys == nil {
			keys = map[callKey]struct{}{}
			c.scopes[entry.scope] = keys
		}
		keys[key] = struct{}{}
	}
}

// remove drops an entry; c.mu is held.
func (c *cache) remove(elem *list.Element) {
	entry := c.lru.Remove(elem).(*cacheEntry)
	delete(c.entries, entry.key)
	c.bytes -= entry.cost
	if keys := c.scopes[entry.scope]; keys != nil {
		delete(keys, entry.key)
		if len(keys) == 0 {
			delete(c.scopes, entry.scope)
		}
	}
}

// encodings are a response's encodings, each made once, by the first call
// that sends the response with that codec.
type encodings struct {
	size   int // the proto encoding's size, computed when it was shared
	binary atomic.Pointer[[]byte]
	json   atomic.Pointer[[]byte]
}

// shareEncodings marks resp as sent by several calls: [cachingCodec]
// encodes it once per codec and copies the bytes for every call. It returns
// resp's encoded size.
//
// A response is sized before it is marked, so that its proto encoding
// reuses the sizes of its messages (proto.MarshalOptions.UseCachedSize)
// instead of walking the whole tree once more: a shared response, like
// every response the service makes, is never changed.
func shareEncodings(resp *message) int {
	if enc := resp.shared.Load(); enc != nil {
		return enc.size
	}
	enc := &encodings{size: proto.Size(resp.Message)}
	if !resp.shared.CompareAndSwap(nil, enc) {
		return resp.shared.Load().size
	}
	return enc.size
}

// cachedSize sizes and encodes a shared response with the sizes that
// [shareEncodings] computed.
var cachedSize = proto.MarshalOptions{UseCachedSize: true}

// EncodedSize is the size of msg's proto encoding: for a response the
// service shares, the size computed when it was shared, without walking the
// message again.
func EncodedSize(msg proto.Message) int {
	if m, ok := msg.(*message); ok {
		if enc := m.shared.Load(); enc != nil {
			return enc.size
		}
		return proto.Size(m.Message)
	}
	return proto.Size(msg)
}

// cachingCodec is Connect's proto or proto-JSON codec, except that a
// response marked by [shareEncodings] is encoded once and then copied.
type cachingCodec struct {
	name   string
	binary bool
}

var _ connect.Codec = (*cachingCodec)(nil)

func (c *cachingCodec) Name() string { return c.name }

func (c *cachingCodec) IsBinary() bool { return c.binary }

func (c *cachingCodec) Marshal(msg any) ([]byte, error) {
	return c.MarshalAppend(nil, msg)
}

// MarshalAppend appends msg's encoding to dst. connect-go prefers it to
// Marshal, with a pooled dst.
func (c *cachingCodec) MarshalAppend(dst []byte, msg any) ([]byte, error) {
	m, ok := msg.(proto.Message)
	if !ok {
		return nil, errors.New("not a proto message")
	}
	if resp, ok := msg.(*message); ok {
		m = resp.Message
		encoded, err := c.sharedEncoding(resp)
		if err != nil {
			return nil, err
		}
		if encoded != nil {
			return append(dst, encoded...), nil
		}
	}
	return c.marshal(dst, m)
}

// sharedEncoding returns resp's encoding if [shareEncodings] marked it,
// made on the first call; nil if it is not marked. The bytes are shared:
// they must not be changed.
func (c *cachingCodec) sharedEncoding(resp *message) ([]byte, error) {
	entry := resp.shared.Load()
	if entry == nil {
		return nil, nil
	}
	slot := &entry.json
	if c.binary {
		slot = &entry.binary
	}
	if encoded := slot.Load(); encoded != nil {
		return *encoded, nil
	}
	var b []byte
	var err error
	if c.binary {
		b, err = cachedSize.Marshal(resp.Message)
	} else {
		b, err = c.marshal(nil, resp.Message)
	}
	if err != nil {
		return nil, err
	}
	if b == nil {
		b = []byte{} // an empty message: still marked
	}
	slot.Store(&b)
	return b, nil
}

func (c *cachingCodec) marshal(dst []byte, m proto.Message) ([]byte, error) {
	if c.binary {
		return proto.MarshalOptions{}.MarshalAppend(dst, m)
	}
	return appendJSON(dst, m)
}

// Unmarshal decodes as Connect's own codecs do; unknown JSON fields are
// discarded, so that clients may be newer than the server.
func (c *cachingCodec) Unmarshal(data []byte, msg any) error {
	m, ok := msg.(proto.Message)
	if !ok {
		return errors.New("not a proto message")
	}
	if w, ok := m.(*message); ok {
		m = w.Message
	}
	if c.binary {
		return proto.Unmarshal(data, m)
	}
	if len(data) == 0 {
		return errors.New("zero-length payload is not a valid JSON object")
	}
	return protojson.UnmarshalOptions{DiscardUnknown: true}.Unmarshal(data, m)
}
