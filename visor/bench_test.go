package visor

import (
	"crypto/sha256"
	"encoding/json"
	"flag"
	"fmt"
	"os"
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
			st := nodeStatus(t, f.visor, home)
			sw := st.Visor.LastSwitch
			ck := filepath.Join(sw.Checkpoint, "home", "data", "state")
			keys, bytes := countKeys(t, ck)
			t.Logf("accounts %d: state keys %d (%.1f MB of tables): downtime %d ms (verified at %d ms, checkpoint done at %d ms, new binary started at %d ms), whole run %.1fs",
				n, keys, float64(bytes)/1e6, sw.DowntimeMS, sw.VerifyMS, sw.CheckpointMS, sw.StartMS, time.Since(began).Seconds())
			fmt.Printf("| %d | %d | %.1f MB | %d | %d | %d | %d |\n", n, keys, float64(bytes)/1e6, sw.VerifyMS, sw.CheckpointMS, sw.StartMS, sw.DowntimeMS)
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
