package chain

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

// Address identifies an account: the first 20 bytes of sha256(public key).
type Address [20]byte

// AddressOf derives the address of an ed25519 public key.
func AddressOf(pub ed25519.PublicKey) Address {
	sum := sha256.Sum256(pub)
	var a Address
	copy(a[:], sum[:20])
	return a
}

// String writes the address as "0x" and 40 hex digits whose letter case is a
// checksum (as EIP-55, with sha256): a letter is upper-case when the matching
// nibble of sha256(lower-case hex) is >= 8.
func (a Address) String() string {
	lower := hex.EncodeToString(a[:])
	sum := sha256.Sum256([]byte(lower))
	out := []byte(lower)
	for i, c := range out {
		if c >= 'a' && c <= 'f' {
			nib := sum[i/2]
			if i%2 == 0 {
				nib >>= 4
			}
			if nib&0xf >= 8 {
				out[i] = c - 'a' + 'A'
			}
		}
	}
	return "0x" + string(out)
}

// IsZero reports the zero address, which no key produces in practice and
// which the chain uses for "nobody".
func (a Address) IsZero() bool { return a == Address{} }

// ParseAddress reads an address. With strict, the letter case must match the
// checksum (ForkAddrChecksum); without it any case is accepted, as before the
// fork.
func ParseAddress(s string, strict bool) (Address, error) {
	var a Address
	body, ok := strings.CutPrefix(s, "0x")
	if !ok || len(body) != 40 {
		return a, fmt.Errorf("address %q must be 0x followed by 40 hex digits", s)
	}
	b, err := hex.DecodeString(strings.ToLower(body))
	if err != nil {
		return a, fmt.Errorf("address %q is not hex", s)
	}
	copy(a[:], b)
	if strict && a.String() != s {
		return a, fmt.Errorf("address %q fails its checksum (want %s): check for a typo", s, a.String())
	}
	return a, nil
}
