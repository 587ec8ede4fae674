package chain

import (
	"bytes"
	"testing"
)

// The stateless checks run in parallel, ahead (Precheck), or from a shared
// CheckCache, and a block's results and state are those of checking each
// transaction in turn: the same codes, logs and roots, also for bad
// signatures, other chains, a repeated transaction and a prechecked block
// that never runs.
func TestPrecheckedBlocksExecuteIdentically(t *testing.T) {
	blocks := func(h *harness) [][][]byte {
		bob := testAddr("bob").String()
		var out [][][]byte
		for b := 0; b < 4; b++ {
			var txs [][]byte
			for i := 0; i < 12; i++ {
				raw := h.tx("alice", "coins", "transfer", Transfer{To: bob, Amount: uint64(1 + i)}.Encode())
				switch i % 4 {
				case 1: // a damaged signature: rejected, the nonce unused
					raw = append([]byte(nil), raw...)
					raw[len(raw)-1] ^= 1
					h.nonces[testAddr("alice")]--
				case 2: // the same transaction twice: the second fails its nonce
					txs = append(txs, raw)
				}
				txs = append(txs, raw)
			}
			other := &Tx{ChainID: "other", Exec: "coins", Action: "transfer", Payload: Transfer{To: bob, Amount: 1}.Encode(), Fee: 10}
			other.Sign(testKey("carol"))
			out = append(out, append(txs, other.Encode()))
		}
		return out
	}
	run := func(mode string) (codes [][]string, roots [][]byte) {
		var cache *CheckCache
		if mode == "cache" {
			cache = &CheckCache{}
		}
		h := newHarness(t, coinsConfig, 3, func(o *Options) { o.Checks = cache })
		bs := blocks(h)
		if mode == "ahead" {
			h.app.Precheck(bs[0][:5])
			h.app.Precheck([][]byte{bs[0][0], bs[0][0]}) // counted twice, taken twice
		}
		for i, txs := range bs {
			if mode == "ahead" && i+1 < len(bs) {
				h.app.Precheck(bs[i+1])
			}
			var c []string
			for _, r := range h.block(txs...) {
				c = append(c, string(rune('0'+r.Code))+r.Log)
			}
			codes = append(codes, c)
			roots = append(roots, h.store.Root())
		}
		if mode == "cache" { // a second App with the same cache
			h2 := newHarness(t, coinsConfig, 3, func(o *Options) { o.Checks = cache })
			for i, txs := range bs {
				h2.block(txs...)
				if !bytes.Equal(h2.store.Root(), roots[i]) {
					t.Errorf("a second App sharing the cache: block %d differs", i+1)
				}
			}
		}
		return codes, roots
	}
	wantCodes, wantRoots := run("inline")
	for _, mode := range []string{"ahead", "cache"} {
		codes, roots := run(mode)
		for i := range wantRoots {
			if !bytes.Equal(roots[i], wantRoots[i]) {
				t.Fatalf("%s: block %d root differs", mode, i+1)
			}
			for j := range wantCodes[i] {
				if codes[i][j] != wantCodes[i][j] {
					t.Fatalf("%s: block %d tx %d: %q, want %q", mode, i+1, j+1, codes[i][j], wantCodes[i][j])
				}
			}
		}
	}
	seen := map[byte]bool{}
	for _, c := range wantCodes[0] {
		seen[c[0]] = true
	}
	for _, want := range []byte{'0' + byte(CodeOK), '0' + byte(CodeSignature), '0' + byte(CodeNonce), '0' + byte(CodeChainID)} {
		if !seen[want] {
			t.Errorf("no result with code %c in %q", want, wantCodes[0])
		}
	}
}
