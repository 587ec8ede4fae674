// Package state is the reference chain's authenticated state store: a
// key-value store in Pebble with a sparse Merkle tree (pokt-network/smt) over
// it, one state root per committed block.
//
// A block's writes are buffered in a working set (Set, Delete; Get sees them)
// and become durable only at Commit, which writes the data, the new tree nodes
// and the metadata in one synced Pebble batch: after a crash the store is at
// the previous committed height or the new one, never in between. Discard
// drops the working set of a block that failed validation.
//
// The root depends only on the set of (key, value) pairs, never on the order
// of writes, and the cost of a commit grows with the number of keys changed,
// not with the size of the state. Tree nodes are never pruned, so every
// committed root stays readable: RootAt, ProveAt and Diff work at any height.
//
// See docs/state.md for the design, the on-disk layout and the crash-safety
// argument.
package state

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"
	"syscall"

	"github.com/forkgate/forkgate/storage"

	"github.com/cockroachdb/pebble"
	"github.com/cockroachdb/pebble/bloom"
	"github.com/pokt-network/smt"
)

// Options configures Open. The zero value is the recommended configuration.
type Options struct {
	// CacheSize is Pebble's block cache in bytes; 0 means 64 MiB. The
	// dependencies note measured point reads at 55 k/s without a bloom filter
	// and cache and 169 k/s with them; tree nodes are read by hash, i.e. at
	// random, so both matter.
	CacheSize int64
	// MemTableSize overrides Pebble's memtable size (default 64 MiB, which
	// suits long runs). Pebble preallocates a WAL of about this size on open,
	// so short-lived scratch stores open much faster with a few MiB.
	MemTableSize int64
	// NoSync skips the fsync of each Commit: for scratch stores whose loss
	// is harmless, such as upgrade verification's throwaway homes. A crash
	// may then lose the last blocks, but still never leaves half a block.
	NoSync bool
	// ReadOnly opens an existing store for reading only (e.g. a diagnosis
	// tool reading another node's data directory). Set, Delete and Commit
	// then fail.
	ReadOnly bool
}

const defaultCacheSize = 64 << 20

// pebbleFormat pins Pebble's own on-disk format instead of leaving it to the
// library's default, so that a Pebble upgrade never ratchets the files
// silently. It is the newest format Pebble v1.1.5 knows; newer Pebble
// releases drop support for the oldest formats, so starting here keeps that
// upgrade path open.
const pebbleFormat = pebble.FormatVirtualSSTables

// Store is an authenticated key-value store. It is safe for concurrent use;
// operations are serialised by one mutex (the trie mutates its in-memory
// cache even on reads).
type Store struct {
	mu       sync.Mutex
	dir      string
	db       *pebble.DB
	nodes    *nodeStore
	trie     *smt.SMT
	height   int64  // last committed height; 0 when nothing is committed
	root     []byte // root after height (emptyRoot when nothing is committed)
	readOnly bool
	closed   bool

	// working is the current block's uncommitted writes: key -> new value,
	// with a nil value meaning "delete" (empty values are refused by Set, so
	// nil is unambiguous). It is only ever read through sorted key lists, so
	// Go's random map order never reaches the root or the batch.
	working map[string][]byte

	// pending is the batch Prepare staged for pendingHeight, written by
	// Commit; while it exists the working set is frozen.
	pending       *pebble.Batch
	pendingHeight int64
	pendingRoot   []byte

	commitOpts *pebble.WriteOptions // pebble.Sync unless Options.NoSync
}

// Open opens the store in dir, creating it if needed (unless
// opts.ReadOnly). It refuses a directory written with another FormatVersion
// or one that holds some other Pebble database.
func Open(dir string, opts Options) (*Store, error) {
	size := opts.CacheSize
	if size <= 0 {
		size = defaultCacheSize
	}
	cache := pebble.NewCache(size)
	// Pebble takes its own reference; dropping ours now means the cache is
	// freed when the DB closes.
	defer cache.Unref()

	po := &pebble.Options{
		Cache:              cache,
		FormatMajorVersion: pebbleFormat,
		ReadOnly:           opts.ReadOnly,
		Levels:             make([]pebble.LevelOptions, 7),
		// Every block writes ~0.7 MB (1,000 changed keys: data, preimages
		// and a few tree nodes per key, never pruned). With Pebble's 4 MiB
		// default the memtable flushes every few blocks and L0 compactions
		// fall behind on 2 cores; 64 MiB measured 3x cheaper per block over
		// 600 blocks (docs/benchmarks-state.md), for ~120 MiB more RSS.
		MemTableSize: 64 << 20,
	}
	if opts.MemTableSize > 0 {
		po.MemTableSize = uint64(opts.MemTableSize)
	}
	for i := range po.Levels {
		// A 10-bit bloom filter per table: most point reads of tree nodes
		// and preimages can then skip tables without touching them.
		po.Levels[i].FilterPolicy = bloom.FilterPolicy(10)
		po.Levels[i].FilterType = pebble.TableFilter
	}
	// Pebble logs every WAL replay at open through its Infof; a node should
	// not print storage chatter on each restart. Background errors (failed
	// compactions, disk trouble) are still reported.
	po.Logger = storage.Logger(dir)
	po.EventListener = &pebble.EventListener{BackgroundError: storage.BackgroundError(dir)}
	db, err := pebble.Open(dir, po)
	if errors.Is(err, pebble.ErrDBDoesNotExist) {
		return nil, fmt.Errorf("state: %s holds no state store; a read-only open needs an existing store", dir)
	}
	if err != nil {
		if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EROFS) {
			return nil, fmt.Errorf("state: open %w", storage.Explain(dir, err))
		}
		return nil, fmt.Errorf("state: open %s: %w (check the directory is writable and not used by another process)", dir, err)
	}
	s := &Store{
		dir:        dir,
		db:         db,
		nodes:      &nodeStore{db: db},
		readOnly:   opts.ReadOnly,
		working:    map[string][]byte{},
		commitOpts: pebble.Sync,
	}
	if opts.NoSync {
		s.commitOpts = pebble.NoSync
	}
	if err := s.load(); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// load checks the format version (initialising a new store) and reads the
// last committed height and root.
func (s *Store) load() error {
	raw, ok, err := dbGet(s.db, keyFormat)
	if err != nil {
		return fmt.Errorf("state: %s: read format version: %w", s.dir, err)
	}
	if !ok {
		if err := s.initFormat(); err != nil {
			return err
		}
	} else {
		if len(raw) != 4 {
			return fmt.Errorf("state: %s: format version record is %d bytes, want 4; the store is damaged: restore it or re-sync from genesis into an empty directory", s.dir, len(raw))
		}
		if v := binary.BigEndian.Uint32(raw); v != FormatVersion {
			return fmt.Errorf("state: %s: store has format version %d but this build reads version %d; run a forkgate build that supports version %d, or re-sync from genesis into an empty directory", s.dir, v, FormatVersion, v)
		}
	}

	s.height, s.root = 0, emptyRoot
	rawHeight, ok, err := dbGet(s.db, keyHeight)
	if err != nil {
		return fmt.Errorf("state: %s: read height: %w", s.dir, err)
	}
	if ok {
		if s.height, err = decodeHeight(rawHeight); err != nil {
			return fmt.Errorf("state: %s: %w; the store is damaged: restore it or re-sync from genesis", s.dir, err)
		}
		root, ok, err := dbGet(s.db, keyRoot)
		if err != nil {
			return fmt.Errorf("state: %s: read root: %w", s.dir, err)
		}
		if !ok || len(root) != hashSize {
			return fmt.Errorf("state: %s: height %d has no valid root record; the store is damaged: restore it or re-sync from genesis", s.dir, s.height)
		}
		s.root = root
		// Fail at open, not at the first block, if the tree is not there.
		if !bytes.Equal(root, emptyRoot) {
			if _, err := s.nodes.Get(root); err != nil {
				return fmt.Errorf("state: %s: root %x of height %d: %w", s.dir, root, s.height, err)
			}
		}
	}
	s.resetTrie()
	return nil
}

// initFormat stamps a new, empty store with FormatVersion. A database that
// has keys but no format record was not written by this package, and is
// refused rather than mixed with.
func (s *Store) initFormat() error {
	it, err := s.db.NewIter(nil)
	if err != nil {
		return fmt.Errorf("state: %s: %w", s.dir, err)
	}
	nonEmpty := it.First()
	if err := errors.Join(it.Error(), it.Close()); err != nil {
		return fmt.Errorf("state: %s: %w", s.dir, err)
	}
	if nonEmpty {
		return fmt.Errorf("state: %s holds a Pebble database without a forkgate format version; it is not a forkgate state store: point the node at another directory", s.dir)
	}
	if s.readOnly {
		return fmt.Errorf("state: %s holds no state store; a read-only open needs an existing store", s.dir)
	}
	var v [4]byte
	binary.BigEndian.PutUint32(v[:], FormatVersion)
	if err := s.db.Set(keyFormat, v[:], pebble.Sync); err != nil {
		return fmt.Errorf("state: %s: write format version: %w", s.dir, err)
	}
	return nil
}

// resetTrie points the in-memory trie at the committed root, dropping any
// nodes a failed Commit left in it. The trie keeps nodes it has resolved in
// memory between blocks, which is what makes a commit cost proportional to
// the keys changed rather than a fresh walk from disk.
func (s *Store) resetTrie() {
	s.trie = smt.ImportSparseMerkleTrie(s.nodes, sha256.New(), s.root)
}

// Close closes the store. Uncommitted writes are dropped, as by Discard.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	s.working = nil
	s.trie = nil
	if s.pending != nil {
		s.pending.Close() // an uncommitted block is dropped
		s.pending = nil
	}
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("state: close %s: %w", s.dir, err)
	}
	return nil
}

// Dir returns the directory the store was opened from.
func (s *Store) Dir() string { return s.dir }

// Height returns the last committed height, 0 if nothing is committed.
func (s *Store) Height() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.height
}

// Root returns the root after the last committed height (the empty tree's
// root, 32 zero bytes, if nothing is committed). Uncommitted writes do not
// change it.
func (s *Store) Root() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.root)
}

// RootAt returns the root committed at height.
func (s *Store) RootAt(height int64) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usable(); err != nil {
		return nil, err
	}
	return s.rootAt(height)
}

func (s *Store) rootAt(height int64) ([]byte, error) {
	root, ok, err := dbGet(s.db, rootKey(height))
	if err != nil {
		return nil, fmt.Errorf("state: read root of height %d: %w", height, err)
	}
	if !ok {
		return nil, fmt.Errorf("state: no root for height %d: the store is at height %d and only keeps roots of heights it committed", height, s.height)
	}
	return root, nil
}

// Get returns the value of key as the current block sees it: the working
// set's write if there is one, else the committed value. A missing key gives
// (nil, nil).
func (s *Store) Get(key []byte) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usable(); err != nil {
		return nil, err
	}
	if v, ok := s.working[string(key)]; ok {
		return bytes.Clone(v), nil
	}
	v, _, err := dbGet(s.db, prefixed(prefixData, key))
	if err != nil {
		return nil, fmt.Errorf("state: Get %s: %w", fmtKey(key), err)
	}
	return v, nil
}

// Set writes key = value in the working set. Values must be non-empty: a
// proof for an empty value would be indistinguishable from a proof of
// absence, so "no value" is spelled Delete.
func (s *Store) Set(key, value []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.writable("Set", key); err != nil {
		return err
	}
	if len(value) == 0 {
		return fmt.Errorf("state: Set %s: empty value; use Delete to remove a key", fmtKey(key))
	}
	s.working[string(key)] = bytes.Clone(value)
	return nil
}

// Delete removes key in the working set. Deleting a missing key is a no-op.
func (s *Store) Delete(key []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.writable("Delete", key); err != nil {
		return err
	}
	s.working[string(key)] = nil
	return nil
}

// Discard drops the working set: the block is not committed and the store
// stays at Height() and Root().
func (s *Store) Discard() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	clear(s.working)
	if s.pending != nil {
		s.pending.Close()
		s.pending, s.pendingRoot = nil, nil
		s.resetTrie() // the trie holds the discarded block's updates
	}
}

// Prepare applies the working set to the tree and stages, in one Pebble
// batch, everything the block persists: the data, the new tree nodes, the
// height index entry and the metadata (format version, height, root). It
// returns the new root without writing anything, so an ABCI app can answer
// FinalizeBlock with the hash and persist only at Commit. Until Commit or
// Discard, further writes are refused.
//
// Heights are consecutive: the first block may use any height >= 1 (a chain
// may start at an initial height), and every later one must be Height()+1.
func (s *Store) Prepare(height int64) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usable(); err != nil {
		return nil, err
	}
	if s.readOnly {
		return nil, fmt.Errorf("state: Prepare(%d): store %s was opened read-only; reopen it without Options.ReadOnly to write", height, s.dir)
	}
	switch {
	case s.pending != nil:
		return nil, fmt.Errorf("state: Prepare(%d): block %d is already prepared; Commit or Discard it first", height, s.pendingHeight)
	case height < 1:
		return nil, fmt.Errorf("state: Prepare(%d): heights start at 1", height)
	case s.height > 0 && height != s.height+1:
		return nil, fmt.Errorf("state: Prepare(%d): store is at height %d, so the next block must be height %d; replay the missing blocks or Discard this one", height, s.height, s.height+1)
	}
	batch := s.db.NewBatch()
	s.nodes.batch = batch
	root, err := s.applyWorkingSet(batch, height)
	s.nodes.batch = nil
	if err != nil {
		batch.Close()
		// The trie may hold half-applied updates: rebuild it from the
		// committed root.
		s.resetTrie()
		return nil, err
	}
	s.pending, s.pendingHeight, s.pendingRoot = batch, height, root
	return bytes.Clone(root), nil
}

// Commit writes the block Prepare staged, synced to disk, in one batch: a
// crash leaves either the previous block or this one, never a mix. If it
// fails the store stays at the previous height; Discard then drops the block.
func (s *Store) Commit(height int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usable(); err != nil {
		return err
	}
	if s.pending == nil || s.pendingHeight != height {
		return fmt.Errorf("state: Commit(%d): no prepared block at that height; call Prepare(%d) first", height, height)
	}
	if err := s.pending.Commit(s.commitOpts); err != nil {
		return fmt.Errorf("state: commit block %d: %w; the store is still at height %d", height, storage.Explain(s.dir, err), s.height)
	}
	s.pending.Close()
	s.height, s.root = height, s.pendingRoot
	s.pending, s.pendingRoot = nil, nil
	clear(s.working)
	return nil
}

// Apply is Prepare followed by Commit, for callers with no use for the
// split (tools, tests, benchmarks).
func (s *Store) Apply(height int64) ([]byte, error) {
	root, err := s.Prepare(height)
	if err != nil {
		return nil, err
	}
	if err := s.Commit(height); err != nil {
		s.Discard()
		return nil, err
	}
	return root, nil
}

// applyWorkingSet updates the trie with the working set, in ascending key
// order, and fills batch with everything Commit persists.
func (s *Store) applyWorkingSet(batch *pebble.Batch, height int64) ([]byte, error) {
	keys := make([]string, 0, len(s.working))
	for k := range s.working {
		keys = append(keys, k)
	}
	// The root does not depend on update order (the tree's shape is a
	// function of its key set), but the batch and the trie's work should not
	// depend on map order either: sorting keeps every run byte-identical.
	slices.Sort(keys)

	for _, k := range keys {
		key, value := []byte(k), s.working[k]
		if value == nil {
			err := s.trie.Delete(key)
			if errors.Is(err, smt.ErrKeyNotFound) {
				continue // deleting a missing key changes nothing
			}
			if err != nil {
				return nil, fmt.Errorf("state: Commit(%d): delete %s from tree: %w", height, fmtKey(key), err)
			}
			if err := batch.Delete(prefixed(prefixData, key), nil); err != nil {
				return nil, err
			}
			continue
		}
		if err := s.trie.Update(key, value); err != nil {
			return nil, fmt.Errorf("state: Commit(%d): update %s in tree: %w", height, fmtKey(key), err)
		}
		path := sha256.Sum256(key)
		valueHash := sha256.Sum256(value)
		if err := errors.Join(
			batch.Set(prefixed(prefixData, key), value, nil),
			batch.Set(prefixed(prefixKey, path[:]), key, nil),
			batch.Set(prefixed(prefixValue, valueHash[:]), value, nil),
		); err != nil {
			return nil, err
		}
	}

	// Hashes the dirty nodes and writes them into batch via nodeStore.Set.
	if err := s.trie.Commit(); err != nil {
		return nil, fmt.Errorf("state: Commit(%d): write tree nodes: %w", height, err)
	}
	root := []byte(s.trie.Root())

	var format [4]byte
	binary.BigEndian.PutUint32(format[:], FormatVersion)
	if err := errors.Join(
		batch.Set(keyFormat, format[:], nil),
		batch.Set(keyHeight, encodeHeight(height), nil),
		batch.Set(keyRoot, root, nil),
		batch.Set(rootKey(height), root, nil),
	); err != nil {
		return nil, err
	}
	return root, nil
}

// Iterate calls fn for each key starting with prefix, in ascending key
// order, with the value Get would return: the committed state merged with the
// working set. fn receives copies it may keep. Writes made by fn (or
// concurrently) are not seen by the iteration in progress. An error from fn
// stops the iteration and is returned.
func (s *Store) Iterate(prefix []byte, fn func(key, value []byte) error) error {
	s.mu.Lock()
	if err := s.usable(); err != nil {
		s.mu.Unlock()
		return err
	}
	// Snapshot the working set's matching entries, sorted, and open the
	// Pebble iterator (a consistent point-in-time view) under the lock;
	// then iterate without it so fn may call back into the store.
	var pending []string
	for k := range s.working {
		if bytes.HasPrefix([]byte(k), prefix) {
			pending = append(pending, k)
		}
	}
	slices.Sort(pending)
	pendingValues := make([][]byte, len(pending))
	for i, k := range pending {
		pendingValues[i] = s.working[k]
	}
	lower := prefixed(prefixData, prefix)
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: prefixEnd(lower)})
	s.mu.Unlock()
	if err != nil {
		return fmt.Errorf("state: iterate %s: %w", fmtKey(prefix), err)
	}

	err = mergeIterate(it, pending, pendingValues, fn)
	if cerr := it.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("state: iterate %s: %w", fmtKey(prefix), cerr)
	}
	return err
}

// mergeIterate merges the committed keys from it with the sorted pending
// writes; on equal keys the pending write wins, and a pending delete hides
// the key.
func mergeIterate(it *pebble.Iterator, pending []string, values [][]byte, fn func(key, value []byte) error) error {
	i := 0
	valid := it.First()
	for valid || i < len(pending) {
		// c < 0: the committed key comes first; c > 0: the pending one;
		// c == 0: the same key, and the pending write shadows the
		// committed value.
		c := -1
		if !valid {
			c = 1
		} else if i < len(pending) {
			c = bytes.Compare(it.Key()[len(prefixData):], []byte(pending[i]))
		}
		var key, value []byte
		if c < 0 {
			key, value = bytes.Clone(it.Key()[len(prefixData):]), bytes.Clone(it.Value())
			valid = it.Next()
		} else {
			key, value = []byte(pending[i]), bytes.Clone(values[i])
			i++
			if c == 0 {
				valid = it.Next()
			}
		}
		if value == nil {
			continue // deleted in the working set
		}
		if err := fn(key, value); err != nil {
			return err
		}
	}
	return it.Error()
}

func (s *Store) usable() error {
	if s.closed {
		return fmt.Errorf("state: store %s is closed", s.dir)
	}
	return nil
}

func (s *Store) writable(op string, key []byte) error {
	if err := s.usable(); err != nil {
		return err
	}
	if s.readOnly {
		return fmt.Errorf("state: %s %s: store %s was opened read-only; reopen it without Options.ReadOnly to write", op, fmtKey(key), s.dir)
	}
	if len(key) == 0 {
		return fmt.Errorf("state: %s: empty key; every state key needs at least one byte", op)
	}
	if s.pending != nil {
		return fmt.Errorf("state: %s %s: block %d is prepared; Commit or Discard it before writing", op, fmtKey(key), s.pendingHeight)
	}
	return nil
}
