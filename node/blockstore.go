package node

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"syscall"

	"github.com/forkgate/forkgate/storage"

	"github.com/forkgate/forkgate/codec"

	"github.com/cockroachdb/pebble"
	"github.com/cockroachdb/pebble/vfs"
	"github.com/forkgate/forkgate/chain"
)

// BlockFormat versions the canonical block encoding (stored and exported).
const BlockFormat = 1

// Block is a committed block as the node stores and exports it: what is
// needed to re-execute it (height, time, proposer, transactions with the
// signal transaction first) and the state hash it must give.
type Block struct {
	Height   int64
	Time     int64
	Proposer chain.Address
	Txs      [][]byte
	AppHash  []byte
}

// Encode is the block's canonical encoding.
func (b *Block) Encode() []byte {
	var w codec.Writer
	w.U8(BlockFormat)
	w.I64(b.Height)
	w.I64(b.Time)
	w.Fixed(b.Proposer[:])
	w.Bytes(b.AppHash)
	w.U32(uint32(len(b.Txs)))
	for _, tx := range b.Txs {
		w.Bytes(tx)
	}
	return w.Out()
}

// maxBlockTxs bounds the transaction count a decoder accepts.
const maxBlockTxs = 1 << 20

// DecodeBlock reads a canonical block encoding.
func DecodeBlock(raw []byte) (*Block, error) {
	r := codec.NewReader(raw)
	if f := r.U8(); r.Err() == nil && f != BlockFormat {
		return nil, fmt.Errorf("block format %d, this build reads %d: use a newer forkgate", f, BlockFormat)
	}
	b := &Block{Height: r.I64(), Time: r.I64()}
	r.Fixed(b.Proposer[:])
	b.AppHash = r.Bytes()
	n := r.U32()
	if n > maxBlockTxs {
		return nil, fmt.Errorf("block claims %d transactions, more than the limit %d: the encoding is corrupt", n, maxBlockTxs)
	}
	for i := uint32(0); i < n && r.Err() == nil; i++ {
		b.Txs = append(b.Txs, r.Bytes())
	}
	if err := r.Done("block"); err != nil {
		return nil, err
	}
	return b, nil
}

// BlockStoreFormat versions the block store's layout.
const BlockStoreFormat = 1

// Keys of the block store. Heights are 8 bytes big-endian so blocks sort by
// height.
var (
	bsKeyFormat   = []byte("m/format")   // u32 BlockStoreFormat
	bsKeyChain    = []byte("m/chain")    // genesis hash (32) + chain id
	bsKeyHeight   = []byte("m/height")   // i64: last stored block
	bsKeySchedule = []byte("m/schedule") // schedule.Snapshot JSON
	bsPrefixBlock = []byte("b/")
)

func blockKey(h int64) []byte {
	return binary.BigEndian.AppendUint64(append([]byte(nil), bsPrefixBlock...), uint64(h))
}

// BlockStore keeps committed blocks and the fork schedule snapshot in a
// Pebble database of its own (HOME/data/blocks), outside the Merkle state.
type BlockStore struct {
	dir    string
	db     *pebble.DB
	height int64
	sync   *pebble.WriteOptions // pebble.Sync unless Unsynced
}

// Unsynced stops fsyncing writes: for scratch homes whose loss is harmless
// (upgrade verification). A crash may lose the last blocks, and recovery
// at start then refuses or re-executes as usual.
func (s *BlockStore) Unsynced() { s.sync = pebble.NoSync }

// OpenBlockStore opens (creating unless readOnly) the block store in dir and
// binds it to a genesis: a store written for another chain is refused.
func OpenBlockStore(dir string, genesis [32]byte, chainID string, readOnly bool) (*BlockStore, error) {
	return openBlockStore(dir, genesis, chainID, readOnly, false)
}

// OpenScratchBlockStore is OpenBlockStore for a throwaway home (upgrade
// verification): nothing it writes is ever synced, not even by Pebble's
// flushes and format steps (storage.ScratchFS).
func OpenScratchBlockStore(dir string, genesis [32]byte, chainID string) (*BlockStore, error) {
	return openBlockStore(dir, genesis, chainID, false, true)
}

func openBlockStore(dir string, genesis [32]byte, chainID string, readOnly, scratch bool) (*BlockStore, error) {
	var fs vfs.FS
	if scratch {
		fs = storage.ScratchFS()
	}
	db, err := pebble.Open(dir, &pebble.Options{
		FS:                 fs,                           // nil: the default, synced
		FormatMajorVersion: pebble.FormatVirtualSSTables, // pinned, as in package state
		ReadOnly:           readOnly,
		Logger:             storage.Logger(dir),
		EventListener:      &pebble.EventListener{BackgroundError: storage.BackgroundError(dir)},
	})
	if errors.Is(err, pebble.ErrDBDoesNotExist) {
		return nil, fmt.Errorf("block store %s does not exist: the node has not run yet", dir)
	}
	if err != nil {
		if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EROFS) {
			return nil, fmt.Errorf("block store: open %w", storage.Explain(dir, err))
		}
		return nil, fmt.Errorf("block store: open %s: %w (is another forkgate process using this home?)", dir, err)
	}
	s := &BlockStore{dir: dir, db: db}
	if err := s.load(genesis, chainID, readOnly); err != nil {
		db.Close()
		return nil, err
	}
	if scratch {
		s.Unsynced()
	}
	return s, nil
}

func (s *BlockStore) get(key []byte) ([]byte, bool, error) {
	v, c, err := s.db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	out := bytes.Clone(v)
	c.Close()
	return out, true, nil
}

func (s *BlockStore) load(genesis [32]byte, chainID string, readOnly bool) error {
	chainRec := append(genesis[:], chainID...)
	f, ok, err := s.get(bsKeyFormat)
	if err != nil {
		return fmt.Errorf("block store %s: %w", s.dir, err)
	}
	if !ok {
		if readOnly {
			return fmt.Errorf("block store %s is empty: the node has not run yet", s.dir)
		}
		b := s.db.NewBatch()
		b.Set(bsKeyFormat, binary.BigEndian.AppendUint32(nil, BlockStoreFormat), nil)
		b.Set(bsKeyChain, chainRec, nil)
		b.Set(bsKeyHeight, binary.BigEndian.AppendUint64(nil, 0), nil)
		if err := b.Commit(pebble.Sync); err != nil {
			return fmt.Errorf("block store %s: initialise: %w", s.dir, err)
		}
		return nil
	}
	if len(f) != 4 || binary.BigEndian.Uint32(f) != BlockStoreFormat {
		return fmt.Errorf("block store %s has format %x, this build reads %d: use the forkgate release that wrote it, or re-import the chain from an export", s.dir, f, BlockStoreFormat)
	}
	c, _, err := s.get(bsKeyChain)
	if err != nil {
		return err
	}
	if !bytes.Equal(c, chainRec) {
		return fmt.Errorf("block store %s belongs to another chain (genesis or chain id differ from genesis.json): restore the matching genesis.json or start from an empty data directory", s.dir)
	}
	hb, ok, err := s.get(bsKeyHeight)
	if err != nil {
		return err
	}
	if !ok || len(hb) != 8 {
		return fmt.Errorf("block store %s has no valid height record: the store is damaged; re-import from an export", s.dir)
	}
	s.height = int64(binary.BigEndian.Uint64(hb))
	return nil
}

// Height is the last stored block, 0 when none.
func (s *BlockStore) Height() int64 { return s.height }

// Put stores the next block, synced to disk, before the state commits it.
func (s *BlockStore) Put(b *Block) error {
	if b.Height != s.height+1 {
		return fmt.Errorf("block store: put block %d, but the store is at %d", b.Height, s.height)
	}
	batch := s.db.NewBatch()
	batch.Set(blockKey(b.Height), b.Encode(), nil)
	batch.Set(bsKeyHeight, binary.BigEndian.AppendUint64(nil, uint64(b.Height)), nil)
	if err := batch.Commit(s.syncOpts()); err != nil {
		return fmt.Errorf("block store: write block %d: %w", b.Height, storage.Explain(s.dir, err))
	}
	s.height = b.Height
	return nil
}

// Get reads a stored block.
func (s *BlockStore) Get(h int64) (*Block, error) {
	raw, ok, err := s.get(blockKey(h))
	if err != nil {
		return nil, fmt.Errorf("block store: read block %d: %w", h, err)
	}
	if !ok {
		return nil, fmt.Errorf("block store %s has no block %d (it holds 1..%d)", s.dir, h, s.height)
	}
	b, err := DecodeBlock(raw)
	if err != nil {
		return nil, fmt.Errorf("block store: block %d: %v", h, err)
	}
	if b.Height != h {
		return nil, fmt.Errorf("block store: the record of block %d holds block %d: the store is damaged", h, b.Height)
	}
	return b, nil
}

// Truncate drops every block above h (for a rewind).
func (s *BlockStore) Truncate(h int64) error {
	if h >= s.height {
		return nil
	}
	batch := s.db.NewBatch()
	batch.DeleteRange(blockKey(h+1), blockKey(s.height+1), nil)
	batch.Set(bsKeyHeight, binary.BigEndian.AppendUint64(nil, uint64(h)), nil)
	if err := batch.Commit(s.syncOpts()); err != nil {
		return fmt.Errorf("block store: truncate to %d: %w", h, err)
	}
	s.height = h
	return nil
}

// Schedule returns the stored schedule snapshot, if any.
func (s *BlockStore) Schedule() ([]byte, bool, error) { return s.get(bsKeySchedule) }

// PutSchedule stores the schedule snapshot the node runs with.
func (s *BlockStore) PutSchedule(snap []byte) error {
	if err := s.db.Set(bsKeySchedule, snap, s.syncOpts()); err != nil {
		return fmt.Errorf("block store: write schedule snapshot: %w", err)
	}
	return nil
}

// Close closes the store.
func (s *BlockStore) Close() error { return s.db.Close() }

func (s *BlockStore) syncOpts() *pebble.WriteOptions {
	if s.sync == nil {
		return pebble.Sync
	}
	return s.sync
}

// OpenHomeBlockStore opens a home's block store read-only (for tools that
// compare nodes' blocks; the node must not be running).
func OpenHomeBlockStore(home string) (*BlockStore, error) {
	l, err := loadHome(home)
	if err != nil {
		return nil, err
	}
	return OpenBlockStore(l.home.Blocks(), l.gHash, l.genesis.ChainID, true)
}
