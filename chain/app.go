// Package chain is forkgate's reference chain: a small deterministic
// application with the ABCI++ shape of CometBFT v0.38 (PrepareProposal,
// ProcessProposal, FinalizeBlock, Commit, Info, Query), coins, token, game,
// producer-election and governance executors whose behaviour changes are
// gated by forks, and a Merkle state hash for every block.
//
// The same App runs embedded under the solo producer (package node) and, in
// a later step, under CometBFT; nothing here knows which drives it.
package chain

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"
	"sort"
	"sync"

	"github.com/forkgate/forkgate/codec"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/forkgate/forkgate/buildinfo"
	"github.com/forkgate/forkgate/schedule"
	"github.com/forkgate/forkgate/signal"
)

// Store is the committed state the App runs on (package state implements
// it). Writes go to a working set; Prepare computes the block's root and
// Commit persists it, so FinalizeBlock can return the hash while persistence
// waits for ABCI Commit, as CometBFT expects.
type Store interface {
	KV
	Height() int64
	Root() []byte
	Prepare(height int64) ([]byte, error)
	Commit(height int64) error
	Discard()
}

// Elector elects producers; the producers executor implements it.
type Elector interface {
	// InitGenesis registers the genesis producers as candidates.
	InitGenesis(kv KV, g *Genesis) error
	// Elect returns the top slots candidates by votes, ties broken by
	// address, so every node elects the same set.
	Elect(kv KV, slots int) ([]Address, error)
}

// SignalSigner gives the proposer's key and the version its software
// signals; the App uses it in PrepareProposal. A node that never proposes
// leaves it nil.
type SignalSigner interface {
	SignalFor(height int64, proposer Address) (ed25519.PrivateKey, uint32, bool)
}

// Options builds an App.
type Options struct {
	Genesis   *Genesis
	Schedule  *schedule.Schedule
	Store     Store
	Executors []Executor // nil: DefaultExecutors()
	Elector   Elector    // nil: the producers executor in Executors
	// Implemented is the highest protocol version this binary implements;
	// 0 means every declared version. A version above it that activates
	// halts the node with an error naming the release needed.
	Implemented uint32
	Signer      SignalSigner
	// Observer, if set, sees every user transaction's outcome and writes;
	// upgrade verification records and compares them to find the exact
	// transaction whose execution diverged.
	Observer TxObserver
	// Checks, if set, remembers transactions' stateless checks across Apps
	// that replay the same blocks (see CheckCache).
	Checks *CheckCache
}

// TxObserver receives each executed user transaction: its position in the
// block (1 = first after the signal transaction), result code, and the state
// writes it made through its overlay, sorted by key (none when rejected).
// Governance writes go through the signal controller, straight to the
// block's state, and are not listed; a state-tree diff still shows them.
type TxObserver interface {
	ObserveTx(height int64, index int, hash [32]byte, code uint32, log string, writes []Write)
}

// Write is one state change; a nil Value is a delete.
type Write struct {
	Key, Value []byte
}

// App is the application. ABCI calls are serialised by CometBFT (and by the
// solo driver); the mutex only guards the read-only Query/Info path.
type App struct {
	abci.BaseApplication

	mu      sync.Mutex
	g       *Genesis
	sched   *schedule.Schedule
	forks   Forks
	params  Params
	store   Store
	sig     *signal.Controller
	sigCfg  signal.Config
	execs   map[string]Executor
	elector Elector
	signer  SignalSigner
	obs     TxObserver
	rules   schedule.Rules // the block being executed
	// checkRules serves CheckTx, which may run between blocks.
	checkRules schedule.Rules

	pending int64 // height prepared by FinalizeBlock and not yet committed
	pre     prechecks
	checks  *CheckCache // nil: none
}

// New builds the App and resumes from the store's committed height.
func New(opts Options) (*App, error) {
	if err := opts.Genesis.Validate(); err != nil {
		return nil, err
	}
	a := &App{g: opts.Genesis, sched: opts.Schedule, store: opts.Store, signer: opts.Signer, obs: opts.Observer, checks: opts.Checks, execs: map[string]Executor{}}
	a.forks = resolveForks(a.sched)
	a.params = resolveParams(a.sched)
	execs := opts.Executors
	if execs == nil {
		execs = DefaultExecutors()
	}
	for _, e := range execs {
		if _, dup := a.execs[e.Name()]; dup || e.Name() == signalExec {
			return nil, fmt.Errorf("executor %q registered twice", e.Name())
		}
		a.execs[e.Name()] = e
		if el, ok := e.(Elector); ok && opts.Elector == nil {
			opts.Elector = el
		}
	}
	if opts.Elector == nil {
		return nil, errors.New("no producer elector: include the producers executor")
	}
	a.elector = opts.Elector
	mode, err := signal.ParseMode(a.g.SignalMode)
	if err != nil {
		return nil, err
	}
	a.sigCfg = signal.Config{Mode: mode, Versions: a.sched.Versions(), Implemented: opts.Implemented, Params: GovernanceParamsFor(a.sched.Versions())}
	if err := a.reloadSignal(); err != nil {
		return nil, err
	}
	return a, nil
}

// reloadSignal rebuilds the signal controller from committed state: at start
// and after a block is discarded, since its memory may hold the discarded
// block's effects.
func (a *App) reloadSignal() error {
	sig, err := signal.New(prefixKV{prefix: []byte("signal/"), kv: a.store}, a.sigCfg)
	if err != nil {
		return fmt.Errorf("signal state: %w", err)
	}
	a.sig = sig
	return nil
}

// Schedule is the fork schedule the App runs with.
func (a *App) Schedule() *schedule.Schedule { return a.sched }

// Signal exposes the controller for status reports.
func (a *App) Signal() *signal.Controller { return a.sig }

// Genesis is the chain's genesis.
func (a *App) Genesis() *Genesis { return a.g }

// Height is the last committed height.
func (a *App) Height() int64 { return a.store.Height() }

// isMaintenance reports whether height starts a new maintenance period.
func (a *App) isMaintenance(height int64) bool {
	return height > 1 && (height-1)%a.g.MaintenanceInterval == 0
}

// InitChain writes the genesis state. It is committed with block 1.
func (a *App) InitChain(_ context.Context, req *abci.RequestInitChain) (*abci.ResponseInitChain, error) {
	if err := a.initGenesis(); err != nil {
		return nil, err
	}
	return &abci.ResponseInitChain{}, nil
}

func (a *App) initGenesis() error {
	if a.store.Height() != 0 {
		return fmt.Errorf("InitChain on a store at height %d: the chain is already initialised", a.store.Height())
	}
	for _, acc := range a.g.Accounts {
		addr, err := ParseAddress(acc.Address, false)
		if err != nil {
			return err
		}
		if err := Credit(a.store, addr, acc.Balance); err != nil {
			return fmt.Errorf("genesis account %s: %v", acc.Address, err)
		}
	}
	if err := a.elector.InitGenesis(a.store, a.g); err != nil {
		return fmt.Errorf("genesis producers: %w", err)
	}
	set, err := a.elector.Elect(a.store, a.g.ProducerSlots)
	if err != nil {
		return err
	}
	if err := putProducerSet(a.store, set); err != nil {
		return err
	}
	if err := a.sig.Maintenance(0, a.g.Time, addrStrings(set)); err != nil {
		return fmt.Errorf("genesis signal state: %w", err)
	}
	return nil
}

// Info tells CometBFT (or the solo driver) where the App is.
func (a *App) Info(context.Context, *abci.RequestInfo) (*abci.ResponseInfo, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return &abci.ResponseInfo{
		Data:             "forkgate reference chain",
		Version:          buildinfo.Version,
		LastBlockHeight:  a.store.Height(),
		LastBlockAppHash: a.store.Root(),
	}, nil
}

// PrepareProposal puts the proposer's signal transaction first, then the
// mempool's transactions that decode, within the size limit.
func (a *App) PrepareProposal(_ context.Context, req *abci.RequestPrepareProposal) (*abci.ResponsePrepareProposal, error) {
	if a.signer == nil {
		return nil, errors.New("this node has no producer key and cannot propose")
	}
	var proposer Address
	copy(proposer[:], req.ProposerAddress)
	key, version, ok := a.signer.SignalFor(req.Height, proposer)
	if !ok {
		return nil, fmt.Errorf("block %d: no key for proposer %s", req.Height, proposer)
	}
	txs := [][]byte{NewSignalTx(a.g.ChainID, key, req.Height, version)}
	size := int64(len(txs[0]))
	for _, raw := range req.Txs {
		tx, err := DecodeTx(raw)
		if err != nil || tx.Exec == signalExec {
			continue
		}
		if req.MaxTxBytes > 0 && size+int64(len(raw)) > req.MaxTxBytes {
			break
		}
		size += int64(len(raw))
		txs = append(txs, raw)
	}
	return &abci.ResponsePrepareProposal{Txs: txs}, nil
}

// ProcessProposal rejects blocks without a valid signal transaction from
// their proposer, or with transactions that do not decode.
func (a *App) ProcessProposal(_ context.Context, req *abci.RequestProcessProposal) (*abci.ResponseProcessProposal, error) {
	var proposer Address
	copy(proposer[:], req.ProposerAddress)
	if err := a.checkBlock(req.Height, proposer, req.Txs); err != nil {
		return &abci.ResponseProcessProposal{Status: abci.ResponseProcessProposal_REJECT}, nil
	}
	return &abci.ResponseProcessProposal{Status: abci.ResponseProcessProposal_ACCEPT}, nil
}

// checkBlock is the structural validity of a block: a signal transaction
// first, from the proposer, and only decodable user transactions after it.
func (a *App) checkBlock(height int64, proposer Address, txs [][]byte) error {
	if len(txs) == 0 {
		return fmt.Errorf("block %d has no signal transaction", height)
	}
	if _, err := checkSignalTx(a.g.ChainID, txs[0], height, proposer); err != nil {
		return err
	}
	for i, raw := range txs[1:] {
		tx, err := DecodeTx(raw)
		if err != nil {
			return fmt.Errorf("block %d: transaction %d: %v", height, i+1, err)
		}
		if tx.Exec == signalExec {
			return fmt.Errorf("block %d: transaction %d is a second signal transaction", height, i+1)
		}
	}
	return nil
}

// FinalizeBlock executes a decided block and returns its state hash. A block
// that fails validation leaves the state untouched and returns an error: the
// caller must not commit it.
func (a *App) FinalizeBlock(_ context.Context, req *abci.RequestFinalizeBlock) (*abci.ResponseFinalizeBlock, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	h, t := req.Height, req.Time.Unix()
	var proposer Address
	copy(proposer[:], req.ProposerAddress)
	results, root, err := a.execute(h, t, proposer, req.Txs)
	if err != nil {
		a.store.Discard()
		if rerr := a.reloadSignal(); rerr != nil {
			return nil, errors.Join(err, rerr)
		}
		return nil, err
	}
	a.pending = h
	return &abci.ResponseFinalizeBlock{TxResults: results, AppHash: root}, nil
}

func (a *App) execute(h, t int64, proposer Address, txs [][]byte) ([]*abci.ExecTxResult, []byte, error) {
	if want := a.store.Height() + 1; h != want {
		return nil, nil, fmt.Errorf("block %d: the state is at height %d, so the next block is %d", h, a.store.Height(), want)
	}
	if a.pending != 0 {
		return nil, nil, fmt.Errorf("block %d: block %d was finalized but not committed", h, a.pending)
	}
	if err := a.sig.Halted(); err != nil && !haltAfter(err, h) {
		// A version this binary does not implement is active from h or
		// earlier: refuse the block rather than execute it wrongly.
		return nil, nil, fmt.Errorf("block %d: %w", h, err)
	}
	if err := a.checkBlock(h, proposer, txs); err != nil {
		return nil, nil, err
	}
	version, _ := checkSignalTx(a.g.ChainID, txs[0], h, proposer)
	set, err := getProducerSet(a.store)
	if err != nil {
		return nil, nil, err
	}
	proposers, err := a.proposerSet(h, set)
	if err != nil {
		return nil, nil, err
	}
	if !containsAddr(proposers, proposer) {
		return nil, nil, fmt.Errorf("block %d: proposer %s is not in the producer set", h, proposer)
	}
	if a.isMaintenance(h) {
		if a.g.ValidatorDelay > 0 {
			// The consensus engine still proposes from the outgoing set
			// for a while (proposerSet).
			if err := putAddrSet(a.store, prevProducerSetKey, set); err != nil {
				return nil, nil, err
			}
		}
		// Elect from the votes so far, then start the new period: the
		// controller resets its tallies against the new set (TIP-555's
		// order), and the maintenance block counts for the new set.
		set, err = a.elector.Elect(a.store, a.g.ProducerSlots)
		if err != nil {
			return nil, nil, fmt.Errorf("block %d: election: %w", h, err)
		}
		if err := putProducerSet(a.store, set); err != nil {
			return nil, nil, err
		}
		if err := a.sig.Maintenance(h, t, addrStrings(set)); err != nil && !haltAfter(err, h) {
			return nil, nil, fmt.Errorf("block %d: maintenance: %w", h, err)
		}
	}
	if err := a.sig.ApplyBlock(h, t, proposer.String(), version); err != nil && !haltAfter(err, h) {
		return nil, nil, fmt.Errorf("block %d: %w", h, err)
	}

	// The rules of block h: the schedule's forks, with version forks as the
	// controller has them after recording h (a version that activates in h
	// takes effect from h+1, so h still runs under the old rules).
	a.sched.RulesInto(a.g.Point(h, t), a.sig, &a.rules)
	ctx := &Context{Height: h, Time: t, Producer: proposer, Rules: &a.rules, Forks: &a.forks,
		Params: &a.params, Signal: a.sig, ChainID: a.g.ChainID}
	results := make([]*abci.ExecTxResult, len(txs))
	results[0] = &abci.ExecTxResult{Code: CodeOK, Log: fmt.Sprintf("signal version %d", version)}
	checks := a.checked(txs[1:]) // stateless, on every core
	for i, raw := range txs[1:] {
		results[i+1] = a.deliverTx(ctx, i+1, raw, checks[i])
	}
	root, err := a.store.Prepare(h)
	if err != nil {
		return nil, nil, fmt.Errorf("block %d: state: %w", h, err)
	}
	return results, root, nil
}

// deliverTx runs one user transaction on an overlay: all of its effects,
// fee and nonce included, land only if every check and the executor pass.
func (a *App) deliverTx(ctx *Context, index int, raw []byte, check *precheck) *abci.ExecTxResult {
	ov := NewOverlay(a.store)
	res := &abci.ExecTxResult{Code: CodeOK}
	if err := a.runTx(ctx, ov, check); err != nil {
		res = &abci.ExecTxResult{Code: plantedCode(codeOf(err)), Log: err.Error()}
		clear(ov.writes)
	}
	if a.obs != nil {
		a.obs.ObserveTx(ctx.Height, index, sha256.Sum256(raw), res.Code, res.Log, ov.Writes())
	}
	if err := ov.Flush(); err != nil {
		return &abci.ExecTxResult{Code: CodeExec, Log: err.Error()}
	}
	return res
}

func (a *App) runTx(ctx *Context, ov *Overlay, check *precheck) error {
	tx, err := check.tx, check.err // validTx, done ahead
	if err != nil {
		return err
	}
	sender := tx.Sender()
	acc, err := GetAccount(ov, sender)
	if err != nil {
		return err
	}
	if tx.Nonce != acc.Nonce {
		return &TxError{Code: CodeNonce, Reason: fmt.Sprintf("nonce %d, but account %s expects %d", tx.Nonce, sender, acc.Nonce)}
	}
	if min := uint64(ctx.Param(ctx.Params.MinFee)); tx.Fee < min || (Planted.FeeOffByOne && tx.Fee == min) {
		return &TxError{Code: CodeFee, Reason: fmt.Sprintf("fee %d is below the minimum %d at height %d", tx.Fee, min, ctx.Height)}
	}
	if acc.Balance < tx.Fee {
		return &TxError{Code: CodeFee, Reason: fmt.Sprintf("account %s has %d coins, the fee is %d", sender, acc.Balance, tx.Fee)}
	}
	acc.Balance -= tx.Fee
	acc.Nonce++
	if err := PutAccount(ov, sender, acc); err != nil {
		return err
	}
	if ctx.Active(ctx.Forks.FeeToProducer) {
		err = Credit(ov, ctx.Producer, tx.Fee)
	} else {
		err = addBurned(ov, tx.Fee)
	}
	if err != nil {
		return err
	}
	exec, ok := a.execs[tx.Exec]
	if !ok {
		return &TxError{Code: CodeUnknownExec, Reason: fmt.Sprintf("no executor %q; use one of %v", tx.Exec, a.execNames())}
	}
	ctx.Sender, ctx.KV = sender, ov
	return exec.Exec(ctx, tx)
}

// validTx decodes a user transaction and checks what needs no state.
func (a *App) validTx(raw []byte) (*Tx, error) {
	tx, err := DecodeTx(raw)
	if err != nil {
		return nil, &TxError{Code: CodeDecode, Reason: err.Error()}
	}
	if tx.Exec == signalExec {
		return nil, &TxError{Code: CodeBadBlock, Reason: "a signal transaction may only open a block"}
	}
	if tx.ChainID != a.g.ChainID {
		return nil, &TxError{Code: CodeChainID, Reason: fmt.Sprintf("transaction for chain %q, this is %q", tx.ChainID, a.g.ChainID)}
	}
	if err := tx.Verify(); err != nil {
		return nil, &TxError{Code: CodeSignature, Reason: err.Error()}
	}
	return tx, nil
}

func (a *App) execNames() []string {
	names := make([]string, 0, len(a.execs))
	for n := range a.execs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Commit persists the block FinalizeBlock prepared. A discarded block never
// moves a fork: the rules come from the controller, which is rebuilt from
// committed state when a block is discarded.
func (a *App) Commit(context.Context, *abci.RequestCommit) (*abci.ResponseCommit, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.pending == 0 {
		return nil, errors.New("commit without a finalized block")
	}
	if err := a.store.Commit(a.pending); err != nil {
		return nil, fmt.Errorf("block %d: commit: %w", a.pending, err)
	}
	a.pending = 0
	return &abci.ResponseCommit{}, nil
}

// CheckTx admits a transaction to the mempool if it could run next block:
// well-formed, signed, for this chain, nonce not already used, fee enough.
func (a *App) CheckTx(_ context.Context, req *abci.RequestCheckTx) (*abci.ResponseCheckTx, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	tx, err := a.validTx(req.Tx)
	if err == nil {
		// The minimum fee of the next block. Parameters follow only forks
		// counted in heights or versions, so the block's time is irrelevant.
		next := a.store.Height() + 1
		a.sched.RulesInto(a.g.Point(next, 0), a.sig, &a.checkRules)
		minFee := uint64(a.params.MinFee.in(&a.checkRules))
		var acc Account
		acc, err = GetAccount(a.store, tx.Sender())
		switch {
		case err != nil:
		case tx.Nonce < acc.Nonce:
			err = &TxError{Code: CodeNonce, Reason: fmt.Sprintf("nonce %d already used; account %s is at %d", tx.Nonce, tx.Sender(), acc.Nonce)}
		case tx.Fee < minFee:
			err = &TxError{Code: CodeFee, Reason: fmt.Sprintf("fee %d is below the minimum %d of block %d", tx.Fee, minFee, next)}
		}
	}
	if err != nil {
		return &abci.ResponseCheckTx{Code: codeOf(err), Log: err.Error()}, nil
	}
	return &abci.ResponseCheckTx{Code: CodeOK}, nil
}

// burnedKey holds the fees burned before ForkFeeToProducer.
var burnedKey = []byte("meta/burned")

func addBurned(kv KV, amount uint64) error {
	b, err := kv.Get(burnedKey)
	if err != nil {
		return err
	}
	var total uint64
	if b != nil {
		r := codec.NewReader(b)
		total = r.U64()
		if err := r.Done("meta/burned"); err != nil {
			return err
		}
	}
	var w codec.Writer
	w.U64(total + amount)
	return kv.Set(burnedKey, w.Out())
}

var (
	producerSetKey = []byte("meta/producers")
	// prevProducerSetKey is the set before the last election, kept when the
	// genesis has a validator delay.
	prevProducerSetKey = []byte("meta/producers.prev")
)

// proposerSet is the set block h's proposer must belong to: the producer
// set, or, with a validator delay d, for heights M+1..M+d-1 after the
// election at M, the set before it (the consensus engine's set then).
func (a *App) proposerSet(h int64, set []Address) ([]Address, error) {
	d := a.g.ValidatorDelay
	if d < 2 || h <= 1 {
		return set, nil
	}
	m := h - (h-1)%a.g.MaintenanceInterval // the last maintenance height at or before h
	if m < 2 || m == h || h >= m+d {
		return set, nil
	}
	prev, err := getAddrSet(a.store, prevProducerSetKey)
	if err != nil || prev == nil {
		return set, err
	}
	return prev, nil
}

func putProducerSet(kv KV, set []Address) error { return putAddrSet(kv, producerSetKey, set) }

func putAddrSet(kv KV, key []byte, set []Address) error {
	var w codec.Writer
	w.U32(uint32(len(set)))
	for _, a := range set {
		w.Fixed(a[:])
	}
	return kv.Set(key, w.Out())
}

func getProducerSet(kv KV) ([]Address, error) {
	set, err := getAddrSet(kv, producerSetKey)
	if err == nil && set == nil {
		return nil, errors.New("no producer set: the chain was not initialised (InitChain)")
	}
	return set, err
}

// getAddrSet reads a set putAddrSet wrote; nil when there is none.
func getAddrSet(kv KV, key []byte) ([]Address, error) {
	b, err := kv.Get(key)
	if err != nil {
		return nil, err
	}
	if b == nil {
		return nil, nil
	}
	r := codec.NewReader(b)
	n := r.U32()
	if n > codec.MaxField/20 {
		return nil, fmt.Errorf("producer set of %d entries is corrupt", n)
	}
	set := make([]Address, n)
	for i := range set {
		r.Fixed(set[i][:])
	}
	return set, r.Done("producer set")
}

// Producers returns the current producer set, in slot order.
func (a *App) Producers() ([]Address, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return getProducerSet(a.store)
}

func addrStrings(set []Address) []string {
	out := make([]string, len(set))
	for i, a := range set {
		out[i] = a.String()
	}
	return out
}

func containsAddr(set []Address, a Address) bool {
	for _, x := range set {
		if x == a {
			return true
		}
	}
	return false
}

// haltAfter reports whether err is a signal halt that only takes effect
// after height h: the block at h is still valid for this binary, which must
// commit it and stop before the next one.
func haltAfter(err error, h int64) bool {
	var he *signal.HaltError
	return errors.As(err, &he) && he.Height > h
}
