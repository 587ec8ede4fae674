package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/forkgate/forkgate/chain"
	"github.com/forkgate/forkgate/network"
	"github.com/forkgate/forkgate/node"
)

// TestNetRehearse is the 4-validator rehearsal `make test` runs, on real
// CometBFT nodes (this test binary as forkgate, one process each): a
// rolling upgrade, the last validator cut off across the activation and
// restarted while cut, its old binary stopping with exit 3 through block
// sync exactly before the activation height (and again at a restart), the
// switch, a kill -9 while it catches up, and every height's state hash the
// same on every node.
func TestNetRehearse(t *testing.T) {
	if testing.Short() {
		t.Skip("starts four node processes for about 30 s")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	self := network.Binary{Path: os.Args[0], Env: []string{envChild + "=1"}}
	old := self
	old.RunArgs, old.Label = []string{"--implemented", "1"}, "old (implements v1)"
	self.Label = "new (implements v2)"
	var log strings.Builder
	dir := filepath.Join(t.TempDir(), "net")
	rep, err := network.Rehearse(ctx, network.RehearseOptions{Dir: dir, Validators: 4,
		Old: old, New: self, Version: 2, KillDuringCatchUp: true, After: 15, Log: &log})
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	var md strings.Builder
	rep.WriteMarkdown(&md)
	if !rep.OK {
		t.Fatalf("rehearsal failed: %v\n%s", rep.Problems, md.String())
	}
	h := rep.Halt
	if h == nil || h.ExitCode != 3 || h.Path != "blocksync" || h.Height != rep.Activation || h.StateHeight != rep.Activation-1 || h.BlockStore != rep.Activation-1 {
		t.Fatalf("halt %+v, activation %d", h, rep.Activation)
	}
	a := rep.Agreement
	if a == nil || !a.Agree() || a.Heights < rep.Activation+10 || a.Compared < 4*a.Heights {
		t.Fatalf("agreement %+v", a)
	}
	for _, s := range rep.Final {
		if s.Implemented != 2 || s.State != network.StateRunning {
			t.Fatalf("final %s: implements v%d, %s", s.Name, s.Implemented, s.State)
		}
	}
	t.Logf("rehearsal in %.1fs, activation at %d, catch-up %.1fs\n%s", rep.Seconds, rep.Activation, rep.CatchUp, md.String())

	// The blocks the network decided, across the upgrade, verify like a
	// library chain's: recorded from n3's block store (the node that halted
	// and replayed the activation block), replayed fresh and smoothly.
	chainDir := filepath.Join(t.TempDir(), "chain")
	if out, errOut, code := runCLI(t, "net", "record", dir, "n3", chainDir); code != 0 {
		t.Fatalf("net record: %d\n%s%s", code, out, errOut)
	}
	out, errOut, code := runCLI(t, "verify", chainDir, "--quiet")
	if code != 0 || !strings.Contains(out, "verify: OK") {
		t.Fatalf("verify of the network's blocks: exit %d\n%s%s", code, out, errOut)
	}
}

// TestNetCLI drives a network through the CLI: init, up (a background
// process), perturb, status, down; nothing is left running.
func TestNetCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("starts node processes")
	}
	dir := filepath.Join(t.TempDir(), "net")
	if out, code := cliProcess(t, time.Minute, "net", "init", dir, "--validators", "2", "--binary", os.Args[0], "--max-lifetime", "3m"); code != 0 {
		t.Fatalf("init: %d\n%s", code, out)
	}
	if out, code := cliProcess(t, 2*time.Minute, "net", "up", dir); code != 0 || !strings.Contains(out, "is up") {
		t.Fatalf("up: %d\n%s", code, out)
	}
	t.Cleanup(func() {
		if c, err := network.Dial(dir); err == nil {
			c.Down()
		}
	})
	if out, code := cliProcess(t, time.Minute, "net", "perturb", dir, "n1", "--pause"); code != 0 {
		t.Fatalf("pause: %d\n%s", code, out)
	}
	out, code := cliProcess(t, time.Minute, "net", "status", dir, "--format", "json")
	var sts []network.NodeStatus
	if err := json.Unmarshal([]byte(out), &sts); err != nil || code != 0 || len(sts) != 2 || sts[1].State != network.StatePaused || sts[0].Height < 2 {
		t.Fatalf("status: %d %v\n%s", code, err, out)
	}
	if out, code := cliProcess(t, time.Minute, "net", "perturb", dir, "n1", "--kill", "--cut"); code != 2 {
		t.Fatalf("two actions: %d\n%s", code, out)
	}
	if out, code := cliProcess(t, time.Minute, "net", "down", dir); code != 0 {
		t.Fatalf("down: %d\n%s", code, out)
	}
	if _, err := network.Dial(dir); err == nil {
		t.Fatal("the network still answers after down")
	}
	out, code = cliProcess(t, time.Minute, "net", "status", dir)
	if code != 0 || !strings.Contains(out, "down") {
		t.Fatalf("status after down: %d\n%s", code, out)
	}
}

// TestNetValidatorSetChange: a producer election changes CometBFT's
// validator set. Four nodes, three producer slots: the producer with the
// highest address starts as a full node. An account stakes and votes for
// it through CometBFT's mempool (RPC broadcast_tx_sync); at the next
// maintenance M the App elects it and drops another, CometBFT's set for
// M+2 follows (M+1 still proposed from the outgoing set, which the genesis'
// validator_delay = 2 makes the App accept), the elected node proposes, the
// dropped one no longer does, and every node agrees at every height.
func TestNetValidatorSetChange(t *testing.T) {
	if testing.Short() {
		t.Skip("starts four node processes")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	const interval = 5
	nw := testNet(t, network.Options{Validators: 4, ProducerSlots: 3, MaintenanceInterval: interval, TxsPerBlock: -1})
	// Genesis stakes are equal: the top three by address are elected.
	var prods []chain.Address
	names := map[chain.Address]string{}
	for i := 1; i <= 4; i++ {
		k := node.DeriveKey(node.DefaultSeed, node.RoleProducer, fmt.Sprintf("p%d", i))
		prods = append(prods, k.Addr())
		names[k.Addr()] = k.Name
	}
	sort.Slice(prods, func(i, j int) bool { return bytes.Compare(prods[i][:], prods[j][:]) < 0 })
	outsider, dropped := prods[3], prods[2]
	if vals := rpcValidators(t, nw, 0); len(vals) != 3 || vals[outsider] {
		t.Fatalf("genesis validators %v: want the three lowest producer addresses", vals)
	}
	acct := node.DeriveKey(node.DefaultSeed, node.RoleAccount, "a1")
	for i, tx := range []*chain.Tx{
		{ChainID: node.DefaultChainID, Exec: "producers", Action: "stake", Payload: chain.ProducerAmount{Amount: 1000}.Encode(), Nonce: 0, Fee: 10},
		{ChainID: node.DefaultChainID, Exec: "producers", Action: "vote", Payload: chain.ProducerVote{Candidate: outsider.String(), Amount: 1000}.Encode(), Nonce: 1, Fee: 10},
	} {
		tx.Sign(acct.Private())
		var res struct {
			Result struct {
				Code uint32 `json:"code"`
				Log  string `json:"log"`
			} `json:"result"`
		}
		rpcGet(t, nw, 0, fmt.Sprintf("/broadcast_tx_sync?tx=0x%x", tx.Encode()), &res)
		if res.Result.Code != 0 {
			t.Fatalf("tx %d refused by CheckTx: %d %s", i, res.Result.Code, res.Result.Log)
		}
	}
	// Wait for the validator set to include the outsider.
	var changed int64
	deadline := time.Now().Add(60 * time.Second)
	for changed == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the outsider %s never became a validator (network at %d)", outsider, nw.Height(ctx))
		}
		time.Sleep(300 * time.Millisecond)
		h := nw.Height(ctx)
		for x := max(h-8, 1); x <= h; x++ {
			if vals := rpcValidators(t, nw, x); vals[outsider] {
				changed = x
				break
			}
		}
	}
	m := changed - 2
	if (m-1)%interval != 0 {
		t.Fatalf("CometBFT's set changed at %d, not 2 heights after a maintenance height", changed)
	}
	if vals := rpcValidators(t, nw, changed); len(vals) != 3 || vals[dropped] {
		t.Fatalf("validators at %d: %v; want the outsider in and %s out", changed, vals, names[dropped])
	}
	// net status shows the change: the outsider's node has power, the
	// dropped one's none.
	power := map[string]int64{}
	for _, s := range nw.Status(ctx) {
		power[s.Producer] = s.VotingPower
	}
	if power[names[outsider]] != 10 || power[names[dropped]] != 0 {
		t.Fatalf("voting power by producer %v: want %s 10 and %s 0", power, names[outsider], names[dropped])
	}
	if err := nw.WaitHeight(ctx, nil, changed+12, 60*time.Second); err != nil {
		t.Fatal(err)
	}
	nw.Down()
	a, err := network.CompareStores(nw.Dir)
	if err != nil || !a.Agree() {
		t.Fatalf("agreement: %+v %v", a, err)
	}
	bs, err := node.OpenHomeBlockStore(filepath.Join(nw.Dir, "n0"))
	if err != nil {
		t.Fatal(err)
	}
	defer bs.Close()
	proposed := false
	for h := changed; h <= changed+12; h++ {
		b, err := bs.Get(h)
		if err != nil {
			t.Fatal(err)
		}
		if b.Proposer == dropped {
			t.Fatalf("block %d proposed by %s, dropped at %d", h, names[dropped], m)
		}
		proposed = proposed || b.Proposer == outsider
	}
	if !proposed {
		t.Fatalf("the elected %s proposed none of blocks %d..%d", names[outsider], changed, changed+12)
	}
	t.Logf("elected at %d, CometBFT's set changed at %d", m, changed)
}

func rpcGet(t *testing.T, nw *network.Network, i int, path string, out any) {
	t.Helper()
	res, err := http.Get("http://" + nw.RPC(i) + path)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if err := json.NewDecoder(res.Body).Decode(out); err != nil {
		t.Fatal(err)
	}
}

// rpcValidators is CometBFT's validator set at height h (0: latest).
func rpcValidators(t *testing.T, nw *network.Network, h int64) map[chain.Address]bool {
	t.Helper()
	var res struct {
		Result struct {
			Validators []struct {
				Address string `json:"address"`
			} `json:"validators"`
		} `json:"result"`
	}
	path := "/validators"
	if h > 0 {
		path += fmt.Sprintf("?height=%d", h)
	}
	rpcGet(t, nw, 0, path, &res)
	out := map[chain.Address]bool{}
	for _, v := range res.Result.Validators {
		var a chain.Address
		b, _ := hex.DecodeString(v.Address)
		copy(a[:], b)
		out[a] = true
	}
	return out
}

// testNet initialises a network whose nodes run this test binary as the
// forkgate CLI (TestMain), starts it and stops it when the test ends.
func testNet(t *testing.T, o network.Options) *network.Network {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "net")
	o.Binaries = []string{os.Args[0]}
	o.Env = append(o.Env, envChild+"=1")
	if _, err := network.Init(dir, o); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	nw, err := network.Up(ctx, dir, network.UpOptions{WaitHeight: 3, Timeout: 60 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nw.Down)
	return nw
}

// TestNetHaltConsensusPath: a validator that is in sync when the version
// activates meets the halt in CometBFT's consensus (where a returned error
// would be recovered as CONSENSUS FAILURE and leave the process running):
// it still exits 3 with upgrade-info.json, path "consensus", its state one
// below the activation height; switched to the new binary, it replays that
// block and rejoins; put back on the old binary with data past the height,
// it exits 3 at start; every node agrees.
func TestNetHaltConsensusPath(t *testing.T) {
	if testing.Short() {
		t.Skip("starts four node processes")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dir := filepath.Join(t.TempDir(), "net")
	f, err := network.Init(dir, network.Options{Validators: 4, Binaries: []string{os.Args[0]}, Env: []string{envChild + "=1"}, SignalVersion: 2})
	if err != nil {
		t.Fatal(err)
	}
	f.Nodes[3].RunArgs = []string{"--implemented", "1"} // n3 runs the old release
	if err := f.Save(dir); err != nil {
		t.Fatal(err)
	}
	nw, err := network.Up(ctx, dir, network.UpOptions{WaitHeight: 3})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nw.Down)
	code, err := nw.WaitExit(ctx, "n3", 90*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	info, err := node.ReadUpgradeInfo(filepath.Join(dir, "n3"))
	if code != 3 || err != nil || info == nil || info.Path != "consensus" || info.StateHeight != info.Height-1 || info.Version != 2 {
		t.Fatalf("n3: exit %d, upgrade-info %+v, %v", code, info, err)
	}
	if err := nw.Perturb("n3", network.SwitchBinary, os.Args[0]); err != nil {
		t.Fatal(err)
	}
	if err := nw.WaitHeight(ctx, nil, info.Height+5, 60*time.Second); err != nil {
		t.Fatal(err)
	}
	// Put back on the old release with data past the activation height (a
	// rollback gone wrong), it refuses at start: exit 3 again.
	if err := nw.Perturb("n3", network.Kill, ""); err != nil {
		t.Fatal(err)
	}
	nw.File.Nodes[3].RunArgs = []string{"--implemented", "1"}
	if err := nw.Perturb("n3", network.Start, ""); err != nil {
		t.Fatal(err)
	}
	code, err = nw.WaitExit(ctx, "n3", 60*time.Second)
	again, _ := node.ReadUpgradeInfo(filepath.Join(dir, "n3"))
	if err != nil || code != 3 || again == nil || again.Path != "start" || again.Height != info.Height || again.StateHeight < info.Height+4 {
		t.Fatalf("old release on data past the height: exit %d (%v), upgrade-info %+v", code, err, again)
	}
	nw.Down()
	a, err := network.CompareStores(dir)
	if err != nil || !a.Agree() || a.Heights < info.Height {
		t.Fatalf("agreement %+v, %v", a, err)
	}
}
