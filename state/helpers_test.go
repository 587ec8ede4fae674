package state

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/pokt-network/smt"
	"github.com/pokt-network/smt/kvstore/simplemap"
)

// op is one write of a block: a Set, or a Delete when value is nil.
type op struct {
	key, value string
	del        bool
}

func set(k, v string) op { return op{key: k, value: v} }
func del(k string) op    { return op{key: k, del: true} }

func openStore(t testing.TB, dir string) *Store {
	t.Helper()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func apply(t testing.TB, s *Store, ops []op) {
	t.Helper()
	for _, o := range ops {
		var err error
		if o.del {
			err = s.Delete([]byte(o.key))
		} else {
			err = s.Set([]byte(o.key), []byte(o.value))
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

func commit(t testing.TB, s *Store, height int64) []byte {
	t.Helper()
	root, err := s.Apply(height)
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// model is the plain-map view of the state the store must agree with.
type model map[string]string

func (m model) apply(ops []op) {
	for _, o := range ops {
		if o.del {
			delete(m, o.key)
		} else {
			m[o.key] = o.value
		}
	}
}

// root computes the root of m from scratch in an in-memory SMT, independent
// of the store's incremental updates, its node store and its history.
func (m model) root() []byte {
	trie := smt.NewSparseMerkleTrie(simplemap.NewSimpleMap(), sha256.New())
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if err := trie.Update([]byte(k), []byte(m[k])); err != nil {
			panic(err)
		}
	}
	return trie.Root()
}

// checkView asserts that Get and Iterate("") of s show exactly m.
func checkView(t testing.TB, s *Store, m model, universe []string) {
	t.Helper()
	for _, k := range universe {
		got, err := s.Get([]byte(k))
		if err != nil {
			t.Fatal(err)
		}
		want, ok := m[k]
		if ok != (got != nil) || string(got) != want {
			t.Fatalf("Get(%q) = %q (present %v), model has %q (present %v)", k, got, got != nil, want, ok)
		}
	}
	var seen []string
	err := s.Iterate(nil, func(k, v []byte) error {
		if m[string(k)] != string(v) {
			return fmt.Errorf("Iterate: %q = %q, model has %q", k, v, m[string(k)])
		}
		seen = append(seen, string(k))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := make([]string, 0, len(m))
	for k := range m {
		want = append(want, k)
	}
	slices.Sort(want)
	if !slices.Equal(seen, want) {
		t.Fatalf("Iterate keys = %q, model keys = %q", seen, want)
	}
}

// randomBlock makes a deterministic block of n writes over a universe of
// keys (about one in five a delete), seeded by height so that any process
// can regenerate block h on its own.
func randomBlock(height int64, n, universe int) []op {
	r := rand.New(rand.NewPCG(uint64(height), 0x5eed))
	ops := make([]op, n)
	for i := range ops {
		k := fmt.Sprintf("acct/%05d", r.IntN(universe))
		if r.IntN(5) == 0 {
			ops[i] = del(k)
			continue
		}
		v := make([]byte, 8+r.IntN(56))
		for j := range v {
			v[j] = byte('a' + r.IntN(26))
		}
		ops[i] = set(k, string(v))
	}
	return ops
}

func mustContain(t testing.TB, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want one mentioning %q", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Fatalf("error %q does not mention %q", err, p)
		}
	}
}

func sameBytes(a, b []byte) bool { return bytes.Equal(a, b) }
