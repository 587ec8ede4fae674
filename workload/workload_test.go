package workload

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"fmt"
	"sort"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/forkgate/forkgate/chain"
	"github.com/forkgate/forkgate/forkfile"
	"github.com/forkgate/forkgate/schedule"
)

// The config switches several forks on mid-run, and version 2 (with
// ForkGamePayoutV2) activates when the producers upgrade at upgradeAt.
const testConfig = `
[fork.sub.coins]
ForkAddrChecksum = 0
ForkFeeToProducer = 20
ForkMinFeeV2 = -1

[fork.sub.token]
ForkTokenSymbolDigits = 0
ForkTokenOwnerIssue = 60

[fork.sub.game]
ForkGameDrawRefund = 80
ForkGamePayoutV2 = { version = 2 }

[fork.sub.producers]
ForkNoSelfVote = 40
ForkMinBondV2 = -1

[fork.sub.governance]
ForkGovOneOpenProposal = 50
ForkGovDeposit = 50

[mver.game]
revealTimeout = 5

[[signal.version]]
number = 2
time = 0
rate = 67
grace = 0
`

const (
	testBlocks  = 200
	upgradeAt   = 100
	txsPerBlock = 12
)

// run drives an App the way the solo producer does, with every workload
// key able to sign its slot (an elected account included).
type run struct {
	t     testing.TB
	app   *chain.App
	store *chain.MemStore
	keys  map[chain.Address]ed25519.PrivateKey
	time  int64
}

func (r *run) SignalFor(height int64, p chain.Address) (ed25519.PrivateKey, uint32, bool) {
	k, ok := r.keys[p]
	v := uint32(1)
	if height >= upgradeAt {
		v = 2
	}
	return k, v, ok
}

func newRun(t testing.TB, seed int64, accounts, producers []ed25519.PrivateKey) *run {
	t.Helper()
	f, err := forkfile.Read("test.toml", []byte(testConfig))
	if err != nil {
		t.Fatal(err)
	}
	s, fs := f.Schedule(chain.Registry(), false)
	for _, x := range fs {
		if x.Severity == schedule.SevError {
			t.Fatalf("schedule: %v", fs)
		}
	}
	g := &chain.Genesis{Format: chain.GenesisFormat, ChainID: "workload", Time: 1_700_000_000, MaintenanceInterval: 10,
		ProducerSlots: len(producers), SignalMode: "default"}
	r := &run{t: t, store: chain.NewMemStore(), keys: map[chain.Address]ed25519.PrivateKey{}, time: g.Time}
	for i, k := range producers {
		r.keys[Address(k)] = k
		g.Producers = append(g.Producers, chain.GenesisProducer{Name: fmt.Sprintf("p%d", i), PubKey: hex.EncodeToString(k.Public().(ed25519.PublicKey)), Stake: 10_000})
	}
	for _, k := range accounts {
		r.keys[Address(k)] = k
		g.Accounts = append(g.Accounts, chain.GenesisAccount{Address: Address(k).String(), Balance: 10_000_000})
	}
	r.app, err = chain.New(chain.Options{Genesis: g, Schedule: s, Store: r.store, Signer: r})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.app.InitChain(context.Background(), &abci.RequestInitChain{}); err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *run) block(txs [][]byte) []*abci.ExecTxResult {
	r.t.Helper()
	ctx := context.Background()
	height := r.app.Height() + 1
	set, err := r.app.Producers()
	if err != nil {
		r.t.Fatal(err)
	}
	proposer := set[int(height-1)%len(set)]
	r.time += 3
	prep, err := r.app.PrepareProposal(ctx, &abci.RequestPrepareProposal{Height: height, Time: time.Unix(r.time, 0), ProposerAddress: proposer[:], Txs: txs})
	if err != nil {
		r.t.Fatal(err)
	}
	fin, err := r.app.FinalizeBlock(ctx, &abci.RequestFinalizeBlock{Height: height, Time: time.Unix(r.time, 0), ProposerAddress: proposer[:], Txs: prep.Txs})
	if err != nil {
		r.t.Fatal(err)
	}
	if _, err := r.app.Commit(ctx, &abci.RequestCommit{}); err != nil {
		r.t.Fatal(err)
	}
	return fin.TxResults[1:]
}

// Every executor action the workload must exercise.
var allActions = []string{
	"coins.transfer",
	"token.create", "token.issue", "token.transfer", "token.burn",
	"game.open", "game.join", "game.reveal", "game.claim", "game.cancel",
	"producers.stake", "producers.unstake", "producers.vote", "producers.register", "producers.unregister",
	"governance.propose", "governance.approve", "governance.settle",
}

type trace struct {
	roots [][]byte
	txs   [][][]byte
	ok    map[string]int
	fail  map[string]int
	logs  map[string]string // one failure reason per action
}

func drive(t *testing.T, seed int64) trace {
	accounts, producers := Keys(seed, "account", 8), Keys(seed, "producer", 3)
	r := newRun(t, seed, accounts, producers)
	g := New(seed, "workload", accounts, producers)
	g.MaintenanceInterval = 10
	tr := trace{ok: map[string]int{}, fail: map[string]int{}, logs: map[string]string{}}
	for h := int64(1); h <= testBlocks; h++ {
		txs := g.Next(h, r.store, txsPerBlock)
		if g.Err() != nil {
			t.Fatalf("height %d: %v", h, g.Err())
		}
		res := r.block(txs)
		if len(res) != len(txs) {
			t.Fatalf("height %d: %d results for %d transactions", h, len(res), len(txs))
		}
		for i, raw := range txs {
			tx, err := chain.DecodeTx(raw)
			if err != nil {
				t.Fatal(err)
			}
			name := tx.Exec + "." + tx.Action
			if res[i].Code == chain.CodeOK {
				tr.ok[name]++
			} else {
				tr.fail[name]++
				tr.logs[name] = fmt.Sprintf("height %d: %s", h, res[i].Log)
			}
		}
		tr.roots = append(tr.roots, r.store.Root())
		tr.txs = append(tr.txs, txs)
	}
	if at, ok := r.app.Signal().ActivationHeight(2); !ok || at <= upgradeAt {
		t.Errorf("version 2 should activate after the upgrade at %d: %d %v", upgradeAt, at, ok)
	}
	return tr
}

func TestWorkloadDeterministicAndComplete(t *testing.T) {
	a := drive(t, 42)
	b := drive(t, 42)
	for h := range a.roots {
		if !bytes.Equal(a.roots[h], b.roots[h]) {
			t.Fatalf("height %d: roots differ between two runs of the same seed", h+1)
		}
		if len(a.txs[h]) != len(b.txs[h]) {
			t.Fatalf("height %d: %d vs %d transactions", h+1, len(a.txs[h]), len(b.txs[h]))
		}
		for i := range a.txs[h] {
			if !bytes.Equal(a.txs[h][i], b.txs[h][i]) {
				t.Fatalf("height %d tx %d: bytes differ", h+1, i)
			}
		}
	}
	var names []string
	total, failed := 0, 0
	for n, c := range a.ok {
		names = append(names, n)
		total += c
	}
	for n, c := range a.fail {
		if a.ok[n] == 0 {
			names = append(names, n)
		}
		failed += c
	}
	sort.Strings(names)
	for _, n := range names {
		t.Logf("%-22s ok %4d  failed %3d  %s", n, a.ok[n], a.fail[n], a.logs[n])
	}
	for _, n := range allActions {
		if a.ok[n] == 0 {
			t.Errorf("%s never succeeded (failures: %d, last: %s)", n, a.fail[n], a.logs[n])
		}
	}
	// The load is meant to be valid: allow a few failures from races
	// inside a block, not a broken generator.
	if failed*20 > total+failed {
		t.Errorf("%d of %d transactions failed", failed, total+failed)
	}
	if c := drive(t, 7); bytes.Equal(c.roots[len(c.roots)-1], a.roots[len(a.roots)-1]) {
		t.Error("another seed gave the same final state")
	}
}

func TestKeysAreDeterministic(t *testing.T) {
	if !bytes.Equal(Key(1, "a"), Key(1, "a")) || bytes.Equal(Key(1, "a"), Key(2, "a")) || bytes.Equal(Key(1, "a"), Key(1, "b")) {
		t.Error("Key must depend on exactly the seed and the name")
	}
	ks := Keys(3, "acct", 2)
	if !bytes.Equal(ks[1], Key(3, "acct1")) {
		t.Error("Keys names its keys prefix0, prefix1, ...")
	}
}
