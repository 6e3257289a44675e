// Package cache keeps translated responses for a time, bounded in memory
// with least-recently-used eviction: the service's response cache, with
// scopes that a write drops, and its memo, which keeps the last response of
// each call with the upstream body it was made from.
package cache

import (
	"container/list"
	"crypto/sha256"
	"encoding/binary"
	"sync"
	"sync/atomic"
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

	notes *[noteSlots]atomic.Uint64 // of Seen; nil unless made by NewMemo
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
// it: the message itself and its two encodings. The body its strings share
// ([codec.Message.Retains]) is charged besides.
const costFactor = 4

// New returns a cache that keeps a response for ttl, in at most maxBytes
// of memory (a response is charged four times its encoded size, and the
// upstream body it keeps alive: see costFactor).
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

// NewMemo returns a cache for the memo: [New], with the notes of
// [Cache.Seen].
func NewMemo(ttl time.Duration, maxBytes int64) *Cache {
	c := New(ttl, maxBytes)
	c.notes = new([noteSlots]atomic.Uint64)
	return c
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
	entry := c.lookup(key, func(e *cacheEntry) bool { return e.digest == digest && e.length == length })
	if entry == nil {
		return nil, nil
	}
	return entry.resp, entry.unknown
}

// Seen reports whether key was seen before by Seen, and notes that it is
// seen now. The memo keeps a response only for a call seen before: a call
// that is never repeated, as most are when every call names something else,
// costs a note and no response kept, shared ([codec.Message.Share]) or
// digested.
//
// The notes are a fixed table of [noteSlots] words, written without a lock
// and holding no pointer for the collector to follow: a key's slot holds a
// tag of the key, which another key landing in the same slot replaces. A
// key so forgotten is seen afresh (its next call translates once more);
// two keys with the same slot and tag (a chance of one in 2^63) would make
// a new key seen, which costs only a digest and a memo miss.
func (c *Cache) Seen(key Key) bool {
	if c == nil || c.notes == nil {
		return false
	}
	slot := &c.notes[binary.LittleEndian.Uint64(key[:8])%noteSlots]
	tag := binary.LittleEndian.Uint64(key[8:16]) | 1 // never 0, an empty slot
	if slot.Load() == tag {
		return true
	}
	slot.Store(tag)
	return false
}

// noteSlots is the size of a memo's table of notes: 512 KiB, in which a
// key's note outlives about 45,000 notes of other keys half of the time.
const noteSlots = 1 << 16

func (c *Cache) putEntry(entry *cacheEntry, scoped bool, generation uint64) {
	if c == nil {
		return
	}
	key, resp := entry.key, entry.resp
	// What the cache holds, several calls send.
	cost := int64(resp.Share()+64)*costFactor + int64(resp.Retains)
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
