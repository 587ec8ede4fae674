package signal

import (
	"encoding/binary"
	"fmt"
)

// formatV1 is the first byte of every value the controller stores. A reader
// that meets another format refuses to guess.
const formatV1 = 1

// Key layout (all under "signal/"; integers big-endian so keys sort
// numerically):
//
//	signal/meta              mode, tron latestVersion, periods, proposal ids
//	signal/set               the period's producer list, in slot order
//	signal/slot/<u32>        one slot: period signal, last signal
//	signal/ver/<u32>         one declared version's lifecycle and tally bits
//	signal/prop/<u64>        one open proposal
//	signal/param/<name>      an approved parameter value
const (
	keyMeta        = "signal/meta"
	keySet         = "signal/set"
	prefixSlot     = "signal/slot/"
	prefixVersion  = "signal/ver/"
	prefixProposal = "signal/prop/"
	prefixParam    = "signal/param/"
)

func appendKey32(dst []byte, prefix string, n uint32) []byte {
	dst = append(dst[:0], prefix...)
	return binary.BigEndian.AppendUint32(dst, n)
}

func appendKey64(dst []byte, prefix string, n uint64) []byte {
	dst = append(dst[:0], prefix...)
	return binary.BigEndian.AppendUint64(dst, n)
}

// enc appends fixed-width big-endian fields; strings and byte slices carry a
// u32 length. The encoding of a value is therefore unique.
type enc []byte

func (e enc) u8(v uint8) enc   { return append(e, v) }
func (e enc) u32(v uint32) enc { return binary.BigEndian.AppendUint32(e, v) }
func (e enc) u64(v uint64) enc { return binary.BigEndian.AppendUint64(e, v) }
func (e enc) i64(v int64) enc  { return e.u64(uint64(v)) }
func (e enc) bytes(b []byte) enc {
	return append(e.u32(uint32(len(b))), b...)
}
func (e enc) str(s string) enc { return append(e.u32(uint32(len(s))), s...) }

// dec reads what enc wrote; the first failure sticks so callers check once.
type dec struct {
	b   []byte
	err error
	key string
}

func newDec(key string, b []byte) *dec {
	d := &dec{b: b, key: key}
	if v := d.u8(); d.err == nil && v != formatV1 {
		d.err = fmt.Errorf("state key %q has format %d; this binary reads format %d: upgrade forkgate", key, v, formatV1)
	}
	return d
}

func (d *dec) need(n int) []byte {
	if d.err != nil {
		return nil
	}
	if len(d.b) < n {
		d.err = fmt.Errorf("state key %q is truncated: the store is corrupt", d.key)
		return nil
	}
	out := d.b[:n]
	d.b = d.b[n:]
	return out
}

func (d *dec) u8() uint8 {
	if b := d.need(1); b != nil {
		return b[0]
	}
	return 0
}

func (d *dec) u32() uint32 {
	if b := d.need(4); b != nil {
		return binary.BigEndian.Uint32(b)
	}
	return 0
}

func (d *dec) u64() uint64 {
	if b := d.need(8); b != nil {
		return binary.BigEndian.Uint64(b)
	}
	return 0
}

func (d *dec) i64() int64 { return int64(d.u64()) }

func (d *dec) bytes() []byte {
	n := d.u32()
	if d.err == nil && uint64(n) > uint64(len(d.b)) {
		d.err = fmt.Errorf("state key %q is truncated: the store is corrupt", d.key)
		return nil
	}
	return append([]byte(nil), d.need(int(n))...)
}

func (d *dec) str() string { return string(d.bytes()) }

// done reports the sticky error, or trailing bytes (a value this format does
// not describe).
func (d *dec) done() error {
	if d.err == nil && len(d.b) != 0 {
		d.err = fmt.Errorf("state key %q has %d unexpected trailing bytes: the store is corrupt or newer", d.key, len(d.b))
	}
	return d.err
}
