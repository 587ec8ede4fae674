package chain

import (
	"context"
	"encoding/json"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/forkgate/forkgate/state"
)

func TestQueryProofsAgainstStateHash(t *testing.T) {
	st, err := state.Open(t.TempDir(), state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	h := newHarness(t, coinsConfig, 2, func(o *Options) { o.Store = st })
	h.store = st
	h.block(h.tx("alice", "coins", "transfer", Transfer{To: testAddr("bob").String(), Amount: 7}.Encode()))
	root := st.Root()
	ctx := context.Background()

	bob := testAddr("bob")
	res, err := h.app.Query(ctx, &abci.RequestQuery{Path: "/key", Data: accountKey(bob), Prove: true})
	if err != nil || res.Code != 0 || res.Value == nil || res.ProofOps == nil {
		t.Fatalf("membership query: %+v %v", res, err)
	}
	if err := state.VerifyProof(root, accountKey(bob), res.Value, res.ProofOps.Ops[0].Data); err != nil {
		t.Errorf("membership proof does not verify: %v", err)
	}
	nobody := testAddr("nobody")
	res, _ = h.app.Query(ctx, &abci.RequestQuery{Path: "/key", Data: accountKey(nobody), Prove: true})
	if res.Value != nil {
		t.Fatal("absent key has a value")
	}
	if err := state.VerifyProof(root, accountKey(nobody), nil, res.ProofOps.Ops[0].Data); err != nil {
		t.Errorf("absence proof does not verify: %v", err)
	}
	// A proof for a forged value fails.
	if err := state.VerifyProof(root, accountKey(bob), []byte("forged"), res.ProofOps.Ops[0].Data); err == nil {
		t.Error("forged value verified")
	}

	res, _ = h.app.Query(ctx, &abci.RequestQuery{Path: "/account", Data: []byte(bob.String())})
	var acc map[string]uint64
	if err := json.Unmarshal(res.Value, &acc); err != nil || acc["balance"] != 1_000_007 {
		t.Errorf("/account: %s %v", res.Value, err)
	}
	res, _ = h.app.Query(ctx, &abci.RequestQuery{Path: "/nope"})
	if res.Code == 0 || res.Log == "" {
		t.Error("unknown path accepted")
	}
}
