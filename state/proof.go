package state

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/pokt-network/smt"
)

// ErrInvalidProof is wrapped by every VerifyProof error: the proof is
// malformed or does not prove the claimed value (or absence) under the root.
var ErrInvalidProof = errors.New("state: invalid proof")

// Prove returns key's value at the last committed height (nil if the key is
// absent) and a proof of it against Root(): a membership proof if the key is
// present, a non-membership proof otherwise. Uncommitted writes are not
// proven; commit first. Check the proof with VerifyProof.
func (s *Store) Prove(key []byte) (value, proof []byte, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usable(); err != nil {
		return nil, nil, err
	}
	value, proof, err = s.prove(s.trie, key)
	if err != nil {
		return nil, nil, fmt.Errorf("state: Prove %s at height %d: %w", fmtKey(key), s.height, err)
	}
	return value, proof, nil
}

// ProveAt is Prove against the root committed at height (see RootAt), so a
// query can be answered for any past height the store committed.
func (s *Store) ProveAt(height int64, key []byte) (value, proof []byte, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usable(); err != nil {
		return nil, nil, err
	}
	root, err := s.rootAt(height)
	if err != nil {
		return nil, nil, err
	}
	// A separate trie for the old root: the store's own trie must stay on
	// the latest root, and nodes are never pruned so the old ones are there.
	old := smt.ImportSparseMerkleTrie(s.nodes, sha256.New(), root)
	value, proof, err = s.prove(old, key)
	if err != nil {
		return nil, nil, fmt.Errorf("state: ProveAt(%d) %s: %w", height, fmtKey(key), err)
	}
	return value, proof, nil
}

func (s *Store) prove(trie *smt.SMT, key []byte) (value, proof []byte, err error) {
	p, err := trie.Prove(key)
	if err != nil {
		return nil, nil, err
	}
	// The leaf holds sha256(value); the value itself comes from the v/
	// preimages, which are never pruned either.
	valueHash, err := trie.Get(key)
	if err != nil {
		return nil, nil, err
	}
	if valueHash != nil {
		var ok bool
		value, ok, err = dbGet(s.db, prefixed(prefixValue, valueHash))
		if err != nil {
			return nil, nil, err
		}
		if !ok {
			return nil, nil, fmt.Errorf("value with hash %x is missing; the store is damaged: restore it or re-sync from genesis", valueHash)
		}
	}
	return value, encodeProof(p), nil
}

// VerifyProof checks that proof shows key has value under root, or, with a
// nil value, that key is absent under root. It needs no store: anyone with a
// trusted root (e.g. from a block header) can run it. It returns nil when the
// proof holds and an error wrapping ErrInvalidProof otherwise.
func VerifyProof(root, key, value, proof []byte) error {
	claim := "absence of " + fmtKey(key)
	if value != nil {
		claim = "value of " + fmtKey(key)
	}
	if len(root) != hashSize {
		return fmt.Errorf("%w: %s: root is %d bytes, want %d", ErrInvalidProof, claim, len(root), hashSize)
	}
	if value != nil && len(value) == 0 {
		return fmt.Errorf("%w: %s: empty value; the store never holds empty values, pass nil to check absence", ErrInvalidProof, claim)
	}
	p, err := decodeProof(proof)
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrInvalidProof, claim, err)
	}
	spec := smt.NewTrieSpec(sha256.New(), false)
	ok, err := smt.VerifyProof(p, root, key, value, &spec)
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrInvalidProof, claim, err)
	}
	if !ok {
		return fmt.Errorf("%w: %s does not hash to root %x", ErrInvalidProof, claim, root)
	}
	return nil
}

// Proof wire format (version 1), chosen over smt's gob encoding because it
// is deterministic, language-neutral and strictly validated before any of it
// reaches the library's verifier (which panics on some malformed inputs):
//
//	byte     proofEncoding (1)
//	uvarint  n, the number of side nodes (<= 256)
//	n × 32   side nodes, leaf level first
//	byte     0, or 1 when a non-membership leaf follows
//	65       the unrelated leaf found on key's path: 0x00 | path | valueHash
//
// The library's SiblingData (only needed to update a proof, not to verify
// it) is not carried.
const proofEncoding = 1

const leafNodeSize = 1 + 2*hashSize

func encodeProof(p *smt.SparseMerkleProof) []byte {
	out := []byte{proofEncoding}
	out = binary.AppendUvarint(out, uint64(len(p.SideNodes)))
	for _, n := range p.SideNodes {
		out = append(out, n...)
	}
	if p.NonMembershipLeafData == nil {
		return append(out, 0)
	}
	out = append(out, 1)
	return append(out, p.NonMembershipLeafData...)
}

func decodeProof(b []byte) (*smt.SparseMerkleProof, error) {
	if len(b) == 0 || b[0] != proofEncoding {
		return nil, errors.New("unknown proof encoding (want version 1)")
	}
	b = b[1:]
	n, used := binary.Uvarint(b)
	if used <= 0 || n > 8*hashSize {
		return nil, errors.New("bad side node count")
	}
	b = b[used:]
	if uint64(len(b)) < n*hashSize+1 {
		return nil, errors.New("truncated proof")
	}
	p := &smt.SparseMerkleProof{SideNodes: make([][]byte, n)}
	for i := range p.SideNodes {
		p.SideNodes[i] = b[:hashSize:hashSize]
		b = b[hashSize:]
	}
	flag, b := b[0], b[1:]
	switch {
	case flag == 0 && len(b) == 0:
		return p, nil
	case flag == 1 && len(b) == leafNodeSize && b[0] == 0:
		p.NonMembershipLeafData = b
		return p, nil
	default:
		return nil, errors.New("bad non-membership leaf or trailing bytes")
	}
}
