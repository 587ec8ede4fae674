package verify

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"sort"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/forkgate/forkgate/chain"
	"github.com/forkgate/forkgate/forkfile"
	"github.com/forkgate/forkgate/node"
	"github.com/forkgate/forkgate/state"
)

// executor runs blocks through this build's App on a state store of its own,
// observing every user transaction: record uses it to capture outcomes and
// write sets, the diagnosis to execute the divergent block.
type executor struct {
	store *state.Store
	cap   *captureStore
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
	cs := &captureStore{Store: st}
	app, err := chain.New(chain.Options{Genesis: g, Schedule: cfg.Schedule, Store: cs, Observer: obs})
	if err != nil {
		st.Close()
		return nil, err
	}
	return &executor{store: st, cap: cs, app: app, obs: obs, g: g}, nil
}

func (e *executor) Close() error { return e.store.Close() }

// exec executes and commits the next block (after InitChain for block 1,
// whose writes it keeps in e.cap.genesis). It does not compare the state
// hash; the caller does.
func (e *executor) exec(b *node.Block) (*abci.ResponseFinalizeBlock, error) {
	ctx := context.Background()
	if e.store.Height() == 0 && b.Height == 1 {
		e.cap.capture = map[string][]byte{}
		_, err := e.app.InitChain(ctx, &abci.RequestInitChain{})
		e.cap.genesis, e.cap.capture = sortedState(e.cap.capture), nil
		if err != nil {
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
	return fin, nil
}

// captureStore is a chain.Store that, while capture is set, also keeps what
// is written: the genesis state InitChain writes on an empty store.
type captureStore struct {
	chain.Store
	capture map[string][]byte // nil value: deleted
	genesis []chain.Write
}

func (c *captureStore) Set(k, v []byte) error {
	if c.capture != nil {
		c.capture[string(k)] = bytes.Clone(v)
	}
	return c.Store.Set(k, v)
}

func (c *captureStore) Delete(k []byte) error {
	if c.capture != nil {
		c.capture[string(k)] = nil
	}
	return c.Store.Delete(k)
}

// sortedState lists the keys of m that hold a value, sorted.
func sortedState(m map[string][]byte) []chain.Write {
	out := make([]chain.Write, 0, len(m))
	for k, v := range m {
		if v != nil {
			out = append(out, chain.Write{Key: []byte(k), Value: v})
		}
	}
	sort.Slice(out, func(i, j int) bool { return bytes.Compare(out[i].Key, out[j].Key) < 0 })
	return out
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

// GenesisState is the state this build's InitChain writes for genesis g
// under the schedule of configPath, sorted by key.
func GenesisState(g *chain.Genesis, configPath string) ([]chain.Write, error) {
	cfg, err := node.LoadConfig(configPath)
	if err != nil {
		return nil, err
	}
	cs := &captureStore{Store: chain.NewMemStore(), capture: map[string][]byte{}}
	app, err := chain.New(chain.Options{Genesis: g, Schedule: cfg.Schedule, Store: cs})
	if err != nil {
		return nil, err
	}
	if _, err := app.InitChain(context.Background(), &abci.RequestInitChain{}); err != nil {
		return nil, err
	}
	return sortedState(cs.capture), nil
}

// ReplayFormat versions ReplayResult's JSON (the hidden `forkgate
// verify-replay` command's output, read across builds).
const ReplayFormat = 1

// ReplayResult is what one build computed for every height of a fixture:
// another build's way to report its results, which its node import does
// not.
type ReplayResult struct {
	Format  int            `json:"format"`
	Release string         `json:"release"`
	Genesis []chain.Write  `json:"genesis"`
	Heights []ReplayHeight `json:"heights"`
	Error   string         `json:"error,omitempty"` // the build refused a block
}

// ReplayHeight is one height of a ReplayResult.
type ReplayHeight struct {
	Height   int64  `json:"height"`
	Root     string `json:"root"`
	Receipts string `json:"receipts"` // receiptsDigest of every receipt
	Txs      string `json:"txs"`      // txsDigest of the user transactions' outcomes
}

// ReplayFixture executes every block of the fixture with this build and
// the schedule of configPath on a new state store in dir, and reports the
// genesis state and each height's root, receipts and outcomes.
func ReplayFixture(f *Fixture, configPath, dir string) (*ReplayResult, error) {
	g, err := f.GenesisValue()
	if err != nil {
		return nil, err
	}
	ex, err := newExecutor(dir, g, configPath)
	if err != nil {
		return nil, err
	}
	defer ex.Close()
	res := &ReplayResult{Format: ReplayFormat, Release: RecordedBy()}
	for _, hr := range f.Heights {
		fin, err := ex.exec(hr.Block)
		if err != nil {
			res.Error = err.Error()
			break
		}
		res.Heights = append(res.Heights, ReplayHeight{Height: hr.Block.Height, Root: hex.EncodeToString(fin.AppHash),
			Receipts: receiptsDigest(ReceiptsOf(fin.TxResults)), Txs: txsDigest(ex.obs.txs)})
	}
	res.Genesis = ex.cap.genesis
	return res, nil
}

// replayFinding compares another build's replay with the fixture: the
// genesis state, then each height's outcomes (the state hashes are compared
// by the import scenarios).
func replayFinding(f *Fixture, r *ReplayResult) *Finding {
	if f.GenesisState != nil && stateDigest(f.GenesisState) != stateDigest(r.Genesis) {
		return &Finding{Genesis: true, Msg: "the genesis state differs: the new build's InitChain writes another state from the same genesis.json"}
	}
	for _, h := range r.Heights {
		hr := f.Height(h.Height)
		if hr == nil {
			continue
		}
		if hr.Receipts != nil && receiptsDigest(hr.Receipts) != h.Receipts || txsDigest(hr.Txs) != h.Txs {
			return &Finding{Height: h.Height, Results: true, Msg: fmt.Sprintf("block %d: the new build's transaction results or writes differ from the recorded ones", h.Height)}
		}
	}
	return nil
}

// checkVersions compares the fixture's recorded version activations with
// the signal state rebuilt at its last height (st), read under the recorded
// config: the header's versions place version forks, so they must be what
// the chain did.
func (f *Fixture) checkVersions(st *state.Store, recordedConfig string) error {
	g, err := f.GenesisValue()
	if err != nil {
		return err
	}
	src, err := os.ReadFile(recordedConfig)
	if err != nil {
		return err
	}
	ff, err := forkfile.Read(recordedConfig, src)
	if err != nil {
		return err
	}
	sched, _ := ff.Schedule(nil, false) // only the versions matter here
	app, err := chain.New(chain.Options{Genesis: g, Schedule: sched, Store: st})
	if err != nil {
		return fmt.Errorf("the signal state at height %d: %v", f.Header.To, err)
	}
	recorded := map[uint32]int64{}
	for _, v := range f.Header.Versions {
		recorded[v.Version] = v.Height
	}
	for _, v := range sched.Versions() {
		h, ok := app.Signal().ActivationHeight(v.Number)
		rh, rok := recorded[v.Number]
		if ok != rok || h != rh {
			return fmt.Errorf("the header says version %d activated at %s, the recorded state says %s: the fixture is damaged or altered; record it again",
				v.Number, heightOrNone(rh, rok), heightOrNone(h, ok))
		}
		delete(recorded, v.Number)
	}
	for v := range recorded {
		return fmt.Errorf("the header lists version %d, which the recorded config does not declare: the fixture is damaged or altered", v)
	}
	return nil
}

func heightOrNone(h int64, ok bool) string {
	if !ok {
		return "never"
	}
	return fmt.Sprintf("height %d", h)
}
