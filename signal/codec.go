package signal

import (
	"encoding/binary"
	"fmt"
	"strconv"

	"github.com/forkgate/forkgate/codec"
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

// value starts encoding a stored value: its format byte first. The writer is
// the controller's own, reused for every value so a block does not allocate.
func (c *Controller) value() *codec.Writer {
	c.w.Reset(c.vbuf[:0])
	c.w.U8(formatV1)
	return &c.w
}

func (c *Controller) put(key []byte, w *codec.Writer) error {
	c.vbuf = w.Out()
	return c.store.Set(key, c.vbuf)
}

// readValue starts decoding the value stored under key, checking its format
// byte; finish with doneValue.
func readValue(b []byte) *codec.Reader {
	r := codec.NewReader(b)
	if f := r.U8(); r.Err() == nil && f != formatV1 {
		r.Fail(fmt.Errorf("format %d, this binary reads format %d (upgrade forkgate)", f, formatV1))
	}
	return r
}

// doneValue reports the first decoding error of the value under key, or
// bytes this format does not describe.
func doneValue(key string, r *codec.Reader) error {
	if err := r.Done("state key " + strconv.Quote(key)); err != nil {
		return fmt.Errorf("%w: the store is corrupt or was written by a newer forkgate", err)
	}
	return nil
}
