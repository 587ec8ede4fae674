package signal

import (
	"bytes"
	"sort"
)

// Store is the key-value state the controller commits to. A chain backs it
// with its committed (Merkle) state so the values become part of the state
// hash and are rolled back with blocks.
//
// Get returns (nil, nil) for a missing key. Set and Delete must not retain
// key or value after returning: the controller reuses its buffers.
type Store interface {
	Get(key []byte) ([]byte, error)
	Set(key, value []byte) error
	Delete(key []byte) error
}

// MemStore is an in-memory Store for tests and the simulator. The zero value
// is ready to use.
type MemStore struct {
	m map[string][]byte
}

// NewMemStore returns an empty store.
func NewMemStore() *MemStore { return &MemStore{m: map[string][]byte{}} }

func (s *MemStore) Get(key []byte) ([]byte, error) {
	v, ok := s.m[string(key)]
	if !ok {
		return nil, nil
	}
	return bytes.Clone(v), nil
}

func (s *MemStore) Set(key, value []byte) error {
	if s.m == nil {
		s.m = map[string][]byte{}
	}
	// Overwriting a value of the same length reuses its buffer, which keeps
	// the controller's steady state free of allocations.
	if old, ok := s.m[string(key)]; ok && len(old) == len(value) {
		copy(old, value)
		return nil
	}
	s.m[string(key)] = bytes.Clone(value)
	return nil
}

func (s *MemStore) Delete(key []byte) error {
	delete(s.m, string(key))
	return nil
}

// Entry is one key-value pair of a store dump.
type Entry struct {
	Key, Value []byte
}

// Entries returns every pair sorted by key: a deterministic dump for
// comparing stores byte for byte.
func (s *MemStore) Entries() []Entry {
	keys := make([]string, 0, len(s.m))
	for k := range s.m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]Entry, len(keys))
	for i, k := range keys {
		out[i] = Entry{Key: []byte(k), Value: bytes.Clone(s.m[k])}
	}
	return out
}

// Clone returns an independent copy.
func (s *MemStore) Clone() *MemStore {
	c := NewMemStore()
	for k, v := range s.m {
		c.m[k] = bytes.Clone(v)
	}
	return c
}
