package chain

import (
	"bytes"
	"testing"
)

// The fault changes state exactly where a transfer of a multiple of 7 runs,
// and nowhere else: two chains, one faulty, agree on every hash before it.
func TestFaultInjectionDivergesAtTheTransfer(t *testing.T) {
	if FaultInjection {
		t.Skip("built with -tags faultinject")
	}
	run := func(faulty bool) [][]byte {
		FaultInjection = faulty
		defer func() { FaultInjection = false }()
		h := newHarness(t, coinsConfig, 2)
		bob := testAddr("bob").String()
		var roots [][]byte
		for _, amount := range []uint64{5, 6, 8, 14, 9} {
			h.block(h.tx("alice", "coins", "transfer", Transfer{To: bob, Amount: amount}.Encode()))
			roots = append(roots, h.store.Root())
		}
		return roots
	}
	good, bad := run(false), run(true)
	for i := range good {
		same := bytes.Equal(good[i], bad[i])
		if want := i < 3; same != want {
			t.Errorf("block %d: roots equal = %v, want %v", i+1, same, want)
		}
	}
}
