package cache

import (
	"testing"
	"time"

	ampersandv1 "github.com/ampersand-connect/gateway/gen/ampersand/v1"
	"github.com/ampersand-connect/gateway/internal/codec"
)

func response(name string) *codec.Message {
	return sized(name, 0)
}

// sized is a response whose integration's ID is n bytes long.
func sized(name string, n int) *codec.Message {
	return &codec.Message{Message: &ampersandv1.GetIntegrationResponse{Integration: &ampersandv1.Integration{Name: name, Id: string(make([]byte, n))}}}
}

// credentialKey is the key of a call made with apiKey, as the service
// makes it: the credentials first, then the call's parts.
func credentialKey(apiKey string, parts ...string) Key {
	return NewKey(append([]string{apiKey, ""}, parts...)...)
}

func TestCacheUnit(t *testing.T) {
	t.Parallel()
	now := time.Unix(1000, 0)
	c := New(time.Minute, 10_000)
	c.now = func() time.Time { return now }
	a, b := credentialKey("a", "p", "i"), credentialKey("b", "p", "i")
	if a == b {
		t.Fatal("keys of different credentials are equal")
	}
	if NewKey("ab", "c") == NewKey("a", "bc") {
		t.Fatal("keys of different parts are equal")
	}
	ra := response("a")
	c.Put(a, ra)
	if c.Get(a) != ra || c.Get(b) != nil {
		t.Fatal("get after put")
	}
	now = now.Add(59 * time.Second)
	if c.Get(a) != ra {
		t.Error("expired too early")
	}
	now = now.Add(time.Second)
	if c.Get(a) != nil || len(c.entries) != 0 || c.bytes != 0 {
		t.Error("not expired after the TTL")
	}

	// Eviction: least recently used first, within the byte bound.
	big := func(name string) *codec.Message {
		return sized(name, 600) // ~2.7 KB of cost each
	}
	keys := make([]Key, 5)
	for i := range keys {
		keys[i] = credentialKey("", "p", string(rune('a'+i)))
	}
	for i := range 3 {
		c.Put(keys[i], big("x"))
	}
	c.Get(keys[0]) // keys[1] is now the least recently used
	c.Put(keys[3], big("y"))
	c.Put(keys[4], big("z"))
	if c.Get(keys[1]) != nil || c.Get(keys[0]) == nil || c.Get(keys[4]) == nil {
		t.Error("eviction did not drop the least recently used first")
	}
	if c.bytes > c.maxBytes {
		t.Errorf("%d bytes held, bound %d", c.bytes, c.maxBytes)
	}
	huge := sized("huge", 20_000)
	c.Put(credentialKey("", "p", "huge"), huge)
	if c.Get(credentialKey("", "p", "huge")) != nil {
		t.Error("a response larger than the cache was kept")
	}
	var nilCache *Cache
	nilCache.Put(a, ra)
	nilCache.PutIn(a, nilCache.Generation(), b, ra)
	nilCache.DropScope(a)
	if nilCache.Get(a) != nil || nilCache.Get(b) != nil {
		t.Error("a nil cache holds something")
	}
}

// TestCacheScopes: a write drops its scope's entries and no other's, and an
// answer fetched while a write happened is not kept.
func TestCacheScopes(t *testing.T) {
	t.Parallel()
	c := New(time.Hour, 1<<20)
	p, q := NewKey("project", "p"), NewKey("project", "q")
	kp, kq, stale := NewKey("p", "1"), NewKey("q", "1"), NewKey("p", "2")
	c.PutIn(p, c.Generation(), kp, response("p"))
	c.PutIn(q, c.Generation(), kq, response("q"))
	fetchedAt := c.Generation()
	c.DropScope(p)
	if c.Get(kp) != nil || c.Get(kq) == nil {
		t.Error("DropScope did not drop exactly its scope's entries")
	}
	c.PutIn(p, fetchedAt, stale, response("stale"))
	if c.Get(stale) != nil {
		t.Error("an answer fetched before a write was kept")
	}
}

// TestMemoUnit: the memo matches on the key, the digest and the length, and
// gives back the unknown enum values kept with the response.
func TestMemoUnit(t *testing.T) {
	t.Parallel()
	m := New(time.Hour, 1<<20)
	key := credentialKey("a", "p", "i")
	resp := response("x")
	unknown := []UnknownValue{{Path: "mode", Value: "streaming"}}
	m.PutMemo(key, resp, 42, 7, unknown)
	if got, gotUnknown := m.Memoized(key, 42, 7); got != resp || len(gotUnknown) != 1 || gotUnknown[0] != unknown[0] {
		t.Error("no hit for the same body")
	}
	for _, miss := range []struct {
		key    Key
		digest uint64
		length int
	}{{key, 43, 7}, {key, 42, 8}, {credentialKey("b", "p", "i"), 42, 7}} {
		if got, _ := m.Memoized(miss.key, miss.digest, miss.length); got != nil {
			t.Errorf("hit for %+v", miss)
		}
	}
}

// TestSeen: the first sighting of a key is a note, not a response, and no
// memo hit; the next says the key was seen. Another key in the same slot
// makes the first forgotten, never seen by mistake.
func TestSeen(t *testing.T) {
	t.Parallel()
	m := NewMemo(time.Hour, 1<<20)
	key := credentialKey("a", "p", "i")
	if m.Seen(key) {
		t.Error("a new key was seen before")
	}
	if m.bytes != 0 || len(m.entries) != 0 {
		t.Errorf("a note took %d bytes and %d entries of the memo", m.bytes, len(m.entries))
	}
	if got, _ := m.Memoized(key, 0, 0); got != nil {
		t.Error("a note is a memo hit")
	}
	if !m.Seen(key) {
		t.Error("a key seen once was not seen before")
	}
	other := key
	other[8] ^= 2 // the same slot, another tag
	if m.Seen(other) {
		t.Error("another key in the same slot was seen before")
	}
	if m.Seen(key) {
		t.Error("a key whose note was replaced was still seen")
	}
	if New(time.Hour, 1<<20).Seen(key) || (*Cache)(nil).Seen(key) {
		t.Error("a cache without notes saw a key")
	}
}

// TestCacheChargesTheBodyKeptAlive: a small response whose strings share a
// large upstream body is charged for the body, so the bound holds.
func TestCacheChargesTheBodyKeptAlive(t *testing.T) {
	t.Parallel()
	c := New(time.Hour, 100_000)
	key := credentialKey("a", "p", "i")
	small := response("x")
	small.Retains = 16 << 20
	c.Put(key, small)
	if c.Get(key) != nil {
		t.Error("a response keeping 16 MiB alive was kept in a cache of 100 KB")
	}
	c.Put(key, response("y"))
	if c.Get(key) == nil || c.bytes > 1000 {
		t.Errorf("a small response: kept %v, %d bytes charged", c.Get(key) != nil, c.bytes)
	}
}
