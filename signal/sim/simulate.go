package sim

import (
	"fmt"
	"strings"

	"github.com/forkgate/forkgate/signal"
)

// ReportSchema names the JSON layout of Report; bump it on any
// incompatible change.
const ReportSchema = "forkgate.signal.simulate/v1"

// Report is the outcome of running a scenario.
type Report struct {
	Schema       string        `json:"schema"`
	File         string        `json:"file"`
	Name         string        `json:"name,omitempty"`
	Mode         string        `json:"mode"`
	OK           bool          `json:"ok"`
	Expectations int           `json:"expectations"`    // expectations checked
	Height       int64         `json:"height"`          // last applied block
	Time         int64         `json:"time"`            // its time
	Steps        []StepReport  `json:"steps,omitempty"` // only with each
	Failures     []Failure     `json:"failures"`
	Final        signal.Status `json:"final"`
}

// StepReport is one step; Status is filled when every step is reported.
type StepReport struct {
	Index  int            `json:"index"` // 1-based
	Line   int            `json:"line"`
	Action string         `json:"action"`
	Note   string         `json:"note,omitempty"`
	Error  string         `json:"error,omitempty"`
	Status *signal.Status `json:"status,omitempty"`
}

// Failure is an expectation that did not hold, or an unexpected error.
type Failure struct {
	Index   int    `json:"index"`
	Line    int    `json:"line"`
	Message string `json:"message"`
}

// Run plays the scenario on a fresh in-memory store. With each, the report
// lists every step with the status after it; without, only the final
// status. A step error that the step does not expect is a failure and stops
// the run. Parse has checked the config and the genesis set, so an error
// here (an *Error) means a Scenario built by hand.
func (s *Scenario) Run(each bool) (*Report, error) {
	c, err := signal.New(signal.NewMemStore(), s.Config)
	if err != nil {
		return nil, &Error{File: s.File, Msg: err.Error()}
	}
	r := &Report{Schema: ReportSchema, File: s.File, Name: s.Name, Mode: s.Config.Mode.String(), Failures: []Failure{}, Steps: []StepReport{}}
	if !each {
		r.Steps = nil
	}
	if err := c.Maintenance(0, s.StartTime, s.Producers); err != nil {
		return nil, &Error{File: s.File, Line: s.producersLine, Msg: fmt.Sprintf("genesis maintenance: %v", err)}
	}
	height, nextTime := int64(0), s.StartTime
	r.Time = s.StartTime
	nextID := uint64(1)
	for i, st := range s.steps {
		sr := StepReport{Index: i + 1, Line: st.line, Note: st.Note}
		fail := func(format string, args ...any) {
			r.Failures = append(r.Failures, Failure{Index: i + 1, Line: st.line, Message: fmt.Sprintf(format, args...)})
		}
		if st.Time != nil {
			nextTime = *st.Time
		}
		var err error
		var acts []string
		switch {
		case len(st.blocks) > 0:
			firstH, firstT := height+1, nextTime
			for _, b := range st.blocks {
				height++
				acts = append(acts, fmt.Sprintf("%s:%d", b.producer, b.version))
				r.Height, r.Time = height, nextTime
				err = c.ApplyBlock(height, nextTime, b.producer, b.version)
				nextTime += s.BlockInterval
				if err != nil {
					break
				}
			}
			sr.Action = fmt.Sprintf("blocks %d..%d at time %d..%d: %s", firstH, height, firstT, r.Time, strings.Join(acts, " "))
		case st.Maintenance != nil:
			sr.Action = fmt.Sprintf("maintenance at height %d time %d: %s", height+1, nextTime, strings.Join(st.Maintenance, " "))
			err = c.Maintenance(height+1, nextTime, st.Maintenance)
		case st.Propose != nil:
			p := st.Propose
			var id uint64
			id, err = c.Propose(height+1, p.Producer, p.Param, p.Value)
			if err == nil {
				nextID = id + 1
			}
			sr.Action = fmt.Sprintf("propose %s = %d by %s (id %d)", p.Param, p.Value, p.Producer, nextID-1)
		case st.Approve != nil:
			a := st.Approve
			sr.Action = fmt.Sprintf("approve proposal %d by %s", a.Proposal, strings.Join(a.Producers, " "))
			for _, p := range a.Producers {
				if err = c.Approve(p, a.Proposal); err != nil {
					break
				}
			}
		default:
			sr.Action = "expect"
		}
		if err != nil {
			sr.Error = err.Error()
		}
		stop := false
		switch {
		case st.ExpectError != "" && err == nil:
			fail("expected an error containing %q, got none", st.ExpectError)
		case st.ExpectError != "" && !strings.Contains(err.Error(), st.ExpectError):
			fail("expected an error containing %q, got: %v", st.ExpectError, err)
		case st.ExpectError == "" && err != nil:
			fail("unexpected error: %v", err)
			stop = true
		}
		status := c.Status()
		for _, e := range st.Expect {
			r.Expectations++
			for _, msg := range check(e, &status, c) {
				fail("%s", msg)
			}
		}
		if each {
			sr.Status = &status
			r.Steps = append(r.Steps, sr)
		}
		if stop {
			if rest := len(s.steps) - i - 1; rest > 0 {
				fail("stopped: %d later step(s) not run", rest)
			}
			break
		}
	}
	r.Final = c.Status()
	r.OK = len(r.Failures) == 0
	return r, nil
}

// check compares one expectation with the status and returns what differs.
func check(e expectSpec, st *signal.Status, c *signal.Controller) []string {
	var out []string
	diff := func(what string, want, got any) {
		if fmt.Sprint(want) != fmt.Sprint(got) {
			out = append(out, fmt.Sprintf("%s: want %v, got %v", what, want, got))
		}
	}
	if e.Version != nil {
		var vs *signal.VersionStatus
		for i := range st.Versions {
			if st.Versions[i].Version == *e.Version {
				vs = &st.Versions[i]
			}
		}
		name := fmt.Sprintf("version %d", *e.Version)
		if e.State != nil {
			diff(name+" state", *e.State, vs.State)
		}
		if e.Since != nil {
			diff(name+" since_height", *e.Since, vs.SinceHeight)
		}
		if e.Count != nil {
			diff(name+" tally count", *e.Count, vs.Tally.Count)
		}
		if e.Denominator != nil {
			diff(name+" tally denominator", *e.Denominator, vs.Tally.Denominator)
		}
		if e.Threshold != nil {
			diff(name+" tally threshold", *e.Threshold, vs.Tally.Threshold)
		}
		if e.Slots != nil {
			diff(name+" tally slots", *e.Slots, vs.Tally.Slots)
		}
		if e.CarriedBy != nil {
			diff(name+" carried_by", *e.CarriedBy, vs.CarriedBy)
		}
	}
	if e.Param != nil {
		v, _ := c.Param(*e.Param)
		diff("param "+*e.Param, *e.Value, v)
	}
	if e.Producer != nil {
		got := "not in the set"
		for _, p := range st.Producers {
			if p.Producer == *e.Producer {
				got = fmt.Sprint(p.LastVersion)
			}
		}
		diff("producer "+*e.Producer+" last_version", *e.LastVersion, got)
	}
	if e.Halted != nil {
		diff("halted", *e.Halted, st.Halt != nil)
	}
	if e.LatestVersion != nil {
		diff("latest_version", *e.LatestVersion, st.LatestVersion)
	}
	var highest uint32
	count := 0
	if st.Newer != nil {
		highest, count = st.Newer.Highest, st.Newer.Count
	}
	if e.Newer != nil {
		diff("newer (highest signal above this binary)", *e.Newer, highest)
	}
	if e.NewerCount != nil {
		diff("newer_count", *e.NewerCount, count)
	}
	return out
}
