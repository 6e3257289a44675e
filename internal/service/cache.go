package service

import (
	"container/list"
	"sync"
	"time"

	"github.com/ampersand-connect/gateway/internal/codec"
)

// cache keeps translated responses for a time, keyed by [callKey] (a hash
// of the credentials and the names: a caller never sees an answer made for
// other credentials), bounded in memory with least-recently-used eviction.
// It also keeps each response encoded, once per codec, so that a hit is a
// map lookup and a copy (see [codec.Message.Share]). A nil *cache holds nothing.
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
	resp    *codec.Message
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
func (c *cache) get(key callKey) *codec.Message {
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
func (c *cache) put(key callKey, resp *codec.Message) {
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
func (c *cache) putIn(scope callKey, generation uint64, key callKey, resp *codec.Message) {
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
	cost := int64(resp.Share()+64) * costFactor
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
