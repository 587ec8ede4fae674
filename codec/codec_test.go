package codec

import (
	"errors"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	var w Writer
	w.U8(7)
	w.U32(1 << 30)
	w.U64(1 << 60)
	w.I64(-5)
	w.Bool(true)
	w.Bytes([]byte("abc"))
	w.String("")
	w.Fixed([]byte{9, 9})
	r := NewReader(w.Out())
	if r.U8() != 7 || r.U32() != 1<<30 || r.U64() != 1<<60 || r.I64() != -5 || !r.Bool() ||
		string(r.Bytes()) != "abc" || r.String() != "" {
		t.Fatal("values do not round-trip")
	}
	var f [2]byte
	r.Fixed(f[:])
	if err := r.Done("value"); err != nil || f != [2]byte{9, 9} {
		t.Fatalf("done: %v %v", err, f)
	}
}

// TestBoundsBeforeAllocation: lengths and counts larger than the bytes left
// fail without allocating what they claim.
func TestBoundsBeforeAllocation(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		read func(r *Reader)
		want error
	}{
		{"length beyond MaxField", []byte{0x7f, 0xff, 0xff, 0xff}, func(r *Reader) { r.Bytes() }, ErrTooLong},
		{"length beyond the input", []byte{0, 0, 1, 0, 'a'}, func(r *Reader) { r.Bytes() }, ErrShort},
		{"count above max", []byte{0, 0, 0, 9}, func(r *Reader) { r.Count(8, 0) }, ErrCount},
		{"count beyond the bytes left", []byte{0, 0, 0, 4, 1, 2, 3}, func(r *Reader) { r.Count(100, 2) }, ErrCount},
		{"truncated integer", []byte{1, 2}, func(r *Reader) { r.U32() }, ErrShort},
		{"bad boolean", []byte{2}, func(r *Reader) { r.Bool() }, ErrBadBool},
		{"trailing bytes", []byte{1, 2}, func(r *Reader) { r.U8() }, ErrTrailing},
	}
	for _, tc := range tests {
		r := NewReader(tc.in)
		tc.read(r)
		if err := r.Done("x"); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	allocs := testing.AllocsPerRun(50, func() {
		r := NewReader([]byte{0x00, 0x0f, 0xff, 0xff})
		r.Bytes()
	})
	if allocs > 0 {
		t.Errorf("a claimed length that the input cannot hold allocated %v times", allocs)
	}
	r := NewReader([]byte{1})
	r.Fail(errors.New("first"))
	r.Fail(errors.New("second"))
	if err := r.Err(); err == nil || err.Error() != "first" {
		t.Errorf("Fail: %v, want the first error to stick", err)
	}
}
