package state

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
)

func TestProofs(t *testing.T) {
	s := openStore(t, t.TempDir())
	emptyKey := []byte("acct/00001")
	_, emptyProof, err := s.Prove(emptyKey)
	if err != nil {
		t.Fatal(err)
	}
	emptyTreeRoot := s.Root()

	// Enough keys that proofs have many side nodes and absent keys usually
	// land on an unrelated leaf (the other non-membership shape).
	m := model{}
	for h := int64(1); h <= 3; h++ {
		b := randomBlock(h, 300, 500)
		apply(t, s, b)
		m.apply(b)
		commit(t, s, h)
	}
	root := s.Root()
	var present, absent []byte
	for i := range 500 {
		k := fmt.Sprintf("acct/%05d", i)
		if _, ok := m[k]; ok && present == nil {
			present = []byte(k)
		} else if !ok && absent == nil {
			absent = []byte(k)
		}
	}
	value, proof, err := s.Prove(present)
	if err != nil {
		t.Fatal(err)
	}
	if string(value) != m[string(present)] {
		t.Fatalf("Prove(%s) value %q, model %q", present, value, m[string(present)])
	}
	absentValue, absentProof, err := s.Prove(absent)
	if err != nil || absentValue != nil {
		t.Fatalf("Prove(%s) = %q, %v; want nil value", absent, absentValue, err)
	}
	// Absent keys have two proof shapes: the path ends in an empty subtree,
	// or on the leaf of another key. Cover both.
	var onEmpty, onLeaf []byte
	var onEmptyProof, onLeafProof []byte
	for i := 0; onEmpty == nil || onLeaf == nil; i++ {
		k := []byte(fmt.Sprintf("missing/%d", i))
		_, p, err := s.Prove(k)
		if err != nil {
			t.Fatal(err)
		}
		dp, err := decodeProof(p)
		if err != nil {
			t.Fatal(err)
		}
		if dp.NonMembershipLeafData == nil && onEmpty == nil {
			onEmpty, onEmptyProof = k, p
		} else if dp.NonMembershipLeafData != nil && onLeaf == nil {
			onLeaf, onLeafProof = k, p
		}
	}
	flip := func(b []byte, i int) []byte {
		c := bytes.Clone(b)
		c[i] ^= 1
		return c
	}

	cases := []struct {
		name                   string
		root, key, value, prof []byte
		valid                  bool
	}{
		{"membership", root, present, value, proof, true},
		{"non-membership", root, absent, nil, absentProof, true},
		{"non-membership in empty tree", emptyTreeRoot, emptyKey, nil, emptyProof, true},
		{"non-membership ending in empty subtree", root, onEmpty, nil, onEmptyProof, true},
		{"non-membership ending on another leaf", root, onLeaf, nil, onLeafProof, true},
		{"tampered other leaf", root, onLeaf, nil, flip(onLeafProof, len(onLeafProof)-40), false},
		{"tampered value", root, present, append(bytes.Clone(value), 'x'), proof, false},
		{"present key claimed absent", root, present, nil, proof, false},
		{"absent key claimed present", root, absent, []byte("v"), absentProof, false},
		{"proof of another key", root, absent, nil, proof, false},
		{"wrong root", emptyTreeRoot, present, value, proof, false},
		{"tampered side node", root, present, value, flip(proof, 5), false},
		{"tampered last side node byte", root, present, value, flip(proof, len(proof)-2), false},
		{"tampered non-membership leaf", root, absent, nil, flip(absentProof, len(absentProof)-1), false},
		{"truncated proof", root, present, value, proof[:len(proof)-1], false},
		{"trailing bytes", root, present, value, append(bytes.Clone(proof), 0), false},
		{"unknown encoding", root, present, value, flip(proof, 0), false},
		{"empty proof", root, present, value, nil, false},
		{"short root", root[:31], present, value, proof, false},
		{"empty value", root, present, []byte{}, proof, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := VerifyProof(tc.root, tc.key, tc.value, tc.prof)
			if tc.valid && err != nil {
				t.Fatalf("valid proof rejected: %v", err)
			}
			if !tc.valid && !errors.Is(err, ErrInvalidProof) {
				t.Fatalf("bad proof: got %v, want ErrInvalidProof", err)
			}
		})
	}

	// Every single-bit change anywhere in a proof must be caught (and must
	// not panic the verifier: proofs come from untrusted peers).
	t.Run("every bit flipped", func(t *testing.T) {
		for _, p := range []struct {
			value, proof []byte
			key          []byte
		}{{value, proof, present}, {nil, absentProof, absent}, {nil, onEmptyProof, onEmpty}, {nil, onLeafProof, onLeaf}} {
			for i := range p.proof {
				for bit := range 8 {
					c := bytes.Clone(p.proof)
					c[i] ^= 1 << bit
					if err := VerifyProof(root, p.key, p.value, c); err == nil {
						t.Fatalf("proof for %s with byte %d bit %d flipped still verifies", p.key, i, bit)
					}
				}
			}
		}
	})

	t.Run("old heights stay provable", func(t *testing.T) {
		apply(t, s, []op{set(string(present), "rewritten"), del(string(absent))})
		commit(t, s, 4)
		oldValue, oldProof, err := s.ProveAt(3, present)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(oldValue, value) {
			t.Fatalf("ProveAt(3) value %q, want %q", oldValue, value)
		}
		if err := VerifyProof(root, present, oldValue, oldProof); err != nil {
			t.Fatal(err)
		}
		newValue, newProof, err := s.Prove(present)
		if err != nil || string(newValue) != "rewritten" {
			t.Fatalf("Prove after rewrite = %q, %v", newValue, err)
		}
		if err := VerifyProof(s.Root(), present, newValue, newProof); err != nil {
			t.Fatal(err)
		}
		if err := VerifyProof(root, present, newValue, newProof); err == nil {
			t.Fatal("new proof verified against the old root")
		}
		if _, _, err := s.ProveAt(99, present); err == nil {
			t.Fatal("ProveAt of an uncommitted height succeeded")
		}
	})
}
