package chain

import (
	"bytes"
	"sort"
)

// KV is the state an executor reads and writes. Get returns (nil, nil) for a
// missing key.
type KV interface {
	Get(key []byte) ([]byte, error)
	Set(key, value []byte) error
	Delete(key []byte) error
}

// Overlay buffers one transaction's writes over the block's state, so a
// rejected transaction leaves no trace: Flush on success, drop on failure.
type Overlay struct {
	base   KV
	writes map[string][]byte // nil value = delete
}

// NewOverlay starts an empty overlay on base.
func NewOverlay(base KV) *Overlay { return &Overlay{base: base, writes: map[string][]byte{}} }

func (o *Overlay) Get(key []byte) ([]byte, error) {
	if v, ok := o.writes[string(key)]; ok {
		if v == nil {
			return nil, nil
		}
		return bytes.Clone(v), nil
	}
	return o.base.Get(key)
}

func (o *Overlay) Set(key, value []byte) error {
	o.writes[string(key)] = bytes.Clone(value)
	return nil
}

func (o *Overlay) Delete(key []byte) error {
	o.writes[string(key)] = nil
	return nil
}

// Flush writes the buffered changes to the base in key order (the order is
// irrelevant to the state root, but a fixed order keeps every run identical
// down to the store's own logs).
func (o *Overlay) Flush() error {
	keys := make([]string, 0, len(o.writes))
	for k := range o.writes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := o.writes[k]
		var err error
		if v == nil {
			err = o.base.Delete([]byte(k))
		} else {
			err = o.base.Set([]byte(k), v)
		}
		if err != nil {
			return err
		}
	}
	clear(o.writes)
	return nil
}

// Writes lists the buffered changes sorted by key.
func (o *Overlay) Writes() []Write {
	keys := o.Changed()
	out := make([]Write, len(keys))
	for i, k := range keys {
		out[i] = Write{Key: []byte(k), Value: bytes.Clone(o.writes[k])}
	}
	return out
}

// Changed lists the keys written, sorted; used by tests and diagnosis.
func (o *Overlay) Changed() []string {
	keys := make([]string, 0, len(o.writes))
	for k := range o.writes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// prefixKV maps a component's keys under a prefix of the shared state.
type prefixKV struct {
	prefix []byte
	kv     KV
}

func (p prefixKV) key(k []byte) []byte {
	return append(append(make([]byte, 0, len(p.prefix)+len(k)), p.prefix...), k...)
}

func (p prefixKV) Get(k []byte) ([]byte, error) { return p.kv.Get(p.key(k)) }
func (p prefixKV) Set(k, v []byte) error        { return p.kv.Set(p.key(k), v) }
func (p prefixKV) Delete(k []byte) error        { return p.kv.Delete(p.key(k)) }
