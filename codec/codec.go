// Package codec is forkgate's one binary encoding, used by every persisted
// and hashed format: chain state and transactions, the signal controller's
// state, blocks and fixtures.
package codec

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// The encoding is canonical by construction: fixed-width big-endian integers
// and length-prefixed byte strings, fields in a fixed order, no optional
// fields. One value has exactly one encoding, so hashes and signatures over
// encodings are well defined. Every length and count a Reader reads is
// bounded before it sizes an allocation: by MaxField, and by the bytes that
// remain (a count of n elements of at least k bytes needs n*k bytes).

// Writer appends canonical encodings to a buffer.
type Writer struct{ b []byte }

// Reset makes the writer append to buf (reuse buf[:0] to avoid allocating).
func (w *Writer) Reset(buf []byte) { w.b = buf }

func (w *Writer) U8(v uint8)   { w.b = append(w.b, v) }
func (w *Writer) U32(v uint32) { w.b = binary.BigEndian.AppendUint32(w.b, v) }
func (w *Writer) U64(v uint64) { w.b = binary.BigEndian.AppendUint64(w.b, v) }
func (w *Writer) I64(v int64)  { w.U64(uint64(v)) }
func (w *Writer) Bool(v bool) {
	if v {
		w.U8(1)
	} else {
		w.U8(0)
	}
}

// Bytes writes a length-prefixed byte string.
func (w *Writer) Bytes(v []byte) {
	w.U32(uint32(len(v)))
	w.b = append(w.b, v...)
}

func (w *Writer) String(v string) { w.Bytes([]byte(v)) }

// Fixed writes bytes whose length the reader knows.
func (w *Writer) Fixed(v []byte) { w.b = append(w.b, v...) }

// Out returns the encoding.
func (w *Writer) Out() []byte { return w.b }

// ErrShort and friends describe malformed encodings; decoders wrap them with
// the field being read.
var (
	ErrShort    = errors.New("encoding is truncated")
	ErrTrailing = errors.New("trailing bytes after the encoding")
	ErrTooLong  = errors.New("length prefix exceeds the limit")
	ErrBadBool  = errors.New("boolean byte is not 0 or 1")
	ErrCount    = errors.New("element count exceeds the limit or the bytes left")
)

// MaxField bounds any length prefix, so a hostile length cannot make a node
// allocate gigabytes.
const MaxField = 1 << 20

// Reader decodes canonical encodings. The first error sticks; check Err (or
// Done) once at the end instead of after every field.
type Reader struct {
	b   []byte
	err error
}

// NewReader reads b.
func NewReader(b []byte) *Reader { return &Reader{b: b} }

func (r *Reader) take(n int) []byte {
	if r.err != nil {
		return nil
	}
	if len(r.b) < n {
		r.err = ErrShort
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *Reader) U8() uint8 {
	v := r.take(1)
	if v == nil {
		return 0
	}
	return v[0]
}

func (r *Reader) U32() uint32 {
	v := r.take(4)
	if v == nil {
		return 0
	}
	return binary.BigEndian.Uint32(v)
}

func (r *Reader) U64() uint64 {
	v := r.take(8)
	if v == nil {
		return 0
	}
	return binary.BigEndian.Uint64(v)
}

func (r *Reader) I64() int64 { return int64(r.U64()) }

func (r *Reader) Bool() bool {
	switch r.U8() {
	case 0:
		return false
	case 1:
		return true
	}
	if r.err == nil {
		r.err = ErrBadBool
	}
	return false
}

// Bytes reads a length-prefixed byte string (a copy).
func (r *Reader) Bytes() []byte {
	n := r.U32()
	if r.err == nil && (n > MaxField || int(n) > len(r.b)) {
		if n > MaxField {
			r.err = ErrTooLong
		} else {
			r.err = ErrShort
		}
	}
	v := r.take(int(n))
	if v == nil {
		return nil
	}
	return append([]byte(nil), v...)
}

func (r *Reader) String() string { return string(r.Bytes()) }

// Fixed reads n bytes into dst.
func (r *Reader) Fixed(dst []byte) {
	if v := r.take(len(dst)); v != nil {
		copy(dst, v)
	}
}

// Count reads an element count and checks it before the caller allocates:
// at most max, and no more elements of at least minSize bytes each than the
// bytes left can hold. On failure it returns 0 and the error sticks.
func (r *Reader) Count(max uint32, minSize int) int {
	n := r.U32()
	if r.err != nil {
		return 0
	}
	if n > max || (minSize > 0 && uint64(n)*uint64(minSize) > uint64(len(r.b))) {
		r.err = ErrCount
		return 0
	}
	return int(n)
}

// Fail records a decoder's own error (an unknown format byte, a value out of
// range); like every error it sticks, and the first one wins.
func (r *Reader) Fail(err error) {
	if r.err == nil {
		r.err = err
	}
}

// Remaining is the number of bytes not yet read.
func (r *Reader) Remaining() int { return len(r.b) }

// Err is the first decoding error.
func (r *Reader) Err() error { return r.err }

// Done reports the first error, or trailing bytes: a canonical encoding is
// consumed exactly.
func (r *Reader) Done(what string) error {
	if r.err == nil && len(r.b) != 0 {
		r.err = ErrTrailing
	}
	if r.err != nil {
		return fmt.Errorf("decode %s: %w", what, r.err)
	}
	return nil
}
