package service

import (
	"container/list"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"weak"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	ampersandv1 "github.com/ampersand-connect/gateway/gen/ampersand/v1"
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
}

type cacheEntry struct {
	key     callKey
	resp    *ampersandv1.GetIntegrationResponse
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
		lru:      list.New(),
	}
}

// get returns the fresh response for key, or nil.
func (c *cache) get(key callKey) *ampersandv1.GetIntegrationResponse {
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
func (c *cache) put(key callKey, resp *ampersandv1.GetIntegrationResponse) {
	c.putEntry(&cacheEntry{key: key, resp: resp})
}

// memoized returns the entry for key if it was made from a body of this
// digest and length, else nil.
func (c *cache) memoized(key callKey, digest uint64, length int) *cacheEntry {
	return c.lookup(key, func(e *cacheEntry) bool { return e.digest == digest && e.length == length })
}

func (c *cache) putEntry(entry *cacheEntry) {
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
	if elem, ok := c.entries[key]; ok {
		c.remove(elem)
	}
	for c.bytes+cost > c.maxBytes && c.lru.Len() > 0 {
		c.remove(c.lru.Back())
	}
	c.entries[key] = c.lru.PushFront(entry)
	c.bytes += cost
}

// remove drops an entry; c.mu is held.
func (c *cache) remove(elem *list.Element) {
	entry := c.lru.Remove(elem).(*cacheEntry)
	delete(c.entries, entry.key)
	c.bytes -= entry.cost
}

// shared holds the encodings of responses that several calls send: those
// in the cache and those of a request shared by coalesced calls. It is keyed
// by weak pointers, so an entry goes when its response is collected.
var shared sync.Map // weak.Pointer[ampersandv1.GetIntegrationResponse] → *encodings

// encodings are a response's encodings, each made once, by the first call
// that sends the response with that codec.
type encodings struct {
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
func shareEncodings(resp *ampersandv1.GetIntegrationResponse) int {
	key := weak.Make(resp)
	if _, ok := shared.Load(key); ok {
		return cachedSize.Size(resp)
	}
	size := proto.Size(resp)
	if _, loaded := shared.LoadOrStore(key, &encodings{}); !loaded {
		runtime.AddCleanup(resp, func(key weak.Pointer[ampersandv1.GetIntegrationResponse]) { shared.Delete(key) }, key)
	}
	return size
}

// cachedSize sizes and encodes a shared response with the sizes that
// [shareEncodings] computed.
var cachedSize = proto.MarshalOptions{UseCachedSize: true}

// EncodedSize is the size of msg's proto encoding: for a response the
// service shares (every response it answers with), the size computed when
// it was shared, without walking the message again.
func EncodedSize(msg proto.Message) int {
	if resp, ok := msg.(*ampersandv1.GetIntegrationResponse); ok {
		if _, shared := shared.Load(weak.Make(resp)); shared {
			return cachedSize.Size(resp)
		}
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
	if resp, ok := msg.(*ampersandv1.GetIntegrationResponse); ok {
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
func (c *cachingCodec) sharedEncoding(resp *ampersandv1.GetIntegrationResponse) ([]byte, error) {
	value, ok := shared.Load(weak.Make(resp))
	if !ok {
		return nil, nil
	}
	entry := value.(*encodings)
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
		b, err = cachedSize.Marshal(resp)
	} else {
		b, err = c.marshal(nil, resp)
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
	if c.binary {
		return proto.Unmarshal(data, m)
	}
	if len(data) == 0 {
		return errors.New("zero-length payload is not a valid JSON object")
	}
	return protojson.UnmarshalOptions{DiscardUnknown: true}.Unmarshal(data, m)
}
