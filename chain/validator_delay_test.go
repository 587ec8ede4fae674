package chain

import (
	"context"
	"strings"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
)

// TestValidatorDelayProposerSet: after an election at maintenance height M
// changes the producer set, a genesis with validator_delay 2 (CometBFT, which
// still proposes M+1 from the outgoing set) accepts M+1's proposer from the
// outgoing set and refuses one only in the new set; from M+2 the new set
// rules. With delay 0 (solo) the new set rules from M+1.
func TestValidatorDelayProposerSet(t *testing.T) {
	for _, delay := range []int64{0, 2} {
		t.Run(map[int64]string{0: "solo", 2: "cometbft"}[delay], func(t *testing.T) {
			h := newHarness(t, producersConfig, 4, func(o *Options) {
				o.Genesis.ProducerSlots = 3
				o.Genesis.ValidatorDelay = delay
			})
			before, _ := h.app.Producers()
			var outsider Address
			for i := 0; i < 4; i++ {
				if a := testAddr("p" + string(rune('0'+i))); !containsAddr(before, a) {
					outsider = a
				}
			}
			h.ok(h.tx("alice", "producers", "stake", ProducerAmount{Amount: 5000}.Encode()))
			h.ok(h.tx("alice", "producers", "vote", ProducerVote{Candidate: outsider.String(), Amount: 5000}.Encode()))
			const m = 11 // maintenance interval 10
			h.advanceTo(m + 1)
			after, _ := h.app.Producers()
			if !containsAddr(after, outsider) {
				t.Fatalf("the election at %d did not elect the outsider: %v", m, after)
			}
			var dropped Address
			for _, a := range before {
				if !containsAddr(after, a) {
					dropped = a
				}
			}
			try := func(height int64, proposer Address) error {
				ctx := context.Background()
				ts := time.Unix(h.time+5, 0)
				prep, err := h.app.PrepareProposal(ctx, &abci.RequestPrepareProposal{Height: height, Time: ts, ProposerAddress: proposer[:]})
				if err != nil {
					t.Fatal(err)
				}
				_, err = h.app.FinalizeBlock(ctx, &abci.RequestFinalizeBlock{Height: height, Time: ts, ProposerAddress: proposer[:], Txs: prep.Txs})
				if err == nil {
					h.time += 5
					if _, err := h.app.Commit(ctx, &abci.RequestCommit{}); err != nil {
						t.Fatal(err)
					}
				}
				return err
			}
			notIn := func(err error) bool { return err != nil && strings.Contains(err.Error(), "not in the producer set") }
			if delay == 2 {
				if err := try(m+1, outsider); !notIn(err) {
					t.Fatalf("M+1 by the newly elected: %v, want refused (CometBFT proposes from the outgoing set)", err)
				}
				if err := try(m+1, dropped); err != nil {
					t.Fatalf("M+1 by the outgoing producer: %v", err)
				}
			} else {
				if err := try(m+1, dropped); !notIn(err) {
					t.Fatalf("M+1 by the dropped producer (solo): %v, want refused", err)
				}
				if err := try(m+1, outsider); err != nil {
					t.Fatalf("M+1 by the newly elected (solo): %v", err)
				}
			}
			if err := try(m+2, dropped); !notIn(err) {
				t.Fatalf("M+2 by the dropped producer: %v, want refused", err)
			}
			if err := try(m+2, outsider); err != nil {
				t.Fatalf("M+2 by the newly elected: %v", err)
			}
		})
	}
}
