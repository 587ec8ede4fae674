package chain

import (
	"bytes"
	"slices"
	"testing"
)

const producersConfig = `
[fork.sub.producers]
ForkNoSelfVote = 5
ForkMinBondV2 = 5

[mver.producers]
minBond = 1000

[mver.producers.ForkMinBondV2]
minBond = 5000
`

func votes(t *testing.T, h *harness, a Address) uint64 {
	t.Helper()
	v, err := Votes(h.store, a)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func stakeOf(t *testing.T, h *harness, a Address) Stake {
	t.Helper()
	s, err := GetStake(h.store, a)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestProducersGenesis(t *testing.T) {
	h := newHarness(t, producersConfig, 3)
	cands, err := Candidates(h.store)
	if err != nil || len(cands) != 3 {
		t.Fatalf("candidates %v %v", cands, err)
	}
	if !slices.IsSortedFunc(cands, func(a, b Address) int { return bytes.Compare(a[:], b[:]) }) {
		t.Error("the candidate list must be in address order")
	}
	p0 := testAddr("p0")
	if s := stakeOf(t, h, p0); s != (Stake{Staked: 10_000, Target: p0, Voted: 10_000}) || votes(t, h, p0) != 10_000 {
		t.Errorf("genesis producer stake %+v votes %d: want a self-vote of its stake", s, votes(t, h, p0))
	}
}

// sortedByVotes is the expected election: votes descending, address bytes
// ascending.
func sortedByVotes(t *testing.T, h *harness, cands []Address, slots int) []Address {
	out := slices.Clone(cands)
	slices.SortFunc(out, func(a, b Address) int {
		va, vb := votes(t, h, a), votes(t, h, b)
		if va != vb {
			if va > vb {
				return -1
			}
			return 1
		}
		return bytes.Compare(a[:], b[:])
	})
	return out[:min(slots, len(out))]
}

func TestElectionChangesProducerSet(t *testing.T) {
	h := newHarness(t, producersConfig, 3)
	alice := testAddr("alice")
	genesis, _ := h.app.Producers()
	// The genesis producers tie at 10,000 votes: the highest address is
	// the one a newcomer displaces.
	loser := slices.MaxFunc(genesis, func(a, b Address) int { return bytes.Compare(a[:], b[:]) })

	h.ok(h.tx("alice", "producers", "register", nil), h.tx("bob", "producers", "stake", ProducerAmount{Amount: 20_000}.Encode()))
	h.ok(h.tx("bob", "producers", "vote", ProducerVote{Candidate: alice.String(), Amount: 20_000}.Encode()))
	h.advanceTo(11) // 11 is the first maintenance (interval 10)
	if set, _ := h.app.Producers(); !slices.Equal(set, genesis) {
		t.Fatalf("the set changed before the maintenance: %v", set)
	}
	h.block()
	set, _ := h.app.Producers()
	if !slices.Contains(set, alice) || slices.Contains(set, loser) || len(set) != 3 {
		t.Fatalf("after the maintenance: %v; want alice in and %s out", set, loser)
	}
	cands, _ := Candidates(h.store)
	if want := sortedByVotes(t, h, cands, 3); !slices.Equal(set, want) {
		t.Errorf("set %v, want %v", set, want)
	}
	// The new set produces blocks (alice signs her slot).
	for range 3 {
		h.block()
	}

	// Alice unregisters: her bond comes back and the next maintenance
	// restores the displaced producer, her votes notwithstanding.
	before := h.balance("alice")
	h.ok(h.tx("alice", "producers", "unregister", nil))
	if got := h.balance("alice") + 10 - before; got != 1000 {
		t.Errorf("unregister returned %d, want the bond 1000", got)
	}
	if votes(t, h, alice) != 20_000 {
		t.Error("votes stay with an unregistered address")
	}
	h.advanceTo(22)
	if set, _ := h.app.Producers(); !slices.Equal(set, genesis) {
		t.Errorf("after unregistering: %v, want the genesis set %v", set, genesis)
	}
}

func TestNoSelfVoteFork(t *testing.T) {
	h := newHarness(t, producersConfig, 1)
	alice := testAddr("alice").String()
	h.ok(h.tx("alice", "producers", "register", nil), h.tx("alice", "producers", "stake", ProducerAmount{Amount: 100}.Encode()))
	h.advanceTo(4)
	h.ok(h.tx("alice", "producers", "vote", ProducerVote{Candidate: alice, Amount: 50}.Encode())) // height 4
	h.reject(h.tx("alice", "producers", "vote", ProducerVote{Candidate: alice, Amount: 100}.Encode()), "may not vote for itself")
	// Another candidate is fine at the fork, and replaces the self-vote.
	h.ok(h.tx("alice", "producers", "vote", ProducerVote{Candidate: testAddr("p0").String(), Amount: 100}.Encode()))
	if v := votes(t, h, testAddr("alice")); v != 0 {
		t.Errorf("alice keeps %d votes after re-voting", v)
	}
	if v := votes(t, h, testAddr("p0")); v != 10_100 {
		t.Errorf("p0 has %d votes, want 10100", v)
	}
}

func TestMinBondV2Fork(t *testing.T) {
	h := newHarness(t, producersConfig, 1)
	h.advanceTo(4)
	a0, b0 := h.balance("alice"), h.balance("bob")
	h.ok(h.tx("alice", "producers", "register", nil)) // height 4: minBond 1000
	h.ok(h.tx("bob", "producers", "register", nil))   // height 5: minBond 5000
	if a, b := a0-h.balance("alice")-10, b0-h.balance("bob")-10; a != 1000 || b != 5000 {
		t.Errorf("bonds %d and %d, want 1000 before the fork and 5000 at it", a, b)
	}
	if c, _, _ := GetCandidate(h.store, testAddr("bob")); c.Bond != 5000 || c.Registered != 5 {
		t.Errorf("bob's candidacy %+v", c)
	}
}

func TestUnstakeWithdrawsVotes(t *testing.T) {
	h := newHarness(t, producersConfig, 2)
	alice, p0, p1 := testAddr("alice"), testAddr("p0"), testAddr("p1")
	h.ok(h.tx("alice", "producers", "stake", ProducerAmount{Amount: 5000}.Encode()))
	h.ok(h.tx("alice", "producers", "vote", ProducerVote{Candidate: p0.String(), Amount: 4000}.Encode()))
	steps := []struct {
		action     string
		payload    []byte
		stake      Stake
		vp0, vp1   uint64
		coinsDelta int64 // alice's balance change, fee excluded
	}{
		{"vote", ProducerVote{Candidate: p1.String(), Amount: 4500}.Encode(), Stake{5000, p1, 4500}, 10_000, 14_500, 0},
		{"unstake", ProducerAmount{Amount: 1000}.Encode(), Stake{4000, p1, 4000}, 10_000, 14_000, 1000},
		{"unstake", ProducerAmount{Amount: 500}.Encode(), Stake{3500, p1, 3500}, 10_000, 13_500, 500},
		{"unstake", ProducerAmount{Amount: 3500}.Encode(), Stake{}, 10_000, 10_000, 3500},
		{"stake", ProducerAmount{Amount: 700}.Encode(), Stake{Staked: 700}, 10_000, 10_000, -700},
	}
	for i, s := range steps {
		before := h.balance("alice")
		h.ok(h.tx("alice", "producers", s.action, s.payload))
		if got := stakeOf(t, h, alice); got != s.stake {
			t.Errorf("step %d: stake %+v, want %+v", i, got, s.stake)
		}
		if v0, v1 := votes(t, h, p0), votes(t, h, p1); v0 != s.vp0 || v1 != s.vp1 {
			t.Errorf("step %d: votes p0 %d p1 %d, want %d %d", i, v0, v1, s.vp0, s.vp1)
		}
		if d := int64(h.balance("alice")) + 10 - int64(before); d != s.coinsDelta {
			t.Errorf("step %d: alice's coins changed by %d, want %d", i, d, s.coinsDelta)
		}
	}
}

func TestProducersInvalidLeavesNoTrace(t *testing.T) {
	h := newHarness(t, producersConfig, 1)
	p0 := testAddr("p0").String()
	h.fund(100_000, "p0")
	h.ok(h.tx("alice", "producers", "stake", ProducerAmount{Amount: 100}.Encode()), h.tx("bob", "producers", "register", nil))
	tests := []struct {
		name, from, action string
		payload            []byte
		reason             string
	}{
		{"stake zero", "alice", "stake", ProducerAmount{}.Encode(), "amount is zero"},
		{"stake more than held", "carol", "stake", ProducerAmount{Amount: 10_000_000}.Encode(), "needs 10000000"},
		{"unstake more than staked", "alice", "unstake", ProducerAmount{Amount: 101}.Encode(), "cannot unstake 101"},
		{"vote for a non-candidate", "alice", "vote", ProducerVote{Candidate: testAddr("carol").String(), Amount: 1}.Encode(), "not a registered candidate"},
		{"vote above the stake", "alice", "vote", ProducerVote{Candidate: p0, Amount: 101}.Encode(), "only 100 staked"},
		{"vote zero", "alice", "vote", ProducerVote{Candidate: p0, Amount: 0}.Encode(), "amount is zero"},
		{"vote a bad address", "alice", "vote", ProducerVote{Candidate: "p0", Amount: 1}.Encode(), "40 hex digits"},
		{"register twice", "bob", "register", nil, "already a candidate"},
		{"register without the bond", "alice", "register", nil, ""},
		{"unregister a non-candidate", "carol", "unregister", nil, "not a candidate"},
		{"register with a payload", "carol", "register", []byte{0}, "payload is empty"},
		{"unknown action", "carol", "delegate", nil, "no action"},
	}
	// Alice cannot pay a bond: move her coins away first.
	h.ok(h.tx("alice", "coins", "transfer", Transfer{To: testAddr("carol").String(), Amount: h.balance("alice") - 100}.Encode()))
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h.t = t
			h.reject(h.tx(tc.from, "producers", tc.action, tc.payload), tc.reason)
		})
	}
	h.t = t
	// The last candidate cannot leave.
	h.ok(h.tx("bob", "producers", "unregister", nil))
	h.reject(h.tx("p0", "producers", "unregister", nil), "last candidate")
}
