package signal

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
)

// Field is one named part of a decoded state value.
type Field struct{ Name, Value string }

// Description is one of the controller's state keys and its value, for
// people.
type Description struct {
	Key    string
	Fields []Field // nil when the value is absent or does not decode
	Err    error   // why a present value does not decode
}

// DescribeState renders one of the controller's state keys (relative to its
// store, e.g. "signal/slot/\x00\x00\x00\x02") for people and decodes its
// value (nil: absent), field by field, in the order persist.go writes them.
// ok is false for a key that is not the controller's; err says why a present
// value does not decode. Upgrade verification uses it to show a diverging
// key as "signal/slot/2: period signal 1 → 2".
func DescribeState(key, value []byte) (Description, bool) {
	s := string(key)
	var name string
	switch {
	case s == keyMeta:
		name = s
	case s == keySet:
		name = s
	case strings.HasPrefix(s, prefixSlot) && len(key) == len(prefixSlot)+4:
		name = prefixSlot + strconv.FormatUint(uint64(binary.BigEndian.Uint32(key[len(prefixSlot):])), 10)
	case strings.HasPrefix(s, prefixVersion) && len(key) == len(prefixVersion)+4:
		name = prefixVersion + strconv.FormatUint(uint64(binary.BigEndian.Uint32(key[len(prefixVersion):])), 10)
	case strings.HasPrefix(s, prefixProposal) && len(key) == len(prefixProposal)+8:
		name = prefixProposal + strconv.FormatUint(binary.BigEndian.Uint64(key[len(prefixProposal):]), 10)
	case strings.HasPrefix(s, prefixParam):
		name = s
	default:
		return Description{}, false
	}
	if value == nil {
		return Description{Key: name}, true
	}
	var fields []Field
	r := readValue(value)
	u := func(v uint64) string { return strconv.FormatUint(v, 10) }
	i := func(v int64) string { return strconv.FormatInt(v, 10) }
	switch {
	case s == keyMeta:
		mode := Mode(r.U8())
		fields = []Field{{"mode", mode.String()}, {"latest version", u(uint64(r.U32()))}, {"periods", u(r.U64())},
			{"first open proposal", u(r.U64())}, {"next proposal id", u(r.U64())}}
	case s == keySet:
		n := r.Count(MaxProducers, 4)
		set := make([]string, 0, n)
		for j := 0; j < n && r.Err() == nil; j++ {
			set = append(set, r.String())
		}
		fields = []Field{{"set", "[" + strings.Join(set, " ") + "]"}}
	case strings.HasPrefix(s, prefixSlot):
		fields = []Field{{"period signal", u(uint64(r.U32()))}, {"last signal", u(uint64(r.U32()))}}
	case strings.HasPrefix(s, prefixVersion):
		fields = []Field{{"state", State(r.U8()).String()}, {"since", i(r.I64())}, {"grace left", u(uint64(r.U32()))},
			{"locked at", i(r.I64())}, {"active time", i(r.I64())}, {"carried by", u(uint64(r.U32()))}}
		tally := "none"
		if r.Bool() {
			bits := r.Bytes()
			ones := 0
			for _, b := range bits {
				ones += int(b & 1)
			}
			tally = fmt.Sprintf("%d of %d", ones, len(bits))
		}
		fields = append(fields, Field{"tally", tally})
	case strings.HasPrefix(s, prefixProposal):
		fields = []Field{{"proposer", r.String()}, {"param", r.String()}, {"value", i(r.I64())}, {"height", i(r.I64())}}
		approvals := r.Bytes()
		n := 0
		for _, b := range approvals {
			n += int(b & 1)
		}
		fields = append(fields, Field{"approvals", fmt.Sprintf("%d of %d", n, len(approvals))})
	case strings.HasPrefix(s, prefixParam):
		fields = []Field{{"value", i(r.I64())}}
	}
	if err := doneValue(name, r); err != nil {
		return Description{Key: name, Err: err}, true
	}
	return Description{Key: name, Fields: fields}, true
}
