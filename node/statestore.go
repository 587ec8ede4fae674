package node

import (
	"github.com/forkgate/forkgate/chain"
	"github.com/forkgate/forkgate/state"
)

// The state store of package state is the node's: Pebble and a sparse
// Merkle trie, committed atomically per block.
var _ chain.Store = (*state.Store)(nil)

// openStateStore opens (creating unless readOnly) the state store in dir.
func openStateStore(dir string, readOnly bool) (StateStore, error) {
	s, err := state.Open(dir, state.Options{ReadOnly: readOnly})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// openScratchStateStore opens a state store that does not fsync (Options.Scratch).
func openScratchStateStore(dir string, readOnly bool) (StateStore, error) {
	s, err := state.Open(dir, state.Options{ReadOnly: readOnly, NoSync: true, MemTableSize: ScratchMemTable})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// ScratchMemTable is the state store's memtable in a scratch home: small,
// because Pebble preallocates a WAL of this size on every open.
const ScratchMemTable = 4 << 20
