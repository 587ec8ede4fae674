package signal

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/forkgate/forkgate/schedule"
)

// legacy is a reference model of java-tron's ForkController before TIP-555
// (PR #5247's parent), kept only to show that the four bugs TIP-555 lists
// are real there and absent in both modes here. Java arrays become slices;
// an out-of-bounds write panics as ArrayIndexOutOfBoundsException would.
type legacy struct {
	vers     []schedule.VersionParams // ascending
	stats    map[uint32][]byte        // read by key only, never iterated
	set      []string
	time     int64
	interval int64
}

func newLegacy(vers []schedule.VersionParams, set []string) *legacy {
	return &legacy{vers: vers, stats: map[uint32][]byte{}, set: set, interval: 21600}
}

func (l *legacy) check(s []byte) bool {
	if len(s) == 0 {
		return false
	}
	for _, b := range s {
		if b != 1 {
			return false
		}
	}
	return true
}

func (l *legacy) pass(v uint32) bool {
	if v <= 16 {
		return l.check(l.stats[v])
	}
	for _, p := range l.vers {
		if p.Number != v {
			continue
		}
		s := l.stats[v]
		if l.time < tronGate(p.Time, l.interval) || len(s) == 0 {
			return false
		}
		n := 0
		for _, b := range s {
			n += int(b)
		}
		// Bug 1: the denominator is the *current* SR count.
		return n*100 >= int(p.Rate)*len(l.set)
	}
	return false
}

func (l *legacy) update(producer string, v uint32, time int64) {
	l.time = time
	slot := -1
	for i, p := range l.set {
		if p == producer {
			slot = i
		}
	}
	if slot < 0 || v < 5 {
		return
	}
	// downgrade(): bug 2, it skips only 100% arrays (check, not pass); bug 3,
	// it indexes arrays sized for an older set.
	for _, p := range l.vers {
		if s := l.stats[p.Number]; p.Number > v && s != nil && !l.check(s) {
			s[slot] = 0
		}
	}
	s := l.stats[v]
	if l.check(s) { // bug 4: lower versions are filled only after a 100% pass
		for _, p := range l.vers {
			if p.Number < v && !l.check(l.stats[p.Number]) {
				lo := l.stats[p.Number]
				if len(lo) == 0 {
					lo = make([]byte, len(s))
				}
				for i := range lo {
					lo[i] = 1
				}
				l.stats[p.Number] = lo
			}
		}
		return
	}
	// Case 2 of bug 2: an array of another length is replaced, votes and all.
	if s == nil || len(s) != len(l.set) {
		s = make([]byte, len(l.set))
	}
	s[slot] = 1
	l.stats[v] = s
}

// maintenance: pre-TIP-555 reset() ran before the SR list changed and kept
// each array's length.
func (l *legacy) maintenance(set []string) {
	for _, p := range l.vers {
		if s := l.stats[p.Number]; s != nil && !l.pass(p.Number) {
			clear(s)
		}
	}
	l.set = set
}

// bugCase is one TIP-555 case as inputs; each input is "P:v" (a block) or a
// producer list (a maintenance).
type bugCase struct {
	name     string
	set      []string
	inputs   []any
	panics   bool                                  // the legacy model must index out of bounds
	legacyOK func(l *legacy) (ok bool, why string) // must be false: the bug is reproduced
	fixed    func(h *harness) error                // must be nil in both modes
}

func legacyVersions() []schedule.VersionParams {
	return []schedule.VersionParams{
		{Number: v4_3, Rate: 80, Time: hardForkTime},
		{Number: v4_4, Rate: 80, Time: hardForkTime},
		{Number: v4_5, Rate: 80, Time: hardForkTime},
	}
}

func activeWith(h *harness, v uint32, count, den int) error {
	if s := h.state(v); s != Active {
		return fmt.Errorf("version %d is %v, want active", v, s)
	}
	if tl := h.tally(v); tl.Count != count || tl.Denominator != den {
		return fmt.Errorf("version %d tally %d/%d, want %d/%d", v, tl.Count, tl.Denominator, count, den)
	}
	return nil
}

var bugCases = []bugCase{
	{
		name:   "percent: SR count 5 -> 6 un-passes a version passed at 4/5",
		set:    names(5),
		inputs: []any{"SR1:23", "SR2:23", "SR3:23", "SR4:23", names(6)},
		legacyOK: func(l *legacy) (bool, string) {
			return l.pass(v4_4), "4_4 no longer passes after the set grew (4/6 < 80%)"
		},
		fixed: func(h *harness) error { return activeWith(h, v4_4, 4, 5) },
	},
	{
		name:   "roll back case 1: a downgrade after a pass un-passes it",
		set:    names(5),
		inputs: []any{"SR1:23", "SR2:23", "SR4:23", "SR5:23", "SR2:22"},
		legacyOK: func(l *legacy) (bool, string) {
			return l.pass(v4_4), fmt.Sprintf("4_4 = %v after SR2 produced 4_3", l.stats[v4_4])
		},
		fixed: func(h *harness) error { return activeWith(h, v4_4, 4, 5) },
	},
	{
		name:   "roll back case 2: an appended SR producing a passed version replaces its array",
		set:    names(5),
		inputs: []any{"SR1:23", "SR2:23", "SR3:23", "SR4:23", names(6), "SR6:23"},
		legacyOK: func(l *legacy) (bool, string) {
			n := 0
			for _, b := range l.stats[v4_4] {
				n += int(b)
			}
			return n >= 4, fmt.Sprintf("4_4 = %v: the four votes it passed with are gone", l.stats[v4_4])
		},
		fixed: func(h *harness) error { return activeWith(h, v4_4, 4, 5) },
	},
	{
		name:   "out of bounds: an appended SR producing an old version",
		set:    names(4),
		inputs: []any{"SR1:22", "SR2:22", "SR3:22", "SR4:22", "SR1:24", names(5), "SR5:22"},
		panics: true,
		fixed: func(h *harness) error {
			if tl := h.tally(v4_5); tl.Denominator != 5 || tl.Count != 0 {
				return fmt.Errorf("4_5 tally %+v, want 0/5", tl)
			}
			return activeWith(h, v4_3, 4, 4)
		},
	},
	{
		name:   "historical versions: a pass below 100% leaves lower versions unpassed",
		set:    names(5),
		inputs: []any{"SR3:22", "SR1:23", "SR2:23", "SR3:23", "SR4:23", "SR1:23"},
		legacyOK: func(l *legacy) (bool, string) {
			return !l.pass(v4_4) || l.pass(v4_3), fmt.Sprintf("4_4 passed but 4_3 = %v did not", l.stats[v4_3])
		},
		fixed: func(h *harness) error {
			if s := h.state(v4_3); s != Active {
				return fmt.Errorf("4_3 is %v, want active", s)
			}
			return nil
		},
	},
}

// parseInput reads a "producer:version" test input.
func parseInput(s string) (string, uint32) {
	i := strings.LastIndexByte(s, ':')
	v, err := strconv.ParseUint(s[i+1:], 10, 32)
	if i <= 0 || err != nil {
		panic("bad test input " + s)
	}
	return s[:i], uint32(v)
}

func TestLegacyReproducesTIP555Bugs(t *testing.T) {
	for _, bc := range bugCases {
		t.Run(bc.name, func(t *testing.T) {
			l := newLegacy(legacyVersions(), bc.set)
			var panicked any
			func() {
				defer func() { panicked = recover() }()
				time := int64(hardForkTime)
				for _, in := range bc.inputs {
					switch x := in.(type) {
					case string:
						p, v := parseInput(x)
						l.update(p, v, time)
						time += 3
					case []string:
						l.maintenance(x)
					}
				}
			}()
			if bc.panics {
				if panicked == nil {
					t.Fatal("the legacy model should index out of bounds here")
				}
				return
			}
			if panicked != nil {
				t.Fatalf("unexpected panic: %v", panicked)
			}
			if ok, why := bc.legacyOK(l); ok {
				t.Fatal("the legacy model no longer shows the bug")
			} else {
				t.Log("reproduced:", why)
			}
		})
	}
}

func TestTIP555BugsAbsent(t *testing.T) {
	for _, mode := range []Mode{ModeDefault, ModeTron} {
		for _, bc := range bugCases {
			t.Run(mode.String()+"/"+bc.name, func(t *testing.T) {
				h := newHarness(t, Config{Mode: mode, MaintenanceInterval: 21600, Versions: legacyVersions()}, bc.set)
				h.time = hardForkTime
				for _, in := range bc.inputs {
					switch x := in.(type) {
					case string:
						p, v := parseInput(x)
						h.mustBlock(p, v)
					case []string:
						h.maintenance(x...)
					}
				}
				if err := bc.fixed(h); err != nil {
					t.Fatal(err)
				}
			})
		}
	}
}
