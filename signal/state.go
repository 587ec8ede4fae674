package signal

import (
	"fmt"

	"github.com/forkgate/forkgate/schedule"
)

// State is where a version is in its lifecycle:
//
//	defined -> started -> locked_in -> active
//	   |          |
//	   +----------+-----> failed   (timeout before lock-in)
//
// Active is terminal. Failed is terminal for the version's own tally; only a
// higher version passing carries it along (versions are cumulative, so v
// active with v-1 failed would be incoherent).
//
// The number of each state is stored (signal/ver/<v>), so each keeps the
// value written here forever: never renumber, only add.
type State uint8

const (
	Defined  State = 0
	Started  State = 1
	LockedIn State = 2
	Active   State = 3
	Failed   State = 4
)

// stateNames is indexed by the stored number.
var stateNames = [...]string{
	Defined:  "defined",
	Started:  "started",
	LockedIn: "locked_in",
	Active:   "active",
	Failed:   "failed",
}

func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("state(%d)", uint8(s))
}

// ParseState reads a state name as Status writes it.
func ParseState(s string) (State, error) {
	for i, n := range stateNames {
		if n == s {
			return State(i), nil
		}
	}
	return 0, fmt.Errorf("unknown state %q: use defined, started, locked_in, active or failed", s)
}

// passed reports whether the threshold has been met (directly or by cascade).
func (s State) passed() bool { return s == LockedIn || s == Active }

// lifecycle is one version's position; it is all the transition function
// reads and writes.
type lifecycle struct {
	State     State
	Since     int64  // height from which State holds
	GraceLeft uint32 // maintenances still to pass while locked in
}

// event is one input as the transition function sees it. A transition caused
// while processing the block at Height takes effect from Height+1: the block
// itself was executed under the old rules.
type event struct {
	Height      int64
	Time        int64
	Maintenance bool // a maintenance boundary (never meets a threshold: tallies were just reset)
	Met         bool // the live tally meets the version's threshold
}

// next is the pure lifecycle transition: at most one state change per call.
func next(p *schedule.VersionParams, l lifecycle, ev event) lifecycle {
	to := func(s State) lifecycle {
		return lifecycle{State: s, Since: ev.Height + 1}
	}
	timedOut := p.Timeout != 0 && ev.Time > p.Timeout
	switch l.State {
	case Defined:
		if timedOut {
			return to(Failed)
		}
		if ev.Time >= p.Time {
			return to(Started)
		}
	case Started:
		// The deadline is checked before counting: a block after the timeout
		// cannot lock a version in.
		if timedOut {
			return to(Failed)
		}
		if ev.Met && !ev.Maintenance {
			n := to(LockedIn)
			n.GraceLeft = p.Grace
			return n
		}
	case LockedIn:
		if ev.Maintenance && l.GraceLeft > 0 {
			l.GraceLeft--
		}
		if l.GraceLeft == 0 && ev.Height+1 >= p.MinHeight {
			return to(Active)
		}
	}
	return l
}

// advance applies next until the state stops changing, so one block can
// start, lock in and (grace 0) activate a version. A change of GraceLeft
// alone ends the loop, so a maintenance is never counted twice.
func advance(p *schedule.VersionParams, l lifecycle, ev event) lifecycle {
	for {
		n := next(p, l, ev)
		moved := n.State != l.State
		l = n
		if !moved {
			return l
		}
	}
}
