package signal

import (
	"testing"

	"github.com/forkgate/forkgate/schedule"
)

// TestTransitionTable walks every edge of the lifecycle, one next() call at
// a time (btcd thresholdstate style), including the boundaries of each gate.
func TestTransitionTable(t *testing.T) {
	p := schedule.VersionParams{Number: 2, Time: 100, Rate: 80, Grace: 2, Timeout: 500}
	minH := p
	minH.Grace, minH.MinHeight = 0, 50
	noTimeout := p
	noTimeout.Timeout = 0
	lc := func(s State, since int64, g uint32) lifecycle { return lifecycle{State: s, Since: since, GraceLeft: g} }
	blk := func(h, t int64, met bool) event { return event{Height: h, Time: t, Met: met} }
	mnt := func(h, t int64) event { return event{Height: h, Time: t, Maintenance: true} }
	tests := []struct {
		name string
		p    schedule.VersionParams
		in   lifecycle
		ev   event
		want lifecycle
	}{
		{"defined stays before time", p, lc(Defined, 0, 0), blk(9, 99, true), lc(Defined, 0, 0)},
		{"defined starts at time (inclusive)", p, lc(Defined, 0, 0), blk(9, 100, false), lc(Started, 10, 0)},
		{"defined starts on a maintenance too", p, lc(Defined, 0, 0), mnt(9, 150), lc(Started, 10, 0)},
		{"defined fails after timeout", p, lc(Defined, 0, 0), blk(9, 501, false), lc(Failed, 10, 0)},
		{"defined at timeout exactly starts", p, lc(Defined, 0, 0), blk(9, 500, false), lc(Started, 10, 0)},
		{"defined never times out without timeout", noTimeout, lc(Defined, 0, 0), blk(9, 1<<40, false), lc(Started, 10, 0)},
		{"started stays below threshold", p, lc(Started, 10, 0), blk(20, 200, false), lc(Started, 10, 0)},
		{"started locks in at threshold", p, lc(Started, 10, 0), blk(20, 200, true), lc(LockedIn, 21, 2)},
		{"started at timeout exactly still locks in", p, lc(Started, 10, 0), blk(20, 500, true), lc(LockedIn, 21, 2)},
		{"started fails after timeout even if met", p, lc(Started, 10, 0), blk(20, 501, true), lc(Failed, 21, 0)},
		{"started never locks in on a maintenance", p, lc(Started, 10, 0), event{Height: 20, Time: 200, Maintenance: true, Met: true}, lc(Started, 10, 0)},
		{"locked_in counts a maintenance", p, lc(LockedIn, 21, 2), mnt(30, 300), lc(LockedIn, 21, 1)},
		{"locked_in ignores blocks while grace remains", p, lc(LockedIn, 21, 1), blk(31, 300, false), lc(LockedIn, 21, 1)},
		{"locked_in activates at the last grace maintenance", p, lc(LockedIn, 21, 1), mnt(40, 400), lc(Active, 41, 0)},
		{"locked_in ignores timeout", p, lc(LockedIn, 21, 1), mnt(40, 9999), lc(Active, 41, 0)},
		{"grace 0 waits for min height", minH, lc(LockedIn, 21, 0), blk(48, 300, false), lc(LockedIn, 21, 0)},
		{"grace 0 activates at min height", minH, lc(LockedIn, 21, 0), blk(49, 300, false), lc(Active, 50, 0)},
		{"active is terminal", p, lc(Active, 41, 0), blk(90, 9999, false), lc(Active, 41, 0)},
		{"failed is terminal", p, lc(Failed, 21, 0), blk(90, 300, true), lc(Failed, 21, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := next(&tt.p, tt.in, tt.ev); got != tt.want {
				t.Fatalf("next(%+v, %+v) = %+v, want %+v", tt.in, tt.ev, got, tt.want)
			}
		})
	}
}

func TestAdvanceChainsTransitions(t *testing.T) {
	p := schedule.VersionParams{Number: 1, Time: 100, Rate: 50}
	got := advance(&p, lifecycle{}, event{Height: 7, Time: 100, Met: true})
	if want := (lifecycle{State: Active, Since: 8}); got != want {
		t.Fatalf("grace 0: one block should start, lock in and activate: got %+v", got)
	}
	p.Grace = 2
	l := lifecycle{State: LockedIn, Since: 3, GraceLeft: 2}
	if got := advance(&p, l, event{Height: 9, Maintenance: true}); got.GraceLeft != 1 || got.State != LockedIn {
		t.Fatalf("one maintenance must count once: got %+v", got)
	}
}

func TestStateNames(t *testing.T) {
	for s := Defined; s <= Failed; s++ {
		back, err := ParseState(s.String())
		if err != nil || back != s {
			t.Fatalf("%v does not round-trip: %v %v", s, back, err)
		}
	}
	if _, err := ParseState("passed"); err == nil {
		t.Fatal("unknown state name accepted")
	}
}
