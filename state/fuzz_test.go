package state

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// fuzzKeys is a small key universe with shared prefixes, binary bytes and
// keys that are prefixes of each other, so that random scripts hit the same
// keys often and prefix iteration has edges to get wrong.
var fuzzKeys = []string{"a", "ab", "abc", "b", "b/1", "b/2", "c\x00", "c\xff", "\xff", "d", "dd", "e"}

// FuzzStoreMatchesModel runs a random script of Set, Delete, Commit,
// Discard, reopen, proof and prefix-iteration steps and checks after every
// step that the store agrees with a plain map model: Get and Iterate show the
// model (working set included), every root equals the root of the model's
// committed state built from scratch, and RootAt keeps every past root.
// Plain `go test` runs the seeds; `go test -fuzz FuzzStoreMatchesModel`
// explores further.
func FuzzStoreMatchesModel(f *testing.F) {
	f.Add([]byte{0, 1, 2, 4, 3, 1, 4})
	f.Add([]byte{0, 0, 1, 1, 4, 5, 0, 2, 2, 3, 6, 4, 7, 0, 7, 1})
	f.Add([]byte{3, 9, 4, 4, 0, 5, 3, 5, 6, 6, 4, 7, 3})
	long := make([]byte, 600)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range long {
		long[i] = byte(r.UintN(256))
	}
	f.Add(long)

	f.Fuzz(func(t *testing.T, script []byte) {
		if len(script) > 1000 {
			script = script[:1000] // keep each input fast
		}
		dir := t.TempDir()
		s, err := Open(dir, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer func() { s.Close() }()

		committed := model{}
		working := map[string]string{} // "" marks a delete (values are never empty)
		view := func() model {
			v := maps(committed)
			for k, w := range working {
				if w == "" {
					delete(v, k)
				} else {
					v[k] = w
				}
			}
			return v
		}
		var roots [][]byte // roots[h-1] is the root of height h
		next := func() int {
			if len(script) == 0 {
				return 0
			}
			b := script[0]
			script = script[1:]
			return int(b)
		}

		for len(script) > 0 {
			switch step := next() % 8; step {
			case 0, 1, 2:
				k, v := fuzzKeys[next()%len(fuzzKeys)], fmt.Sprintf("v%d", next())
				if err := s.Set([]byte(k), []byte(v)); err != nil {
					t.Fatal(err)
				}
				working[k] = v
			case 3:
				k := fuzzKeys[next()%len(fuzzKeys)]
				if err := s.Delete([]byte(k)); err != nil {
					t.Fatal(err)
				}
				working[k] = ""
			case 4:
				committed = view()
				clear(working)
				root, err := s.Apply(int64(len(roots) + 1))
				if err != nil {
					t.Fatal(err)
				}
				if want := committed.root(); !sameBytes(root, want) {
					t.Fatalf("height %d: root %x, model root %x", len(roots)+1, root, want)
				}
				roots = append(roots, root)
			case 5:
				s.Discard()
				clear(working)
			case 6:
				if err := s.Close(); err != nil {
					t.Fatal(err)
				}
				if s, err = Open(dir, Options{}); err != nil {
					t.Fatal(err)
				}
				clear(working) // uncommitted writes do not survive a close
				if s.Height() != int64(len(roots)) {
					t.Fatalf("reopened at height %d, want %d", s.Height(), len(roots))
				}
			case 7:
				k := []byte(fuzzKeys[next()%len(fuzzKeys)])
				value, proof, err := s.Prove(k)
				if err != nil {
					t.Fatal(err)
				}
				if want, ok := committed[string(k)]; ok != (value != nil) || string(value) != want {
					t.Fatalf("Prove(%q) value %q, committed model %q", k, value, want)
				}
				if err := VerifyProof(s.Root(), k, value, proof); err != nil {
					t.Fatal(err)
				}
				checkPrefix(t, s, view(), k)
			}
			checkView(t, s, view(), fuzzKeys)
		}
		for h, want := range roots {
			if got, err := s.RootAt(int64(h + 1)); err != nil || !sameBytes(got, want) {
				t.Fatalf("RootAt(%d) = %x, %v; want %x", h+1, got, err, want)
			}
		}
	})
}

// checkPrefix asserts Iterate(prefix) shows exactly m's keys with that prefix.
func checkPrefix(t *testing.T, s *Store, m model, prefix []byte) {
	t.Helper()
	want := model{}
	for k, v := range m {
		if len(k) >= len(prefix) && k[:len(prefix)] == string(prefix) {
			want[k] = v
		}
	}
	last := ""
	n := 0
	err := s.Iterate(prefix, func(k, v []byte) error {
		if n > 0 && string(k) <= last {
			return fmt.Errorf("Iterate(%q): %q after %q, not ascending", prefix, k, last)
		}
		last, n = string(k), n+1
		if w, ok := want[string(k)]; !ok || w != string(v) {
			return fmt.Errorf("Iterate(%q): %q = %q, model %q (present %v)", prefix, k, v, w, ok)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != len(want) {
		t.Fatalf("Iterate(%q) gave %d keys, model has %d", prefix, n, len(want))
	}
}
