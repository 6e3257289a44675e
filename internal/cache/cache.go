// Package cache keeps translated responses for a time, bounded in memory
// with least-recently-used eviction: the service's response cache, with
// scopes that a write drops, and its memo, which keeps the last response of
// each call with the upstream body it was made from.
package cache

import (
	"container/list"
	"crypto/sha256"
	"sync"
	"time"

	"github.com/ampersand-connect/gateway/internal/codec"
)

// Key identifies an entry. It is a hash of the parts it was made from, so
// that no credential among them is kept in the clear as a map key.
type Key [sha256.Size]byte

// NewKey returns the key of parts: the same parts, in the same order, make
// the same key; any other parts, another.
func NewKey(parts ...string) Key {
	h := sha256.New()
	for _, part := range parts {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	var k Key
	h.Sum(k[:0])
	return k
}

// Cache keeps responses for a time, by [Key], bounded in memory with
// least-recently-used eviction. Each response it keeps is shared
// ([codec.Message.Share]), so that it is encoded once per codec and a hit
// is a map lookup and a copy. A nil *Cache holds nothing. It is safe for
// concurrent use.
type Cache struct {
	ttl      time.Duration
	maxBytes int64
	now      func() time.Time

	mu      sync.Mutex
	entries map[Key]*list.Element // of *cacheEntry
	lru     *list.List            // front: most recently used
	bytes   int64
	// scopes are the keys of each scope's entries (a caller's project),
	// for writes to drop them; writes counts the writes, so that an answer
	// fetched while one happened is not kept.
	scopes map[Key]map[Key]struct{}
	writes uint64
}

type cacheEntry struct {
	key     Key
	scope   Key
	resp    *codec.Message
	expires time.Time
	cost    int64
	// For the memo: the body the response was made from, and the unknown
	// enum values met on the way.
	digest  uint64
	length  int
	unknown []UnknownValue
}

// UnknownValue is an enum value the schema does not know, and the path of
// the field where it was.
type UnknownValue struct{ Path, Value string }

// costFactor turns a response's encoded size into the memory charged for
// it: the message itself and its two encodings.
const costFactor = 4

// New returns a cache that keeps a response for ttl, in at most maxBytes
// of memory (a response is charged four times its proto encoding's size).
func New(ttl time.Duration, maxBytes int64) *Cache {
	return &Cache{
		ttl:      ttl,
		maxBytes: maxBytes,
		now:      time.Now,
		entries:  map[Key]*list.Element{},
		scopes:   map[Key]map[Key]struct{}{},
		lru:      list.New(),
	}
}

// Get returns the fresh response for key, or nil.
func (c *Cache) Get(key Key) *codec.Message {
	if entry := c.lookup(key, nil); entry != nil {
		return entry.resp
	}
	return nil
}

// lookup returns the fresh entry for key that match accepts (any, when
// match is nil), marking it used; an expired entry is dropped.
func (c *Cache) lookup(key Key, match func(*cacheEntry) bool) *cacheEntry {
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

// Put keeps resp for key until the TTL passes or room is needed. A response
// larger than the whole cache is not kept.
func (c *Cache) Put(key Key, resp *codec.Message) {
	c.putEntry(&cacheEntry{key: key, resp: resp}, false, 0)
}

// Generation returns the count of writes so far, to pass to [Cache.PutIn].
func (c *Cache) Generation() uint64 {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.writes
}

// PutIn is [Cache.Put] for an answer of scope (a caller's project) fetched
// since generation: it is not kept if a write happened meanwhile, since it
// may not show it.
func (c *Cache) PutIn(scope Key, generation uint64, key Key, resp *codec.Message) {
	c.putEntry(&cacheEntry{key: key, scope: scope, resp: resp}, true, generation)
}

// DropScope drops the entries of scope: a write of the caller's to that
// project happened.
func (c *Cache) DropScope(scope Key) {
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

// PutMemo keeps resp for key as [Cache.Put] does, with what it was made
// from: a body of this digest and length, in which the unknown enum values
// were met.
func (c *Cache) PutMemo(key Key, resp *codec.Message, digest uint64, length int, unknown []UnknownValue) {
	c.putEntry(&cacheEntry{key: key, resp: resp, digest: digest, length: length, unknown: unknown}, false, 0)
}

// Memoized returns the response for key, and the unknown enum values met
// when it was made, if [Cache.PutMemo] kept it for a body of this digest
// and length; else nil.
func (c *Cache) Memoized(key Key, digest uint64, length int) (*codec.Message, []UnknownValue) {
	entry := c.lookup(key, func(e *cacheEntry) bool { return e.resp != nil && e.digest == digest && e.length == length })
	if entry == nil {
		return nil, nil
	}
	return entry.resp, entry.unknown
}

// Seen reports whether key was seen before: kept by [Cache.PutMemo], or
// seen by an earlier call of Seen, and still fresh. If not, it keeps a
// note of key, small beside a response, so that the next call says yes.
//
// The memo keeps a response only for a call seen before: a call that is
// never repeated, as most are when every call names something else, costs
// a note and not a response kept and shared ([codec.Message.Share]).
func (c *Cache) Seen(key Key) bool {
	if c == nil {
		return false
	}
	if c.lookup(key, nil) != nil {
		return true
	}
	c.putEntry(&cacheEntry{key: key}, false, 0)
	return false
}

// noteCost is the memory charged for a note of [Cache.Seen]: the entry,
// its list element and its map slot.
const noteCost = 256

func (c *Cache) putEntry(entry *cacheEntry, scoped bool, generation uint64) {
	if c == nil {
		return
	}
	key, resp := entry.key, entry.resp
	cost := int64(noteCost)
	if resp != nil {
		// What the cache holds, several calls send.
		cost = int64(resp.Share()+64) * costFactor
	}
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
			keys = map[Key]struct{}{}
			c.scopes[entry.scope] = keys
		}
		keys[key] = struct{}{}
	}
}

// remove drops an entry; c.mu is held.
func (c *Cache) remove(elem *list.Element) {
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
