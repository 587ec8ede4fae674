package state

import (
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble"
	"github.com/pokt-network/smt/kvstore"
)

// nodeStore is the SMT's node store (kvstore.MapStore in smt v0.14.1), backed
// by the n/ range of the Pebble database.
//
// Reads go straight to Pebble. Writes only happen inside Store.Commit and go
// into that commit's batch, so tree nodes land on disk in the same atomic,
// synced write as the data and the metadata that reference them. The trie
// never reads back a node it wrote in the same commit (it keeps the new nodes
// in memory and only hashes them), so reads need not see the pending batch; if
// a future smt version did, the read would fail loudly with errNodeMissing
// rather than see a wrong node.
type nodeStore struct {
	db    *pebble.DB
	batch *pebble.Batch // non-nil only while Store.Commit runs
}

var _ kvstore.MapStore = (*nodeStore)(nil)

var errNodeMissing = errors.New("tree node missing")

func (ns *nodeStore) Get(digest []byte) ([]byte, error) {
	v, ok, err := dbGet(ns.db, prefixed(prefixNode, digest))
	if err != nil {
		return nil, fmt.Errorf("read tree node %x: %w", digest, err)
	}
	if !ok {
		return nil, fmt.Errorf("%w: node %x is not in the store; the root being read was never committed here, or the store is damaged (restore it or re-sync from genesis)", errNodeMissing, digest)
	}
	return v, nil
}

func (ns *nodeStore) Set(digest, node []byte) error {
	if ns.batch == nil {
		return fmt.Errorf("tree node %x written outside Commit; this is a bug in package state", digest)
	}
	return ns.batch.Set(prefixed(prefixNode, digest), node, nil)
}

// Delete is called by the trie for every node that the new root no longer
// references (its "orphans"). It deliberately does nothing: nodes are never
// pruned, so every root in the height index stays readable for RootAt,
// ProveAt and Diff. Nodes are content-addressed, so keeping them is always
// safe; the cost is disk space that grows with the number of changed keys
// per block (see docs/state.md).
func (ns *nodeStore) Delete([]byte) error { return nil }

// Len counts the stored tree nodes of all roots. The trie does not call it;
// it is part of the interface and handy in tests.
func (ns *nodeStore) Len() (int, error) {
	it, err := ns.db.NewIter(&pebble.IterOptions{LowerBound: prefixNode, UpperBound: prefixEnd(prefixNode)})
	if err != nil {
		return 0, err
	}
	n := 0
	for it.First(); it.Valid(); it.Next() {
		n++
	}
	if err := it.Error(); err != nil {
		it.Close()
		return 0, err
	}
	return n, it.Close()
}

// ClearAll would erase every retained root; the store never does that.
func (ns *nodeStore) ClearAll() error {
	return errors.New("state: clearing tree nodes is not supported; delete the store directory instead")
}

// dbGet reads one key and returns a copy of its value (Pebble's slice is only
// valid until the closer is closed) and whether it exists.
func dbGet(r pebble.Reader, key []byte) ([]byte, bool, error) {
	v, closer, err := r.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	out := make([]byte, len(v))
	copy(out, v)
	return out, true, closer.Close()
}
