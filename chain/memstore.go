package chain

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
)

// MemStore is an in-memory Store for tests and quick experiments. Its root is
// a hash over the whole sorted state, recomputed every block (O(state)): use
// package state for anything long-running.
type MemStore struct {
	committed map[string][]byte
	working   map[string][]byte // nil value = delete
	height    int64
	root      []byte
	prepared  int64
	preRoot   []byte
}

// NewMemStore returns an empty store at height 0.
func NewMemStore() *MemStore {
	return &MemStore{committed: map[string][]byte{}, working: map[string][]byte{}}
}

func (m *MemStore) Get(key []byte) ([]byte, error) {
	if v, ok := m.working[string(key)]; ok {
		return bytes.Clone(v), nil
	}
	return bytes.Clone(m.committed[string(key)]), nil
}

func (m *MemStore) Set(key, value []byte) error {
	if len(value) == 0 {
		return fmt.Errorf("memstore: empty value for %q; use Delete", key)
	}
	m.working[string(key)] = bytes.Clone(value)
	m.prepared = 0
	return nil
}

func (m *MemStore) Delete(key []byte) error {
	m.working[string(key)] = nil
	m.prepared = 0
	return nil
}

func (m *MemStore) Height() int64 { return m.height }
func (m *MemStore) Root() []byte  { return bytes.Clone(m.root) }

func (m *MemStore) merged() map[string][]byte {
	out := make(map[string][]byte, len(m.committed)+len(m.working))
	for k, v := range m.committed {
		out[k] = v
	}
	for k, v := range m.working {
		if v == nil {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	return out
}

func hashState(kv map[string][]byte) []byte {
	keys := make([]string, 0, len(kv))
	for k := range kv {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := sha256.New()
	var n [4]byte
	for _, k := range keys {
		binary.BigEndian.PutUint32(n[:], uint32(len(k)))
		h.Write(n[:])
		h.Write([]byte(k))
		binary.BigEndian.PutUint32(n[:], uint32(len(kv[k])))
		h.Write(n[:])
		h.Write(kv[k])
	}
	return h.Sum(nil)
}

func (m *MemStore) Prepare(height int64) ([]byte, error) {
	if height != m.height+1 {
		return nil, fmt.Errorf("memstore: prepare %d at height %d", height, m.height)
	}
	m.prepared, m.preRoot = height, hashState(m.merged())
	return bytes.Clone(m.preRoot), nil
}

func (m *MemStore) Commit(height int64) error {
	if m.prepared != height {
		return errors.New("memstore: commit without a matching Prepare")
	}
	m.committed = m.merged()
	clear(m.working)
	m.height, m.root, m.prepared = height, m.preRoot, 0
	return nil
}

func (m *MemStore) Discard() {
	clear(m.working)
	m.prepared = 0
}
