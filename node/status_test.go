package node

import (
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/forkgate/forkgate/nodestatus"
)

// upgradeAll makes every producer of a 4-producer home signal version 2
// from height at.
func upgradeAll(at string) string {
	var b strings.Builder
	for _, p := range []string{"p1", "p2", "p3", "p4"} {
		b.WriteString("[node.producer." + p + "]\nupgrade_height = " + at + "\n")
	}
	return b.String()
}

func getStatus(t *testing.T, addr string) (*Status, map[string]any) {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/status")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET /status: %s %s", resp.Status, resp.Header.Get("Content-Type"))
	}
	raw := readAll(t, resp.Body)
	var st Status
	if err := json.Unmarshal(raw, &st); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	json.Unmarshal(raw, &m)
	return &st, m
}

func TestStatusAPI(t *testing.T) {
	home := newHome(t, InitOptions{NodeTable: upgradeAll("5")})
	n := openNode(t, home, testOptions())
	srv, err := n.ServeHTTP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if !strings.HasPrefix(srv.Addr(), "127.0.0.1:") {
		t.Fatalf("addr %s", srv.Addr())
	}
	st, _ := getStatus(t, srv.Addr())
	if st.Height != 0 || st.ChainID != DefaultChainID || len(st.Producers) != 4 {
		t.Fatalf("status at 0: %+v", st)
	}
	runTo(t, n, 30)
	st, m := getStatus(t, srv.Addr())
	for _, k := range []string{"height", "state_hash", "app_version", "chain_id", "fork_id", "forks", "signal", "producers", "versions", "protocol_version"} {
		if _, ok := m[k]; !ok {
			t.Errorf("status JSON lacks %q", k)
		}
	}
	if st.Height != 30 || st.StateHash != hashes(t, n, 30)[29] || st.AppVersion == "" || st.Format != nodestatus.StatusFormat {
		t.Fatalf("status: height %d hash %s", st.Height, st.StateHash)
	}
	if st.ForkID.Next != 35 {
		t.Errorf("fork id %v: want next 35 (ForkGovDeposit)", st.ForkID)
	}
	// Forks: 30 (ForkNoSelfVote) just passed, 35 next, 50 last.
	if st.Forks.Current == nil || st.Forks.Current.Height != 30 || st.Forks.Next == nil || st.Forks.Next.Height != 35 ||
		st.Forks.Last == nil || st.Forks.Last.Height != 50 {
		t.Fatalf("forks: current %+v next %+v last %+v", st.Forks.Current, st.Forks.Next, st.Forks.Last)
	}
	// Every producer signalled 2 from 5; version 2 activated at a maintenance
	// and its fork with it.
	var v2 *VersionInfo
	for i := range st.Versions {
		if st.Versions[i].Version == 2 {
			v2 = &st.Versions[i]
		}
	}
	if v2 == nil || v2.State != "active" || v2.ActivationHeight <= 5 || v2.ActivationHeight > 30 || st.ProtocolVersion != 2 {
		t.Fatalf("version 2: %+v, protocol %d", v2, st.ProtocolVersion)
	}
	if len(v2.Forks) != 1 || v2.Forks[0] != "game.ForkGamePayoutV2" {
		t.Fatalf("version 2 forks: %v", v2.Forks)
	}
	found := false
	for _, f := range st.Forks.All {
		if f.Key == "game.ForkGamePayoutV2" {
			found = true
			if !f.Active || f.Height != v2.ActivationHeight || f.Kind != "version" {
				t.Fatalf("payout v2: %+v", f)
			}
		}
	}
	if !found {
		t.Fatal("no game.ForkGamePayoutV2 in forks.all")
	}
	for _, p := range st.Producers {
		if p.LastVersion != 2 || p.Signalling == nil || p.Name == "" || p.NextSlot <= 30 {
			t.Fatalf("producer %+v", p)
		}
	}
	if len(st.Signal.Versions) != 1 || st.Signal.Versions[0].State != "active" {
		t.Fatalf("signal status: %+v", st.Signal.Versions)
	}
	t.Logf("version 2 active from %d; fork id %v", v2.ActivationHeight, st.ForkID)

	// node status reads the running node through its API...
	rs, err := ReadStatus(home, testOptions())
	if err != nil || rs.Height != 30 {
		t.Fatalf("ReadStatus via API: %v %v", rs, err)
	}
	// ...and the data directory once it stopped.
	srv.Close()
	n.Close()
	rs, err = ReadStatus(home, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	if rs.Height != 30 || rs.StateHash != st.StateHash || rs.Source != "data" || rs.Running {
		t.Fatalf("ReadStatus from data: %+v", rs)
	}
	// A home that never ran shows its genesis.
	rs, err = ReadStatus(newHome(t, InitOptions{}), testOptions())
	if err != nil || rs.Height != 0 || len(rs.Producers) != 4 {
		t.Fatalf("fresh home status: %+v %v", rs, err)
	}
}

// The status API answers while the node produces blocks.
func TestStatusAPIWhileRunning(t *testing.T) {
	n := openNode(t, newHome(t, InitOptions{}), testOptions())
	srv, err := n.ServeHTTP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	done := make(chan error, 1)
	go func() { done <- n.Run(t.Context(), RunOptions{Until: 25}) }()
	last := int64(-1)
	running := false
	for finished := false; !finished; {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			finished = true
		default:
		}
		st, _ := getStatus(t, srv.Addr())
		if st.Height < last {
			t.Fatalf("height went back from %d to %d", last, st.Height)
		}
		last = st.Height
		running = running || st.Running
	}
	if st, _ := getStatus(t, srv.Addr()); st.Height != 25 || st.Running {
		t.Fatalf("after the run: height %d running %v", st.Height, st.Running)
	}
	t.Logf("saw running=%v", running)
}

// TestStatusRunsTheChecksOfRun: a home that `run` refuses is refused by
// `status` too, with the same message, never shown as valid.
func TestStatusRunsTheChecksOfRun(t *testing.T) {
	tests := []struct {
		name   string
		break_ func(t *testing.T, home, other string)
		want   string
	}{
		{"state ahead of the block store", func(t *testing.T, home, _ string) {
			n := openNode(t, home, testOptions())
			n.Blocks().Truncate(6)
			n.Close()
		}, "block store is at height 6 but the state at 10"},
		{"state of another chain", func(t *testing.T, home, other string) {
			if err := os.RemoveAll(Home(home).State()); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(Home(other).State(), Home(home).State()); err != nil {
				t.Fatal(err)
			}
		}, "does not belong to these blocks"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			home := newHome(t, InitOptions{})
			other := newHome(t, InitOptions{Seed: "another chain"})
			for _, h := range []string{home, other} {
				n := openNode(t, h, testOptions())
				runTo(t, n, 10)
				n.Close()
			}
			tc.break_(t, home, other)
			_, runErr := Open(home, testOptions())
			_, statusErr := ReadStatus(home, testOptions())
			for what, err := range map[string]error{"run": runErr, "status": statusErr} {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("%s: %v, want an error with %q", what, err, tc.want)
				}
			}
		})
	}
}
