package node

// The CometBFT engine: the App inside an in-process CometBFT v0.38 node,
// one validator among many (docs/node.md, "Networks").
//
// CometBFT decides the blocks; this file only adapts. Every decided block is
// also written to the home's own block store (before the state commits it,
// as the solo producer does), so `node status`, `node export`, `record` and
// the crash recovery of Open work on a CometBFT node's data unchanged.

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	cmtcfg "github.com/cometbft/cometbft/config"
	cmted25519 "github.com/cometbft/cometbft/crypto/ed25519"
	cmtlog "github.com/cometbft/cometbft/libs/log"
	cmtnode "github.com/cometbft/cometbft/node"
	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/privval"
	"github.com/cometbft/cometbft/proxy"
	cmttypes "github.com/cometbft/cometbft/types"
	"github.com/forkgate/forkgate/chain"
)

// CometOptions tune RunCometBFT.
type CometOptions struct {
	// Log receives CometBFT's own log (nil: discarded); LogInfo keeps its
	// info lines, else only errors.
	Log     io.Writer
	LogInfo bool
	// OnBlock sees every committed block.
	OnBlock func(BlockReport)
	// OnUpgradeNeeded runs, from inside the ABCI call that met the halt,
	// once upgrade-info.json is written. The CLI exits with code 3 there:
	// returning the error to CometBFT would panic, which its consensus
	// recovers (the process lives on with consensus dead) and its block
	// sync does not (exit 2), so only an exit here gives one outcome on
	// every path. If it returns, RunCometBFT returns the error.
	OnUpgradeNeeded func(*UpgradeNeededError)
	// App, if set, replaces the chain's App on the same node setup (keys,
	// genesis validators, config): the benchmarks run CometBFT's kvstore
	// example this way.
	App abci.Application
}

// CometHome is where a home keeps CometBFT's files.
func CometHome(home string) string { return filepath.Join(home, "cometbft") }

// CometValidatorDelay is the genesis validator_delay a CometBFT chain needs:
// validator updates returned by block M apply from block M+2.
const CometValidatorDelay = 2

// DefaultPower is each producer's voting power: at least 10, because with
// power 1 CometBFT v0.38 skips block sync for every validator of a small
// set (a validator with >= 1/3 of the power goes straight to consensus).
const DefaultPower = 10

// RunCometBFT runs the node as a CometBFT validator until ctx is cancelled
// (a clean stop) or a version this binary does not implement activates (an
// *UpgradeNeededError, upgrade-info.json written).
func (n *Node) RunCometBFT(ctx context.Context, o CometOptions) error {
	if n.readOnly {
		return errors.New("the node was opened read-only")
	}
	// Restarting on data at (or, with another binary's data, past) a height
	// this binary must not execute: stop before CometBFT replays anything.
	if he, ok := AsHalt(n.app.Signal().Halted()); ok && he.Height <= n.app.Height()+1 {
		return n.recordHalt(he, "start")
	}
	if d := n.l.genesis.ValidatorDelay; d != CometValidatorDelay {
		return fmt.Errorf("%s: validator_delay is %d, but CometBFT applies a producer set change %d heights after the election: a chain run by CometBFT needs \"validator_delay\": %d in its genesis from the start (forkgate net init writes it)",
			n.l.home.Genesis(), d, CometValidatorDelay, CometValidatorDelay)
	}
	key, err := n.validatorKey()
	if err != nil {
		return err
	}
	pubs, err := n.knownPubKeys()
	if err != nil {
		return err
	}
	cfg, err := n.cometConfig(key.Name)
	if err != nil {
		return err
	}
	pv, err := cometPrivVal(cfg, key)
	if err != nil {
		return err
	}
	nodeKey, err := p2p.LoadOrGenNodeKey(cfg.NodeKeyFile())
	if err != nil {
		return fmt.Errorf("%s: %v", cfg.NodeKeyFile(), err)
	}
	gen, err := n.cometGenesis(cfg)
	if err != nil {
		return err
	}
	w := o.Log
	if w == nil {
		w = io.Discard
	}
	logger := cmtlog.NewTMLogger(cmtlog.NewSyncWriter(w))
	if o.LogInfo {
		logger = cmtlog.NewFilter(logger, cmtlog.AllowInfo())
	} else {
		logger = cmtlog.NewFilter(logger, cmtlog.AllowError())
	}
	power := n.l.cfg.Node.CometBFT.Power
	if power == 0 {
		power = DefaultPower
	}
	app := &cometApp{App: n.app, n: n, o: o, halted: make(chan error, 1), pubs: pubs, power: power}
	n.mu.Lock()
	n.capSignal = true
	n.mu.Unlock()
	var client abci.Application = app
	if o.App != nil {
		client = o.App
	}
	cn, err := cmtnode.NewNode(cfg, pv, nodeKey, proxy.NewLocalClientCreator(client),
		func() (*cmttypes.GenesisDoc, error) { return gen, nil },
		cmtcfg.DefaultDBProvider, cmtnode.DefaultMetricsProvider(cfg.Instrumentation), logger)
	if err != nil {
		if he, ok := AsHalt(err); ok {
			return n.recordHalt(he, "start")
		}
		return fmt.Errorf("start CometBFT (%s): %w", cfg.RootDir, err)
	}
	app.setNode(cn)
	if err := cn.Start(); err != nil {
		return fmt.Errorf("start CometBFT: %w", err)
	}
	n.mu.Lock()
	n.running = true
	n.mu.Unlock()
	defer func() {
		n.mu.Lock()
		n.running = false
		n.mu.Unlock()
	}()
	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-app.halted:
	}
	if err := cn.Stop(); err != nil && runErr == nil {
		runErr = fmt.Errorf("stop CometBFT: %w", err)
	}
	cn.Wait()
	return runErr
}

// validatorKey is the one producer key this node validates with.
func (n *Node) validatorKey() (*Key, error) {
	if len(n.l.producers) != 1 {
		return nil, fmt.Errorf("%s: a cometbft node validates with exactly one producer key, but [node] producers selects %d; set producers = [\"p1\"] (one name from %s)",
			n.l.cfg.Path, len(n.l.producers), n.l.home.Keys())
	}
	for _, k := range n.l.producers {
		return k, nil
	}
	panic("unreachable")
}

// CometConfig is the CometBFT configuration of a home: CometBFT's defaults,
// [node.cometbft], and the settings a loopback network needs.
func CometConfig(home string) (*cmtcfg.Config, error) {
	l, err := loadHome(home)
	if err != nil {
		return nil, err
	}
	n := &Node{l: l}
	return n.cometConfig("")
}

func (n *Node) cometConfig(moniker string) (*cmtcfg.Config, error) {
	c := n.l.cfg.Node.CometBFT
	cfg := cmtcfg.DefaultConfig()
	root := CometHome(string(n.l.home))
	cfg.SetRoot(root)
	for _, d := range []string{filepath.Join(root, "config"), filepath.Join(root, "data")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	if moniker != "" {
		cfg.Moniker = moniker
	}
	if c.P2P == "" {
		return nil, fmt.Errorf("%s: [node.cometbft] p2p is empty: give the p2p listen address (host:port)", n.l.cfg.Path)
	}
	cfg.P2P.ListenAddress = "tcp://" + c.P2P
	cfg.P2P.PersistentPeers = c.Peers
	cfg.P2P.PexReactor = false
	cfg.P2P.AddrBookStrict = false
	cfg.P2P.AllowDuplicateIP = true
	cfg.P2P.FlushThrottleTimeout = 10 * time.Millisecond
	cfg.P2P.HandshakeTimeout = 5 * time.Second
	cfg.P2P.DialTimeout = 2 * time.Second
	cfg.RPC.ListenAddress = ""
	if c.RPC != "" {
		cfg.RPC.ListenAddress = "tcp://" + c.RPC
	}
	cfg.Instrumentation.Prometheus = false // a global registry: one instrumented node per process at most
	cs := cfg.Consensus
	cs.TimeoutPropose = 300 * time.Millisecond
	cs.TimeoutProposeDelta = 100 * time.Millisecond
	cs.TimeoutPrevote = 100 * time.Millisecond
	cs.TimeoutPrevoteDelta = 100 * time.Millisecond
	cs.TimeoutPrecommit = 100 * time.Millisecond
	cs.TimeoutPrecommitDelta = 100 * time.Millisecond
	cs.TimeoutCommit = 100 * time.Millisecond
	cs.PeerGossipSleepDuration = 10 * time.Millisecond
	cs.PeerQueryMaj23SleepDuration = 200 * time.Millisecond
	for _, d := range []struct {
		v   string
		dst *time.Duration
	}{{c.TimeoutPropose, &cs.TimeoutPropose}, {c.TimeoutCommit, &cs.TimeoutCommit}} {
		if d.v != "" {
			t, err := time.ParseDuration(d.v)
			if err != nil {
				return nil, fmt.Errorf("%s: [node.cometbft]: %v", n.l.cfg.Path, err)
			}
			*d.dst = t
		}
	}
	if err := cfg.ValidateBasic(); err != nil {
		return nil, fmt.Errorf("%s: [node.cometbft]: %v", n.l.cfg.Path, err)
	}
	return cfg, nil
}

// cometPrivVal writes the producer key as CometBFT's validator key on first
// use (chain.AddressOf is CometBFT's ed25519 address, so the proposer
// address CometBFT passes is the producer's), and refuses a key file that
// belongs to another producer.
func cometPrivVal(cfg *cmtcfg.Config, key *Key) (*privval.FilePV, error) {
	kf, sf := cfg.PrivValidatorKeyFile(), cfg.PrivValidatorStateFile()
	_, kerr := os.Stat(kf)
	_, serr := os.Stat(sf)
	switch {
	case errors.Is(kerr, os.ErrNotExist):
		pv := privval.NewFilePV(cmted25519.PrivKey(key.Private()), kf, sf)
		pv.Key.Save()
		if errors.Is(serr, os.ErrNotExist) {
			pv.LastSignState.Save()
		} // else keep the last-signed state: it is what prevents double signing
	case errors.Is(serr, os.ErrNotExist):
		privval.LoadFilePVEmptyState(kf, sf).LastSignState.Save()
	}
	pv := privval.LoadFilePV(kf, sf)
	if addr := key.Addr(); string(pv.GetAddress()) != string(addr[:]) {
		return nil, fmt.Errorf("%s holds the key of validator %X, but this node's producer %s is %s: remove the file to write the producer key",
			kf, pv.GetAddress(), key.Name, addr)
	}
	return pv, nil
}

// CometGenesis is the CometBFT genesis of a chain genesis: its chain ID and
// time, and the App's initial producer set as validators of equal power.
// Every home of a network computes the same document.
func (n *Node) cometGenesis(cfg *cmtcfg.Config) (*cmttypes.GenesisDoc, error) {
	path := cfg.GenesisFile()
	if _, err := os.Stat(path); err == nil {
		doc, err := cmttypes.GenesisDocFromFile(path)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", path, err)
		}
		if doc.ChainID != n.l.genesis.ChainID {
			return nil, fmt.Errorf("%s: chain id %q, but %s says %q: the CometBFT genesis belongs to another chain", path, doc.ChainID, n.l.home.Genesis(), n.l.genesis.ChainID)
		}
		return doc, nil
	}
	vals, err := n.genesisValidators()
	if err != nil {
		return nil, err
	}
	doc := &cmttypes.GenesisDoc{ChainID: n.l.genesis.ChainID, GenesisTime: time.Unix(n.l.genesis.Time, 0).UTC(), InitialHeight: 1,
		ConsensusParams: cmttypes.DefaultConsensusParams()}
	for _, v := range vals {
		pk, err := cryptoPubKey(v)
		if err != nil {
			return nil, err
		}
		doc.Validators = append(doc.Validators, cmttypes.GenesisValidator{Address: pk.Address(), PubKey: pk, Power: v.Power, Name: v.Name})
	}
	if err := doc.ValidateAndComplete(); err != nil {
		return nil, fmt.Errorf("CometBFT genesis: %v", err)
	}
	if err := doc.SaveAs(path); err != nil {
		return nil, fmt.Errorf("write %s: %v", path, err)
	}
	return doc, nil
}

type genesisValidator struct {
	Name   string
	PubKey []byte
	Power  int64
}

func cryptoPubKey(v genesisValidator) (cmted25519.PubKey, error) {
	if len(v.PubKey) != cmted25519.PubKeySize {
		return nil, fmt.Errorf("producer %s: public key of %d bytes, want %d", v.Name, len(v.PubKey), cmted25519.PubKeySize)
	}
	return cmted25519.PubKey(v.PubKey), nil
}

// genesisValidators is the App's producer set at genesis with equal power.
func (n *Node) genesisValidators() ([]genesisValidator, error) {
	if n.app.Height() != 0 {
		return nil, fmt.Errorf("%s is missing, but the node is at height %d: restore it from a peer of this network", filepath.Join(CometHome(string(n.l.home)), "config", "genesis.json"), n.app.Height())
	}
	set, err := n.app.Producers()
	if err != nil {
		return nil, err
	}
	pubs := map[chain.Address]genesisValidator{}
	for _, p := range n.l.genesis.Producers {
		a, err := p.Address()
		if err != nil {
			return nil, err
		}
		pk, _ := hex.DecodeString(p.PubKey) // checked by Address
		pubs[a] = genesisValidator{Name: p.Name, PubKey: pk}
	}
	power := n.l.cfg.Node.CometBFT.Power
	if power == 0 {
		power = DefaultPower
	}
	var out []genesisValidator
	for _, a := range set {
		v, ok := pubs[a]
		if !ok {
			return nil, fmt.Errorf("producer %s of the genesis set is not in %s", a, n.l.home.Genesis())
		}
		v.Power = power
		out = append(out, v)
	}
	return out, nil
}

// cometApp adapts the App to CometBFT: the workload on the proposer, the
// home's block store, and the halt.
type cometApp struct {
	*chain.App
	n      *Node
	o      CometOptions
	halted chan error
	once   sync.Once

	cmu sync.Mutex
	cn  *cmtnode.Node // nil during NewNode's handshake

	pubs  map[chain.Address][]byte // public keys of every key this home knows
	power int64

	pending *Block // finalized, not yet committed
	report  BlockReport
	began   time.Time
}

// InitChain: Open already wrote the genesis state (it is committed with
// block 1); CometBFT learns the App's producer set as its validators.
func (a *cometApp) InitChain(_ context.Context, req *abci.RequestInitChain) (*abci.ResponseInitChain, error) {
	vals, err := a.n.genesisValidators()
	if err != nil {
		return nil, err
	}
	res := &abci.ResponseInitChain{}
	for _, v := range vals {
		res.Validators = append(res.Validators, abci.Ed25519ValidatorUpdate(v.PubKey, v.Power))
	}
	return res, nil
}

// PrepareProposal adds the node's transaction source (a function of the
// height and committed state, so any proposer of h proposes the same) to
// the mempool's transactions.
func (a *cometApp) PrepareProposal(ctx context.Context, req *abci.RequestPrepareProposal) (*abci.ResponsePrepareProposal, error) {
	n := a.n
	n.mu.Lock()
	if n.src != nil && n.l.cfg.Node.TxsPerBlock > 0 {
		txs := n.src.Next(req.Height, readView{n.state}, n.l.cfg.Node.TxsPerBlock)
		req.Txs = append(txs, req.Txs...)
	}
	n.mu.Unlock()
	return a.App.PrepareProposal(ctx, req)
}

func (a *cometApp) FinalizeBlock(ctx context.Context, req *abci.RequestFinalizeBlock) (*abci.ResponseFinalizeBlock, error) {
	n := a.n
	n.mu.Lock()
	began := time.Now()
	before, perr := a.App.Producers()
	if perr != nil {
		n.mu.Unlock()
		return nil, perr
	}
	res, err := a.App.FinalizeBlock(ctx, req)
	if err == nil {
		err = a.validatorUpdates(req.Height, before, res)
	}
	if err != nil {
		err = fmt.Errorf("block %d from CometBFT: %w", req.Height, err)
		if _, ok := AsHalt(err); ok {
			err = n.recordHalt(err, a.path())
			n.mu.Unlock()
			var ue *UpgradeNeededError
			if errors.As(err, &ue) && a.o.OnUpgradeNeeded != nil {
				a.o.OnUpgradeNeeded(ue)
			}
			a.once.Do(func() { a.halted <- err })
			return nil, err
		}
		n.broken = err
		n.mu.Unlock()
		return nil, err
	}
	var proposer chain.Address
	copy(proposer[:], req.ProposerAddress)
	a.pending = &Block{Height: req.Height, Time: req.Time.Unix(), Proposer: proposer, Txs: req.Txs, AppHash: res.AppHash}
	a.began = began
	rep := BlockReport{Height: req.Height, Time: req.Time.Unix(), Proposer: proposer, ProposerName: n.l.names[proposer], AppHash: res.AppHash}
	if len(req.Txs) > 0 {
		rep.Txs = len(req.Txs) - 1
	}
	for _, r := range res.TxResults[min(1, len(res.TxResults)):] {
		if r.Code == chain.CodeOK {
			rep.OK++
		} else {
			rep.Failed++
		}
	}
	a.report = rep
	n.mu.Unlock()
	return res, nil
}

// Commit stores the block in the home's block store, then commits the
// state (the order the solo producer and Open's recovery rely on).
func (a *cometApp) Commit(ctx context.Context, req *abci.RequestCommit) (*abci.ResponseCommit, error) {
	n := a.n
	n.mu.Lock()
	if a.pending == nil {
		n.mu.Unlock()
		return nil, errors.New("commit without a finalized block")
	}
	if err := n.blocks.Put(a.pending); err != nil {
		n.broken = err
		n.mu.Unlock()
		return nil, err
	}
	res, err := a.App.Commit(ctx, req)
	if err != nil {
		n.broken = err
		n.mu.Unlock()
		return nil, err
	}
	a.pending = nil
	rep := a.report
	rep.Elapsed = time.Since(a.began)
	n.mu.Unlock()
	if a.o.OnBlock != nil {
		a.o.OnBlock(rep)
	}
	return res, nil
}

func (a *cometApp) setNode(cn *cmtnode.Node) {
	a.cmu.Lock()
	a.cn = cn
	a.cmu.Unlock()
}

// path says how a block reached the App: the handshake replay at start,
// block sync, or consensus.
func (a *cometApp) path() string {
	a.cmu.Lock()
	cn := a.cn
	a.cmu.Unlock()
	switch {
	case cn == nil:
		return "start"
	case cn.ConsensusReactor().WaitSync():
		return "blocksync"
	}
	return "consensus"
}

// validatorUpdates tells CometBFT the producer set the App elected in this
// block (CometBFT applies it two heights later, which the genesis'
// validator_delay makes the App expect): removed producers get power 0,
// elected ones the network's power. A producer's public key must be known
// to this home (every key of a network's homes is, net init derives them
// all); the same keys on every node give every node the same updates.
func (a *cometApp) validatorUpdates(h int64, before []chain.Address, res *abci.ResponseFinalizeBlock) error {
	after, err := a.App.Producers()
	if err != nil {
		return err
	}
	in := func(set []chain.Address, x chain.Address) bool {
		for _, y := range set {
			if y == x {
				return true
			}
		}
		return false
	}
	for _, x := range before {
		if !in(after, x) {
			pk, ok := a.pubs[x]
			if !ok {
				return fmt.Errorf("block %d: producer %s left the set, but this home has no public key for it", h, x)
			}
			res.ValidatorUpdates = append(res.ValidatorUpdates, abci.Ed25519ValidatorUpdate(pk, 0))
		}
	}
	for _, x := range after {
		if !in(before, x) {
			pk, ok := a.pubs[x]
			if !ok {
				return fmt.Errorf("block %d: %s was elected producer, but %s has no key for it, so CometBFT cannot be told its public key: "+
					"a network's homes must hold every candidate's key (forkgate net init derives them all)", h, x, a.n.l.home.Keys())
			}
			res.ValidatorUpdates = append(res.ValidatorUpdates, abci.Ed25519ValidatorUpdate(pk, a.power))
		}
	}
	return nil
}

// knownPubKeys maps every address this home has a key for (producers and
// accounts) and every genesis producer to its public key.
func (n *Node) knownPubKeys() (map[chain.Address][]byte, error) {
	out := map[chain.Address][]byte{}
	keys, err := LoadKeys(n.l.home.Keys())
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		out[k.Addr()] = []byte(k.Private().Public().(ed25519.PublicKey))
	}
	for _, p := range n.l.genesis.Producers {
		a, err := p.Address()
		if err != nil {
			return nil, err
		}
		pk, _ := hex.DecodeString(p.PubKey)
		out[a] = pk
	}
	return out, nil
}
