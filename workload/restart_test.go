package workload

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/forkgate/forkgate/chain"
)

const restartBlocks = 150

// driveRestarting runs restartBlocks blocks like drive, but drops the
// generator after each height in restarts (and after every height with
// every) and continues with a new one built from the same seed and keys,
// as a node stopped, upgraded and restarted on the same data would. It
// returns the state root and the transactions of every height, and, per
// restart height, what was in flight there.
func driveRestarting(t *testing.T, seed int64, every bool, restarts ...int64) ([][]byte, [][][]byte, map[int64]inFlight) {
	roots, txs, flight, _ := drive2(t, seed, false, every, restarts...)
	return roots, txs, flight
}

// drive2 is driveRestarting, with the generator's probes on or off; it also
// returns every transaction's result code.
func drive2(t *testing.T, seed int64, probes, every bool, restarts ...int64) ([][]byte, [][][]byte, map[int64]inFlight, map[uint32]int) {
	t.Helper()
	accounts, producers := Keys(seed, "account", 8), Keys(seed, "producer", 3)
	r := newRun(t, seed, accounts, producers)
	fresh := func() *Generator {
		g := New(seed, "workload", accounts, producers)
		g.MaintenanceInterval = 10
		g.Probes, g.ProbeFee = probes, 1
		return g
	}
	codes := map[uint32]int{}
	g := fresh()
	var roots [][]byte
	var txs [][][]byte
	flight := map[int64]inFlight{}
	for h := int64(1); h <= restartBlocks; h++ {
		out := g.Next(h, r.store, txsPerBlock)
		if g.Err() != nil {
			t.Fatalf("height %d: %v", h, g.Err())
		}
		for _, res := range r.block(out) {
			codes[res.Code]++
		}
		roots = append(roots, r.store.Root())
		txs = append(txs, out)
		restart := every
		for _, at := range restarts {
			restart = restart || at == h
		}
		if restart {
			flight[h] = pending(t, g, r.store)
			g = fresh()
		}
	}
	return roots, txs, flight, codes
}

// inFlight is what a restart at some height must carry over through the
// state alone.
type inFlight struct {
	reveals   int // reveals the generator still owes in joined games
	approvals int // approvals recorded on open proposals
	open      int // open proposals
}

func pending(t *testing.T, g *Generator, view chain.KV) inFlight {
	t.Helper()
	var f inFlight
	next, err := chain.NextGameID(view)
	if err != nil {
		t.Fatal(err)
	}
	for id := uint64(1); id < next; id++ {
		gi, ok, err := chain.GetGame(view, id)
		if err != nil {
			t.Fatal(err)
		}
		if !ok || gi.State != chain.GameJoined {
			continue
		}
		for s := range 2 {
			if gi.Moves[s] == 0 && (s == 0 || g.hashMod("forget", gi.ID, forgetEvery) != 0) {
				f.reveals++ // a reveal the generator still owes
			}
		}
	}
	tracked, err := chain.TrackedProposals(view)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range tracked {
		open, err := chain.ProposalOpen(view, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !open {
			continue
		}
		by, err := chain.ProposalApprovers(view, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		f.open++
		f.approvals += len(by)
	}
	return f
}

func sameRun(t *testing.T, what string, wantRoots, gotRoots [][]byte, wantTxs, gotTxs [][][]byte) {
	t.Helper()
	if len(wantRoots) != len(gotRoots) {
		t.Fatalf("%s: %d vs %d heights", what, len(wantRoots), len(gotRoots))
	}
	for h := range wantRoots {
		if len(wantTxs[h]) != len(gotTxs[h]) {
			t.Fatalf("%s: height %d: %d vs %d transactions", what, h+1, len(wantTxs[h]), len(gotTxs[h]))
		}
		for i := range wantTxs[h] {
			if !bytes.Equal(wantTxs[h][i], gotTxs[h][i]) {
				t.Fatalf("%s: height %d tx %d: bytes differ", what, h+1, i)
			}
		}
		if !bytes.Equal(wantRoots[h], gotRoots[h]) {
			t.Fatalf("%s: height %d: state roots differ", what, h+1)
		}
	}
}

// A generator dropped at any height and replaced by a fresh one with the
// same seed continues exactly as an uninterrupted one: same transactions,
// same root at every height.
func TestRestartContinuesIdentically(t *testing.T) {
	const seed = 42
	wantRoots, wantTxs, _ := driveRestarting(t, seed, false)
	stops := []int64{20, 37, 64, 101}
	for _, stop := range stops {
		t.Run(fmt.Sprintf("stop at %d", stop), func(t *testing.T) {
			roots, txs, flight := driveRestarting(t, seed, false, stop)
			sameRun(t, "restart", wantRoots, roots, wantTxs, txs)
			f := flight[stop]
			t.Logf("in flight at %d: %d reveals owed, %d open proposals with %d approvals", stop, f.reveals, f.open, f.approvals)
			// The restart must have had something to lose.
			if f.reveals+f.open == 0 {
				t.Errorf("nothing in flight at %d: the restart proves nothing", stop)
			}
		})
	}
	t.Run("every height", func(t *testing.T) {
		roots, txs, flight := driveRestarting(t, seed, true)
		sameRun(t, "restart at every height", wantRoots, roots, wantTxs, txs)
		withReveals, withApprovals := 0, 0
		for _, f := range flight {
			if f.reveals > 0 {
				withReveals++
			}
			if f.approvals > 0 {
				withApprovals++
			}
		}
		t.Logf("of %d restarts, %d had reveals owed and %d approvals on open proposals", len(flight), withReveals, withApprovals)
		// Secrets and approvals both crossed restarts.
		if withReveals == 0 || withApprovals == 0 {
			t.Errorf("restarts with reveals owed: %d, with approvals on open proposals: %d; want both > 0", withReveals, withApprovals)
		}
	})
}

// A generator that has run one chain to height 60 and is then given a
// second chain from height 1 (a rewound or replayed chain) proposes what a
// fresh generator would: its scan cache does not leak across.
func TestNextIsPureAcrossRewind(t *testing.T) {
	const seed = 9
	accounts, producers := Keys(seed, "account", 8), Keys(seed, "producer", 3)
	gen := func() *Generator {
		g := New(seed, "workload", accounts, producers)
		g.MaintenanceInterval = 10
		return g
	}
	g := gen()
	first := newRun(t, seed, accounts, producers)
	for h := int64(1); h <= 60; h++ {
		first.block(g.Next(h, first.store, txsPerBlock))
	}
	second, f := newRun(t, seed, accounts, producers), gen()
	for h := int64(1); h <= 40; h++ {
		got, want := g.Next(h, second.store, txsPerBlock), f.Next(h, second.store, txsPerBlock)
		if len(got) != len(want) {
			t.Fatalf("height %d: %d vs %d transactions", h, len(got), len(want))
		}
		for i := range got {
			if !bytes.Equal(got[i], want[i]) {
				t.Fatalf("height %d tx %d: differs from a fresh generator's", h, i)
			}
		}
		second.block(got)
	}
}

// With probes (the coverage profile) the generator stays restart-safe, and
// its blocks carry every reject path the probes aim at, with their codes.
func TestProbesRestartSafeWithEveryRejectCode(t *testing.T) {
	const seed = 7
	wantRoots, wantTxs, _, codes := drive2(t, seed, true, false)
	roots, txs, _, _ := drive2(t, seed, true, false, 23, 58)
	sameRun(t, "restart with probes", wantRoots, roots, wantTxs, txs)
	for _, c := range []uint32{chain.CodeOK, chain.CodeSignature, chain.CodeChainID, chain.CodeNonce, chain.CodeFee, chain.CodeUnknownExec, chain.CodeExec} {
		if codes[c] == 0 {
			t.Errorf("no transaction with code %d in %d blocks (codes seen: %v)", c, restartBlocks, codes)
		}
	}
}
