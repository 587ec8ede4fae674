package verify

import (
	"bytes"
	"fmt"
	"strings"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/crypto/merkle"
	"github.com/forkgate/forkgate/codec"
)

// Receipt is a transaction's result as CometBFT keeps it, without the
// fields it calls non-deterministic (log, info). Code, Data, GasWanted and
// GasUsed are hashed into the next block's header (LastResultsHash), so a
// build that returns other values splits the chain even when the state is
// the same; codespace and events are what clients and indexers read.
type Receipt struct {
	Code      uint32
	Data      []byte
	GasWanted int64
	GasUsed   int64
	Codespace string
	Events    []abci.Event
}

// ReceiptOf keeps the deterministic fields of an ABCI result.
func ReceiptOf(r *abci.ExecTxResult) Receipt {
	rc := Receipt{Code: r.Code, Data: r.Data, GasWanted: r.GasWanted, GasUsed: r.GasUsed, Codespace: r.Codespace, Events: r.Events}
	if len(rc.Data) == 0 {
		rc.Data = nil
	}
	if len(rc.Events) == 0 {
		rc.Events = nil
	}
	return rc
}

// ReceiptsOf is ReceiptOf for a block's results.
func ReceiptsOf(rs []*abci.ExecTxResult) []Receipt {
	out := make([]Receipt, len(rs))
	for i, r := range rs {
		out[i] = ReceiptOf(r)
	}
	return out
}

// ResultsHash is what CometBFT v0.38 puts in the next header as
// LastResultsHash for a block with these results: the Merkle root of the
// protobuf encodings of (code, data, gas wanted, gas used).
func ResultsHash(rs []Receipt) []byte {
	abciRs := make([]*abci.ExecTxResult, len(rs))
	for i, r := range rs {
		abciRs[i] = &abci.ExecTxResult{Code: r.Code, Data: r.Data, GasWanted: r.GasWanted, GasUsed: r.GasUsed}
	}
	bz, err := abci.MarshalTxResults(abciRs)
	if err != nil {
		panic(err) // protobuf encoding of plain fields cannot fail
	}
	return merkle.HashFromByteSlices(bz)
}

// Equal reports whether two receipts are the same.
func (r Receipt) Equal(o Receipt) bool { return r.Diff(o) == "" }

// Diff names what differs from r to o ("" when nothing), e.g.
// "code 5 → 7, gas used 0 → 21000".
func (r Receipt) Diff(o Receipt) string {
	var parts []string
	if r.Code != o.Code {
		parts = append(parts, fmt.Sprintf("code %d → %d", r.Code, o.Code))
	}
	if !bytes.Equal(r.Data, o.Data) {
		parts = append(parts, fmt.Sprintf("data %s → %s", shortHex(r.Data, 32), shortHex(o.Data, 32)))
	}
	if r.GasWanted != o.GasWanted {
		parts = append(parts, fmt.Sprintf("gas wanted %d → %d", r.GasWanted, o.GasWanted))
	}
	if r.GasUsed != o.GasUsed {
		parts = append(parts, fmt.Sprintf("gas used %d → %d", r.GasUsed, o.GasUsed))
	}
	if r.Codespace != o.Codespace {
		parts = append(parts, fmt.Sprintf("codespace %q → %q", r.Codespace, o.Codespace))
	}
	if a, b := eventsText(r.Events), eventsText(o.Events); a != b {
		parts = append(parts, fmt.Sprintf("events %s → %s", a, b))
	}
	return strings.Join(parts, ", ")
}

func eventsText(es []abci.Event) string {
	if len(es) == 0 {
		return "none"
	}
	parts := make([]string, len(es))
	for i, e := range es {
		attrs := make([]string, len(e.Attributes))
		for j, a := range e.Attributes {
			attrs[j] = a.Key + "=" + a.Value
			if a.Index {
				attrs[j] += "*"
			}
		}
		parts[i] = e.Type + "{" + strings.Join(attrs, " ") + "}"
	}
	return strings.Join(parts, " ")
}

// Receipt encoding in a fixture:
//
//	u32 code | bytes data | i64 gas wanted | i64 gas used | bytes codespace |
//	u32 e × ( bytes type | u32 a × (bytes key | bytes value | bool index) )
const (
	minReceiptSize = 4 + 4 + 8 + 8 + 4 + 4
	minEventSize   = 4 + 4
	minAttrSize    = 4 + 4 + 1
	maxEvents      = 1 << 16
)

func writeReceipt(w *codec.Writer, r Receipt) {
	w.U32(r.Code)
	w.Bytes(r.Data)
	w.I64(r.GasWanted)
	w.I64(r.GasUsed)
	w.String(r.Codespace)
	w.U32(uint32(len(r.Events)))
	for _, e := range r.Events {
		w.String(e.Type)
		w.U32(uint32(len(e.Attributes)))
		for _, a := range e.Attributes {
			w.String(a.Key)
			w.String(a.Value)
			w.Bool(a.Index)
		}
	}
}

func readReceipt(r *codec.Reader) Receipt {
	rc := Receipt{Code: r.U32(), Data: r.Bytes(), GasWanted: r.I64(), GasUsed: r.I64(), Codespace: r.String()}
	ne := r.Count(maxEvents, minEventSize)
	for i := 0; i < ne && r.Err() == nil; i++ {
		e := abci.Event{Type: r.String()}
		na := r.Count(maxEvents, minAttrSize)
		for j := 0; j < na && r.Err() == nil; j++ {
			e.Attributes = append(e.Attributes, abci.EventAttribute{Key: r.String(), Value: r.String(), Index: r.Bool()})
		}
		rc.Events = append(rc.Events, e)
	}
	if len(rc.Data) == 0 {
		rc.Data = nil
	}
	return rc
}
