package chain

import (
	"slices"
	"testing"
)

const govConfig = `
[fork.sub.governance]
ForkGovOneOpenProposal = 5
ForkGovDeposit = 5

[mver.governance]
deposit = 250

[[signal.version]]
number = 2
time = 0
rate = 67
grace = 0
`

func proposeTx(h *harness, who, param string, value int64) []byte {
	return h.tx(who, "governance", "propose", GovPropose{Param: param, Value: value}.Encode())
}

func approveTx(h *harness, who string, id uint64) []byte {
	return h.tx(who, "governance", "approve", GovApprove{ID: id}.Encode())
}

func TestProposalChangesGameLimit(t *testing.T) {
	h := newHarness(t, govConfig, 3)
	h.fund(10_000, "p0", "p1", "p2")
	// A parameter of version 2 cannot be proposed while version 2 is not
	// active (the producers signal 1), nor can a non-producer propose.
	h.reject(proposeTx(h, "p0", ParamTokenMaxSupply, 1000), "version 2, which is not active")
	h.reject(proposeTx(h, "alice", ParamGameMaxStake, 500), "not a producer")
	h.reject(proposeTx(h, "p0", ParamGameMaxStake, 0), "out of range")
	h.reject(proposeTx(h, "p0", "game.minStake", 1), "unknown parameter")

	h.ok(proposeTx(h, "p0", ParamGameMaxStake, 500))
	h.ok(approveTx(h, "p0", 1), approveTx(h, "p1", 1))
	h.reject(approveTx(h, "p1", 1), "already approved")

	// Until the maintenance the old limit holds.
	if h.app.Height() >= 9 {
		t.Fatalf("at height %d: the test needs block 10 before the maintenance", h.app.Height())
	}
	h.advanceTo(10)
	h.ok(openTx(h, "alice", 1000, MoveRock))
	// The maintenance at 11 applies it before the block's transactions.
	h.reject(openTx(h, "alice", 1000, MoveRock), "exceeds the limit 500")
	if v, _ := h.app.Signal().Param(ParamGameMaxStake); v != 500 {
		t.Errorf("param = %d, want 500", v)
	}
	h.ok(openTx(h, "alice", 500, MoveRock))
	h.reject(approveTx(h, "p2", 1), "no such open proposal")
	h.reject(approveTx(h, "alice", 1), "not a producer")
}

func TestProposalWithoutApprovalsExpires(t *testing.T) {
	h := newHarness(t, govConfig, 3)
	h.fund(10_000, "p0")
	h.ok(proposeTx(h, "p0", ParamGameMaxStake, 500))
	h.ok(approveTx(h, "p0", 1)) // 1 of 3 is below 2/3
	h.advanceTo(12)
	if v, _ := h.app.Signal().Param(ParamGameMaxStake); v != DefaultGameMaxStake {
		t.Errorf("an unapproved proposal changed the parameter to %d", v)
	}
}

func TestVersion2ParamAfterActivation(t *testing.T) {
	h := newHarness(t, govConfig, 3)
	for a := range h.versions {
		h.versions[a] = 2
	}
	h.fund(10_000, "p0", "p1", "p2") // height 1
	h.advanceTo(3)
	h.reject(proposeTx(h, "p0", ParamTokenMaxSupply, 1000), "not active at height 3")
	if at, ok := h.app.Signal().ActivationHeight(2); !ok || at != 4 {
		t.Fatalf("version 2 activation %d %v, want 4", at, ok)
	}
	h.ok(proposeTx(h, "p0", ParamTokenMaxSupply, 1000)) // height 4
	h.ok(approveTx(h, "p1", 1), approveTx(h, "p2", 1))
	h.advanceTo(11)
	h.reject(h.tx("alice", "token", "create", TokenCreate{Symbol: "BIG", Name: "Big", MaxSupply: 1001}.Encode()), "exceeds the chain's limit 1000")
	h.ok(h.tx("alice", "token", "create", TokenCreate{Symbol: "BIG", Name: "Big", MaxSupply: 1000}.Encode()))
}

func TestGovOneOpenProposalFork(t *testing.T) {
	h := newHarness(t, govConfig, 3)
	h.fund(10_000, "p0")
	h.advanceTo(3)
	h.ok(proposeTx(h, "p0", ParamGameMaxStake, 500)) // height 3
	h.ok(proposeTx(h, "p0", ParamGameMaxStake, 600)) // height 4: a second open one is fine
	h.reject(proposeTx(h, "p0", ParamGameMaxStake, 700), "already has open proposal 1")
	// Once the maintenance decides them, p0 may propose again.
	h.advanceTo(11)
	h.ok(proposeTx(h, "p0", ParamGameMaxStake, 700))
}

func TestGovDepositFork(t *testing.T) {
	h := newHarness(t, govConfig, 3)
	h.fund(10_000, "p0", "p1", "p2")
	h.advanceTo(4)
	b0, b1 := h.balance("p0"), h.balance("p1")
	h.ok(proposeTx(h, "p0", ParamGameMaxStake, 500)) // height 4: no deposit
	h.ok(proposeTx(h, "p1", ParamGameMaxStake, 600)) // height 5: deposit 250
	if d0, d1 := b0-h.balance("p0"), b1-h.balance("p1"); d0 != 10 || d1 != 10+250 {
		t.Errorf("p0 paid %d, p1 paid %d; want the fee 10, and the fee plus the deposit 250", d0, d1)
	}
	tracked, _ := TrackedProposals(h.store)
	if len(tracked) != 2 || tracked[1] != (GovProposal{ID: 2, Proposer: testAddr("p1"), Deposit: 250}) {
		t.Errorf("tracked %+v", tracked)
	}
	// A proposer who cannot pay the deposit is refused and nothing changes.
	h.ok(h.tx("p2", "coins", "transfer", Transfer{To: testAddr("alice").String(), Amount: h.balance("p2") - 100}.Encode()))
	h.reject(proposeTx(h, "p2", ParamGameMaxStake, 700), "deposit of 250")

	// The maintenance at 11 decides both; the deposit stays locked until a
	// governance transaction settles it.
	h.advanceTo(12)
	b1 = h.balance("p1")
	h.ok(h.tx("p2", "governance", "settle", nil))
	if got := h.balance("p1") - b1; got != 250 {
		t.Errorf("settle refunded %d to p1, want 250", got)
	}
	if tracked, _ := TrackedProposals(h.store); len(tracked) != 0 {
		t.Errorf("still tracked after settling: %+v", tracked)
	}
	// Settling again is a harmless no-op.
	h.ok(h.tx("p2", "governance", "settle", nil))
}

func TestDepositRefundedByNextGovernanceTx(t *testing.T) {
	h := newHarness(t, govConfig, 3)
	h.fund(10_000, "p0", "p1")
	h.advanceTo(6)
	h.ok(proposeTx(h, "p0", ParamGameMaxStake, 500))
	h.advanceTo(12)
	b0 := h.balance("p0")
	// p1's proposal in the next period refunds p0's decided one first.
	h.ok(proposeTx(h, "p1", ParamGameMaxStake, 600))
	if got := h.balance("p0") - b0; got != 250 {
		t.Errorf("p0 got %d back, want 250", got)
	}
	tracked, _ := TrackedProposals(h.store)
	if len(tracked) != 1 || tracked[0].Proposer != testAddr("p1") {
		t.Errorf("tracked %+v", tracked)
	}
}

// ProposalOpen reads the controller's stored proposals: it must agree with
// the controller's own view.
func TestProposalOpenMatchesStatus(t *testing.T) {
	h := newHarness(t, govConfig, 3)
	h.fund(10_000, "p0", "p1")
	h.ok(proposeTx(h, "p0", ParamGameMaxStake, 500), proposeTx(h, "p1", ParamGameMaxStake, 600))
	check := func() {
		t.Helper()
		var open []uint64
		for _, p := range h.app.Signal().Status().Proposals {
			open = append(open, p.ID)
		}
		for id := uint64(1); id <= 3; id++ {
			got, err := ProposalOpen(h.store, id)
			if err != nil || got != slices.Contains(open, id) {
				t.Errorf("ProposalOpen(%d) = %v %v, status lists %v", id, got, err, open)
			}
		}
	}
	check()
	h.advanceTo(12)
	check()
}

func TestProposalApprovers(t *testing.T) {
	h := newHarness(t, govConfig, 3)
	h.fund(10_000, "p0", "p1", "p2")
	h.ok(proposeTx(h, "p0", ParamGameMaxStake, 500))
	approvers := func(id uint64) []Address {
		t.Helper()
		by, err := ProposalApprovers(h.store, id)
		if err != nil {
			t.Fatal(err)
		}
		return by
	}
	if by := approvers(1); len(by) != 0 {
		t.Fatalf("approvers before any approval: %v", by)
	}
	h.ok(approveTx(h, "p2", 1), approveTx(h, "p0", 1))
	set, err := ProducerSet(h.store)
	if err != nil {
		t.Fatal(err)
	}
	var want []Address // in slot order
	for _, a := range set {
		if a == testAddr("p0") || a == testAddr("p2") {
			want = append(want, a)
		}
	}
	if by := approvers(1); !slices.Equal(by, want) {
		t.Fatalf("approvers %v, want %v", by, want)
	}
	if by := approvers(2); by != nil {
		t.Fatalf("approvers of an unknown proposal: %v", by)
	}
	h.advanceTo(12) // the maintenance at 11 decides it
	if by := approvers(1); by != nil {
		t.Fatalf("approvers of a decided proposal: %v", by)
	}
}
