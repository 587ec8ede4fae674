package chain

import (
	"bytes"
	"strings"
	"testing"
)

const gameConfig = `
[fork.sub.game]
ForkGameDrawRefund = 8
ForkGamePayoutV2 = { version = 2 }

[mver.game]
revealTimeout = 3

[[signal.version]]
number = 2
time = 0
rate = 67
grace = 0
`

func salt(name string) []byte { return bytes.Repeat([]byte(name), 16)[:16] }

func openTx(h *harness, who string, stake uint64, move uint8) []byte {
	return h.tx(who, "game", "open", GameOpenPayload{Stake: stake, Commitment: GameCommitment(move, salt(who))}.Encode())
}

func joinTx(h *harness, who string, id, stake uint64, move uint8) []byte {
	return h.tx(who, "game", "join", GameJoinPayload{ID: id, Stake: stake, Commitment: GameCommitment(move, salt(who))}.Encode())
}

func revealTx(h *harness, who string, id uint64, move uint8) []byte {
	return h.tx(who, "game", "reveal", GameRevealPayload{ID: id, Move: move, Salt: salt(who)}.Encode())
}

func idTx(h *harness, who, action string, id uint64) []byte {
	return h.tx(who, "game", action, GameIDPayload{ID: id}.Encode())
}

func coins(t *testing.T, h *harness, a Address) uint64 {
	t.Helper()
	acc, err := GetAccount(h.store, a)
	if err != nil {
		t.Fatal(err)
	}
	return acc.Balance
}

// settle runs the block with the reveals that finish a game and returns the
// balance changes of alice, bob and the block's producer (fees excluded).
func settle(t *testing.T, h *harness, txs ...[]byte) (alice, bob, producer int64) {
	t.Helper()
	p := h.nextProducer()
	a0, b0, p0 := coins(t, h, testAddr("alice")), coins(t, h, testAddr("bob")), coins(t, h, p)
	h.ok(txs...)
	fees := map[Address]int64{}
	for _, raw := range txs {
		tx, _ := DecodeTx(raw)
		fees[tx.Sender()] += int64(tx.Fee)
	}
	d := func(a Address, before uint64) int64 { return int64(coins(t, h, a)) - int64(before) + fees[a] }
	return d(testAddr("alice"), a0), d(testAddr("bob"), b0), d(p, p0)
}

func TestGameWinAndDrawFork(t *testing.T) {
	tests := []struct {
		name             string
		moveA, moveB     uint8
		at               int64 // height of the settling reveal; ForkGameDrawRefund = 8
		stake            uint64
		alice, bob, prod int64
	}{
		{"rock loses to paper", MoveRock, MovePaper, 7, 1000, -1000, 900, 100},
		{"scissors beats paper", MoveScissors, MovePaper, 7, 1000, 900, -1000, 100},
		{"rock beats scissors", MoveRock, MoveScissors, 8, 1000, 900, -1000, 100},
		{"draw before the fork: cut taken, rest split", MoveRock, MoveRock, 7, 1000, -50, -50, 100},
		{"draw before the fork: odd unit to the producer", MovePaper, MovePaper, 7, 1001, -51, -51, 102},
		{"draw at the fork: full refund", MoveRock, MoveRock, 8, 1000, 0, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, gameConfig, 3)
			h.advanceTo(tc.at - 2)
			h.ok(openTx(h, "alice", tc.stake, tc.moveA))
			h.ok(joinTx(h, "bob", 1, tc.stake, tc.moveB))
			if g, _, _ := GetGame(h.store, 1); g.State != GameJoined || g.Deadline != tc.at-1+3 {
				t.Fatalf("game before the reveals: %+v", g)
			}
			// Stakes were taken at open and join, so count them here.
			a, b, p := settle(t, h, revealTx(h, "alice", 1, tc.moveA), revealTx(h, "bob", 1, tc.moveB))
			a, b = a-int64(tc.stake), b-int64(tc.stake)
			if a != tc.alice || b != tc.bob || p != tc.prod {
				t.Errorf("alice %+d bob %+d producer %+d, want %+d %+d %+d", a, b, p, tc.alice, tc.bob, tc.prod)
			}
			if _, ok, _ := GetGame(h.store, 1); ok {
				t.Error("a settled game must be deleted")
			}
		})
	}
}

func TestGamePayoutV2VersionFork(t *testing.T) {
	h := newHarness(t, gameConfig, 3)
	for a := range h.versions {
		h.versions[a] = 2
	}
	// Two games for the same stake, committed at heights 1 and 2.
	h.ok(openTx(h, "alice", 1000, MovePaper), openTx(h, "carol", 1000, MovePaper))
	h.ok(joinTx(h, "bob", 1, 1000, MoveRock), joinTx(h, "bob", 2, 1000, MoveRock))
	// Block 3 is the third signal of 2 in the period: version 2 locks in
	// and activates from height 4 (grace 0).
	a, _, p := settle(t, h, revealTx(h, "alice", 1, MovePaper), revealTx(h, "bob", 1, MoveRock))
	at, ok := h.app.Signal().ActivationHeight(2)
	if !ok || at != 4 {
		t.Fatalf("version 2 activation height %d (%v), want 4", at, ok)
	}
	if a != 2000*95/100 || p != 100 {
		t.Errorf("before version 2 (height 3): winner %d producer %d, want 1900 100", a, p)
	}
	// Height 4: the payout is 98%.
	p4 := h.nextProducer()
	before := coins(t, h, testAddr("carol"))
	pBefore := coins(t, h, p4)
	h.ok(h.tx("carol", "game", "reveal", GameRevealPayload{ID: 2, Move: MovePaper, Salt: salt("carol")}.Encode()), revealTx(h, "bob", 2, MoveRock))
	if got := coins(t, h, testAddr("carol")) + 10 - before; got != 1960 {
		t.Errorf("from version 2: winner got %d, want 1960", got)
	}
	if got := coins(t, h, p4) - pBefore; got != 40 {
		t.Errorf("from version 2: house cut %d, want 40", got)
	}
}

func TestGameTimeouts(t *testing.T) {
	h := newHarness(t, gameConfig, 1)
	// Game 1: only alice reveals; she claims after the window (joined at 2,
	// timeout 3, so reveals until 5, claim from 6).
	h.ok(openTx(h, "alice", 500, MoveRock))
	h.ok(joinTx(h, "bob", 1, 500, MovePaper))
	h.ok(revealTx(h, "alice", 1, MoveRock))
	h.advanceTo(5)
	h.reject(idTx(h, "alice", "claim", 1), "open until height 5")
	h.block()
	h.reject(revealTx(h, "bob", 1, MovePaper), "closed at height 5")
	h.reject(idTx(h, "bob", "claim", 1), "only the revealer may claim")
	a, b, p := settle(t, h, idTx(h, "alice", "claim", 1))
	if a != 950 || b != 0 || p != 50 {
		t.Errorf("claim: alice %+d bob %+d producer %+d, want 950 0 50", a, b, p)
	}

	// Game 2: nobody joins; the opener cancels after the deadline.
	open := h.app.Height() + 1
	h.ok(openTx(h, "carol", 300, MoveRock))
	h.advanceTo(open + 3) // the deadline: still joinable, not cancellable
	h.reject(idTx(h, "carol", "cancel", 2), "cancel after it")
	h.block()
	h.reject(joinTx(h, "bob", 2, 300, MoveRock), "stopped taking players")
	h.reject(idTx(h, "bob", "cancel", 2), "only the opener")
	h.reject(idTx(h, "carol", "claim", 2), "no second player")
	before := coins(t, h, testAddr("carol"))
	h.ok(idTx(h, "carol", "cancel", 2))
	if got := coins(t, h, testAddr("carol")) + 10 - before; got != 300 {
		t.Errorf("cancel refunded %d, want 300", got)
	}

	// Game 3: nobody reveals; either player's claim refunds both stakes.
	h.ok(openTx(h, "alice", 200, MoveRock))
	h.ok(joinTx(h, "bob", 3, 200, MoveRock))
	h.advanceTo(h.app.Height() + 5)
	a, b, p = settle(t, h, idTx(h, "bob", "claim", 3))
	if a != 200 || b != 200 || p != 0 {
		t.Errorf("no-reveal claim: alice %+d bob %+d producer %+d, want 200 200 0", a, b, p)
	}
}

func TestGameInvalidLeavesNoTrace(t *testing.T) {
	h := newHarness(t, strings.Replace(gameConfig, "revealTimeout = 3", "revealTimeout = 50", 1), 1)
	h.ok(openTx(h, "alice", 1000, MoveRock))
	h.ok(joinTx(h, "bob", 1, 1000, MovePaper), openTx(h, "carol", 50, MoveRock))
	var zero [32]byte
	tests := []struct {
		name, from, action string
		payload            []byte
		reason             string
	}{
		{"zero stake", "alice", "open", GameOpenPayload{Stake: 0}.Encode(), "stake is zero"},
		{"stake above the limit", "alice", "open", GameOpenPayload{Stake: DefaultGameMaxStake + 1}.Encode(), "exceeds the limit"},
		{"join a full game", "carol", "join", GameJoinPayload{ID: 1, Stake: 1000}.Encode(), "already has two players"},
		{"join own game", "carol", "join", GameJoinPayload{ID: 2, Stake: 50}.Encode(), "another player must join"},
		{"join with another stake", "alice", "join", GameJoinPayload{ID: 2, Stake: 51, Commitment: zero}.Encode(), "played for 50"},
		{"join unknown game", "alice", "join", GameJoinPayload{ID: 9, Stake: 50}.Encode(), "no live game 9"},
		{"reveal a wrong move", "alice", "reveal", GameRevealPayload{ID: 1, Move: MovePaper, Salt: salt("alice")}.Encode(), "do not match"},
		{"reveal a bad move", "alice", "reveal", GameRevealPayload{ID: 1, Move: 4, Salt: salt("alice")}.Encode(), "use 1 (rock)"},
		{"reveal a short salt", "alice", "reveal", GameRevealPayload{ID: 1, Move: MoveRock, Salt: []byte("x")}.Encode(), "salt has 1 bytes"},
		{"reveal by an outsider", "carol", "reveal", GameRevealPayload{ID: 1, Move: MoveRock, Salt: salt("carol")}.Encode(), "does not play"},
		{"reveal before a join", "carol", "reveal", GameRevealPayload{ID: 2, Move: MoveRock, Salt: salt("carol")}.Encode(), "no second player"},
		{"claim early", "alice", "claim", GameIDPayload{ID: 1}.Encode(), "claim after it"},
		{"cancel a joined game", "alice", "cancel", GameIDPayload{ID: 1}.Encode(), "has two players"},
		{"trailing bytes", "alice", "claim", append(GameIDPayload{ID: 1}.Encode(), 0), "trailing"},
		{"unknown action", "alice", "fold", nil, "no action"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h.t = t
			h.reject(h.tx(tc.from, "game", tc.action, tc.payload), tc.reason)
		})
	}
	h.t = t
	// The valid reveal still works afterwards, and a second reveal is refused.
	h.ok(revealTx(h, "alice", 1, MoveRock))
	h.reject(revealTx(h, "alice", 1, MoveRock), "already revealed")
}
