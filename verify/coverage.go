package verify

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/forkgate/forkgate/chain"
	"github.com/forkgate/forkgate/forkfile"
	"github.com/forkgate/forkgate/node"
	"github.com/forkgate/forkgate/schedule"
	"github.com/forkgate/forkgate/state"
)

// Fork coverage answers "would the library catch an ungated change to this
// fork's rule?". A recorded chain is evidence for a fork when some recorded
// block executes differently with the fork flipped: below its activation,
// executed as if it were active; from it on, as if it were not. A
// transaction whose outcome (code, writes or receipt) then differs took the
// side of the rule the fork decides, and a build that changes that side
// without a fork changes that outcome, which verify compares. A fork
// without such evidence on both sides, on some chain of the library, is a
// rule the library cannot check: `verify --coverage` reports it, exit 1.
//
// The flip is made on the recorded config's schedule (the fork set to
// height 0, or never), so it is measured with this build's code: each
// recorded block runs from the recorded state before it (rebuilt from the
// write sets) under the recorded schedule, which must reproduce the
// recording, and under each flipped one.

// ForkCoverage is one fork's evidence in one chain's fixture.
type ForkCoverage struct {
	Key string `json:"key"`
	// Activation is the fork's first active height on this chain (0: from
	// genesis; -1: not active in the recorded range or never).
	Activation   int64 `json:"activation"`
	BlocksBefore int64 `json:"blocks_before"` // recorded blocks below the activation
	BlocksAfter  int64 `json:"blocks_after"`
	// TxsBefore and TxsAfter count the recorded transactions whose outcome
	// changes when the fork is flipped, on each side of its activation;
	// BlocksChangedBefore/After the blocks whose state or results change
	// (with or without such a transaction: block-level rules).
	TxsBefore           int `json:"txs_before"`
	TxsAfter            int `json:"txs_after"`
	BlocksChangedBefore int `json:"blocks_changed_before"`
	BlocksChangedAfter  int `json:"blocks_changed_after"`
	// ExampleBefore/After name the first such transaction or block.
	ExampleBefore string `json:"example_before,omitempty"`
	ExampleAfter  string `json:"example_after,omitempty"`
}

// ChainCoverage is one chain's evidence for every fork.
type ChainCoverage struct {
	Chain   string         `json:"chain"`
	To      int64          `json:"to"`
	Forks   []ForkCoverage `json:"forks"`
	Seconds float64        `json:"seconds"`
	Error   string         `json:"error,omitempty"`
}

// ForkEvidence sums one fork's evidence over the library.
type ForkEvidence struct {
	Key          string   `json:"key"`
	Before       int      `json:"before"` // transactions or blocks, every chain
	After        int      `json:"after"`
	BeforeChains []string `json:"before_chains"`
	AfterChains  []string `json:"after_chains"`
}

// CoverageReport is the library's fork coverage.
type CoverageReport struct {
	Chains []*ChainCoverage `json:"chains"`
	Forks  []ForkEvidence   `json:"forks"`
	// Missing lists the forks without evidence on a side ("coins.ForkX:
	// no recorded block takes the side before its activation").
	Missing []string `json:"missing"`
	OK      bool     `json:"ok"`
}

// MeasureCoverage measures a chain's fixture, with scratch stores in work.
func MeasureCoverage(c *Chain, f *Fixture, work string) *ChainCoverage {
	began := time.Now()
	cc := &ChainCoverage{Chain: c.Name, To: f.Header.To}
	if err := measure(cc, f, work); err != nil {
		cc.Error = err.Error()
	}
	cc.Seconds = time.Since(began).Seconds()
	return cc
}

// flipped is a fork's two counterfactual schedules.
type flipped struct {
	key     string
	at      int64 // first active height, -1 when not active in range
	on, off *schedule.Schedule
	cov     *ForkCoverage
}

func measure(cc *ChainCoverage, f *Fixture, work string) error {
	g, err := f.GenesisValue()
	if err != nil {
		return err
	}
	ff, err := forkfile.Read("recorded config.toml", f.Config)
	if err != nil {
		return err
	}
	reg := chain.Registry()
	cfg := ff.Config()
	base, fs := schedule.Build(reg, cfg, schedule.Options{})
	if fs.HasErrors() {
		return fmt.Errorf("the recorded config does not build with this build's registry: %v", fs)
	}
	loc := f.Locator(g)
	var forks []*flipped
	for _, e := range base.Entries() {
		fl := &flipped{key: e.Fork.Key(), at: -1}
		if h, ok := loc.ActivationHeight(e.Activation, e.Fork.Domain); ok && h <= f.Header.To {
			fl.at = h
		}
		if fl.on, err = flip(reg, cfg, e, schedule.AtHeight(0)); err != nil {
			return err
		}
		if fl.off, err = flip(reg, cfg, e, schedule.Never()); err != nil {
			return err
		}
		fl.cov = &ForkCoverage{Key: fl.key, Activation: fl.at}
		forks = append(forks, fl)
	}
	dir := filepath.Join(work, "coverage-"+cc.Chain)
	os.RemoveAll(dir)
	defer os.RemoveAll(dir)
	st, err := state.Open(dir, state.Options{NoSync: true, MemTableSize: node.ScratchMemTable})
	if err != nil {
		return err
	}
	defer st.Close()
	for i := range f.Heights {
		hr := &f.Heights[i]
		h := hr.Block.Height
		actual, err := runCounterfactual(st, g, base, hr)
		if err != nil {
			return fmt.Errorf("height %d: %v", h, err)
		}
		if d := actual.diff(hr); d.changed() {
			return fmt.Errorf("height %d: this build does not reproduce the recorded block (%s): coverage is measured against the recording, so run verify first", h, d.example(hr))
		}
		for _, fl := range forks {
			after := fl.at >= 0 && h >= fl.at
			sched := fl.on
			if after {
				sched = fl.off
			}
			out, err := runCounterfactual(st, g, sched, hr)
			if err != nil {
				return fmt.Errorf("height %d, %s flipped: %v", h, fl.key, err)
			}
			d := out.diff(hr)
			if after {
				fl.cov.BlocksAfter++
			} else {
				fl.cov.BlocksBefore++
			}
			if !d.changed() {
				continue
			}
			if after {
				fl.cov.TxsAfter += len(d.txs)
				fl.cov.BlocksChangedAfter++
				if fl.cov.ExampleAfter == "" {
					fl.cov.ExampleAfter = d.example(hr)
				}
			} else {
				fl.cov.TxsBefore += len(d.txs)
				fl.cov.BlocksChangedBefore++
				if fl.cov.ExampleBefore == "" {
					fl.cov.ExampleBefore = d.example(hr)
				}
			}
		}
		if err := f.applyHeight(st, h); err != nil {
			return err
		}
	}
	for _, fl := range forks {
		cc.Forks = append(cc.Forks, *fl.cov)
	}
	return nil
}

// flip is the recorded config with one fork's activation replaced.
func flip(reg *schedule.Registry, cfg schedule.Config, e schedule.Entry, a schedule.Activation) (*schedule.Schedule, error) {
	c := cfg
	c.Settings = nil
	scope, name := schedule.SplitKey(e.Fork.Key())
	set := schedule.Setting{Scope: scope, Name: name, Activation: a, Origin: "coverage flip"}
	found := false
	for _, st := range cfg.Settings {
		if st.Key() == e.Fork.Key() {
			st, found = set, true
		}
		c.Settings = append(c.Settings, st)
	}
	if !found {
		c.Settings = append(c.Settings, set)
	}
	s, fs := schedule.Build(reg, c, schedule.Options{})
	if fs.HasErrors() {
		return nil, fmt.Errorf("%s flipped to %s: %v", e.Fork.Key(), a, fs)
	}
	return s, nil
}

// outcome is what one counterfactual execution of a block gave.
type outcome struct {
	receipts []Receipt
	txs      []TxOutcome
	writes   []chain.Write // net, sorted
}

// blockDiff is how an outcome differs from the recording.
type blockDiff struct {
	txs    []int // user transactions whose code, writes or receipt differ
	block  bool  // the signal transaction's result or the net writes differ
	reason string
}

func (d blockDiff) changed() bool { return len(d.txs) > 0 || d.block }

func (d blockDiff) example(hr *HeightRecord) string {
	if len(d.txs) == 0 {
		return fmt.Sprintf("height %d: block-level (%s)", hr.Block.Height, d.reason)
	}
	i := d.txs[0]
	exec, action, _, _ := DescribeTx(hr.Block.Txs[i])
	return fmt.Sprintf("height %d #%d %s.%s: %s", hr.Block.Height, i, exec, action, d.reason)
}

func (o *outcome) diff(hr *HeightRecord) blockDiff {
	var d blockDiff
	for i, t := range o.txs {
		if i >= len(hr.Txs) {
			break
		}
		rec := hr.Txs[i]
		var why string
		switch {
		case rec.Code != t.Code:
			why = fmt.Sprintf("code %d → %d", rec.Code, t.Code)
		case rec.WriteDigest != t.WriteDigest:
			why = "other writes"
		case hr.Receipts != nil && t.Index < len(o.receipts) && !hr.Receipts[t.Index].Equal(o.receipts[t.Index]):
			why = hr.Receipts[t.Index].Diff(o.receipts[t.Index])
		default:
			continue
		}
		if len(d.txs) == 0 {
			d.reason = why
		}
		d.txs = append(d.txs, t.Index)
	}
	if !sameWrites(o.writes, hr.Writes) {
		d.block = true
		if d.reason == "" {
			d.reason = "the block's state changes"
		}
	}
	if hr.Receipts != nil && len(o.receipts) > 0 && !hr.Receipts[0].Equal(o.receipts[0]) {
		d.block = true
		if d.reason == "" {
			d.reason = "the signal transaction's result changes"
		}
	}
	return d
}

func sameWrites(a, b []chain.Write) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i].Key, b[i].Key) || !bytes.Equal(a[i].Value, b[i].Value) || (a[i].Value == nil) != (b[i].Value == nil) {
			return false
		}
	}
	return true
}

// runCounterfactual executes a recorded block with sched from the state in
// st (committed at the height before), without changing st.
func runCounterfactual(st *state.Store, g *chain.Genesis, sched *schedule.Schedule, hr *HeightRecord) (*outcome, error) {
	ov := &overlayStore{base: st, height: hr.Block.Height - 1, w: map[string][]byte{}}
	col := &collector{}
	app, err := chain.New(chain.Options{Genesis: g, Schedule: sched, Store: ov, Observer: col})
	if err != nil {
		return nil, err
	}
	ctx := context.Background()
	if hr.Block.Height == 1 {
		if _, err := app.InitChain(ctx, &abci.RequestInitChain{}); err != nil {
			return nil, err
		}
	}
	b := hr.Block
	fin, err := app.FinalizeBlock(ctx, &abci.RequestFinalizeBlock{Height: b.Height, Time: time.Unix(b.Time, 0).UTC(),
		ProposerAddress: b.Proposer[:], Txs: b.Txs})
	if err != nil {
		// A flipped rule may make the block invalid as a whole: a
		// difference, with no transaction to name.
		return &outcome{writes: []chain.Write{{Key: []byte("block refused: " + err.Error())}}}, nil
	}
	w, err := ov.net()
	if err != nil {
		return nil, err
	}
	return &outcome{receipts: ReceiptsOf(fin.TxResults), txs: col.txs, writes: w}, nil
}

// overlayStore is a chain.Store over a committed state that keeps its
// writes to itself: a counterfactual block runs on it and is dropped.
type overlayStore struct {
	base   *state.Store
	height int64
	w      map[string][]byte // nil: deleted
}

func (o *overlayStore) Get(k []byte) ([]byte, error) {
	if v, ok := o.w[string(k)]; ok {
		return bytes.Clone(v), nil
	}
	return o.base.Get(k)
}

func (o *overlayStore) Set(k, v []byte) error {
	o.w[string(k)] = bytes.Clone(v)
	return nil
}

func (o *overlayStore) Delete(k []byte) error {
	o.w[string(k)] = nil
	return nil
}

func (o *overlayStore) Height() int64 { return o.height }
func (o *overlayStore) Root() []byte  { return o.base.Root() }

// Prepare gives a digest of the net writes, not a Merkle root: the
// counterfactual compares writes, never roots.
func (o *overlayStore) Prepare(int64) ([]byte, error) {
	w, err := o.net()
	if err != nil {
		return nil, err
	}
	d := WriteDigest(w)
	return d[:], nil
}

func (o *overlayStore) Commit(int64) error { return nil }
func (o *overlayStore) Discard()           { clear(o.w) }

// net is the overlay's writes that change the base, sorted by key.
func (o *overlayStore) net() ([]chain.Write, error) {
	keys := make([]string, 0, len(o.w))
	for k := range o.w {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []chain.Write
	for _, k := range keys {
		old, err := o.base.Get([]byte(k))
		if err != nil {
			return nil, err
		}
		v := o.w[k]
		if bytes.Equal(old, v) && (old == nil) == (v == nil) {
			continue
		}
		out = append(out, chain.Write{Key: []byte(k), Value: v})
	}
	return out, nil
}

// Coverage measures every chain's fixture (parallel at a time) and sums
// the evidence per fork: a fork without evidence on a side, on every chain,
// is missing.
func Coverage(chains []*Chain, work string, parallel int) (*CoverageReport, error) {
	if work == "" {
		d, err := os.MkdirTemp("", "forkgate-coverage-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(d)
		work = d
	}
	fixtures := make([]*Fixture, len(chains))
	for i, c := range chains {
		f, err := ReadFixture(c.FixturePath())
		if err != nil {
			return nil, &InputError{Err: fmt.Errorf("chain %s: %w", c.Name, err)}
		}
		fixtures[i] = f
	}
	rep := &CoverageReport{Chains: make([]*ChainCoverage, len(chains))}
	sem := make(chan struct{}, max(parallel, 1))
	var wg sync.WaitGroup
	for i := range chains {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			rep.Chains[i] = MeasureCoverage(chains[i], fixtures[i], work)
		}()
	}
	wg.Wait()
	rep.sum()
	return rep, nil
}

// sum totals the chains' evidence per fork and lists what is missing.
func (r *CoverageReport) sum() {
	byKey := map[string]*ForkEvidence{}
	var keys []string
	for _, cc := range r.Chains {
		if cc.Error != "" {
			r.Missing = append(r.Missing, fmt.Sprintf("chain %s: coverage not measured: %s", cc.Chain, cc.Error))
		}
		for _, fc := range cc.Forks {
			e := byKey[fc.Key]
			if e == nil {
				e = &ForkEvidence{Key: fc.Key, BeforeChains: []string{}, AfterChains: []string{}}
				byKey[fc.Key] = e
				keys = append(keys, fc.Key)
			}
			if n := max(fc.TxsBefore, fc.BlocksChangedBefore); n > 0 {
				e.Before += n
				e.BeforeChains = append(e.BeforeChains, cc.Chain)
			}
			if n := max(fc.TxsAfter, fc.BlocksChangedAfter); n > 0 {
				e.After += n
				e.AfterChains = append(e.AfterChains, cc.Chain)
			}
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		e := byKey[k]
		r.Forks = append(r.Forks, *e)
		if e.Before == 0 {
			r.Missing = append(r.Missing, fmt.Sprintf("%s: no recorded block of the measured chains executes differently when it is active below its activation: an ungated change to its new rule would pass", k))
		}
		if e.After == 0 {
			r.Missing = append(r.Missing, fmt.Sprintf("%s: no recorded block of the measured chains executes differently when it is inactive from its activation on: an ungated change to its rule would pass", k))
		}
	}
	if r.Missing == nil {
		r.Missing = []string{}
	}
	r.OK = len(r.Missing) == 0
}

// WriteText writes the coverage table: per fork, the evidence before and
// after its activation and the chains that hold it.
func (r *CoverageReport) WriteText(w io.Writer) {
	fmt.Fprintf(w, "fork coverage: recorded transactions (or blocks) whose outcome changes when the fork is flipped\n")
	fmt.Fprintf(w, "  %-36s %-34s %s\n", "fork", "before its activation", "from its activation")
	for _, e := range r.Forks {
		fmt.Fprintf(w, "  %-36s %-34s %s\n", e.Key, evidenceText(e.Before, e.BeforeChains), evidenceText(e.After, e.AfterChains))
	}
	if r.OK {
		fmt.Fprintf(w, "coverage: OK: every fork has evidence on both sides of its rule\n")
		return
	}
	fmt.Fprintf(w, "coverage: %d finding(s):\n", len(r.Missing))
	for _, m := range r.Missing {
		fmt.Fprintf(w, "  %s\n", m)
	}
	fmt.Fprintf(w, "  extend the workload's probes (workload/probes.go) or the library's fork heights, then record the fixtures again\n")
}

func evidenceText(n int, chains []string) string {
	if n == 0 {
		return "NONE"
	}
	return fmt.Sprintf("%d (%s)", n, strings.Join(chains, ", "))
}

// WriteChainText writes one chain's coverage (forkgate record prints it).
func (cc *ChainCoverage) WriteChainText(w io.Writer) {
	if cc.Error != "" {
		fmt.Fprintf(w, "  coverage not measured: %s\n", cc.Error)
		return
	}
	for _, fc := range cc.Forks {
		at := "not active"
		if fc.Activation >= 0 {
			at = fmt.Sprintf("active from %d", fc.Activation)
		}
		fmt.Fprintf(w, "  %-36s %-16s before: %2d blocks, %3d txs changed   after: %2d blocks, %3d txs changed\n",
			fc.Key, at, fc.BlocksBefore, fc.TxsBefore, fc.BlocksAfter, fc.TxsAfter)
	}
}
