package node

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/forkgate/forkgate/chain"
	"github.com/forkgate/forkgate/forkfile"
	"github.com/forkgate/forkgate/schedule"
	"github.com/forkgate/forkgate/signal"
)

func TestDefaultConfigLints(t *testing.T) {
	f, err := forkfile.Read("default_config.toml", []byte(DefaultConfig))
	if err != nil {
		t.Fatal(err)
	}
	fs := forkfile.Lint(f, forkfile.LintOptions{Registry: chainRegistry(), Strict: true})
	for _, x := range fs {
		t.Errorf("lint: %v", x)
	}
	// Every registered fork is set in the file.
	set := map[string]bool{}
	for _, it := range f.Items {
		set[it.Key()] = true
	}
	for _, fk := range chainRegistry().Forks() {
		if !set[fk.Key()] {
			t.Errorf("default config misses %s", fk.Key())
		}
	}
}

func TestInitLayoutAndDeterministicKeys(t *testing.T) {
	a := newHome(t, InitOptions{Seed: "s1", Producers: 3})
	b := newHome(t, InitOptions{Seed: "s1", Producers: 3})
	c := newHome(t, InitOptions{Seed: "s2", Producers: 3})
	read := func(home, name string) string {
		b, err := os.ReadFile(filepath.Join(home, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if read(a, "genesis.json") != read(b, "genesis.json") || read(a, "keys/p1.json") != read(b, "keys/p1.json") {
		t.Fatal("same seed gave different homes")
	}
	if read(a, "genesis.json") == read(c, "genesis.json") {
		t.Fatal("different seeds gave the same genesis")
	}
	if err := Init(a, InitOptions{}); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("re-init: %v", err)
	}
	keys, err := LoadKeys(Home(a).Keys())
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 3+DefaultAccounts {
		t.Fatalf("%d keys", len(keys))
	}
}

func TestDeterminismAcrossRuns(t *testing.T) {
	const h = 30
	var runs [][]string
	for i := 0; i < 2; i++ {
		home := newHome(t, InitOptions{Seed: "det"})
		n := openNode(t, home, testOptions())
		runTo(t, n, h)
		runs = append(runs, hashes(t, n, h))
		st, err := n.Status()
		if err != nil {
			t.Fatal(err)
		}
		if st.Height != h || st.StateHash != runs[i][h-1] {
			t.Fatalf("status height %d hash %s, want %d %s", st.Height, st.StateHash, h, runs[i][h-1])
		}
	}
	sameHashes(t, "two runs", runs[0], runs[1])
	// A different seed is a different chain.
	home := newHome(t, InitOptions{Seed: "other"})
	n := openNode(t, home, testOptions())
	runTo(t, n, 3)
	if hashes(t, n, 3)[2] == runs[0][2] {
		t.Fatal("different seeds gave the same state")
	}
}

// A node stopped and reopened on the same data continues with exactly the
// blocks of an uninterrupted run, with either built-in workload (mixed, the
// default, keeps game secrets and approvals in flight across the stops).
func TestRestartContinuesIdentically(t *testing.T) {
	for _, tc := range []struct {
		workload string
		stops    []int64
	}{
		{"coins", []int64{13}},
		{"mixed", []int64{7, 13, 20}},
	} {
		t.Run(tc.workload, func(t *testing.T) {
			const end = 27
			init := InitOptions{NodeKeys: map[string]string{"workload": fmt.Sprintf("%q", tc.workload)}}
			ref := newHome(t, init)
			n := openNode(t, ref, testOptions())
			runTo(t, n, end)
			want := hashes(t, n, end)

			home := newHome(t, init)
			n1, err := Open(home, testOptions())
			if err != nil {
				t.Fatal(err)
			}
			for i, stop := range tc.stops {
				runTo(t, n1, stop)
				n1.Close()
				n1, err = Open(home, testOptions())
				if err != nil {
					t.Fatal(err)
				}
				if n1.Height() != stop {
					t.Fatalf("reopened at %d", n1.Height())
				}
				if i == 0 {
					// --until at the current height is a no-op; below it is refused.
					if err := n1.Run(t.Context(), RunOptions{Until: stop}); err != nil {
						t.Fatal(err)
					}
					if err := n1.Run(t.Context(), RunOptions{Until: stop - 1}); !errors.Is(err, ErrPastUntil) {
						t.Fatalf("until below head: %v", err)
					}
				}
			}
			t.Cleanup(func() { n1.Close() })
			if err := n1.Run(t.Context(), RunOptions{Blocks: end - tc.stops[len(tc.stops)-1]}); err != nil {
				t.Fatal(err)
			}
			sameHashes(t, "restart", want, hashes(t, n1, end))
			// The workload really ran: count its actions in the stored blocks.
			seen := map[string]int{}
			for h := int64(1); h <= end; h++ {
				b, err := n1.Blocks().Get(h)
				if err != nil {
					t.Fatal(err)
				}
				for _, raw := range b.Txs[1:] {
					tx, err := chain.DecodeTx(raw)
					if err != nil {
						t.Fatal(err)
					}
					seen[tx.Exec+"."+tx.Action]++
				}
			}
			need := []string{"coins.transfer"}
			if tc.workload == "mixed" {
				need = append(need, "game.open", "game.join", "game.reveal", "governance.propose", "governance.approve")
			}
			for _, a := range need {
				if seen[a] == 0 {
					t.Errorf("no %s in blocks 1..%d (saw %v)", a, end, seen)
				}
			}
		})
	}
}

// A block stored but not committed to the state (a crash between the two)
// is re-executed at the next start.
func TestRecoveryReexecutesStoredBlocks(t *testing.T) {
	home := newHome(t, InitOptions{})
	n, err := Open(home, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	runTo(t, n, 8)
	want := hashes(t, n, 8)
	n.Close()
	// Put the state back to height 5 by replaying into a fresh state store.
	os.RemoveAll(Home(home).State())
	n2 := openNode(t, home, testOptions())
	if n2.Height() != 8 {
		t.Fatalf("recovered to %d, want 8", n2.Height())
	}
	sameHashes(t, "recovered", want, hashes(t, n2, 8))
	// The block store behind the state is refused.
	n2.Blocks().Truncate(6)
	n2.Close()
	if _, err := Open(home, testOptions()); err == nil || !strings.Contains(err.Error(), "block store is at height 6 but the state at 8") {
		t.Fatalf("block store behind: %v", err)
	}
}

func TestCompatRefusalAndRewind(t *testing.T) {
	home := newHome(t, InitOptions{})
	n, err := Open(home, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	runTo(t, n, 30)
	want := hashes(t, n, 30)
	n.Close()
	cfgPath := Home(home).Config()
	orig, _ := os.ReadFile(cfgPath)
	// Move a past fork (ForkFeeToProducer = 20) to 22: history changes.
	changed := strings.Replace(string(orig), "ForkFeeToProducer = 20", "ForkFeeToProducer = 22", 1)
	writeFile(t, cfgPath, []byte(changed))
	_, err = Open(home, testOptions())
	var ce *schedule.CompatError
	if !errors.As(err, &ce) || ce.RewindTo != 19 || !strings.Contains(err.Error(), "Rewind to height 19") {
		t.Fatalf("want a refusal naming rewind height 19, got %v", err)
	}
	// A future fork may move freely.
	writeFile(t, cfgPath, []byte(strings.Replace(string(orig), "ForkMinBondV2 = 50", "ForkMinBondV2 = 60", 1)))
	n2, err := Open(home, testOptions())
	if err != nil {
		t.Fatalf("future change refused: %v", err)
	}
	n2.Close()
	writeFile(t, cfgPath, orig)
	// Rewind: the chain is cut back to 19 and re-executed.
	writeFile(t, cfgPath, []byte(changed))
	o := testOptions()
	o.Compat = "rewind"
	n3 := openNode(t, home, o)
	if n3.Height() != 19 {
		t.Fatalf("rewound to %d, want 19", n3.Height())
	}
	sameHashes(t, "rewound prefix", want[:19], hashes(t, n3, 19))
	runTo(t, n3, 30)
	got := hashes(t, n3, 30)
	if got[20] == want[20] {
		t.Fatal("the moved fork changed nothing at 21")
	}
}

func TestHaltOnUnimplementedVersion(t *testing.T) {
	home := newHome(t, InitOptions{NodeTable: "[node.producer.p1]\nupgrade_height = 3\n[node.producer.p2]\nupgrade_height = 3\n[node.producer.p3]\nupgrade_height = 3\n"})
	o := testOptions()
	o.Implemented = 1
	n := openNode(t, home, o)
	err := n.Run(t.Context(), RunOptions{Until: 60})
	var he *signal.HaltError
	if !errors.As(err, &he) || !IsHalt(err) {
		t.Fatalf("want a halt, got %v", err)
	}
	if he.Version != 2 || n.Height() >= he.Height {
		t.Fatalf("halt %+v at height %d", he, n.Height())
	}
	t.Logf("halt: %v (node at %d)", err, n.Height())
}

func TestInitWithConfigFile(t *testing.T) {
	dir := t.TempDir()
	// A fork config without a [node] table gets the default one.
	forks := DefaultConfig[:strings.Index(DefaultConfig, "\n# [node] configures")]
	path := filepath.Join(dir, "chain.toml")
	writeFile(t, path, []byte(strings.Replace(forks, "ForkFeeToProducer = 20", "ForkFeeToProducer = 7", 1)))
	home := filepath.Join(dir, "home")
	if err := Init(home, InitOptions{ConfigPath: path}); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfig(Home(home).Config())
	if err != nil {
		t.Fatal(err)
	}
	if a, _ := cfg.Schedule.Activation("coins.ForkFeeToProducer"); a.Height != 7 || cfg.Node.TxsPerBlock != 16 || cfg.Node.Compat != "refuse" {
		t.Fatalf("config: %v %+v", a, cfg.Node)
	}
	// A config naming forks the chain does not know is refused, naming them.
	bad := filepath.Join(dir, "bad.toml")
	writeFile(t, bad, []byte(forks+"\n[fork.sub.coins2]\n# x\nForkNope = 1\n"))
	if err := Init(filepath.Join(dir, "h2"), InitOptions{ConfigPath: bad}); err == nil || !strings.Contains(err.Error(), "coins2.ForkNope") {
		t.Fatalf("unknown fork: %v", err)
	}
	// A bad [node] value is refused with the key.
	writeFile(t, bad, []byte(DefaultConfig+"\n[node.producer.p1]\nupgrade_height = 5\nupgrade_version = 0\n"))
	if err := Init(filepath.Join(dir, "h3"), InitOptions{ConfigPath: bad}); err == nil || !strings.Contains(err.Error(), "upgrade_version") {
		t.Fatalf("bad node table: %v", err)
	}
}

// On a parallel chain, a { parent = H } fork that already passed is part of
// history too: moving it is refused with the rewind height in this chain's
// own heights, and the status reports it active where it is.
func TestCompatParentHeightFork(t *testing.T) {
	home := newHome(t, InitOptions{ParentStart: 1000})
	cfgPath := Home(home).Config()
	orig, _ := os.ReadFile(cfgPath)
	parentCfg := strings.Replace(string(orig), "ForkFeeToProducer = 20", "ForkFeeToProducer = { parent = 1020 }", 1)
	if parentCfg == string(orig) {
		t.Fatal("default config has no ForkFeeToProducer = 20 to rewrite")
	}
	writeFile(t, cfgPath, []byte(parentCfg))
	n := openNode(t, home, testOptions())
	runTo(t, n, 30)
	st, err := n.Status()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range st.Forks.All {
		if f.Key == "coins.ForkFeeToProducer" && (!f.Active || f.Height != 20 || f.Activation != "{ parent = 1020 }") {
			t.Errorf("status of the parent fork: %+v", f)
		}
	}
	n.Close()
	writeFile(t, cfgPath, []byte(strings.Replace(parentCfg, "{ parent = 1020 }", "{ parent = 1025 }", 1)))
	_, err = Open(home, testOptions())
	var ce *schedule.CompatError
	if !errors.As(err, &ce) || ce.RewindTo != 19 {
		t.Fatalf("want a refusal naming rewind height 19, got %v", err)
	}
	// Moving it past the head does not help: it already took effect at 20.
	writeFile(t, cfgPath, []byte(strings.Replace(parentCfg, "{ parent = 1020 }", "{ parent = 1050 }", 1)))
	if _, err = Open(home, testOptions()); err == nil {
		t.Fatal("moving a passed parent fork to the future must be refused too")
	}
}
