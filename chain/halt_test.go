package chain

import (
	"errors"
	"strings"
	"testing"

	"github.com/forkgate/forkgate/signal"
)

// A binary that implements only version 1 commits every block up to the one
// before version 2's activation height, and refuses that block with an error
// naming the version and height, never executing it under old rules.
func TestHaltExactlyAtActivation(t *testing.T) {
	// grace 0: the version activates in the block that passes it; grace 1:
	// it locks in and activates at a maintenance block, and the old binary
	// learns of the halt while processing the block before, which it must
	// still record exactly as the newer binary does.
	for _, tc := range []struct{ name, cfg string }{
		{"grace 0", gameConfig},
		{"grace 1 at maintenance", strings.Replace(gameConfig, "grace = 0", "grace = 1", 1)},
	} {
		t.Run(tc.name, func(t *testing.T) { testHaltAt(t, tc.cfg) })
	}
}

func testHaltAt(t *testing.T, cfg string) {
	newer := newHarness(t, cfg, 3)
	older := newHarness(t, cfg, 3, func(o *Options) { o.Implemented = 1 })
	for _, h := range []*harness{newer, older} {
		for a := range h.versions {
			h.versions[a] = 2
		}
	}
	roots := map[int64]string{}
	for newer.app.Height() < 40 {
		newer.block()
		roots[newer.app.Height()] = string(newer.store.Root())
		if _, ok := newer.app.Signal().ActivationHeight(2); ok {
			break
		}
	}
	act, ok := newer.app.Signal().ActivationHeight(2)
	if !ok {
		t.Fatal("version 2 never activated")
	}
	for older.app.Height() < act-1 {
		if _, err := older.tryBlock(); err != nil {
			t.Fatalf("block %d: the old binary must still process it: %v", older.app.Height()+1, err)
		}
		if string(older.store.Root()) != roots[older.app.Height()] {
			t.Fatalf("binaries diverged at %d before activation", older.app.Height())
		}
	}
	_, err := older.tryBlock()
	var he *signal.HaltError
	if !errors.As(err, &he) || he.Version != 2 || he.Height != act {
		t.Fatalf("block %d: want a halt for version 2 at %d, got %v", act, act, err)
	}
	if older.app.Height() != act-1 {
		t.Fatalf("old binary at height %d, want %d", older.app.Height(), act-1)
	}
}
