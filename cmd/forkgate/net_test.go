package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/forkgate/forkgate/network"
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
