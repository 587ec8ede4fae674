package verify

import (
	"bytes"
	"context"
	"fmt"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/forkgate/forkgate/chain"
	"github.com/forkgate/forkgate/node"
	"github.com/forkgate/forkgate/state"
)

// executor runs blocks through this build's App on a state store of its own,
// observing every user transaction: record uses it to capture outcomes and
// write sets, the diagnosis to execute the divergent block.
type executor struct {
	store *state.Store
	app   *chain.App
	obs   *collector
	g     *chain.Genesis
}

// collector is a chain.TxObserver keeping one block's outcomes.
type collector struct {
	txs    []TxOutcome
	logs   []string
	writes [][]chain.Write
}

func (c *collector) ObserveTx(_ int64, index int, _ [32]byte, code uint32, log string, writes []chain.Write) {
	c.txs = append(c.txs, TxOutcome{Index: index, Code: code, WriteDigest: WriteDigest(writes)})
	c.logs = append(c.logs, log)
	c.writes = append(c.writes, writes)
}

func (c *collector) reset() {
	c.txs, c.logs, c.writes = nil, nil, nil
}

// newExecutor opens (or creates) a state store in dir and builds the App on
// it with the schedule of configPath.
func newExecutor(dir string, g *chain.Genesis, configPath string) (*executor, error) {
	st, err := state.Open(dir, state.Options{NoSync: true, MemTableSize: node.ScratchMemTable})
	if err != nil {
		return nil, err
	}
	return newExecutorOn(st, g, configPath)
}

// newExecutorOn builds the App on an open store (closed on error).
func newExecutorOn(st *state.Store, g *chain.Genesis, configPath string) (*executor, error) {
	cfg, err := node.LoadConfig(configPath)
	if err != nil {
		st.Close()
		return nil, err
	}
	obs := &collector{}
	app, err := chain.New(chain.Options{Genesis: g, Schedule: cfg.Schedule, Store: st, Observer: obs})
	if err != nil {
		st.Close()
		return nil, err
	}
	return &executor{store: st, app: app, obs: obs, g: g}, nil
}

func (e *executor) Close() error { return e.store.Close() }

// exec executes and commits the next block. It does not compare the state
// hash; the caller does.
func (e *executor) exec(b *node.Block) (root []byte, err error) {
	ctx := context.Background()
	if e.store.Height() == 0 && b.Height == 1 {
		if _, err := e.app.InitChain(ctx, &abci.RequestInitChain{}); err != nil {
			return nil, err
		}
	}
	e.obs.reset()
	fin, err := e.app.FinalizeBlock(ctx, &abci.RequestFinalizeBlock{Height: b.Height, Time: time.Unix(b.Time, 0).UTC(),
		ProposerAddress: b.Proposer[:], Txs: b.Txs})
	if err != nil {
		return nil, fmt.Errorf("block %d: %w", b.Height, err)
	}
	if _, err := e.app.Commit(ctx, &abci.RequestCommit{}); err != nil {
		return nil, fmt.Errorf("block %d: %w", b.Height, err)
	}
	return fin.AppHash, nil
}

// RebuildState applies the fixture's write sets of heights 1..h to a new
// state store in dir, committing each height and checking its root against
// the recorded state hash. The result is the recording node's state at h,
// rebuilt from the fixture alone.
func (f *Fixture) RebuildState(dir string, h int64) (*state.Store, error) {
	return f.RebuildStateProgress(dir, h, nil)
}

// RebuildStateProgress is RebuildState calling progress(1) after each height.
func (f *Fixture) RebuildStateProgress(dir string, h int64, progress func(int64)) (*state.Store, error) {
	if h < 0 || h > f.Header.To {
		return nil, fmt.Errorf("rebuild: height %d is outside the fixture (0..%d)", h, f.Header.To)
	}
	st, err := state.Open(dir, state.Options{NoSync: true, MemTableSize: node.ScratchMemTable}) // a scratch store: rebuilt, not kept
	if err != nil {
		return nil, err
	}
	if st.Height() != 0 {
		st.Close()
		return nil, fmt.Errorf("rebuild: %s already holds a state at height %d", dir, st.Height())
	}
	for x := int64(1); x <= h; x++ {
		if err := f.applyHeight(st, x); err != nil {
			st.Close()
			return nil, err
		}
		if progress != nil {
			progress(1)
		}
	}
	return st, nil
}

func (f *Fixture) applyHeight(st *state.Store, x int64) error {
	hr := f.Height(x)
	for _, w := range hr.Writes {
		var err error
		if w.Value == nil {
			err = st.Delete(w.Key)
		} else {
			err = st.Set(w.Key, w.Value)
		}
		if err != nil {
			return fmt.Errorf("rebuild height %d: %v", x, err)
		}
	}
	root, err := st.Apply(x)
	if err != nil {
		return fmt.Errorf("rebuild height %d: %v", x, err)
	}
	if !bytes.Equal(root, hr.Block.AppHash) {
		return &FixtureError{Path: "fixture", Msg: fmt.Sprintf("height %d: the recorded write set gives state hash %x, but the block records %x: the fixture is damaged or inconsistent; record it again", x, root, hr.Block.AppHash)}
	}
	return nil
}

// writeSet is the net difference between two committed roots of a store:
// the writes that turn the state at rootA into the state at rootB.
func writeSet(st *state.Store, rootA, rootB []byte) ([]chain.Write, error) {
	diffs, err := state.Diff(st, rootA, st, rootB, 0)
	if err != nil {
		return nil, err
	}
	out := make([]chain.Write, len(diffs))
	for i, d := range diffs {
		out[i] = chain.Write{Key: d.Key, Value: d.B}
	}
	return out, nil
}
