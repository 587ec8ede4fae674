package state

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"unicode/utf8"
)

// FormatVersion is the version of everything this package writes to disk: the
// key layout below, the encoding of heights and roots, and the tree itself
// (pokt-network/smt v0.14.1 node encoding, sha256 for node hashes, key paths
// and value hashes). Any change to one of them must bump it, because two
// builds that disagree on any of them compute different roots from the same
// blocks.
const FormatVersion uint32 = 1

// On-disk key layout. Every key starts with a two-byte prefix, so each kind of
// record is one contiguous, independently iterable range:
//
//	m/format            uint32 BE   FormatVersion of the store
//	m/height            uint64 BE   last committed height (absent: nothing committed)
//	m/root              32 bytes    root after the last committed height
//	r/<height uint64 BE> 32 bytes   root after each committed height (height index)
//	d/<key>             value       current committed value of each live key
//	n/<digest>          node        SMT node, content-addressed by its sha256 digest
//	k/<path>            key         original key of each leaf, path = sha256(key)
//	v/<valueHash>       value       value of each leaf, valueHash = sha256(value)
//
// d/ answers Get and prefix iteration in one point read; the tree alone
// cannot, because it is keyed by hash. k/ and v/ are the preimages the tree
// does not keep (its leaves hold only hashes), so that Diff can turn a leaf of
// any retained root back into the key and value a human can read.
var (
	keyFormat   = []byte("m/format")
	keyHeight   = []byte("m/height")
	keyRoot     = []byte("m/root")
	prefixRoot  = []byte("r/")
	prefixData  = []byte("d/")
	prefixNode  = []byte("n/")
	prefixKey   = []byte("k/")
	prefixValue = []byte("v/")
)

// hashSize is the size of sha256 digests: node hashes, paths and value hashes.
const hashSize = 32

// emptyRoot is the root of the empty tree: the SMT's placeholder digest, all
// zeros. It is also the hash of every empty subtree.
var emptyRoot = make([]byte, hashSize)

// prefixed returns prefix||suffix in a fresh slice.
func prefixed(prefix, suffix []byte) []byte {
	out := make([]byte, 0, len(prefix)+len(suffix))
	out = append(out, prefix...)
	return append(out, suffix...)
}

func encodeHeight(h int64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(h))
	return b[:]
}

func decodeHeight(b []byte) (int64, error) {
	if len(b) != 8 {
		return 0, fmt.Errorf("height record has %d bytes, want 8", len(b))
	}
	return int64(binary.BigEndian.Uint64(b)), nil
}

func rootKey(height int64) []byte { return prefixed(prefixRoot, encodeHeight(height)) }

// prefixEnd returns the smallest key greater than every key starting with p,
// or nil when there is none (p is empty or all 0xff).
func prefixEnd(p []byte) []byte {
	end := append([]byte(nil), p...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] != 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

// fmtKey renders a state key for error messages and reports: quoted when it is
// printable UTF-8 (most chain keys are, e.g. "acct/alice"), hex otherwise.
func fmtKey(k []byte) string {
	if utf8.Valid(k) {
		printable := true
		for _, r := range string(k) {
			if r < 0x20 || r == 0x7f {
				printable = false
				break
			}
		}
		if printable {
			return fmt.Sprintf("%q", k)
		}
	}
	return "0x" + hex.EncodeToString(k)
}
