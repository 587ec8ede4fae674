package verify

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sync"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/forkgate/forkgate/chain"
	"github.com/forkgate/forkgate/codec"
	"github.com/forkgate/forkgate/node"
)

// A state hash says nothing about a transaction's result: a build that
// returns another code, data, gas or events for the same writes keeps every
// state hash, yet under CometBFT the results are hashed into the next
// header (LastResultsHash) and the chain splits. So verify also compares,
// height by height, every receipt and each user transaction's write set
// with the fixture.

// outcomeCheck compares the blocks a node executes with the fixture's
// outcomes: it is the node's transaction observer and its import hook.
type outcomeCheck struct {
	f *Fixture

	mu     sync.Mutex
	height int64
	txs    []TxOutcome
	first  *Finding // the lowest height whose outcomes differ
}

func newOutcomeCheck(f *Fixture) *outcomeCheck { return &outcomeCheck{f: f} }

// ObserveTx implements chain.TxObserver.
func (c *outcomeCheck) ObserveTx(height int64, index int, _ [32]byte, code uint32, _ string, writes []chain.Write) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if height != c.height {
		c.height, c.txs = height, c.txs[:0]
	}
	c.txs = append(c.txs, TxOutcome{Index: index, Code: code, WriteDigest: WriteDigest(writes)})
}

// applied is node.ImportOptions.Applied: it compares one executed block.
func (c *outcomeCheck) applied(b *node.Block, res *abci.ResponseFinalizeBlock) {
	c.mu.Lock()
	defer c.mu.Unlock()
	hr := c.f.Height(b.Height)
	if hr == nil || (c.first != nil && c.first.Height <= b.Height) {
		return
	}
	var txs []TxOutcome
	if c.height == b.Height {
		txs = c.txs
	}
	if msg := compareOutcomes(hr, ReceiptsOf(res.TxResults), txs); msg != "" {
		c.first = &Finding{Height: b.Height, Results: true, Msg: fmt.Sprintf("block %d: %s", b.Height, msg)}
	}
}

// finding is the first difference found, or nil.
func (c *outcomeCheck) finding() *Finding {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.first
}

// compareOutcomes describes the first difference between a recorded height
// and what a build computed ("" when none): receipts (format 2 fixtures)
// and user transactions' codes and write sets.
func compareOutcomes(hr *HeightRecord, receipts []Receipt, txs []TxOutcome) string {
	if hr.Receipts != nil {
		if len(receipts) != len(hr.Receipts) {
			return fmt.Sprintf("the new build returned %d results for %d transactions", len(receipts), len(hr.Receipts))
		}
		for i := range receipts {
			if d := hr.Receipts[i].Diff(receipts[i]); d != "" {
				return fmt.Sprintf("transaction #%d's result differs (%s); results hash %x → %x%s",
					i, d, hr.ResultsHash, ResultsHash(receipts), hashedNote(hr.Receipts[i], receipts[i]))
			}
		}
	}
	if len(txs) != len(hr.Txs) {
		return fmt.Sprintf("the new build reported %d user transactions, the fixture %d", len(txs), len(hr.Txs))
	}
	for i, t := range txs {
		rec := hr.Txs[i]
		if rec.Code != t.Code || rec.WriteDigest != t.WriteDigest {
			return fmt.Sprintf("transaction #%d: recorded code %d, write set %s; the new build: code %d, write set %s",
				t.Index, rec.Code, short(hex.EncodeToString(rec.WriteDigest[:])), t.Code, short(hex.EncodeToString(t.WriteDigest[:])))
		}
	}
	return ""
}

// hashedNote says whether a receipt difference reaches LastResultsHash.
func hashedNote(a, b Receipt) string {
	if bytes.Equal(ResultsHash([]Receipt{a}), ResultsHash([]Receipt{b})) {
		return " (codespace or events only: not in LastResultsHash, but clients and indexers read them)"
	}
	return ""
}

// receiptsDigest and txsDigest summarise what a build computed for one
// height: two builds that agree on them agree on every receipt, and on
// every user transaction's code and write set (verify-replay reports them).
func receiptsDigest(receipts []Receipt) string {
	var w codec.Writer
	w.U32(uint32(len(receipts)))
	for _, r := range receipts {
		writeReceipt(&w, r)
	}
	d := sha256.Sum256(w.Out())
	return hex.EncodeToString(d[:])
}

func txsDigest(txs []TxOutcome) string {
	var w codec.Writer
	w.U32(uint32(len(txs)))
	for _, t := range txs {
		w.U32(uint32(t.Index))
		w.U32(t.Code)
		w.Fixed(t.WriteDigest[:])
	}
	d := sha256.Sum256(w.Out())
	return hex.EncodeToString(d[:])
}

// stateDigest identifies a sorted state (the genesis state).
func stateDigest(ws []chain.Write) [32]byte { return WriteDigest(ws) }
