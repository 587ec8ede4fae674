package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/forkgate/forkgate/buildinfo"
	"github.com/forkgate/forkgate/fleet"
	"github.com/forkgate/forkgate/network"
	"github.com/forkgate/forkgate/release"
	"github.com/forkgate/forkgate/upgradedoc"
)

// TestFleetChecksOnARollingUpgrade is the fleet checks' acceptance test on
// a real 4-validator CometBFT network (forkgate net, one process per node):
//
//   - three validators switch to the new release one at a time, the last
//     still on the old one: the pre-check passes;
//   - the last is cut off: it shows as lagging while the others activate
//     version 2; healed, its old release catches up and stops for the
//     upgrade: it shows as halted, just below the activation height;
//   - switched to the new release it catches up: the post-check passes;
//   - one validator then runs the fault-injected build (-tags faultinject,
//     a state change without a fork): the post-check reports it split, at
//     exactly the first height whose state hash differs in the block
//     stores (compared height by height after the network stops).
func TestFleetChecksOnARollingUpgrade(t *testing.T) {
	if testing.Short() {
		t.Skip("starts four node processes and builds the fault-injected binary")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	root := t.TempDir()
	dir := filepath.Join(root, "net")

	// The fault-injected build, made while the network runs.
	faulty := filepath.Join(root, "forkgate-faultinject")
	built := make(chan error, 1)
	go func() {
		out, err := exec.CommandContext(ctx, "go", "build", "-tags", "faultinject", "-o", faulty, ".").CombinedOutput()
		if err != nil {
			err = fmt.Errorf("%v\n%s", err, out)
		}
		built <- err
	}()

	self := os.Args[0]
	env := []string{envChild + "=1"}
	if _, err := network.Init(dir, network.Options{Validators: 4, Binaries: []string{self}, Env: env,
		RunArgs: []string{"--implemented", "1"}, SignalVersion: 2}); err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	nw, err := network.Up(ctx, dir, network.UpOptions{WaitHeight: 3, Log: &log})
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	t.Cleanup(nw.Down)

	check := func(doc *upgradedoc.Document, phase string) *fleet.Report {
		t.Helper()
		targets, err := netTargets(dir)
		if err != nil {
			t.Fatal(err)
		}
		snap := fleet.Collect(ctx, targets, 3*time.Second)
		rep, err := fleet.Check(ctx, snap, doc, "DOC.json", phase, fleet.Options{Timeout: 3 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}
	lines := func(rep *fleet.Report) string {
		var b strings.Builder
		printFleet(&b, rep)
		return b.String()
	}
	// until re-checks (every 300 ms, bounded) until cond holds.
	until := func(what string, limit time.Duration, doc *upgradedoc.Document, phase string, cond func(*fleet.Report) bool) *fleet.Report {
		t.Helper()
		deadline := time.Now().Add(limit)
		for {
			rep := check(doc, phase)
			if cond(rep) {
				return rep
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within %v; last check:\n%s%s", what, limit, lines(rep), logTails(nw, 30))
			}
			time.Sleep(300 * time.Millisecond)
		}
	}
	node := func(rep *fleet.Report, name string) fleet.NodeReport {
		for _, n := range rep.Nodes {
			if n.Name == name {
				return n
			}
		}
		t.Fatalf("no node %s", name)
		return fleet.NodeReport{}
	}

	// 1. The rolling upgrade of n0, n1, n2.
	for _, name := range []string{"n0", "n1", "n2"} {
		h0 := nw.Height(ctx)
		if err := nw.Perturb(name, network.SwitchBinary, self); err != nil {
			t.Fatal(err)
		}
		if err := nw.WaitHeight(ctx, []string{name}, h0+2, 60*time.Second); err != nil {
			t.Fatalf("switch %s: %v\n%s", name, err, log.String())
		}
	}
	doc := fleetDoc(t, check(nil, ""), self)
	// A switched node reconnects with CometBFT's peer backoff; on a loaded
	// machine (CI runs packages side by side) that can take tens of seconds.
	pre := until("pre-check on a healthy network", 60*time.Second, doc, "pre", func(r *fleet.Report) bool { return r.OK })
	t.Logf("pre-check passed at height %d", pre.MaxHeight)
	if v := pre.Results; len(v) == 0 {
		t.Fatal("no checks ran")
	}

	// 2. Cut n3 off: lagging, then (healed, on its old release) halted.
	if err := nw.Perturb("n3", network.Cut, ""); err != nil {
		t.Fatal(err)
	}
	if err := nw.Perturb("n3", network.Restart, ""); err != nil { // catches up through block sync once healed
		t.Fatal(err)
	}
	lag := until("n3 lagging", 60*time.Second, doc, "pre", func(r *fleet.Report) bool { return node(r, "n3").State == fleet.StateLagging })
	t.Logf("n3 lagging: at %d, highest %d", node(lag, "n3").Height, lag.MaxHeight)
	var act int64
	until("version 2 active on n0", 120*time.Second, nil, "", func(r *fleet.Report) bool {
		act = activationOf(r, "n0")
		return act > 0 && r.MaxHeight >= act+3
	})
	if err := nw.Perturb("n3", network.Heal, ""); err != nil {
		t.Fatal(err)
	}
	halted := until("n3 halted for the upgrade", 90*time.Second, doc, "post", func(r *fleet.Report) bool { return node(r, "n3").State == fleet.StateHalted })
	if n3 := node(halted, "n3"); n3.Height != act-1 {
		t.Errorf("n3 halted at %d, want %d (just below the activation)", n3.Height, act-1)
	}
	t.Logf("n3 halted: %s", node(halted, "n3").Halt)
	if !strings.Contains(lines(halted), "fleet.node.halted node n3") {
		t.Errorf("no halted finding:\n%s", lines(halted))
	}

	// 3. n3 on the new release: the post-check passes.
	if err := nw.Perturb("n3", network.SwitchBinary, self); err != nil {
		t.Fatal(err)
	}
	postDoc := withPost(doc, act)
	post := until("post-check after the heal", 90*time.Second, postDoc, "post", func(r *fleet.Report) bool { return r.OK })
	t.Logf("post-check passed at height %d (activation %d)", post.MaxHeight, act)

	// 4. n2 on the fault-injected build: split at the first divergent height.
	if err := <-built; err != nil {
		t.Fatalf("build -tags faultinject: %v", err)
	}
	if err := nw.Perturb("n2", network.SwitchBinary, faulty); err != nil {
		t.Fatal(err)
	}
	split := until("the fault-injected node split", 90*time.Second, postDoc, "post", func(r *fleet.Report) bool { return r.Agreement.SplitHeight > 0 })
	s := split.Agreement.Splits[0]
	if strings.Join(s.Minority, ",") != "n2" || strings.Join(s.Majority, ",") != "n0,n1,n3" {
		t.Fatalf("split sides %v vs %v:\n%s", s.Minority, s.Majority, lines(split))
	}
	if !strings.Contains(lines(split), fmt.Sprintf("state hash split at height %d", s.Height)) {
		t.Fatalf("no split finding:\n%s", lines(split))
	}
	nw.Down()
	a, err := network.CompareStores(dir)
	if err != nil {
		t.Fatal(err)
	}
	if a.FirstDiff != s.Height {
		t.Fatalf("the fleet check says split at %d, the block stores first differ at %d (%v)", s.Height, a.FirstDiff, a.Diffs)
	}
	t.Logf("n2 (faultinject) split at height %d, confirmed by the block stores", s.Height)
}

// activationOf is the height version 2 activated at on a node (0: not yet).
func activationOf(r *fleet.Report, name string) int64 {
	for _, n := range r.Nodes {
		if n.Name == name {
			for _, t := range n.Signal {
				if t.Version == 2 && t.ActivationHeight > 0 {
					return t.ActivationHeight
				}
			}
		}
	}
	return 0
}

// fleetDoc is an upgrade document for the network's chain whose release is
// this test binary (what the switched nodes run) implementing version 2,
// with the chain's version-2 forks as its suggested items.
func fleetDoc(t *testing.T, r *fleet.Report, bin string) *upgradedoc.Document {
	t.Helper()
	sum, _, err := release.SHA256File(bin)
	if err != nil {
		t.Fatal(err)
	}
	var items []upgradedoc.Item
	var forks []upgradedoc.ExpectFork
	for _, f := range r.Nodes[0].Forks {
		if f.Kind == "version" {
			items = append(items, upgradedoc.Item{Key: f.Key, Value: f.Activation, Kind: f.Kind, Domain: "own"})
			forks = append(forks, upgradedoc.ExpectFork{Key: f.Key, Value: f.Activation})
		}
	}
	if len(items) == 0 {
		t.Fatal("the chain has no version-gated fork")
	}
	title := ""
	for _, n := range r.Nodes {
		if n.Reachable {
			title = n.Title
		}
	}
	return &upgradedoc.Document{Format: 1,
		Chain:     upgradedoc.Chain{Title: title},
		Release:   upgradedoc.Release{Version: buildinfo.Version, BinarySHA256: sum, Implemented: 2},
		Suggested: upgradedoc.Suggested{Items: items},
		Checks: upgradedoc.Checks{Format: 1, Checks: []upgradedoc.Check{
			{ID: upgradedoc.CheckConfigForks, Phase: "pre", Source: "config", Expect: upgradedoc.Expect{Title: title, Forks: forks}},
			{ID: upgradedoc.CheckNodesAgreePre, Phase: "pre", Source: "nodes", Expect: upgradedoc.Expect{Agree: true}},
			{ID: upgradedoc.CheckNodeVersion, Phase: "post", Source: "node", Expect: upgradedoc.Expect{Version: buildinfo.Version, Implemented: 2}},
			{ID: upgradedoc.CheckNodeForksActive, Phase: "post", Source: "node", Expect: upgradedoc.Expect{Forks: forks}},
			{ID: upgradedoc.CheckNodesAgreePost, Phase: "post", Source: "nodes", Expect: upgradedoc.Expect{Agree: true}},
		}}}
}

// withPost adds the post-check that every node is past the activation.
func withPost(d *upgradedoc.Document, act int64) *upgradedoc.Document {
	cp := *d
	at := act + 1
	cp.Checks.Checks = append(append([]upgradedoc.Check(nil), d.Checks.Checks...),
		upgradedoc.Check{ID: upgradedoc.CheckNodeAdvancing, Phase: "post", Source: "node", Expect: upgradedoc.Expect{HeightAtLeast: &at}})
	return &cp
}

// logTails is the end of every node's log, for a failure message: a node
// that stopped moving says why only there.
func logTails(nw *network.Network, lines int) string {
	var b strings.Builder
	for i, spec := range nw.File.Nodes {
		data, err := os.ReadFile(nw.LogPath(i))
		if err != nil {
			continue
		}
		all := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
		fmt.Fprintf(&b, "\n--- %s: last %d lines of %s\n%s\n", spec.Name, lines, nw.LogPath(i), strings.Join(all[max(0, len(all)-lines):], "\n"))
	}
	return b.String()
}
