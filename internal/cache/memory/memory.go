// Package memory is the in-process cache: an LRU bounded by CACHE_MAX entries
// whose entries expire after their TTL (CACHE_TTL by default).
package memory

import (
	"container/list"
	"context"
	"sync"
	"time"

	"github.com/openwa/openwa/internal/cache"
)

var _ cache.Cache = (*Cache)(nil)

// Cache is safe for concurrent use; mu guards everything.
type Cache struct {
	mu    sync.Mutex
	max   int
	ttl   time.Duration
	ll    *list.List // front: most recently used
	items map[string]*list.Element
	now   func() time.Time
}

type entry struct {
	key     string
	value   []byte
	expires time.Time
}

// New returns a cache of at most max entries with the default ttl.
func New(max int, ttl time.Duration) *Cache {
	return &Cache{max: max, ttl: ttl, ll: list.New(), items: map[string]*list.Element{}, now: time.Now}
}

// Get returns a copy of the value, or cache.ErrMiss.
func (c *Cache) Get(_ context.Context, key string) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[key]
	if !ok {
		return nil, cache.ErrMiss
	}
	e := el.Value.(*entry)
	if !c.now().Before(e.expires) {
		c.remove(el)
		return nil, cache.ErrMiss
	}
	c.ll.MoveToFront(el)
	return append([]byte(nil), e.value...), nil
}

// Set stores a copy of value, evicting the least recently used entry when full.
func (c *Cache) Set(_ context.Context, key string, value []byte, ttl time.Duration) error {
	if ttl <= 0 {
		ttl = c.ttl
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e := &entry{key: key, value: append([]byte(nil), value...), expires: c.now().Add(ttl)}
	if el, ok := c.items[key]; ok {
		el.Value = e
		c.ll.MoveToFront(el)
		return nil
	}
	c.items[key] = c.ll.PushFront(e)
	for c.ll.Len() > c.max {
		c.remove(c.ll.Back())
	}
	return nil
}

// Delete removes key.
func (c *Cache) Delete(_ context.Context, key string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[key]; ok {
		c.remove(el)
	}
	return nil
}

// Ping always succeeds: the cache lives in this process.
func (c *Cache) Ping(context.Context) error { return nil }

// Len is the number of entries, expired ones included until they are touched.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ll.Len()
}

func (c *Cache) remove(el *list.Element) {
	c.ll.Remove(el)
	delete(c.items, el.Value.(*entry).key)
}
