package chain

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"strings"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/forkgate/forkgate/forkfile"
	"github.com/forkgate/forkgate/schedule"
)

// testKey derives a deterministic key from a name.
func testKey(name string) ed25519.PrivateKey {
	seed := sha256.Sum256([]byte("forkgate-test/" + name))
	return ed25519.NewKeyFromSeed(seed[:])
}

func testAddr(name string) Address { return AddressOf(testKey(name).Public().(ed25519.PublicKey)) }

// harness drives an App the way the solo producer does: one block per call,
// producers in round-robin slots, each signalling a version.
type harness struct {
	t        testing.TB
	app      *App
	store    Store
	keys     map[Address]ed25519.PrivateKey
	versions map[Address]uint32
	time     int64
	nonces   map[Address]uint64
}

func (h *harness) SignalFor(height int64, p Address) (ed25519.PrivateKey, uint32, bool) {
	k, ok := h.keys[p]
	return k, h.versions[p], ok
}

// newHarness builds a chain whose config is cfg (Chain33 layout) with
// producers p0..p{n-1} and funded accounts alice, bob, carol.
func newHarness(t testing.TB, cfg string, producers int, opts ...func(*Options)) *harness {
	t.Helper()
	f, err := forkfile.Read("test.toml", []byte(cfg))
	if err != nil {
		t.Fatal(err)
	}
	s, fs := f.Schedule(Registry(), false)
	for _, x := range fs {
		if x.Severity == schedule.SevError {
			t.Fatalf("schedule: %v", fs)
		}
	}
	g := &Genesis{Format: GenesisFormat, ChainID: "test", Time: 1_700_000_000, MaintenanceInterval: 10,
		ProducerSlots: producers, SignalMode: "default"}
	h := &harness{t: t, keys: map[Address]ed25519.PrivateKey{}, versions: map[Address]uint32{}, nonces: map[Address]uint64{}, time: g.Time}
	for i := 0; i < producers; i++ {
		name := "p" + string(rune('0'+i))
		k := testKey(name)
		h.keys[AddressOf(k.Public().(ed25519.PublicKey))] = k
		g.Producers = append(g.Producers, GenesisProducer{Name: name, PubKey: hex.EncodeToString(k.Public().(ed25519.PublicKey)), Stake: 10_000})
		h.versions[AddressOf(k.Public().(ed25519.PublicKey))] = 1
	}
	for _, name := range []string{"alice", "bob", "carol"} {
		k := testKey(name)
		h.keys[AddressOf(k.Public().(ed25519.PublicKey))] = k
		g.Accounts = append(g.Accounts, GenesisAccount{Address: testAddr(name).String(), Balance: 1_000_000})
	}
	h.store = NewMemStore()
	o := Options{Genesis: g, Schedule: s, Store: h.store, Signer: h}
	for _, fn := range opts {
		fn(&o)
	}
	app, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	h.app = app
	if _, err := app.InitChain(context.Background(), &abci.RequestInitChain{}); err != nil {
		t.Fatal(err)
	}
	return h
}

// tx signs a transaction from a named account with its next nonce.
func (h *harness) tx(from, exec, action string, payload []byte) []byte {
	k := testKey(from)
	a := testAddr(from)
	tx := &Tx{ChainID: "test", Exec: exec, Action: action, Payload: payload, Nonce: h.nonces[a], Fee: 10}
	tx.Sign(k)
	h.nonces[a]++
	return tx.Encode()
}

// block produces the next block with txs and returns the results of the user
// transactions (the signal transaction's result is dropped).
func (h *harness) block(txs ...[]byte) []*abci.ExecTxResult {
	h.t.Helper()
	res, err := h.tryBlock(txs...)
	if err != nil {
		h.t.Fatal(err)
	}
	return res
}

func (h *harness) tryBlock(txs ...[]byte) ([]*abci.ExecTxResult, error) {
	ctx := context.Background()
	height := h.app.Height() + 1
	set, err := h.app.Producers()
	if err != nil {
		return nil, err
	}
	proposer := set[int(height-1)%len(set)]
	h.time += 5
	prep, err := h.app.PrepareProposal(ctx, &abci.RequestPrepareProposal{Height: height, Time: time.Unix(h.time, 0), ProposerAddress: proposer[:], Txs: txs})
	if err != nil {
		return nil, err
	}
	fin, err := h.app.FinalizeBlock(ctx, &abci.RequestFinalizeBlock{Height: height, Time: time.Unix(h.time, 0), ProposerAddress: proposer[:], Txs: prep.Txs})
	if err != nil {
		return nil, err
	}
	if _, err := h.app.Commit(ctx, &abci.RequestCommit{}); err != nil {
		return nil, err
	}
	return fin.TxResults[1:], nil
}

func (h *harness) balance(name string) uint64 {
	acc, err := GetAccount(h.store, testAddr(name))
	if err != nil {
		h.t.Fatal(err)
	}
	return acc.Balance
}

func finalizeReq(height int64, proposer Address, txs ...[]byte) *abci.RequestFinalizeBlock {
	return &abci.RequestFinalizeBlock{Height: height, Time: time.Unix(1_800_000_000, 0), ProposerAddress: proposer[:], Txs: txs}
}

// Helpers for the executor tests.

// advanceTo produces empty blocks until the next block is height next.
func (h *harness) advanceTo(next int64) {
	h.t.Helper()
	for h.app.Height() < next-1 {
		h.block()
	}
}

// nextProducer is the producer of the next block (round-robin slots).
func (h *harness) nextProducer() Address {
	h.t.Helper()
	set, err := h.app.Producers()
	if err != nil {
		h.t.Fatal(err)
	}
	return set[int(h.app.Height())%len(set)]
}

// fund gives each named account amount coins from alice (producers start
// with stake but no coins for fees).
func (h *harness) fund(amount uint64, names ...string) {
	h.t.Helper()
	var txs [][]byte
	for _, n := range names {
		txs = append(txs, h.tx("alice", "coins", "transfer", Transfer{To: testAddr(n).String(), Amount: amount}.Encode()))
	}
	mustOK(h.t, h.block(txs...))
}

// ok runs one block and requires every transaction in it to succeed.
func (h *harness) ok(txs ...[]byte) {
	h.t.Helper()
	mustOK(h.t, h.block(txs...))
}

func mustOK(t testing.TB, res []*abci.ExecTxResult) {
	t.Helper()
	for i, r := range res {
		if r.Code != CodeOK {
			t.Fatalf("transaction %d: code %d: %s", i, r.Code, r.Log)
		}
	}
}

// snapshot is the committed state outside the signal controller's keys
// (which an empty block may change).
func (h *harness) snapshot() map[string]string {
	h.t.Helper()
	m, ok := h.store.(*MemStore)
	if !ok {
		h.t.Fatal("snapshot needs a MemStore")
	}
	out := map[string]string{}
	for k, v := range m.committed {
		if !strings.HasPrefix(k, "signal/") {
			out[k] = string(v)
		}
	}
	return out
}

// reject runs raw alone in a block and requires it to fail with a reason
// containing want, leaving the state (signal keys aside) untouched. The
// sender's harness nonce is rolled back, as the chain did not use it.
func (h *harness) reject(raw []byte, want string) {
	h.t.Helper()
	before := h.snapshot()
	res := h.block(raw)
	if tx, err := DecodeTx(raw); err == nil && res[0].Code != CodeOK {
		h.nonces[tx.Sender()]--
	}
	if res[0].Code == CodeOK {
		h.t.Fatalf("want a rejection containing %q, the transaction succeeded", want)
	}
	if res[0].Log == "" || !strings.Contains(res[0].Log, want) {
		h.t.Fatalf("rejected with %q, want a reason containing %q", res[0].Log, want)
	}
	after := h.snapshot()
	if !maps.Equal(before, after) {
		for k := range after {
			if before[k] != after[k] {
				h.t.Errorf("key %q changed", k)
			}
		}
		for k := range before {
			if _, ok := after[k]; !ok {
				h.t.Errorf("key %q deleted", k)
			}
		}
		h.t.Fatalf("rejected transaction (%s) changed the state", res[0].Log)
	}
}
