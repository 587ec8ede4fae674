package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/forkgate/forkgate/network"
)

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

// TestNetCutHealAgree: four validators on loopback; a cut validator falls
// behind while the other three go on; healed, it catches up; after down,
// every height's state hash is the same on every node.
func TestNetCutHealAgree(t *testing.T) {
	if testing.Short() {
		t.Skip("starts four node processes")
	}
	ctx := context.Background()
	nw := testNet(t, network.Options{Validators: 4})
	if err := nw.Perturb("n3", network.Cut, ""); err != nil {
		t.Fatal(err)
	}
	cutAt := nw.Height(ctx)
	if err := nw.WaitHeight(ctx, []string{"n0", "n1", "n2"}, cutAt+10, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	st := nw.Status(ctx)
	if !st[3].Cut || st[3].Height > cutAt+2 {
		t.Fatalf("n3 cut at %d is at %d (cut %v): the relay did not cut it", cutAt, st[3].Height, st[3].Cut)
	}
	if err := nw.Perturb("n3", network.Heal, ""); err != nil {
		t.Fatal(err)
	}
	if err := nw.WaitHeight(ctx, nil, cutAt+15, 40*time.Second); err != nil {
		t.Fatal(err)
	}
	nw.Down()
	a, err := network.CompareStores(nw.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if !a.Agree() || a.Heights < cutAt+15 {
		t.Fatalf("agreement over %d heights: %v", a.Heights, a.Diffs)
	}
}
