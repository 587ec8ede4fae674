package chain

import (
	"math"
	"strings"
	"testing"
)

const tokenConfig = `
[fork.sub.token]
ForkTokenSymbolDigits = 5
ForkTokenOwnerIssue = 5
`

func tokenBal(t *testing.T, h *harness, sym, name string) uint64 {
	t.Helper()
	v, err := TokenBalance(h.store, sym, testAddr(name))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func tokenInfo(t *testing.T, h *harness, sym string) TokenInfo {
	t.Helper()
	ti, ok, err := GetToken(h.store, sym)
	if err != nil || !ok {
		t.Fatalf("token %s: found %v, %v", sym, ok, err)
	}
	return ti
}

func TestTokenLifecycle(t *testing.T) {
	h := newHarness(t, tokenConfig, 1)
	bob, carol := testAddr("bob").String(), testAddr("carol").String()
	aliceCoins := h.balance("alice")
	h.ok(h.tx("alice", "token", "create", TokenCreate{Symbol: "GOLD", Name: "Gold", MaxSupply: 1000}.Encode()))
	if got := h.balance("alice"); got != aliceCoins-10 {
		t.Errorf("create must cost only the fee: alice paid %d", aliceCoins-got)
	}
	h.ok(h.tx("alice", "token", "issue", TokenIssue{Symbol: "GOLD", To: bob, Amount: 600}.Encode()),
		h.tx("bob", "token", "transfer", TokenTransfer{Symbol: "GOLD", To: carol, Amount: 250}.Encode()),
		h.tx("carol", "token", "burn", TokenBurn{Symbol: "GOLD", Amount: 50}.Encode()))
	if b, c := tokenBal(t, h, "GOLD", "bob"), tokenBal(t, h, "GOLD", "carol"); b != 350 || c != 200 {
		t.Errorf("bob %d carol %d, want 350 200", b, c)
	}
	ti := tokenInfo(t, h, "GOLD")
	if ti.Supply != 550 || ti.MaxSupply != 1000 || ti.Owner != testAddr("alice") || ti.Name != "Gold" || ti.Created != 1 {
		t.Errorf("token info %+v", ti)
	}
	// The max supply counts what is outstanding: after the burn, 450 more
	// may be issued, not 451.
	h.reject(h.tx("alice", "token", "issue", TokenIssue{Symbol: "GOLD", To: bob, Amount: 451}.Encode()), "exceed the max supply")
	h.ok(h.tx("alice", "token", "issue", TokenIssue{Symbol: "GOLD", To: bob, Amount: 450}.Encode()))
	// Burning everything deletes the balance key.
	h.ok(h.tx("carol", "token", "burn", TokenBurn{Symbol: "GOLD", Amount: 200}.Encode()))
	if v, _ := h.store.Get(tokenBalKey("GOLD", testAddr("carol"))); v != nil {
		t.Error("an empty token balance must be deleted")
	}
}

func TestTokenSymbolDigitsFork(t *testing.T) {
	tests := []struct {
		sym           string
		before, after bool
		reason        string
	}{
		{"ABC", true, true, ""},
		{"ABCDEFGH", true, true, ""},
		{"AB1", false, true, "digit"},
		{"A1B2C3", false, true, "digit"},
		{"AB", false, false, "characters"},
		{"ABCDEFGHI", false, false, "characters"},
		{"abc", false, false, "upper-case"},
		{"1AB", false, false, "starts with a digit"},
		{"AB-C", false, false, "upper-case"},
	}
	for _, tc := range tests {
		for _, at := range []int64{4, 5} { // the fork is at 5
			want := tc.before
			if at == 5 {
				want = tc.after
			}
			h := newHarness(t, tokenConfig, 1)
			h.advanceTo(at)
			raw := h.tx("alice", "token", "create", TokenCreate{Symbol: tc.sym, Name: "x", MaxSupply: 1}.Encode())
			if want {
				h.ok(raw)
			} else {
				h.reject(raw, tc.reason)
			}
		}
	}
}

func TestTokenOwnerIssueFork(t *testing.T) {
	h := newHarness(t, tokenConfig, 1)
	bob := testAddr("bob").String()
	h.ok(h.tx("alice", "token", "create", TokenCreate{Symbol: "GOLD", Name: "Gold", MaxSupply: 1000}.Encode()))
	h.advanceTo(4)
	// Height 4, before the fork: anyone may issue (the old bug).
	h.ok(h.tx("bob", "token", "issue", TokenIssue{Symbol: "GOLD", To: bob, Amount: 10}.Encode()))
	// Height 5: only the owner.
	h.reject(h.tx("bob", "token", "issue", TokenIssue{Symbol: "GOLD", To: bob, Amount: 10}.Encode()), "only the owner")
	h.ok(h.tx("alice", "token", "issue", TokenIssue{Symbol: "GOLD", To: bob, Amount: 10}.Encode()))
	if got := tokenBal(t, h, "GOLD", "bob"); got != 20 {
		t.Errorf("bob has %d GOLD, want 20", got)
	}
}

func TestTokenInvalidLeavesNoTrace(t *testing.T) {
	h := newHarness(t, tokenConfig, 1)
	bob := testAddr("bob").String()
	h.ok(h.tx("alice", "token", "create", TokenCreate{Symbol: "GOLD", Name: "Gold", MaxSupply: 1000}.Encode()))
	h.ok(h.tx("alice", "token", "issue", TokenIssue{Symbol: "GOLD", To: bob, Amount: 100}.Encode()))
	tests := []struct {
		name, from, action string
		payload            []byte
		reason             string
	}{
		{"duplicate symbol", "bob", "create", TokenCreate{Symbol: "GOLD", Name: "Fake", MaxSupply: 1}.Encode(), "already taken"},
		{"zero max supply", "bob", "create", TokenCreate{Symbol: "ZERO", Name: "Zero", MaxSupply: 0}.Encode(), "max supply is zero"},
		{"max supply over the chain limit", "bob", "create", TokenCreate{Symbol: "HUGE", Name: "Huge", MaxSupply: math.MaxUint64}.Encode(), "exceeds the chain's limit"},
		{"empty name", "bob", "create", TokenCreate{Symbol: "NONAME", Name: "", MaxSupply: 1}.Encode(), "name has 0 bytes"},
		{"issue overflow", "alice", "issue", TokenIssue{Symbol: "GOLD", To: bob, Amount: math.MaxUint64}.Encode(), "exceed the max supply"},
		{"issue unknown token", "alice", "issue", TokenIssue{Symbol: "NOPE", To: bob, Amount: 1}.Encode(), "no token"},
		{"issue to a bad address", "alice", "issue", TokenIssue{Symbol: "GOLD", To: "0x12", Amount: 1}.Encode(), "40 hex digits"},
		{"issue zero", "alice", "issue", TokenIssue{Symbol: "GOLD", To: bob, Amount: 0}.Encode(), "amount is zero"},
		{"transfer more than held", "bob", "transfer", TokenTransfer{Symbol: "GOLD", To: testAddr("carol").String(), Amount: 101}.Encode(), "has 100 GOLD"},
		{"transfer nothing held", "carol", "transfer", TokenTransfer{Symbol: "GOLD", To: bob, Amount: 1}.Encode(), "has 0 GOLD"},
		{"burn more than held", "bob", "burn", TokenBurn{Symbol: "GOLD", Amount: 101}.Encode(), "has 100 GOLD"},
		{"burn unknown token", "bob", "burn", TokenBurn{Symbol: "NOPE", Amount: 1}.Encode(), "no token"},
		{"undecodable payload", "bob", "transfer", []byte{1, 2, 3}, "decode token.transfer"},
		{"unknown action", "bob", "mint", nil, "no action"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h.t = t
			h.reject(h.tx(tc.from, "token", tc.action, tc.payload), tc.reason)
		})
	}
}

// Token recipients follow the chain's address rules (ForkAddrChecksum),
// like coin transfers.
func TestTokenRecipientChecksumFork(t *testing.T) {
	h := newHarness(t, tokenConfig+"\n[fork.sub.coins]\nForkAddrChecksum = 5\n", 1)
	bad := strings.ToLower(testAddr("bob").String())
	if bad == testAddr("bob").String() {
		t.Skip("address happens to have no letters")
	}
	h.ok(h.tx("alice", "token", "create", TokenCreate{Symbol: "GOLD", Name: "Gold", MaxSupply: 1000}.Encode()))
	h.advanceTo(4)
	h.ok(h.tx("alice", "token", "issue", TokenIssue{Symbol: "GOLD", To: bad, Amount: 1}.Encode()))
	h.reject(h.tx("alice", "token", "issue", TokenIssue{Symbol: "GOLD", To: bad, Amount: 1}.Encode()), "checksum")
}
