package state

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/cockroachdb/pebble"
)

// Roots depend only on the content of each block, not on the order of its
// writes, and equal the root of the same state built from scratch.
func TestRootsDeterministicAndOrderIndependent(t *testing.T) {
	blocks := [][]op{
		{set("a", "1"), set("b", "2"), set("c", "3")},
		{set("a", "10"), del("b"), set("d", "4")},
		{del("nope"), set("e", "5"), set("e", "6"), del("c")}, // last write to a key wins
		{}, // an empty block keeps the root
		{set("b", "2"), del("a"), set("a", "back")},
	}
	orders := []struct {
		name  string
		order func([]op) []op
	}{
		{"as written", func(b []op) []op { return b }},
		{"reversed keys", func(b []op) []op {
			// Reverse the order of distinct keys while keeping each key's own
			// writes in sequence, so the block's meaning is unchanged.
			out := slices.Clone(b)
			slices.SortStableFunc(out, func(x, y op) int {
				switch {
				case x.key > y.key:
					return -1
				case x.key < y.key:
					return 1
				}
				return 0
			})
			return out
		}},
		{"shuffled keys", func(b []op) []op {
			keys := map[string]int{}
			r := rand.New(rand.NewPCG(7, 7))
			for _, o := range b {
				if _, ok := keys[o.key]; !ok {
					keys[o.key] = r.Int()
				}
			}
			out := slices.Clone(b)
			slices.SortStableFunc(out, func(x, y op) int { return keys[x.key] - keys[y.key] })
			return out
		}},
	}

	var want [][]byte
	m := model{}
	for _, b := range blocks {
		m.apply(b)
		want = append(want, m.root())
	}
	for _, o := range orders {
		t.Run(o.name, func(t *testing.T) {
			s := openStore(t, t.TempDir())
			for i, b := range blocks {
				apply(t, s, o.order(b))
				if got := commit(t, s, int64(i+1)); !sameBytes(got, want[i]) {
					t.Fatalf("height %d: root %x, want %x", i+1, got, want[i])
				}
			}
			if !sameBytes(want[3], want[2]) {
				t.Fatalf("empty block changed the root")
			}
		})
	}
}

func TestDeleteMissingKeyIsNoop(t *testing.T) {
	cases := []struct {
		name  string
		state []op
	}{
		{"empty store", nil},
		{"populated store", []op{set("a", "1"), set("b", "2")}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := openStore(t, t.TempDir())
			apply(t, s, tc.state)
			before := commit(t, s, 1)
			apply(t, s, []op{del("missing"), del("also-missing")})
			if got := commit(t, s, 2); !sameBytes(got, before) {
				t.Fatalf("deleting missing keys changed the root: %x -> %x", before, got)
			}
			if v, err := s.Get([]byte("missing")); err != nil || v != nil {
				t.Fatalf("Get(missing) = %q, %v", v, err)
			}
		})
	}
}

// A store closed and reopened (any number of times) is at the same height
// and root, and continues exactly as a store that never closed.
func TestReopenContinuesIdentically(t *testing.T) {
	const blocks = 12
	ref := openStore(t, t.TempDir())
	var want [][]byte
	for h := int64(1); h <= blocks; h++ {
		apply(t, ref, randomBlock(h, 50, 200))
		want = append(want, commit(t, ref, h))
	}
	for _, every := range []int64{1, 3, 5} {
		t.Run(fmt.Sprintf("reopen every %d", every), func(t *testing.T) {
			dir := t.TempDir()
			s, err := Open(dir, Options{})
			if err != nil {
				t.Fatal(err)
			}
			for h := int64(1); h <= blocks; h++ {
				apply(t, s, randomBlock(h, 50, 200))
				commit(t, s, h)
				if h%every == 0 {
					s.Close()
					if s, err = Open(dir, Options{}); err != nil {
						t.Fatal(err)
					}
					if s.Height() != h || !sameBytes(s.Root(), want[h-1]) {
						t.Fatalf("reopened at height %d root %x, want height %d root %x", s.Height(), s.Root(), h, want[h-1])
					}
				}
				if !sameBytes(s.Root(), want[h-1]) {
					t.Fatalf("height %d: root %x, want %x", h, s.Root(), want[h-1])
				}
			}
			for h := int64(1); h <= blocks; h++ {
				if got, err := s.RootAt(h); err != nil || !sameBytes(got, want[h-1]) {
					t.Fatalf("RootAt(%d) = %x, %v; want %x", h, got, err, want[h-1])
				}
			}
			s.Close()
		})
	}
}

// Get sees the working set; Discard drops it and leaves height and root.
func TestWorkingSetAndDiscard(t *testing.T) {
	s := openStore(t, t.TempDir())
	apply(t, s, []op{set("a", "1"), set("b", "2")})
	root1 := commit(t, s, 1)

	apply(t, s, []op{set("a", "changed"), del("b"), set("c", "new")})
	checkView(t, s, model{"a": "changed", "c": "new"}, []string{"a", "b", "c"})
	if !sameBytes(s.Root(), root1) {
		t.Fatalf("uncommitted writes changed Root()")
	}
	s.Discard()
	checkView(t, s, model{"a": "1", "b": "2"}, []string{"a", "b", "c"})
	if s.Height() != 1 || !sameBytes(s.Root(), root1) {
		t.Fatalf("after Discard: height %d root %x, want 1 %x", s.Height(), s.Root(), root1)
	}
	// The discarded block never happened: height 2 is still next, and its
	// root only reflects what it writes.
	apply(t, s, []op{set("d", "4")})
	if got, want := commit(t, s, 2), (model{"a": "1", "b": "2", "d": "4"}).root(); !sameBytes(got, want) {
		t.Fatalf("root after discard+commit %x, want %x", got, want)
	}
}

func TestIterate(t *testing.T) {
	s := openStore(t, t.TempDir())
	apply(t, s, []op{set("acct/a", "1"), set("acct/b", "2"), set("acct/d", "4"), set("token/x", "9"), set("acct\xff", "edge")})
	commit(t, s, 1)
	// Working set: change one, delete one, add before, between and after.
	apply(t, s, []op{set("acct/b", "22"), del("acct/d"), set("acct/0", "0"), set("acct/c", "3"), set("acct/z", "26"), del("acct/none")})

	cases := []struct {
		prefix string
		want   []string // key=value
	}{
		{"acct/", []string{"acct/0=0", "acct/a=1", "acct/b=22", "acct/c=3", "acct/z=26"}},
		{"acct/b", []string{"acct/b=22"}},
		{"acct", []string{"acct/0=0", "acct/a=1", "acct/b=22", "acct/c=3", "acct/z=26", "acct\xff=edge"}},
		{"token/", []string{"token/x=9"}},
		{"nothing", nil},
		{"", []string{"acct/0=0", "acct/a=1", "acct/b=22", "acct/c=3", "acct/z=26", "acct\xff=edge", "token/x=9"}},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%q", tc.prefix), func(t *testing.T) {
			var got []string
			err := s.Iterate([]byte(tc.prefix), func(k, v []byte) error {
				got = append(got, string(k)+"="+string(v))
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("Iterate(%q) = %q, want %q", tc.prefix, got, tc.want)
			}
		})
	}

	t.Run("callback may use the store and stop early", func(t *testing.T) {
		stop := fmt.Errorf("stop")
		n := 0
		err := s.Iterate([]byte("acct/"), func(k, v []byte) error {
			if _, err := s.Get(k); err != nil {
				return err
			}
			if err := s.Set([]byte("acct/zz"), []byte("added during iteration")); err != nil {
				return err
			}
			if n++; n == 2 {
				return stop
			}
			return nil
		})
		if err != stop || n != 2 {
			t.Fatalf("Iterate returned %v after %d calls, want stop after 2", err, n)
		}
	})
}

// Misuse fails with an error that names the key or height and what to do.
func TestErrors(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir)
	apply(t, s, []op{set("a", "1")})
	commit(t, s, 5) // a chain may start at any initial height

	cases := []struct {
		name  string
		err   error
		parts []string
	}{
		{"height zero", errOf(s.Apply(0)), []string{"Prepare(0)", "start at 1"}},
		{"height gap", errOf(s.Apply(7)), []string{"Prepare(7)", "height 5", "must be height 6"}},
		{"height repeat", errOf(s.Apply(5)), []string{"Prepare(5)", "must be height 6"}},
		{"empty value", s.Set([]byte("k1"), nil), []string{`"k1"`, "use Delete"}},
		{"empty key", s.Set(nil, []byte("v")), []string{"empty key"}},
		{"unknown height", errOf(s.RootAt(3)), []string{"height 3", "at height 5"}},
		{"binary key shown in hex", s.Set([]byte{0, 1, 0xfe}, nil), []string{"0x0001fe"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { mustContain(t, tc.err, tc.parts...) })
	}

	t.Run("read-only", func(t *testing.T) {
		s.Close()
		ro, err := Open(dir, Options{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		defer ro.Close()
		if v, err := ro.Get([]byte("a")); err != nil || string(v) != "1" {
			t.Fatalf("read-only Get = %q, %v", v, err)
		}
		mustContain(t, ro.Set([]byte("a"), []byte("2")), `Set "a"`, "read-only")
		mustContain(t, errOf(ro.Prepare(6)), "Prepare(6)", "read-only")
	})
	t.Run("read-only needs an existing store", func(t *testing.T) {
		_, err := Open(t.TempDir(), Options{ReadOnly: true})
		mustContain(t, err, "holds no state store")
	})
	t.Run("closed", func(t *testing.T) {
		_, err := s.Get([]byte("a"))
		mustContain(t, err, "closed")
	})
}

func errOf[T any](_ T, err error) error { return err }

// A store written with another format version, or a Pebble database that is
// not a state store, is refused with a message saying what to do.
func TestFormatVersionChecked(t *testing.T) {
	cases := []struct {
		name   string
		tamper func(db *pebble.DB) error
		parts  []string
	}{
		{"future version", func(db *pebble.DB) error {
			var v [4]byte
			binary.BigEndian.PutUint32(v[:], FormatVersion+1)
			return db.Set(keyFormat, v[:], pebble.Sync)
		}, []string{fmt.Sprintf("format version %d", FormatVersion+1), fmt.Sprintf("this build reads version %d", FormatVersion), "re-sync"}},
		{"not a state store", func(db *pebble.DB) error {
			return db.Delete(keyFormat, pebble.Sync)
		}, []string{"not a forkgate state store"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s := openStore(t, dir)
			apply(t, s, []op{set("a", "1")})
			commit(t, s, 1)
			s.Close()

			db, err := pebble.Open(dir, &pebble.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if err := tc.tamper(db); err != nil {
				t.Fatal(err)
			}
			db.Close()

			_, err = Open(dir, Options{})
			mustContain(t, err, append([]string{dir}, tc.parts...)...)
		})
	}
}

// The store is documented as safe for concurrent use: readers (Get, Prove,
// Iterate, Diff of committed heights) run while blocks commit. Run with
// -race to make this test meaningful.
func TestConcurrentReadersDuringCommits(t *testing.T) {
	s := openStore(t, t.TempDir())
	apply(t, s, randomBlock(1, 100, 300))
	commit(t, s, 1)

	done := make(chan struct{})
	errs := make(chan error, 1)
	go func() {
		defer close(errs)
		for i := 0; ; i++ {
			select {
			case <-done:
				return
			default:
			}
			k := []byte(fmt.Sprintf("acct/%05d", i%300))
			if _, err := s.Get(k); err != nil {
				errs <- err
				return
			}
			value, proof, err := s.ProveAt(1, k)
			if err == nil {
				r1, _ := s.RootAt(1)
				err = VerifyProof(r1, k, value, proof)
			}
			if err == nil {
				err = s.Iterate([]byte("acct/001"), func(k, v []byte) error { return nil })
			}
			if err == nil {
				r1, _ := s.RootAt(1)
				_, err = Diff(s, r1, s, s.Root(), 10)
			}
			if err != nil {
				errs <- err
				return
			}
		}
	}()
	for h := int64(2); h <= 20; h++ {
		apply(t, s, randomBlock(h, 100, 300))
		commit(t, s, h)
	}
	close(done)
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
}

// Prepare stages a block without writing it: Discard returns to the previous
// root, writes are refused while a block is prepared, and Commit needs the
// prepared height.
func TestPrepareCommitDiscard(t *testing.T) {
	s := openStore(t, t.TempDir())
	apply(t, s, []op{set("a", "1")})
	root1, err := s.Apply(1)
	if err != nil {
		t.Fatal(err)
	}
	apply(t, s, []op{set("b", "2")})
	pre, err := s.Prepare(2)
	if err != nil {
		t.Fatal(err)
	}
	if s.Height() != 1 || !bytes.Equal(s.Root(), root1) {
		t.Fatal("Prepare must not move the committed height or root")
	}
	mustContain(t, s.Set([]byte("c"), []byte("3")), "prepared", "Commit or Discard")
	mustContain(t, s.Commit(3), "Commit(3)", "Prepare(3)")
	s.Discard()
	if v, _ := s.Get([]byte("b")); v != nil {
		t.Fatal("Discard kept the prepared block's write")
	}
	// The same block prepared again gives the same root, and commits.
	apply(t, s, []op{set("b", "2")})
	again, err := s.Prepare(2)
	if err != nil || !bytes.Equal(again, pre) {
		t.Fatalf("re-prepared root %x, first %x (%v)", again, pre, err)
	}
	if err := s.Commit(2); err != nil {
		t.Fatal(err)
	}
	if s.Height() != 2 || !bytes.Equal(s.Root(), pre) {
		t.Fatal("Commit did not move to the prepared block")
	}
}
