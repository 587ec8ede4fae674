package state

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble"
)

// modelDiff is the brute-force answer Diff must match: every key whose
// value differs between two plain maps, as "key: A -> B" strings sorted by key.
func modelDiff(a, b model) []string {
	var out []string
	for k, va := range a {
		if vb, ok := b[k]; !ok {
			out = append(out, KeyDiff{Key: []byte(k), A: []byte(va)}.String())
		} else if vb != va {
			out = append(out, KeyDiff{Key: []byte(k), A: []byte(va), B: []byte(vb)}.String())
		}
	}
	for k, vb := range b {
		if _, ok := a[k]; !ok {
			out = append(out, KeyDiff{Key: []byte(k), B: []byte(vb)}.String())
		}
	}
	slices.Sort(out) // "key: ..." strings sort by key for these keys
	return out
}

func diffStrings(d []KeyDiff) []string {
	out := make([]string, len(d))
	for i, kd := range d {
		out[i] = kd.String()
	}
	return out
}

// baseState is a few hundred keys: enough for a tree with inner nodes,
// extension nodes and leaves at many depths.
func baseState() []op {
	var ops []op
	for i := range 400 {
		ops = append(ops, set(fmt.Sprintf("acct/%05d", i), fmt.Sprintf("balance-%d", i*7)))
	}
	return ops
}

// Two stores built from the same blocks except for one difference: Diff
// names exactly the keys that differ, with both values.
func TestDiffTwoStores(t *testing.T) {
	cases := []struct {
		name  string
		extra []op // applied to store B only, in its last block
	}{
		{"identical", nil},
		{"one value changed", []op{set("acct/00042", "tampered")}},
		{"one key added", []op{set("acct/99999", "new")}},
		{"one key removed", []op{del("acct/00007")}},
		{"added, removed and changed", []op{set("zz/new", "n"), del("acct/00001"), set("acct/00399", "x"), set("acct/00200", "y")}},
		{"first leaf removed and re-added elsewhere", []op{del("acct/00000"), set("acct/00000/sub", "moved")}},
	}
	base := baseState()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, b := openStore(t, t.TempDir()), openStore(t, t.TempDir())
			ma, mb := model{}, model{}
			for _, s := range []*Store{a, b} {
				apply(t, s, base)
				commit(t, s, 1)
			}
			ma.apply(base)
			mb.apply(base)
			apply(t, b, tc.extra)
			mb.apply(tc.extra)
			rootA, rootB := commit(t, a, 2), commit(t, b, 2)

			got, err := Diff(a, rootA, b, rootB, 0)
			if err != nil {
				t.Fatal(err)
			}
			if want := modelDiff(ma, mb); !slices.Equal(diffStrings(got), want) {
				t.Fatalf("Diff =\n%s\nwant\n%s", strings.Join(diffStrings(got), "\n"), strings.Join(want, "\n"))
			}
			// And the other way round, with A and B swapped.
			back, err := Diff(b, rootB, a, rootA, 0)
			if err != nil {
				t.Fatal(err)
			}
			if want := modelDiff(mb, ma); !slices.Equal(diffStrings(back), want) {
				t.Fatalf("reverse Diff = %q, want %q", diffStrings(back), want)
			}
		})
	}
}

// Between heights of one store, including heights far apart and the empty
// tree, Diff matches the brute-force difference of the two states.
func TestDiffHeights(t *testing.T) {
	s := openStore(t, t.TempDir())
	var states []model
	m := model{}
	for h := int64(1); h <= 8; h++ {
		b := randomBlock(h, 120, 300)
		apply(t, s, b)
		m.apply(b)
		commit(t, s, h)
		states = append(states, maps(m))
	}
	pairs := [][2]int64{{1, 2}, {2, 1}, {1, 8}, {7, 8}, {5, 5}}
	for _, p := range pairs {
		t.Run(fmt.Sprintf("%d vs %d", p[0], p[1]), func(t *testing.T) {
			ra, _ := s.RootAt(p[0])
			rb, _ := s.RootAt(p[1])
			got, err := Diff(s, ra, s, rb, 0)
			if err != nil {
				t.Fatal(err)
			}
			want := modelDiff(states[p[0]-1], states[p[1]-1])
			if !slices.Equal(diffStrings(got), want) {
				t.Fatalf("Diff(%d, %d): %d differences, want %d\ngot  %q\nwant %q", p[0], p[1], len(got), len(want), diffStrings(got), want)
			}
		})
	}
	t.Run("empty tree vs height 8", func(t *testing.T) {
		r8, _ := s.RootAt(8)
		got, err := Diff(s, emptyRoot, s, r8, 0)
		if err != nil {
			t.Fatal(err)
		}
		if want := modelDiff(model{}, states[7]); !slices.Equal(diffStrings(got), want) {
			t.Fatalf("got %d differences, want %d", len(got), len(want))
		}
	})
	t.Run("limit", func(t *testing.T) {
		r1, _ := s.RootAt(1)
		r8, _ := s.RootAt(8)
		got, err := Diff(s, r1, s, r8, 3)
		if err != nil || len(got) != 3 {
			t.Fatalf("Diff with limit 3 = %d differences, %v", len(got), err)
		}
	})
	t.Run("root not in store", func(t *testing.T) {
		bogus := make([]byte, hashSize)
		bogus[0] = 1
		_, err := Diff(s, bogus, s, s.Root(), 0)
		mustContain(t, err, "not in the store", "never committed here")
	})
}

func maps(m model) model {
	c := model{}
	for k, v := range m {
		c[k] = v
	}
	return c
}

// Diff is cheap for few differences: with one changed key in a 5,000-key
// state it reads a few nodes per tree level, not the whole tree. The trees
// must contain extension nodes, so that their virtual splitting is covered.
func TestDiffVisitsOnlyDifferingSubtrees(t *testing.T) {
	const n = 5000
	a, b := openStore(t, t.TempDir()), openStore(t, t.TempDir())
	for _, s := range []*Store{a, b} {
		for i := range n {
			if err := s.Set([]byte(fmt.Sprintf("k%d", i)), []byte("v")); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := b.Set([]byte("k1234"), []byte("changed")); err != nil {
		t.Fatal(err)
	}
	rootA, rootB := commit(t, a, 1), commit(t, b, 1)

	kinds := countNodeKinds(t, a)
	if kinds[kindExt] == 0 || kinds[kindInner] == 0 || kinds[kindLeaf] != n {
		t.Fatalf("tree shape %v: want leaves, inner and extension nodes", kinds)
	}

	d := &differ{a: a, b: b}
	x, err := d.load(a, rootA)
	if err != nil {
		t.Fatal(err)
	}
	y, err := d.load(b, rootB)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.walk(x, y, 0); err != nil {
		t.Fatal(err)
	}
	if len(d.out) != 1 || string(d.out[0].Key) != "k1234" || string(d.out[0].B) != "changed" {
		t.Fatalf("Diff = %q, want only k1234", diffStrings(d.out))
	}
	// Two trees of ~13 levels: a handful of loads per level and side.
	if d.loads > 4*40 {
		t.Fatalf("Diff loaded %d nodes for one difference in %d keys", d.loads, n)
	}
	t.Logf("one difference in %d keys: %d node loads (tree has %v)", n, d.loads, kinds)
}

func countNodeKinds(t *testing.T, s *Store) map[nodeKind]int {
	t.Helper()
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: prefixNode, UpperBound: prefixEnd(prefixNode)})
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	kinds := map[nodeKind]int{}
	d := &differ{}
	for it.First(); it.Valid(); it.Next() {
		n, err := d.load(s, it.Key()[len(prefixNode):])
		if err != nil {
			t.Fatal(err)
		}
		kinds[n.kind]++
	}
	return kinds
}
