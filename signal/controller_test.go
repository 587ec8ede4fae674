package signal

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/forkgate/forkgate/schedule"
)

// TestExactThreshold checks the integer threshold exactly at, one below and
// one above count*100 >= rate*n, for set sizes where the percentage is and
// is not a whole number of slots.
func TestExactThreshold(t *testing.T) {
	for _, tc := range []struct {
		n    int
		rate uint32
		need int
	}{{5, 80, 4}, {27, 80, 22}, {6, 80, 5}, {4, 75, 3}, {3, 67, 3}, {3, 66, 2}, {1, 100, 1}, {1024, 80, 820}} {
		for _, mode := range []Mode{ModeDefault, ModeTron} {
			t.Run(fmt.Sprintf("%v/n=%d/rate=%d", mode, tc.n, tc.rate), func(t *testing.T) {
				v := uint32(1)
				cfg := Config{Mode: mode, Versions: []schedule.VersionParams{vp(v, tc.rate)}}
				if mode == ModeTron {
					v = 20
					cfg.Versions[0].Number, cfg.MaintenanceInterval = v, 60
				}
				h := newHarness(t, cfg, names(tc.n))
				h.time = 1000
				for i := 0; i < tc.need-1; i++ {
					h.mustBlock(fmt.Sprintf("SR%d", i+1), v)
				}
				if got := h.tally(v); got.Count != tc.need-1 || got.Threshold != tc.need {
					t.Fatalf("tally %+v, want count %d threshold %d", got, tc.need-1, tc.need)
				}
				if tc.need > 1 {
					h.wantState(v, Started) // one signal below
				}
				h.mustBlock(fmt.Sprintf("SR%d", tc.need), v)
				h.wantState(v, Active) // exactly at the threshold
				if tc.need < tc.n {
					h.mustBlock(fmt.Sprintf("SR%d", tc.need+1), v)
					h.wantState(v, Active) // one above stays
				}
			})
		}
	}
}

func TestThresholdFormula(t *testing.T) {
	for n := 0; n <= 300; n++ {
		for rate := uint32(1); rate <= 100; rate++ {
			th := threshold(rate, n)
			if n > 0 && (!meets(th, rate, n) || (th > 0 && meets(th-1, rate, n))) {
				t.Fatalf("n=%d rate=%d: threshold %d is not the least count that meets", n, rate, th)
			}
		}
	}
}

func TestLoweringSignalWithdrawsSupport(t *testing.T) {
	h := newHarness(t, Config{Versions: []schedule.VersionParams{vp(1, 60), vp(2, 60)}}, names(5))
	h.mustBlock("SR1", 2)
	h.mustBlock("SR2", 2)
	if got := h.tally(2).Count; got != 2 {
		t.Fatalf("version 2 count %d, want 2", got)
	}
	h.mustBlock("SR2", 1) // SR2 rolls back: no longer supports 2, still supports 1
	if got := h.tally(2); got.Count != 1 || got.Slots != "10000" {
		t.Fatalf("version 2 tally %+v after SR2 lowered its signal", got)
	}
	if got := h.tally(1); got.Count != 2 || got.Slots != "11000" {
		t.Fatalf("version 1 tally %+v: a lower signal still supports lower versions", got)
	}
	h.mustBlock("SR3", 3) // an undeclared higher version supports every declared one
	h.wantState(1, Active)
	h.wantState(2, Started)
}

// TestSetChanges: a set that grows, shrinks and reorders; no index ever goes
// out of bounds and slots follow producers, not positions.
func TestSetChanges(t *testing.T) {
	cfg := Config{Versions: []schedule.VersionParams{vp(1, 80), vp(2, 80), vp(3, 100)}}
	h := newHarness(t, cfg, names(5))
	for _, p := range []string{"SR1", "SR2", "SR3", "SR4"} {
		h.mustBlock(p, 2)
	}
	h.wantState(2, Active)
	h.mustBlock("SR5", 3)

	// Shrink to 2, reversed: SR5 keeps its last signal at its new slot.
	h.maintenance("SR5", "SR1")
	if got := h.tally(3); got.Count != 0 || got.Denominator != 2 {
		t.Fatalf("after shrinking, version 3 tally %+v, want 0/2", got)
	}
	if got := h.tally(2); got.Denominator != 5 || got.Count != 4 || !got.Frozen {
		t.Fatalf("passed version 2 must keep its 5-slot tally, got %+v", got)
	}
	st := h.c.Status()
	if st.Producers[0].Producer != "SR5" || st.Producers[0].LastVersion != 3 || st.Producers[1].LastVersion != 2 {
		t.Fatalf("producers after reorder: %+v", st.Producers)
	}
	h.mustBlock("SR5", 3)
	h.wantState(3, Started)
	h.mustBlock("SR1", 3) // 2/2 = 100%
	h.wantState(3, Active)

	// Grow far beyond the first set: no out-of-range slot, anywhere.
	h.maintenance(names(40)...)
	for i := 40; i >= 1; i-- {
		h.mustBlock(fmt.Sprintf("SR%d", i), uint32(i%4))
	}
	for _, v := range []uint32{1, 2, 3} {
		h.wantState(v, Active)
	}
}

func TestResetAtMaintenance(t *testing.T) {
	h := newHarness(t, Config{Versions: []schedule.VersionParams{vp(1, 80)}}, names(5))
	for _, p := range []string{"SR1", "SR2", "SR3"} {
		h.mustBlock(p, 1)
	}
	h.maintenance(names(5)...)
	if got := h.tally(1).Count; got != 0 {
		t.Fatalf("unpassed support must reset at maintenance, count %d", got)
	}
	h.mustBlock("SR4", 1) // 1/5, not 4/5: the earlier signals were reset
	h.wantState(1, Started)
}

func TestRestartResumesExactly(t *testing.T) {
	cfg := Config{Versions: []schedule.VersionParams{{Number: 1, Rate: 60, Grace: 1}, vp(2, 80)},
		Params: []ParamDecl{{Name: "fee", Default: 5}}}
	a := newHarness(t, cfg, names(5))
	a.mustBlock("SR1", 2)
	a.mustBlock("SR2", 1)
	a.mustBlock("SR3", 1)
	if _, err := a.c.Propose(a.h, "SR1", "fee", 9); err != nil {
		t.Fatal(err)
	}
	if err := a.c.Approve("SR2", 1); err != nil {
		t.Fatal(err)
	}
	a.wantState(1, LockedIn)
	b, err := New(a.store, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !sameStatus(a.c, b) {
		t.Fatalf("restarted status differs:\n%+v\n%+v", a.c.Status(), b.Status())
	}
	// Drive both the same way; they must stay identical.
	other := &harness{t: t, c: b, store: a.store.Clone(), h: a.h, time: a.time}
	b.store = other.store
	for _, x := range []*harness{a, other} {
		x.maintenance(names(5)...)
		x.mustBlock("SR4", 2)
	}
	if !sameStatus(a.c, other.c) || !sameStores(a.store, other.store) {
		t.Fatal("a restarted controller diverged from the original")
	}
	a.wantState(1, Active)
}

func TestTwoBinariesAgreeUntilActivation(t *testing.T) {
	versions := []schedule.VersionParams{vp(1, 80), {Number: 2, Rate: 80, Release: "v2.0.0"}}
	for _, mode := range []Mode{ModeDefault, ModeTron} {
		t.Run(mode.String(), func(t *testing.T) {
			vs := append([]schedule.VersionParams(nil), versions...)
			var v1, v2 uint32 = 1, 2
			if mode == ModeTron {
				vs[0].Number, vs[1].Number, v1, v2 = 20, 21, 20, 21
			}
			oldB := newHarness(t, Config{Mode: mode, Versions: vs, Implemented: v1, MaintenanceInterval: 60}, names(5))
			newB := newHarness(t, Config{Mode: mode, Versions: vs, Implemented: v2, MaintenanceInterval: 60}, names(5))
			oldB.time, newB.time = 1000, 1000 // past tron's rounded time gate (60)
			both := func(p string, v uint32) (error, error) {
				return oldB.block(p, v), newB.block(p, v)
			}
			steps := []struct {
				p string
				v uint32
			}{{"SR1", v1}, {"SR2", v2}, {"SR3", v2 + 7}, {"SR2", v1}, {"SR4", v2}, {"SR5", v2}}
			for _, s := range steps {
				e1, e2 := both(s.p, s.v)
				if e1 != nil || e2 != nil {
					t.Fatalf("no error expected before activation: %v %v", e1, e2)
				}
				if !sameStores(oldB.store, newB.store) {
					t.Fatalf("stores differ after %s:%d although nothing is active", s.p, s.v)
				}
			}
			oldB.maintenance(names(5)...)
			newB.maintenance(names(5)...)
			if st := oldB.c.Status(); st.Newer == nil || st.Newer.Count != 3 || st.Newer.Highest != v2+7 || st.Newer.Message != NewerMessage {
				t.Fatalf("the old binary must report the newer version, got %+v", st.Newer)
			}
			for _, p := range []string{"SR1", "SR2", "SR3"} {
				if e1, e2 := both(p, v2); e1 != nil || e2 != nil {
					t.Fatal(e1, e2)
				}
			}
			e1, e2 := both("SR4", v2)
			if e2 != nil {
				t.Fatalf("the new binary must go on: %v", e2)
			}
			var he *HaltError
			if !errors.As(e1, &he) || he.Version != v2 || he.Height != oldB.h+1 || he.Release != "v2.0.0" {
				t.Fatalf("old binary: want a halt for version %d at height %d release v2.0.0, got %v", v2, oldB.h+1, e1)
			}
			for _, want := range []string{fmt.Sprint(v2), fmt.Sprint(oldB.h + 1), "v2.0.0"} {
				if !strings.Contains(e1.Error(), want) {
					t.Fatalf("halt message %q does not name %s", e1, want)
				}
			}
			if !sameStores(oldB.store, newB.store) {
				t.Fatal("the halting binary must still have committed the same state")
			}
			if err := oldB.block("SR5", v2); !errors.As(err, &he) {
				t.Fatalf("a halted controller must keep refusing, got %v", err)
			}
			// A restart of the old binary is still halted.
			again, err := New(oldB.store, oldB.c.cfg)
			if err != nil {
				t.Fatal(err)
			}
			if !errors.As(again.Halted(), &he) {
				t.Fatal("restarted old binary is not halted")
			}
		})
	}
}

func TestInputErrorsLeaveStateUnchanged(t *testing.T) {
	h := newHarness(t, Config{Versions: []schedule.VersionParams{vp(1, 80)}}, names(3))
	before := h.store.Clone()
	for _, set := range [][]string{nil, {"A", "A"}, {"A", ""}} {
		err := h.c.Maintenance(1, 1, set)
		if !errors.Is(err, ErrInput) {
			t.Fatalf("set %q: want ErrInput, got %v", set, err)
		}
	}
	if !sameStores(before, h.store) {
		t.Fatal("a rejected maintenance changed the store")
	}
	h.mustBlock("SR1", 1) // and the controller is still usable
}

func TestStoreFormatChecks(t *testing.T) {
	cfg := Config{Versions: []schedule.VersionParams{vp(1, 80)}}
	h := newHarness(t, cfg, names(3))
	h.mustBlock("SR1", 1)
	if _, err := New(h.store, Config{Mode: ModeTron, MaintenanceInterval: 60}); err == nil || !strings.Contains(err.Error(), "mode") {
		t.Fatalf("opening a default-mode store in tron mode must fail, got %v", err)
	}
	bad := h.store.Clone()
	bad.m[keyMeta][0] = 9
	if _, err := New(bad, cfg); err == nil || !strings.Contains(err.Error(), "format 9") {
		t.Fatalf("an unknown format byte must be refused, got %v", err)
	}
	trunc := h.store.Clone()
	trunc.m[keySet] = trunc.m[keySet][:3]
	if _, err := New(trunc, cfg); err == nil || !strings.Contains(err.Error(), "truncated") {
		t.Fatalf("a truncated value must be refused, got %v", err)
	}
}

type failingStore struct {
	*MemStore
	fail bool
}

func (f *failingStore) Set(k, v []byte) error {
	if f.fail {
		return errors.New("disk full")
	}
	return f.MemStore.Set(k, v)
}

func TestStoreErrorMakesControllerUnusable(t *testing.T) {
	fs := &failingStore{MemStore: NewMemStore()}
	c, err := New(fs, Config{Versions: []schedule.VersionParams{vp(1, 80)}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Maintenance(0, 0, names(3)); err != nil {
		t.Fatal(err)
	}
	fs.fail = true
	if err := c.ApplyBlock(1, 1, "SR1", 1); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("store error not reported: %v", err)
	}
	fs.fail = false
	if err := c.ApplyBlock(2, 2, "SR2", 1); err == nil || !strings.Contains(err.Error(), "rebuild") {
		t.Fatalf("a broken controller must refuse further input, got %v", err)
	}
}

func TestConfigValidation(t *testing.T) {
	bad := []Config{
		{Versions: []schedule.VersionParams{{Number: 0, Rate: 80}}},
		{Versions: []schedule.VersionParams{{Number: 1, Rate: 0}}},
		{Versions: []schedule.VersionParams{{Number: 1, Rate: 101}}},
		{Versions: []schedule.VersionParams{vp(1, 80), vp(1, 70)}},
		{Versions: []schedule.VersionParams{{Number: 1, Rate: 80, Time: 10, Timeout: 5}}},
		{Mode: ModeTron, Versions: []schedule.VersionParams{vp(20, 80)}},
		{Mode: ModeTron, MaintenanceInterval: 60, Versions: []schedule.VersionParams{{Number: 20, Rate: 80, Grace: 1}}},
		{Params: []ParamDecl{{Name: "x", Version: 3}}},
		{ApprovalNum: 4, ApprovalDen: 3},
	}
	for i, cfg := range bad {
		if _, err := New(NewMemStore(), cfg); err == nil {
			t.Errorf("config %d accepted: %+v", i, cfg)
		}
	}
}

func TestActivationHeightOracle(t *testing.T) {
	var oracle schedule.VersionOracle
	h := newHarness(t, Config{Versions: []schedule.VersionParams{vp(1, 50)}}, names(2))
	oracle = h.c
	if _, ok := oracle.ActivationHeight(1); ok {
		t.Fatal("version 1 is not active yet")
	}
	h.mustBlock("SR1", 1)
	if hgt, ok := oracle.ActivationHeight(1); !ok || hgt != 2 {
		t.Fatalf("ActivationHeight(1) = %d, %v; want 2, true (the block after the one that met the threshold)", hgt, ok)
	}
	if _, ok := oracle.ActivationHeight(9); ok {
		t.Fatal("an undeclared version cannot be active")
	}
}

func TestProposals(t *testing.T) {
	cfg := Config{Versions: []schedule.VersionParams{vp(1, 100)},
		Params: []ParamDecl{{Name: "fee", Version: 1, Default: 10}, {Name: "limit", Default: 1}}}
	h := newHarness(t, cfg, names(3))
	if _, err := h.c.Propose(1, "SR1", "fee", 20); !errors.Is(err, ErrVersionNotActive) {
		t.Fatalf("a parameter of an inactive version must be rejected, got %v", err)
	}
	if _, err := h.c.Propose(1, "X", "limit", 2); !errors.Is(err, ErrNotProducer) {
		t.Fatalf("outsiders cannot propose, got %v", err)
	}
	if _, err := h.c.Propose(1, "SR1", "nope", 2); !errors.Is(err, ErrUnknownParam) {
		t.Fatalf("unknown params are rejected, got %v", err)
	}
	for _, p := range names(3) {
		h.mustBlock(p, 1)
	}
	since, _ := h.c.ActivationHeight(1)
	if _, err := h.c.Propose(since-1, "SR1", "fee", 20); !errors.Is(err, ErrVersionNotActive) {
		t.Fatalf("the version is not active at height %d yet, got %v", since-1, err)
	}
	id1, err := h.c.Propose(since, "SR1", "fee", 20)
	if err != nil {
		t.Fatal(err)
	}
	id2, _ := h.c.Propose(since, "SR2", "limit", 7)
	// fee: exactly 2 of 3 (2*3 >= 2*3) passes; limit: 1 of 3 does not.
	for _, p := range []string{"SR1", "SR3"} {
		if err := h.c.Approve(p, id1); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.c.Approve("SR1", id1); !errors.Is(err, ErrAlreadyApproved) {
		t.Fatalf("double approval: %v", err)
	}
	if err := h.c.Approve("SR2", id2); err != nil {
		t.Fatal(err)
	}
	if v, _ := h.c.Param("fee"); v != 10 {
		t.Fatalf("a change takes effect only at the next maintenance, fee = %d", v)
	}
	h.maintenance(names(3)...)
	if v, _ := h.c.Param("fee"); v != 20 {
		t.Fatalf("approved change not applied: fee = %d", v)
	}
	if v, _ := h.c.Param("limit"); v != 1 {
		t.Fatalf("1 of 3 approvals must not pass 2/3: limit = %d", v)
	}
	if err := h.c.Approve("SR1", id2); !errors.Is(err, ErrUnknownProposal) {
		t.Fatalf("a decided proposal is closed, got %v", err)
	}
	if len(h.c.Status().Proposals) != 0 {
		t.Fatal("decided proposals must leave the open list")
	}
	// Restart keeps the applied value.
	c2, err := New(h.store, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := c2.Param("fee"); v != 20 {
		t.Fatalf("fee after restart = %d", v)
	}
}

func TestStatusJSONFields(t *testing.T) {
	h := newHarness(t, Config{Implemented: 1, Versions: []schedule.VersionParams{{Number: 1, Rate: 50, Grace: 1, MinHeight: 30}, vp(2, 80)}}, names(4))
	h.mustBlock("SR1", 1)
	h.mustBlock("SR2", 3)
	st := h.c.Status()
	v1 := st.Versions[0]
	if v1.State != "locked_in" || v1.SinceHeight != 3 || v1.Tally.Slots != "1100" || !v1.Tally.Frozen ||
		v1.Expected.AfterMaintenances != 1 || v1.Expected.NotBeforeHeight != 30 {
		t.Fatalf("version 1 status %+v", v1)
	}
	v2 := st.Versions[1]
	if v2.Implemented || v2.Tally.Count != 1 || v2.Tally.Threshold != 4 || v2.Expected.MissingSlots != 3 {
		t.Fatalf("version 2 status %+v", v2)
	}
	if st.Newer == nil || st.Newer.Highest != 3 || st.Newer.Count != 1 || st.Newer.Denominator != 4 {
		t.Fatalf("newer %+v", st.Newer)
	}
	if st.Producers[1].LastVersion != 3 || st.Producers[1].PeriodVersion != 3 {
		t.Fatalf("producer status %+v", st.Producers[1])
	}
}

// TestNewerWarningOnDefaultNode: with Implemented = 0 (node, chain and
// simulator default), "implemented" is the highest declared version, so a
// producer signalling above every declared version is reported.
func TestNewerWarningOnDefaultNode(t *testing.T) {
	tests := []struct {
		name        string
		versions    []schedule.VersionParams
		signals     []uint32 // by SR1, SR2, SR3
		implemented uint32   // as Status reports it
		highest     uint32   // 0: no warning
		count       int
	}{
		{"declared versions only", []schedule.VersionParams{vp(1, 80), vp(2, 80)}, []uint32{2, 1, 2}, 2, 0, 0},
		{"one above every declared", []schedule.VersionParams{vp(1, 80), vp(2, 80)}, []uint32{2, 3, 0}, 2, 3, 1},
		{"two above", []schedule.VersionParams{vp(1, 80), vp(2, 80)}, []uint32{4, 3, 2}, 2, 4, 2},
		{"undeclared between declared", []schedule.VersionParams{vp(1, 80), vp(5, 80)}, []uint32{4, 5, 1}, 5, 0, 0},
		{"nothing declared: version 1", nil, []uint32{1, 1, 1}, 1, 0, 0},
		{"nothing declared: above 1", nil, []uint32{1, 2, 1}, 1, 2, 1},
	}
	for _, mode := range []Mode{ModeDefault, ModeTron} {
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%v/%s", mode, tt.name), func(t *testing.T) {
				// Tron ignores signals below 5 for tallies, not for the warning.
				h := newHarness(t, Config{Mode: mode, MaintenanceInterval: 60, Versions: tt.versions}, names(3))
				for i, v := range tt.signals {
					h.mustBlock(names(3)[i], v)
				}
				st := h.c.Status()
				if st.Implemented != tt.implemented {
					t.Errorf("implemented = %d, want %d", st.Implemented, tt.implemented)
				}
				for _, vs := range st.Versions {
					if !vs.Implemented {
						t.Errorf("declared version %d shown as not implemented", vs.Version)
					}
				}
				switch {
				case tt.highest == 0 && st.Newer != nil:
					t.Fatalf("unexpected warning %+v", st.Newer)
				case tt.highest != 0 && st.Newer == nil:
					t.Fatalf("no %q warning for signals %v", NewerMessage, tt.signals)
				case tt.highest != 0 && (st.Newer.Highest != tt.highest || st.Newer.Count != tt.count || st.Newer.Denominator != 3 || st.Newer.Message != NewerMessage):
					t.Fatalf("newer = %+v, want highest %d count %d of 3", st.Newer, tt.highest, tt.count)
				}
				if h.c.Halted() != nil {
					t.Fatal("a default node never halts on its own declared versions")
				}
			})
		}
	}
}

// TestDecreasingTimeRefused: a block or maintenance whose time is before the
// previous input's is refused with its height and both times, the state is
// unchanged, and the controller goes on.
func TestDecreasingTimeRefused(t *testing.T) {
	for _, mode := range []Mode{ModeDefault, ModeTron} {
		t.Run(mode.String(), func(t *testing.T) {
			vs := []schedule.VersionParams{vp(5, 50), {Number: 6, Rate: 50, Time: 100}}
			h := newHarness(t, Config{Mode: mode, MaintenanceInterval: 60, Versions: vs}, names(2))
			h.mustBlock("SR1", 6) // height 1, time 3
			h.mustBlock("SR2", 5) // height 2, time 6
			before, status := h.store.Clone(), h.c.Status()
			calls := []struct {
				what string
				call func() error
			}{
				{"block", func() error { return h.c.ApplyBlock(3, 5, "SR1", 5) }},
				{"maintenance", func() error { return h.c.Maintenance(3, 5, names(2)) }},
			}
			for _, c := range calls {
				err := c.call()
				if !errors.Is(err, ErrInput) {
					t.Fatalf("%s at time 5 after 6: want ErrInput, got %v", c.what, err)
				}
				for _, want := range []string{"block 3", "time 5", "before 6", "block 2", "must not decrease"} {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("%s: %q does not say %q", c.what, err, want)
					}
				}
				if !sameStores(before, h.store) || !reflect.DeepEqual(status, h.c.Status()) {
					t.Fatalf("%s: a refused input changed the state", c.what)
				}
			}
			// Equal times are fine (a maintenance and its block share one),
			// and the refused inputs left the controller usable.
			if err := h.c.Maintenance(3, 6, names(2)); err != nil {
				t.Fatal(err)
			}
			if err := h.c.ApplyBlock(3, 6, "SR1", 5); err != nil {
				t.Fatal(err)
			}
			if err := h.c.ApplyBlock(4, 5, "SR1", 5); !errors.Is(err, ErrInput) {
				t.Fatalf("after a maintenance, time 5 < 6 must still be refused, got %v", err)
			}
		})
	}
}
