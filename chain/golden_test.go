package chain

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"testing"
)

// TestResultCodesArePinned: result codes are consensus data (hashed into
// LastResultsHash, recorded in fixtures); renumbering one is a chain split.
func TestResultCodesArePinned(t *testing.T) {
	pinned := []struct {
		name string
		got  uint32
		want uint32
	}{
		{"CodeOK", CodeOK, 0}, {"CodeDecode", CodeDecode, 1}, {"CodeSignature", CodeSignature, 2},
		{"CodeChainID", CodeChainID, 3}, {"CodeNonce", CodeNonce, 4}, {"CodeFee", CodeFee, 5},
		{"CodeUnknownExec", CodeUnknownExec, 6}, {"CodeExec", CodeExec, 7}, {"CodeBadBlock", CodeBadBlock, 8},
	}
	for _, p := range pinned {
		if p.got != p.want {
			t.Errorf("%s = %d, pinned at %d: never renumber a result code, add a new one", p.name, p.got, p.want)
		}
	}
}

// TestEncodingsArePinned: the bytes of a stored account, a signed
// transaction and a signal transaction, as written by this release. A change
// here changes every state hash (accounts) or every block (transactions):
// it needs a new format number and a fork, not an edit of this table.
func TestEncodingsArePinned(t *testing.T) {
	key := ed25519.NewKeyFromSeed(sha256.New().Sum(nil)[:32])
	mem := NewMemStore()
	var addr Address
	copy(addr[:], "golden-address-0001")
	if err := PutAccount(mem, addr, Account{Balance: 1000, Nonce: 7}); err != nil {
		t.Fatal(err)
	}
	acct, _ := mem.Get(accountKey(addr))
	tx := &Tx{ChainID: "golden", Exec: "coins", Action: "transfer", Payload: Transfer{To: AddressOf(key.Public().(ed25519.PublicKey)).String(), Amount: 5}.Encode(), Nonce: 3, Fee: 2}
	tx.Sign(key)
	cases := []struct {
		name string
		got  []byte
		want string // the encoding in hex, or its sha256 for long ones
	}{
		{"account", acct, "0100000000000003e80000000000000007"}, // format 1, balance, nonce
		{"transfer tx", tx.Encode(), "61a1d978eff2e7451c50d70c0fb97c5770d1e0088b36f16a01af478f678ffff4"},
		{"signal tx", NewSignalTx("golden", key, 12, 2), "1636fb121e7dc562a7b759ae049069550de3c5d1f6b2a8497cc402dc55521117"},
	}
	for _, c := range cases {
		if len(c.want) != 64 {
			if got := hex.EncodeToString(c.got); got != c.want {
				t.Errorf("%s encodes to %s, pinned %s", c.name, got, c.want)
			}
			continue
		}
		sum := sha256.Sum256(c.got)
		if hex.EncodeToString(sum[:]) != c.want {
			t.Errorf("%s encoding hashes to %x, pinned %s", c.name, sum, c.want)
		}
	}
}
