package chain

import (
	"crypto/ed25519"
	"fmt"

	"github.com/forkgate/forkgate/codec"
)

// The signal transaction is how a block carries its producer's software
// version. The proposer puts it first in every block (PrepareProposal), and
// every node rejects a block without a valid one (ProcessProposal). It is
// signed by the producer's key, which is also its consensus key, so the
// signal cannot be forged by another proposer.

const signalExec, signalAction = "signal", "version"

// Signal is the signal transaction's payload.
type Signal struct {
	Height  int64  // the block it belongs to, so it cannot be replayed
	Version uint32 // the protocol version the producer's software runs
}

func (s Signal) Encode() []byte {
	var w codec.Writer
	w.I64(s.Height)
	w.U32(s.Version)
	return w.Out()
}

// NewSignalTx builds the signed signal transaction for a block.
func NewSignalTx(chainID string, key ed25519.PrivateKey, height int64, version uint32) []byte {
	tx := &Tx{ChainID: chainID, Exec: signalExec, Action: signalAction, Payload: Signal{Height: height, Version: version}.Encode()}
	tx.Sign(key)
	return tx.Encode()
}

// checkSignalTx validates a block's first transaction and returns the
// producer's signalled version.
func checkSignalTx(chainID string, raw []byte, height int64, proposer Address) (uint32, error) {
	tx, err := DecodeTx(raw)
	if err != nil {
		return 0, fmt.Errorf("block %d: first transaction: %v", height, err)
	}
	if tx.Exec != signalExec || tx.Action != signalAction {
		return 0, fmt.Errorf("block %d: first transaction is %s.%s, want the producer's signal transaction", height, tx.Exec, tx.Action)
	}
	if tx.ChainID != chainID {
		return 0, fmt.Errorf("block %d: signal transaction for chain %q, this is %q", height, tx.ChainID, chainID)
	}
	if err := tx.Verify(); err != nil {
		return 0, fmt.Errorf("block %d: signal transaction: %v", height, err)
	}
	if tx.Sender() != proposer {
		return 0, fmt.Errorf("block %d: signal transaction signed by %s, but the proposer is %s", height, tx.Sender(), proposer)
	}
	r := codec.NewReader(tx.Payload)
	s := Signal{Height: r.I64(), Version: r.U32()}
	if err := r.Done("signal"); err != nil {
		return 0, fmt.Errorf("block %d: %v", height, err)
	}
	if s.Height != height {
		return 0, fmt.Errorf("block %d: signal transaction is for height %d", height, s.Height)
	}
	return s.Version, nil
}
