package visor

import (
	"bufio"
	"crypto/sha256"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble"
	"github.com/forkgate/forkgate/chain"
)

var (
	benchAccounts = flag.String("visor.downtime", "", "comma-separated extra genesis accounts per run of TestDowntime (e.g. 0,250000); empty: skip")
	benchPace     = flag.String("visor.pace", "5s", "the node's pace in TestDowntime (the default block interval is 5s)")
)

// TestDowntime measures the switch's downtime — from the old binary's exit
// to the new binary's first committed block, as the supervisor records it
// in status.json — on homes whose genesis funds extra accounts, so the
// state holds many keys. It runs only with -visor.downtime (docs/benchmarks.md):
//
//	go test ./visor -run TestDowntime -count=1 -v -timeout 30m -visor.downtime 0,400000
func TestDowntime(t *testing.T) {
	if *benchAccounts == "" {
		t.Skip("set -visor.downtime N,M to measure")
	}
	f := testReleases(t)
	for _, s := range strings.Split(*benchAccounts, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			t.Fatal(err)
		}
		t.Run(fmt.Sprintf("accounts=%d", n), func(t *testing.T) {
			dir := t.TempDir()
			home := upgradeHome(t, f, dir)
			if n > 0 {
				addAccounts(t, home, n)
			}
			mustCLI(t, f.visor, "visor", "init", home, "--release", f.rel["0.1.0"])
			mustCLI(t, f.visor, "visor", "add", home, f.rel["0.2.0"])
			began := time.Now()
			_, errOut, code := cli(t, f.visor, nil, "visor", "run", home, "--gate-replay=false", "--", "node", "run", home, "--until", "14", "--pace", *benchPace, "--http", "off")
			if code != 0 {
				t.Fatalf("exit %d\n%s", code, errOut)
			}
			// The node alone, for comparison: its own start to its first
			// block on the same data (the part of the downtime that is
			// the node's, not the supervisor's).
			alone := nodeStartToBlock(t, f.bins["0.2.0"], home)
			st := nodeStatus(t, f.visor, home)
			sw := st.Visor.LastSwitch
			ck := filepath.Join(sw.Checkpoint, "home", "data", "state")
			keys, bytes := countKeys(t, ck)
			t.Logf("accounts %d: state keys %d (%.1f MB of tables): downtime %d ms (verified at %d ms, checkpoint done at %d ms, new binary started at %d ms); the node alone: start to first block %d ms; whole run %.1fs",
				n, keys, float64(bytes)/1e6, sw.DowntimeMS, sw.VerifyMS, sw.CheckpointMS, sw.StartMS, alone.Milliseconds(), time.Since(began).Seconds())
			fmt.Printf("| %d | %d | %.1f MB | %d | %d | %d | %d | %d |\n", n, keys, float64(bytes)/1e6, sw.VerifyMS, sw.CheckpointMS, sw.StartMS, sw.DowntimeMS, alone.Milliseconds())
		})
	}
}

// addAccounts funds n more accounts in the home's genesis (before the node
// first runs, so they are part of the chain's state from height 0).
func addAccounts(t *testing.T, home string, n int) {
	t.Helper()
	path := filepath.Join(home, "genesis.json")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var g chain.Genesis
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		sum := sha256.Sum256([]byte("visor-bench-" + strconv.Itoa(i)))
		var a chain.Address
		copy(a[:], sum[:20])
		g.Accounts = append(g.Accounts, chain.GenesisAccount{Address: a.String(), Balance: 1000})
	}
	out, err := json.Marshal(&g)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
}

// countKeys counts the keys of a (checkpoint's) Pebble store.
func countKeys(t *testing.T, dir string) (keys int64, tableBytes int64) {
	t.Helper()
	db, err := pebble.Open(dir, &pebble.Options{ReadOnly: true, Logger: quietLogger{}})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	it, err := db.NewIter(nil)
	if err != nil {
		t.Fatal(err)
	}
	for it.First(); it.Valid(); it.Next() {
		keys++
	}
	it.Close()
	m := db.Metrics()
	return keys, int64(m.Total().Size)
}

// nodeStartToBlock runs `node run` for one more block and times its start
// to the block line.
func nodeStartToBlock(t *testing.T, bin, home string) time.Duration {
	t.Helper()
	st := nodeStatus(t, bin, home)
	cmd := exec.Command(bin, "node", "run", home, "--until", strconv.FormatInt(st.Height+1, 10), "--http", "off")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var took time.Duration
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "height ") && took == 0 {
			took = time.Since(began)
		}
	}
	if err := cmd.Wait(); err != nil || took == 0 {
		t.Fatalf("node run: %v (no block line)", err)
	}
	return took
}
