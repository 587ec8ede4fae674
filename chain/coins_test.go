package chain

import (
	"context"
	"strings"
	"testing"
)

const coinsConfig = `
[fork.sub.coins]
ForkAddrChecksum = 5
ForkFeeToProducer = 5
`

func TestTransferAndFees(t *testing.T) {
	h := newHarness(t, coinsConfig, 3)
	bob := testAddr("bob")
	res := h.block(h.tx("alice", "coins", "transfer", Transfer{To: bob.String(), Amount: 500}.Encode()))
	if res[0].Code != CodeOK {
		t.Fatalf("transfer failed: %v", res[0].Log)
	}
	if got := h.balance("alice"); got != 1_000_000-500-10 {
		t.Errorf("alice = %d", got)
	}
	if got := h.balance("bob"); got != 1_000_000+500 {
		t.Errorf("bob = %d", got)
	}
}

func TestInvalidTxLeavesNoTrace(t *testing.T) {
	h := newHarness(t, coinsConfig, 3)
	bob := testAddr("bob").String()
	tests := []struct {
		name string
		raw  []byte
		code uint32
	}{
		{"overdraft", h.tx("alice", "coins", "transfer", Transfer{To: bob, Amount: 10_000_000}.Encode()), CodeExec},
		{"unknown exec", h.tx("carol", "nope", "x", nil), CodeUnknownExec},
	}
	for _, tc := range tests {
		aliceBefore, carolBefore := h.balance("alice"), h.balance("carol")
		res := h.block(tc.raw)
		if res[0].Code != tc.code || res[0].Log == "" {
			t.Errorf("%s: code %d (%s), want %d with a reason", tc.name, res[0].Code, res[0].Log, tc.code)
		}
		if h.balance("alice") != aliceBefore || h.balance("carol") != carolBefore {
			t.Errorf("%s: a rejected transaction changed balances (fee or nonce)", tc.name)
		}
	}
	// The failed transactions did not consume nonces: the next ones with
	// the same nonces succeed.
	h.nonces[testAddr("alice")]--
	res := h.block(h.tx("alice", "coins", "transfer", Transfer{To: bob, Amount: 1}.Encode()))
	if res[0].Code != CodeOK {
		t.Errorf("nonce was consumed by a failed tx: %s", res[0].Log)
	}
}

func TestProposalDropsUndecodableTxs(t *testing.T) {
	h := newHarness(t, coinsConfig, 1)
	good := h.tx("alice", "coins", "transfer", Transfer{To: testAddr("bob").String(), Amount: 1}.Encode())
	res := h.block([]byte{1, 2, 3}, good)
	if len(res) != 1 || res[0].Code != CodeOK {
		t.Fatalf("results %v", res)
	}
}

func TestAddrChecksumFork(t *testing.T) {
	h := newHarness(t, coinsConfig, 3)
	bad := strings.ToLower(testAddr("bob").String()) // all lower case fails the checksum
	if bad == testAddr("bob").String() {
		t.Skip("address happens to have no letters")
	}
	for h.app.Height() < 3 {
		h.block()
	}
	// Height 4 is before the fork (5): any case is accepted.
	if res := h.block(h.tx("alice", "coins", "transfer", Transfer{To: bad, Amount: 1}.Encode())); res[0].Code != CodeOK {
		t.Fatalf("before the fork: %s", res[0].Log)
	}
	// Height 5: the checksum is enforced.
	res := h.block(h.tx("alice", "coins", "transfer", Transfer{To: bad, Amount: 1}.Encode()))
	if res[0].Code != CodeExec || !strings.Contains(res[0].Log, "checksum") {
		t.Fatalf("at the fork: code %d %s", res[0].Code, res[0].Log)
	}
}

func TestFeeToProducerFork(t *testing.T) {
	h := newHarness(t, coinsConfig, 1)
	p0 := testAddr("p0")
	bob := testAddr("bob").String()
	for h.app.Height() < 3 {
		h.block()
	}
	before, _ := GetAccount(h.store, p0)
	h.block(h.tx("alice", "coins", "transfer", Transfer{To: bob, Amount: 1}.Encode())) // height 4: burned
	mid, _ := GetAccount(h.store, p0)
	if mid.Balance != before.Balance {
		t.Errorf("before the fork the fee must burn, producer got %d", mid.Balance-before.Balance)
	}
	h.block(h.tx("alice", "coins", "transfer", Transfer{To: bob, Amount: 1}.Encode())) // height 5: paid
	after, _ := GetAccount(h.store, p0)
	if after.Balance != mid.Balance+10 {
		t.Errorf("at the fork the producer must get the fee 10, got %d", after.Balance-mid.Balance)
	}
}

func TestBlockWithoutSignalIsNotCommitted(t *testing.T) {
	h := newHarness(t, coinsConfig, 1)
	h.block()
	root, height := h.store.Root(), h.app.Height()
	p0 := testAddr("p0")
	_, err := h.app.FinalizeBlock(context.Background(), finalizeReq(height+1, p0, h.tx("alice", "coins", "transfer", Transfer{To: testAddr("bob").String(), Amount: 1}.Encode())))
	if err == nil || !strings.Contains(err.Error(), "signal") {
		t.Fatalf("want a signal error, got %v", err)
	}
	if h.app.Height() != height || string(h.store.Root()) != string(root) {
		t.Error("a rejected block changed the state")
	}
	// The chain goes on normally afterwards.
	h.nonces[testAddr("alice")]--
	if res := h.block(h.tx("alice", "coins", "transfer", Transfer{To: testAddr("bob").String(), Amount: 1}.Encode())); res[0].Code != CodeOK {
		t.Errorf("after a rejected block: %s", res[0].Log)
	}
}

// On a parallel chain a fork written { parent = H } switches at the block
// anchored at parent height H; on a chain without a parent it never does.
func TestParentHeightFork(t *testing.T) {
	const cfg = "[fork.sub.coins]\nForkAddrChecksum = { parent = 1005 }\n"
	bad := strings.ToLower(testAddr("bob").String())
	for _, tc := range []struct {
		name        string
		parentStart int64
		strictFrom  int64 // first height that enforces the checksum; 0 = never
	}{
		{"parallel chain", 1000, 5},
		{"main chain", 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, cfg, 2, func(o *Options) { o.Genesis.ParentStart = tc.parentStart })
			for h.app.Height() < 7 {
				res := h.block(h.tx("alice", "coins", "transfer", Transfer{To: bad, Amount: 1}.Encode()))
				strict := tc.strictFrom != 0 && h.app.Height() >= tc.strictFrom
				if got := res[0].Code != CodeOK; got != strict {
					t.Fatalf("height %d: rejected = %v, want %v (%s)", h.app.Height(), got, strict, res[0].Log)
				}
				if strict {
					h.nonces[testAddr("alice")]--
				}
			}
		})
	}
}

// HeightAtParent inverts Point: it is the first block anchored at or above a
// parent height, and on a chain without a parent there is none.
func TestHeightAtParentInvertsPoint(t *testing.T) {
	g := &Genesis{ParentStart: 1000}
	for _, p := range []int64{0, 999, 1000, 1001, 1005, 5000} {
		at, ok := g.HeightAtParent(p)
		if !ok || at < 1 {
			t.Fatalf("parent %d: %d %v", p, at, ok)
		}
		if g.Point(at, 0).ParentHeight < p && at > 1 {
			t.Errorf("parent %d: block %d is anchored below it", p, at)
		}
		if at > 1 && g.Point(at-1, 0).ParentHeight >= p {
			t.Errorf("parent %d: block %d is not the first at or above it", p, at)
		}
	}
	if _, ok := (&Genesis{}).HeightAtParent(5); ok {
		t.Error("a main chain has no parent height")
	}
}
