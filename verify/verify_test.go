package verify

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/forkgate/forkgate/codec"

	"github.com/forkgate/forkgate/chain"
	"github.com/forkgate/forkgate/state"
)

func loadLibrary(t *testing.T) []*Chain {
	t.Helper()
	chains, err := LoadLibrary(libraryDir)
	if err != nil {
		t.Fatal(err)
	}
	return chains
}

func libraryChain(t *testing.T, name string) *Chain {
	t.Helper()
	c, err := LoadChain(filepath.Join(libraryDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// The library's fixtures belong to their chains, are small, cover every
// executor, and (main and parallel chains) cross fork heights.
func TestLibraryFixtures(t *testing.T) {
	for _, c := range loadLibrary(t) {
		t.Run(c.Name, func(t *testing.T) {
			st, err := os.Stat(c.FixturePath())
			if err != nil {
				t.Fatalf("no fixture: record it with forkgate record %s", c.Dir)
			}
			if st.Size() > 300<<10 {
				t.Errorf("fixture is %d KB, over the 300 KB budget", st.Size()>>10)
			}
			f, err := ReadFixture(c.FixturePath())
			if err != nil {
				t.Fatal(err)
			}
			if f.Header.ConfigDigest != c.ConfigDigest() {
				t.Errorf("%s changed since the fixture was recorded: record it again (forkgate record %s)", c.ConfigPath, c.Dir)
			}
			if f.Header.Chain != c.Name || f.Header.ChainID != c.Lib.ChainID || f.Header.To != c.Lib.Blocks {
				t.Errorf("fixture header %+v does not match the chain's [library] table %+v", f.Header, c.Lib)
			}
			execs := map[string]bool{}
			for k := range f.Header.Actions {
				e, _, _ := strings.Cut(k, ".")
				execs[e] = true
			}
			for _, e := range []string{"coins", "token", "game", "producers", "governance"} {
				if !execs[e] {
					t.Errorf("the workload profile never ran a successful %s transaction", e)
				}
			}
			g, err := f.GenesisValue()
			if err != nil {
				t.Fatal(err)
			}
			if g.ParentStart != c.Lib.ParentStart {
				t.Errorf("genesis parent_start %d, [library] says %d", g.ParentStart, c.Lib.ParentStart)
			}
			inside := 0
			for _, fh := range ForkHeights(c.Config.Schedule, f.Locator(g)) {
				if fh.Height > 1 && fh.Height <= f.Header.To {
					inside++
				}
			}
			switch c.Name {
			case "main", "para-alpha", "para-beta":
				if inside < 3 {
					t.Errorf("only %d fork activations inside the recorded range 1..%d", inside, f.Header.To)
				}
			case "future", "all-zero":
				if inside != 0 {
					t.Errorf("%d fork activations inside the range, want none", inside)
				}
			}
		})
	}
}

// The state at any height rebuilds from the fixture alone, to the recorded
// root; and a fixture survives an encode/decode round trip byte for byte.
func TestFixtureRebuildAndRoundTrip(t *testing.T) {
	c := libraryChain(t, "para-beta")
	f, err := ReadFixture(c.FixturePath())
	if err != nil {
		t.Fatal(err)
	}
	st, err := f.RebuildState(filepath.Join(t.TempDir(), "state"), f.Header.To)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []int64{1, f.Header.To / 2, f.Header.To} {
		r, err := st.RootAt(h)
		if err != nil || !bytes.Equal(r, f.Root(h)) {
			t.Errorf("height %d: root %x, recorded %x (%v)", h, r, f.Root(h), err)
		}
	}
	st.Close()

	var a, b bytes.Buffer
	if err := f.Encode(&a); err != nil {
		t.Fatal(err)
	}
	f2, err := DecodeFixture(a.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if err := f2.Encode(&b); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("re-encoding a decoded fixture changed its bytes")
	}
}

// A damaged or foreign fixture is refused as unusable input.
func TestDamagedFixtureIsUnusable(t *testing.T) {
	c := libraryChain(t, "all-zero")
	raw, err := os.ReadFile(c.FixturePath())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for name, b := range map[string][]byte{
		"truncated": raw[:len(raw)/2],
		"not gzip":  []byte("forkgate-fixture {}\n"),
	} {
		p := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".gz")
		os.WriteFile(p, b, 0o644)
		if _, err := ReadFixture(p); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// A fixture whose body was altered (and re-compressed) fails its checksum.
	f, _ := ReadFixture(c.FixturePath())
	f.Heights[3].Writes[0].Value = []byte("x")
	var buf bytes.Buffer
	f.Encode(&buf) // a valid checksum over altered writes: caught by the rebuild
	f2, err := DecodeFixture(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f2.RebuildState(filepath.Join(dir, "s"), 5); err == nil || !strings.Contains(err.Error(), "height 4") {
		t.Errorf("rebuild of an altered write set: %v", err)
	}
	// verify refuses it before any scenario runs.
	bad := filepath.Join(dir, "bad.gz")
	os.WriteFile(bad, raw[:100], 0o644)
	_, err = Run(context.Background(), Options{Chains: []*Chain{c}, Old: bad})
	var ie *InputError
	if err == nil || !errorsAs(err, &ie) {
		t.Fatalf("verify with a damaged fixture: %v, want an InputError", err)
	}
}

// Recording is deterministic: two recordings of the same chain hold the
// same blocks, outcomes and write sets.
func TestRecordDeterministic(t *testing.T) {
	c := libraryChain(t, "all-zero")
	a, err := Record(c, RecordOptions{Blocks: 10, WorkDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Record(c, RecordOptions{Blocks: 10, WorkDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	var ea, eb bytes.Buffer
	a.Encode(&ea)
	b.Encode(&eb)
	if !bytes.Equal(ea.Bytes(), eb.Bytes()) {
		t.Fatal("two recordings differ")
	}
	if a.Header.To != 10 || len(a.Heights) != 10 || len(a.Heights[0].Writes) == 0 {
		t.Fatalf("recording: %+v", a.Header)
	}
}

// The whole library passes with this build: every new upgrade, every smooth
// upgrade at the default heights, and the nodes agree past the new forks.
func TestVerifyLibraryPasses(t *testing.T) {
	rep, err := Run(context.Background(), Options{Chains: loadLibrary(t), Parallel: 2, WorkDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Result != ResultOK || rep.ExitCode != 0 {
		var b strings.Builder
		rep.WriteText(&b)
		t.Fatalf("verify failed:\n%s", b.String())
	}
	for _, c := range rep.Chains {
		kinds := map[string]int{}
		var last *ScenarioResult
		for _, s := range c.Scenarios {
			kinds[s.Scenario]++
			switch s.Scenario {
			case NewUpgrade:
				if s.Compared != int(c.To) {
					t.Errorf("%s %s: compared %d hashes, want %d", c.Name, s.name(), s.Compared, c.To)
				}
			case SmoothUpgrade:
				// Every hash the node holds up to its end is compared, and it
				// runs at least a window past its switch.
				if s.Compared != int(min(s.To, c.To)) || s.To < min(s.Switch+DefaultSmoothWindow, c.To) {
					t.Errorf("%s %s: to %d, compared %d hashes", c.Name, s.name(), s.To, s.Compared)
				}
				if last == nil || s.Switch > last.Switch {
					last = s
				}
			}
		}
		if last != nil && last.To < c.To {
			t.Errorf("%s: the last smooth upgrade (at %d) stopped at %d, before the end %d", c.Name, last.Switch, last.To, c.To)
		}
		if kinds[NewUpgrade] != 1 || kinds[SmoothUpgrade] < 1 || kinds[PastForks] != 1 {
			t.Errorf("%s: scenarios %v", c.Name, kinds)
		}
		if c.Target <= c.To {
			t.Errorf("%s: no fresh blocks past the fixture (target %d)", c.Name, c.Target)
		}
	}
	// main: h-1 and h for the forks at 12 and 24 and version 2's
	// activation, and the middle; past-forks crosses ForkMinBondV2 at 44.
	for _, c := range rep.Chains {
		if c.Name != "main" {
			continue
		}
		want := map[int64]bool{11: true, 12: true, 20: true, 23: true, 24: true}
		for _, h := range c.Heights {
			delete(want, h)
		}
		if len(want) > 0 || c.Target != 45 {
			t.Errorf("main: smooth heights %v, target %d", c.Heights, c.Target)
		}
	}
}

// firstFaultyBlock is the first height whose block holds a successful coins
// transfer of a multiple of 7, read from the fixture alone.
func firstFaultyBlock(t *testing.T, f *Fixture) (height int64, index int, recipient chain.Address) {
	t.Helper()
	for _, hr := range f.Heights {
		for i, out := range hr.Txs {
			tx, err := chain.DecodeTx(hr.Block.Txs[out.Index])
			if err != nil || out.Code != chain.CodeOK || tx.Exec != "coins" || tx.Action != "transfer" {
				continue
			}
			r := codec.NewReader(tx.Payload)
			to, amount := r.String(), r.U64()
			if amount%7 == 0 {
				a, err := chain.ParseAddress(to, false)
				if err != nil {
					t.Fatal(err)
				}
				return hr.Block.Height, hr.Txs[i].Index, a
			}
		}
	}
	t.Fatal("the fixture holds no transfer of a multiple of 7")
	return 0, 0, chain.Address{}
}

func balanceOf(t *testing.T, a chain.Address, hexValue string) uint64 {
	t.Helper()
	v, err := hex.DecodeString(hexValue)
	if err != nil {
		t.Fatal(err)
	}
	kv := chain.NewMemStore()
	kv.Set(append([]byte("acct/"), a[:]...), v)
	acc, err := chain.GetAccount(kv, a)
	if err != nil {
		t.Fatal(err)
	}
	return acc.Balance
}

// The deliberate ungated change (chain.FaultInjection: a transfer of a
// multiple of 7 credits one coin less) fails verify at exactly the first
// block holding such a transfer, names the transaction, and shows the
// recipient's account with balances one coin apart.
func TestVerifyCatchesFaultInjection(t *testing.T) {
	if chain.FaultInjection {
		t.Skip("built with -tags faultinject")
	}
	c := libraryChain(t, "main")
	f, err := ReadFixture(c.FixturePath())
	if err != nil {
		t.Fatal(err)
	}
	wantH, wantIdx, recipient := firstFaultyBlock(t, f)

	chain.FaultInjection = true
	defer func() { chain.FaultInjection = false }()
	rep, err := Run(context.Background(), Options{Chains: []*Chain{c}, Parallel: 2, WorkDir: t.TempDir()})
	chain.FaultInjection = false
	if err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	rep.WriteText(&text)
	if rep.ExitCode != 1 || rep.Result != ResultMismatch {
		t.Fatalf("verify with the fault: exit %d, want 1\n%s", rep.ExitCode, text.String())
	}
	s := rep.Chains[0].Scenarios[0]
	if s.Scenario != NewUpgrade || s.Result != ResultMismatch || s.Diagnosis == nil {
		t.Fatalf("new upgrade: %+v\n%s", s, text.String())
	}
	d := s.Diagnosis
	if d.Height != wantH {
		t.Fatalf("diagnosis at height %d, want %d (the first block with a transfer of a multiple of 7)\n%s", d.Height, wantH, text.String())
	}
	raw := f.Height(wantH).Block.Txs[wantIdx]
	if d.Tx == nil || d.Tx.Index != wantIdx || d.Tx.Hash != txHash(raw) || d.Tx.Exec != "coins" || d.Tx.Action != "transfer" {
		t.Fatalf("diagnosis names tx %+v, want #%d %s\n%s", d.Tx, wantIdx, txHash(raw), text.String())
	}
	key := "acct/" + recipient.String()
	found := false
	for _, k := range d.Keys {
		if k.Key != key {
			continue
		}
		found = true
		if o, n := balanceOf(t, recipient, k.OldHex), balanceOf(t, recipient, k.NewHex); o != n+1 {
			t.Errorf("%s: balance %d → %d, want one coin less", key, o, n)
		}
		if !strings.Contains(k.Change, "balance") || !strings.Contains(k.Change, "→") {
			t.Errorf("undecoded change: %s", k.Change)
		}
	}
	if !found {
		t.Fatalf("diagnosis keys %+v do not include the recipient %s\n%s", d.Keys, key, text.String())
	}
	if len(d.ForksActive) == 0 || !strings.Contains(d.Advice, "fork") {
		t.Errorf("forks %v, advice %q", d.ForksActive, d.Advice)
	}
	// Smooth upgrades from below the faulty block fail there too; those
	// from above it fail later or not at all, never earlier.
	for _, s := range rep.Chains[0].Scenarios[1:] {
		if s.Diagnosis != nil && s.Diagnosis.Height < wantH {
			t.Errorf("%s: diagnosis at %d, before the first faulty block %d", s.name(), s.Diagnosis.Height, wantH)
		}
		if s.Scenario == SmoothUpgrade && s.Switch < wantH && (s.Diagnosis == nil || s.Diagnosis.Height != wantH) {
			t.Errorf("%s: %s, want a mismatch at %d", s.name(), s.Result, wantH)
		}
	}
	for _, want := range []string{"first divergent height", "diverging transaction", key, "forks active at"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text report lacks %q", want)
		}
	}
}

// A new config that moves a fork which already passed is caught: the new
// upgrade diverges at the old activation height, and smooth upgrades above
// it are refused by the node's schedule check.
func TestVerifyCatchesRescheduledFork(t *testing.T) {
	src := libraryChain(t, "main")
	dir := filepath.Join(t.TempDir(), "main")
	os.MkdirAll(dir, 0o755)
	cfg := strings.Replace(string(src.ConfigBytes), "ForkFeeToProducer = 12", "ForkFeeToProducer = 14", 1)
	os.WriteFile(filepath.Join(dir, ConfigFile), []byte(cfg), 0o644)
	raw, _ := os.ReadFile(src.FixturePath())
	os.WriteFile(filepath.Join(dir, FixtureFile), raw, 0o644)
	c, err := LoadChain(dir)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Run(context.Background(), Options{Chains: []*Chain{c}, Heights: []int64{11, 20}, WorkDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	rep.WriteText(&text)
	if rep.ExitCode != 1 || !rep.Chains[0].ConfigChanged {
		t.Fatalf("exit %d\n%s", rep.ExitCode, text.String())
	}
	byName := map[string]*ScenarioResult{}
	for _, s := range rep.Chains[0].Scenarios {
		byName[s.name()] = s
	}
	if d := byName[NewUpgrade].Diagnosis; d == nil || d.Height != 12 || len(d.ConfigChanges) != 1 {
		t.Errorf("new upgrade: %+v\n%s", byName[NewUpgrade], text.String())
	}
	if d := byName["smooth-upgrade@20"].Diagnosis; d == nil || d.Kind != "config" || len(d.ConfigChanges) != 1 || !strings.Contains(d.ConfigChanges[0], "ForkFeeToProducer: height 12 → height 14") {
		t.Errorf("smooth@20: %+v\n%s", byName["smooth-upgrade@20"], text.String())
	}
}

func TestDefaultHeights(t *testing.T) {
	forks := []ForkHeight{{Height: -1}, {Height: 0}, {Height: 1}, {Height: 12}, {Height: 12}, {Height: 40}, {Height: 44}}
	got := DefaultHeights(forks, 40)
	want := []int64{1, 11, 12, 20, 39, 40}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
}

func TestDescribeChange(t *testing.T) {
	var a chain.Address
	a[0] = 0xab
	key := append([]byte("acct/"), a[:]...)
	enc := func(bal, nonce uint64) []byte {
		kv := chain.NewMemStore()
		chain.PutAccount(kv, a, chain.Account{Balance: bal, Nonce: nonce})
		v, _ := kv.Get(key)
		return v
	}
	got := DescribeChange(key, enc(1000, 3), enc(999, 3))
	want := "acct/" + a.String() + ": balance 1000 → 999, nonce 3 → 3"
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if got := DescribeChange(key, nil, enc(5, 0)); !strings.HasSuffix(got, "<absent> → balance 5, nonce 0") {
		t.Errorf("created: %s", got)
	}
	if got := DescribeKey([]byte("game/g/\x00\x00\x00\x00\x00\x00\x00\x07")); got != "game/g/7" {
		t.Errorf("game key: %s", got)
	}
	if got := DescribeValue([]byte("meta/unknown"), []byte{1, 2}); got != "hex 0102" {
		t.Errorf("unknown: %s", got)
	}
}

var _ = state.Diff

func errorsAs(err error, target any) bool { return errors.As(err, target) }
