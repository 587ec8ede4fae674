// Package node runs forkgate's reference chain (package chain) as a solo
// producer: it drives the App in-process exactly as CometBFT would
// (PrepareProposal, ProcessProposal, FinalizeBlock, Commit), stores every
// committed block in a block store of its own, exports and imports blocks,
// checks the fork schedule against the stored one at start, recovers from a
// crash at any point, and serves a status API over HTTP/JSON.
//
// Everything that feeds state is a function of the home directory: block h
// has time genesis_time + h × block_interval, the proposer of block h is
// slot (h-1) mod n of the App's producer set, each producer signals the
// version its [node] config gives for h, and the transaction source is
// seeded by the height and reads only committed state. Two runs of the same
// home give the same state hash at every height.
//
// See docs/node.md for the home layout, the file formats, the status API and
// the crash-safety argument.
package node

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/forkgate/forkgate/atomicfile"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/forkgate/forkgate/chain"
	"github.com/forkgate/forkgate/schedule"
	"github.com/forkgate/forkgate/signal"
)

// StateStore is the committed state a node runs on: chain.Store plus Close.
// Package state implements it.
type StateStore interface {
	chain.Store
	Close() error
}

// Options tune Open. The zero value runs the chain as built.
type Options struct {
	// Executors and Elector are passed to chain.New (nil: the chain's
	// defaults).
	Executors []chain.Executor
	Elector   chain.Elector
	// Implemented is the highest protocol version the node executes (0: this
	// binary's, Implemented()). A version above it that activates halts the
	// node with a *signal.HaltError.
	Implemented uint32
	// TxSource replaces the [node] workload.
	TxSource TxSource
	// Compat replaces the [node] compat policy when set.
	Compat string
	// Log receives operator messages (recovery, rewinds, warnings); nil
	// discards them.
	Log io.Writer
	// OpenState opens the state store (nil: package state).
	OpenState func(dir string, readOnly bool) (StateStore, error)
	// Scratch marks a throwaway home (upgrade verification): neither store
	// fsyncs its writes. Never set it for a node whose data matters.
	Scratch bool
	// Observer, if set, sees every user transaction the App executes
	// (chain.Options.Observer): upgrade verification compares each one's
	// writes with a recorded chain.
	Observer chain.TxObserver
	// Checks, if set, is shared by nodes that replay the same blocks
	// (chain.Options.Checks).
	Checks *chain.CheckCache
}

func (o Options) withDefaults() Options {
	if o.Implemented == 0 {
		o.Implemented = Implemented()
	}
	return o
}

// Node is an opened home: its stores and the App on them. Its methods are
// safe for concurrent use (the status API reads while Run produces).
type Node struct {
	mu       sync.Mutex
	l        *loaded
	opts     Options
	state    StateStore
	blocks   *BlockStore // nil for a read-only node that never ran
	app      *chain.App
	src      TxSource
	readOnly bool
	running  bool
	broken   error // a failed block left the App unusable
	// capSignal caps the signalled version at Implemented (the CometBFT
	// engine: a validator never signals a version its binary cannot run).
	capSignal bool
	log       io.Writer
}

// BlockReport describes one produced or replayed block.
type BlockReport struct {
	Height       int64
	Time         int64
	Proposer     chain.Address
	ProposerName string
	Version      uint32 // signalled by the proposer
	AppHash      []byte
	Txs          int // user transactions (the signal transaction excluded)
	OK, Failed   int
	Elapsed      time.Duration
}

// MismatchError is a re-executed block whose state hash differs from the
// recorded one.
type MismatchError struct {
	Height   int64
	Source   string // where the expected hash comes from
	Expected []byte
	Got      []byte
	// Stored is set when Got is the hash of a block the node already held
	// (an import over existing blocks), not one it computed.
	Stored bool
}

func (e *MismatchError) Error() string {
	if e.Stored {
		return fmt.Sprintf("block %d: state hash mismatch: %s records %x, but this node already holds block %d with %x: "+
			"the two chains diverged at or before height %d; import into an empty home to find the first block that executes differently",
			e.Height, e.Source, e.Expected, e.Height, e.Got, e.Height)
	}
	return fmt.Sprintf("block %d: state hash mismatch: %s records %x, this build computed %x; "+
		"the block was made under other rules at height %d (a change without a fork?) or %s was altered",
		e.Height, e.Source, e.Expected, e.Got, e.Height, e.Source)
}

// Open opens a home for producing and importing blocks: it creates the data
// directory on first use, checks the config's fork schedule against the
// stored one under the configured policy, and brings the state level with
// the block store after a crash.
func Open(home string, opts Options) (*Node, error) {
	l, err := loadHome(home)
	if err != nil {
		return nil, err
	}
	n := &Node{l: l, opts: opts.withDefaults(), log: opts.Log}
	if n.log == nil {
		n.log = io.Discard
	}
	if opts.OpenState == nil {
		n.opts.OpenState = openStateStore
		if opts.Scratch {
			n.opts.OpenState = openScratchStateStore
		}
	}
	policyName := l.cfg.Node.Compat
	if opts.Compat != "" {
		policyName = opts.Compat
	}
	policy, err := schedule.ParsePolicy(policyName)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(l.home.Data(), 0o700); err != nil {
		return nil, err
	}
	if opts.Scratch {
		n.blocks, err = OpenScratchBlockStore(l.home.Blocks(), l.gHash, l.genesis.ChainID)
	} else {
		n.blocks, err = OpenBlockStore(l.home.Blocks(), l.gHash, l.genesis.ChainID, false)
	}
	if err != nil {
		return nil, err
	}
	if err := n.openApp(); err != nil {
		n.Close()
		return nil, err
	}
	if err := n.reconcile(policy); err != nil {
		n.Close()
		return nil, err
	}
	if err := n.recover(); err != nil {
		n.Close()
		return nil, err
	}
	crashPoint("open: recovered")
	if err := n.removeStateAside(); err != nil {
		n.Close()
		return nil, err
	}
	if n.src, err = n.txSource(); err != nil {
		n.Close()
		return nil, err
	}
	return n, nil
}

// OpenReadOnly opens a home to read its status or export its blocks. It
// never writes: no schedule check, no recovery. A home whose node never ran
// is shown at height 0 from its genesis.
func OpenReadOnly(home string, opts Options) (*Node, error) {
	l, err := loadHome(home)
	if err != nil {
		return nil, err
	}
	n := &Node{l: l, opts: opts.withDefaults(), log: io.Discard, readOnly: true}
	if opts.OpenState == nil {
		n.opts.OpenState = openStateStore
	}
	if _, err := os.Stat(l.home.Blocks()); errors.Is(err, os.ErrNotExist) {
		ms := chain.NewMemStore()
		n.state = memState{ms}
		if n.app, err = n.newApp(); err != nil {
			return nil, err
		}
		if _, err := n.app.InitChain(context.Background(), &abci.RequestInitChain{}); err != nil {
			return nil, err
		}
		return n, nil
	}
	n.blocks, err = OpenBlockStore(l.home.Blocks(), l.gHash, l.genesis.ChainID, true)
	if err != nil {
		return nil, err
	}
	if err := n.openApp(); err != nil {
		n.Close()
		return nil, err
	}
	if err := n.checkConsistent(); err != nil {
		n.Close()
		return nil, err
	}
	return n, nil
}

type memState struct{ *chain.MemStore }

func (memState) Close() error { return nil }

func (n *Node) newApp() (*chain.App, error) {
	app, err := chain.New(chain.Options{
		Genesis:     n.l.genesis,
		Schedule:    n.l.cfg.Schedule,
		Store:       n.state,
		Executors:   n.opts.Executors,
		Elector:     n.opts.Elector,
		Implemented: n.opts.Implemented,
		Signer:      n,
		Observer:    n.opts.Observer,
		Checks:      n.opts.Checks,
	})
	if err != nil {
		return nil, fmt.Errorf("start the chain: %w", err)
	}
	return app, nil
}

// openApp opens the state store and builds the App on it.
func (n *Node) openApp() error {
	st, err := n.opts.OpenState(n.l.home.State(), n.readOnly)
	if err != nil {
		return err
	}
	n.state = st
	n.app, err = n.newApp()
	return err
}

// SignalFor implements chain.SignalSigner: the proposer's key and the
// version its [node] config signals at height.
func (n *Node) SignalFor(height int64, proposer chain.Address) (ed25519.PrivateKey, uint32, bool) {
	k, ok := n.l.producers[proposer]
	if !ok {
		return nil, 0, false
	}
	v := n.l.cfg.Node.SignallingFor(k.Name).At(height)
	if n.capSignal && v > n.opts.Implemented {
		v = n.opts.Implemented
	}
	return k.Private(), v, true
}

// Close closes the stores.
func (n *Node) Close() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	var errs []error
	if n.state != nil {
		errs = append(errs, n.state.Close())
		n.state = nil
	}
	if n.blocks != nil {
		errs = append(errs, n.blocks.Close())
		n.blocks = nil
	}
	return errors.Join(errs...)
}

// Height is the last committed height.
func (n *Node) Height() int64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.app.Height()
}

// App is the application (for tests and tools in-process).
func (n *Node) App() *chain.App { return n.app }

// Blocks is the block store (nil for a read-only node that never ran).
func (n *Node) Blocks() *BlockStore { return n.blocks }

// Genesis is the home's genesis.
func (n *Node) Genesis() *chain.Genesis { return n.l.genesis }

// Config is the home's config.
func (n *Node) Config() *Config { return n.l.cfg }

// BlockTime is the time of block h: genesis time + h × block interval.
func (n *Node) BlockTime(h int64) int64 { return n.l.genesis.Time + h*n.l.cfg.Node.BlockInterval }

// reconcile compares the config's schedule with the stored snapshot under
// the policy, rewinds if the policy says so, and stores the snapshot the
// node now runs with.
func (n *Node) reconcile(policy schedule.Policy) error {
	next := n.l.cfg.Schedule.Snapshot()
	raw, ok, err := n.blocks.Schedule()
	if err != nil {
		return err
	}
	headH := max(n.state.Height(), n.blocks.Height())
	if ok && headH > 0 {
		stored, err := schedule.DecodeSnapshot(raw)
		if err != nil {
			return fmt.Errorf("%s: %v", n.l.home.Blocks(), err)
		}
		head, err := n.head(headH)
		if err != nil {
			return err
		}
		d, err := schedule.Reconcile(stored, next, head, policy)
		if err != nil {
			return fmt.Errorf("%s: %w; to rewind, set compat = \"rewind\" in [node] or pass --compat rewind", n.l.cfg.Path, err)
		}
		switch {
		case d.Rewind:
			if err := n.rewind(max(d.RewindTo, 0)); err != nil {
				return err
			}
		case d.Ignored != nil:
			fmt.Fprintf(n.log, "warning: %v (policy \"ignore\": running with the new config anyway; blocks replayed from genesis may not reproduce the stored hashes)\n", d.Ignored)
		}
	}
	// Keep the committed next snapshot, so the following start compares
	// against what this run used.
	return n.blocks.PutSchedule(next.Encode())
}

// head describes the stored chain for schedule.CheckCompatible.
func (n *Node) head(h int64) (schedule.Head, error) {
	head := schedule.Head{Height: h, Time: n.l.genesis.Time, ParentHeight: -1, Locator: n.locator()}
	if h > 0 && h <= n.blocks.Height() {
		b, err := n.blocks.Get(h)
		if err != nil {
			return head, err
		}
		head.Time = b.Time
	}
	if g := n.l.genesis; g.ParentStart > 0 {
		head.ParentHeight = g.Point(h, 0).ParentHeight
	}
	return head, nil
}

// rewind cuts the chain back to height h: the state store is renamed
// aside, the blocks above h are dropped, and a new state store replays
// blocks 1..h (in recover) before the old one is deleted.
//
// Every step is safe to interrupt (kill -9), because the block store is the
// source of truth and the schedule snapshot is updated only after the
// reconcile that decided the rewind:
//   - before the rename, the old state is intact and the next start
//     decides the same rewind again;
//   - after the rename, the state is simply missing: the next start opens an
//     empty one, the stored (old) snapshot still conflicts with the config,
//     and the rewind is decided again from the block store's height;
//   - after the truncation, the next start replays 1..h into the empty state
//     (the conflict now lies above the head, so no rewind is needed);
//   - a state left aside by any interrupted rewind is deleted at start.
//
// Unlike a recursive delete in place, no step leaves a half-deleted store
// that Pebble cannot open.
func (n *Node) rewind(h int64) error {
	fmt.Fprintf(n.log, "rewinding to height %d (policy \"rewind\"): replaying blocks 1..%d into a new state store\n", h, h)
	if err := n.state.Close(); err != nil {
		return err
	}
	n.state = nil
	crashPoint("rewind: state closed")
	aside := n.l.home.stateAside()
	if err := os.RemoveAll(aside); err != nil {
		return fmt.Errorf("rewind: remove %s (left by an earlier rewind): %v", aside, err)
	}
	if err := atomicfile.Rename(n.l.home.State(), aside); err != nil {
		return fmt.Errorf("rewind: move %s aside: %v", n.l.home.State(), err)
	}
	crashPoint("rewind: state moved aside")
	if err := n.blocks.Truncate(h); err != nil {
		return err
	}
	crashPoint("rewind: blocks truncated")
	return n.openApp()
}

// removeStateAside deletes a state store an interrupted rewind left aside;
// the block store holds everything it held.
func (n *Node) removeStateAside() error {
	aside := n.l.home.stateAside()
	if _, err := os.Stat(aside); err != nil {
		return nil
	}
	fmt.Fprintf(n.log, "recovery: removing %s, left by an interrupted rewind\n", aside)
	if err := os.RemoveAll(aside); err != nil {
		return fmt.Errorf("remove %s (left by an interrupted rewind): %v; remove it by hand", aside, err)
	}
	return nil
}

// crashPoint marks a step of a destructive operation; crash tests kill the
// process there. It does nothing in a normal run.
var crashPoint = func(step string) {}

// recover brings the state level with the block store. Blocks are stored
// (synced) before the state commits them, so after a crash the block store
// is at most ahead; those blocks are re-executed and their hashes checked.
func (n *Node) recover() error {
	if err := n.checkConsistent(); err != nil {
		return err
	}
	s, b := n.state.Height(), n.blocks.Height()
	if s == 0 {
		if _, err := n.app.InitChain(context.Background(), &abci.RequestInitChain{}); err != nil {
			return err
		}
	}
	if b > s {
		fmt.Fprintf(n.log, "recovery: the state is at height %d, the block store at %d: re-executing blocks %d..%d\n", s, b, s+1, b)
	}
	for h := s + 1; h <= b; h++ {
		blk, err := n.blocks.Get(h)
		if err != nil {
			return err
		}
		if _, err := n.apply(blk, false, "the block store"); err != nil {
			return err
		}
	}
	return nil
}

// checkConsistent is what a home's data must satisfy before anything runs
// on it or reports it: the state is not ahead of the block store, and the
// state's hash is the one its block recorded (so the state belongs to this
// chain's blocks). `node run` and `node status` check the same.
func (n *Node) checkConsistent() error {
	s, b := n.state.Height(), n.blocks.Height()
	if b < s {
		return fmt.Errorf("%s: the block store is at height %d but the state at %d: blocks %d..%d are missing "+
			"(restore data/blocks from a backup, or start from an empty data directory and import an export)",
			n.l.home.Data(), b, s, b+1, s)
	}
	if s > 0 {
		blk, err := n.blocks.Get(s)
		if err != nil {
			return err
		}
		if root := n.state.Root(); !bytes.Equal(root, blk.AppHash) {
			return fmt.Errorf("%s: the state at height %d has hash %x, but block %d in the block store records %x: "+
				"the state does not belong to these blocks (another chain's, or damaged); start from an empty data directory and import an export",
				n.l.home.Data(), s, root, s, blk.AppHash)
		}
	}
	return nil
}

// apply re-executes a stored or imported block (FinalizeBlock and Commit,
// as CometBFT does for a decided block) and checks its state hash. With
// store, the block is written to the block store before the state commits.
func (n *Node) apply(blk *Block, store bool, source string) (*abci.ResponseFinalizeBlock, error) {
	if err := n.checkTime(blk, source); err != nil {
		return nil, err // refused before anything runs or is stored
	}
	ctx := context.Background()
	fin, err := n.app.FinalizeBlock(ctx, &abci.RequestFinalizeBlock{Height: blk.Height, Time: time.Unix(blk.Time, 0).UTC(),
		ProposerAddress: blk.Proposer[:], Txs: blk.Txs})
	if err != nil {
		// The App discarded the block's working set (at height 1 with the
		// genesis writes): the node must be reopened before it goes on.
		n.broken = fmt.Errorf("block %d from %s: %w", blk.Height, source, err)
		return nil, n.broken
	}
	if !bytes.Equal(fin.AppHash, blk.AppHash) {
		n.broken = &MismatchError{Height: blk.Height, Source: source, Expected: blk.AppHash, Got: fin.AppHash}
		return nil, n.broken
	}
	if store {
		if err := n.blocks.Put(blk); err != nil {
			n.broken = err
			return nil, err
		}
	}
	if _, err := n.app.Commit(ctx, &abci.RequestCommit{}); err != nil {
		n.broken = err
		return nil, err
	}
	return fin, nil
}

// checkTime refuses a block whose time is before its parent's (block 1:
// before the genesis time), before it runs or is stored. Fork and version
// activation by time assume time never goes back; CometBFT guarantees it for
// the blocks it decides (its BFT time increases by the nanosecond, so blocks,
// which record seconds, may share a second), and imports must not break it.
func (n *Node) checkTime(blk *Block, source string) error {
	prev, what := n.l.genesis.Time, "the genesis time"
	if blk.Height > 1 {
		p, err := n.blocks.Get(blk.Height - 1)
		if err != nil {
			return err
		}
		prev, what = p.Time, fmt.Sprintf("block %d's time", blk.Height-1)
		if blk.Time < prev {
			return fmt.Errorf("block %d from %s: time %d is before %s %d: block times never go back; the blocks are damaged or forged",
				blk.Height, source, blk.Time, what, prev)
		}
		return nil
	}
	if blk.Time < prev {
		return fmt.Errorf("block %d from %s: time %d is before %s %d: the blocks are damaged or belong to another genesis", blk.Height, source, blk.Time, what, prev)
	}
	return nil
}

// RunOptions say how long Run produces.
type RunOptions struct {
	Until   int64         // stop once this height is committed (0: no limit)
	Blocks  int64         // stop after this many new blocks (0: no limit)
	Pace    time.Duration // wait between blocks (0: as fast as possible)
	OnBlock func(BlockReport)
}

// ErrPastUntil is returned when the node is already above --until.
var ErrPastUntil = errors.New("the node is past the requested height")

// Run produces blocks until opts say stop or ctx is cancelled (which is a
// clean stop: the last block is committed and Run returns nil). A version
// this binary does not implement that activates stops it with an error
// wrapping *signal.HaltError.
func (n *Node) Run(ctx context.Context, opts RunOptions) error {
	if n.readOnly {
		return errors.New("the node was opened read-only")
	}
	start := n.Height()
	if opts.Until > 0 && start > opts.Until {
		return fmt.Errorf("%w: it is at height %d, above %d; nothing to do", ErrPastUntil, start, opts.Until)
	}
	n.mu.Lock()
	n.running = true
	n.mu.Unlock()
	defer func() {
		n.mu.Lock()
		n.running = false
		n.mu.Unlock()
	}()
	for {
		h := n.Height()
		if (opts.Until > 0 && h >= opts.Until) || (opts.Blocks > 0 && h-start >= opts.Blocks) {
			return nil
		}
		if ctx.Err() != nil {
			return nil
		}
		rep, err := n.ProduceBlock()
		if err != nil {
			return err
		}
		if opts.OnBlock != nil {
			opts.OnBlock(rep)
		}
		if opts.Pace > 0 {
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(opts.Pace):
			}
		}
	}
}

// ProduceBlock makes, executes and commits the next block as a solo
// producer.
func (n *Node) ProduceBlock() (BlockReport, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.broken != nil {
		return BlockReport{}, fmt.Errorf("the node stopped on an earlier error: %w", n.broken)
	}
	if n.readOnly {
		return BlockReport{}, errors.New("the node was opened read-only")
	}
	if err := n.app.Signal().Halted(); err != nil {
		return BlockReport{}, err
	}
	began := time.Now()
	ctx := context.Background()
	h := n.app.Height() + 1
	set, err := n.app.Producers()
	if err != nil {
		return BlockReport{}, fmt.Errorf("block %d: %w", h, err)
	}
	proposer := set[int((h-1)%int64(len(set)))]
	if _, ok := n.l.producers[proposer]; !ok {
		return BlockReport{}, fmt.Errorf("block %d: the proposer of slot %d is %s (%s), but %s has no key for it: a solo node needs the key of every producer in the set",
			h, (h-1)%int64(len(set)), proposer, nodeNames([]chain.Address{proposer}, n.l.names), n.l.home.Keys())
	}
	ts := n.BlockTime(h)
	if h > 1 {
		// Blocks a CometBFT network decided carry wall-clock times, ahead of
		// the solo schedule: a solo node continuing such a chain (verify
		// running past a network's recording) keeps time moving forward.
		// For a solo chain the schedule is always ahead and this is a no-op.
		if p, err := n.blocks.Get(h - 1); err == nil && p.Time >= ts {
			ts = p.Time + n.l.cfg.Node.BlockInterval
		}
	}
	t := time.Unix(ts, 0).UTC()
	var txs [][]byte
	if n.src != nil && n.l.cfg.Node.TxsPerBlock > 0 {
		txs = n.src.Next(h, readView{n.state}, n.l.cfg.Node.TxsPerBlock)
	}
	prep, err := n.app.PrepareProposal(ctx, &abci.RequestPrepareProposal{Height: h, Time: t, ProposerAddress: proposer[:], Txs: txs})
	if err != nil {
		return BlockReport{}, fmt.Errorf("block %d: prepare proposal: %w", h, err)
	}
	pp, err := n.app.ProcessProposal(ctx, &abci.RequestProcessProposal{Height: h, Time: t, ProposerAddress: proposer[:], Txs: prep.Txs})
	if err != nil {
		return BlockReport{}, fmt.Errorf("block %d: process proposal: %w", h, err)
	}
	if pp.Status != abci.ResponseProcessProposal_ACCEPT {
		return BlockReport{}, fmt.Errorf("block %d: the App rejected its own proposal (ProcessProposal %s): a bug in the chain or the signer", h, pp.Status)
	}
	fin, err := n.app.FinalizeBlock(ctx, &abci.RequestFinalizeBlock{Height: h, Time: t, ProposerAddress: proposer[:], Txs: prep.Txs})
	if err != nil {
		// The App discarded the block (and at height 1 the genesis writes);
		// nothing was stored. Reopening the node starts over cleanly.
		n.broken = err
		return BlockReport{}, err
	}
	blk := &Block{Height: h, Time: t.Unix(), Proposer: proposer, Txs: prep.Txs, AppHash: fin.AppHash}
	if err := n.blocks.Put(blk); err != nil {
		n.broken = err
		return BlockReport{}, err
	}
	if _, err := n.app.Commit(ctx, &abci.RequestCommit{}); err != nil {
		n.broken = err
		return BlockReport{}, err
	}
	_, version, _ := n.SignalFor(h, proposer)
	rep := BlockReport{Height: h, Time: blk.Time, Proposer: proposer, ProposerName: n.l.names[proposer], Version: version,
		AppHash: fin.AppHash, Txs: len(prep.Txs) - 1, Elapsed: time.Since(began)}
	for _, r := range fin.TxResults[1:] {
		if r.Code == chain.CodeOK {
			rep.OK++
		} else {
			rep.Failed++
		}
	}
	return rep, nil
}

// IsHalt reports whether err is a signal halt (a version this binary does
// not implement activated).
func IsHalt(err error) bool {
	var he *signal.HaltError
	return errors.As(err, &he)
}

// readView is the committed state as the transaction source sees it.
type readView struct{ s chain.Store }

func (v readView) Get(k []byte) ([]byte, error) { return v.s.Get(k) }
func (readView) Set([]byte, []byte) error {
	return errors.New("the transaction source may not write state")
}
func (readView) Delete([]byte) error { return errors.New("the transaction source may not write state") }
