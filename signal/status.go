package signal

import "fmt"

// Status is the JSON-serialisable view a chain's status API exposes. Field
// names are stable (docs/signal.md documents them).
type Status struct {
	Mode        string `json:"mode"`
	Implemented uint32 `json:"implemented"` // highest version this binary implements
	Periods     uint64 `json:"periods"`     // maintenances processed
	// LatestVersion is java-tron's latestVersion (tron mode only).
	LatestVersion uint32           `json:"latest_version,omitempty"`
	Versions      []VersionStatus  `json:"versions"`
	Producers     []ProducerStatus `json:"producers"`
	Newer         *NewerStatus     `json:"newer,omitempty"`
	Params        []ParamStatus    `json:"params"`
	Proposals     []ProposalStatus `json:"proposals"`
	Halt          *HaltStatus      `json:"halt,omitempty"`
}

// VersionStatus is one declared version.
type VersionStatus struct {
	Version     uint32 `json:"version"`
	State       string `json:"state"`
	SinceHeight int64  `json:"since_height"` // height from which State holds (0: from the start)
	Tally       Tally  `json:"tally"`
	// ActivationTime is the earliest activation time in force (tron mode:
	// rounded up to the maintenance interval).
	ActivationTime int64    `json:"activation_time"`
	Rate           uint32   `json:"rate"`
	Grace          uint32   `json:"grace"`
	GraceLeft      uint32   `json:"grace_left"`
	Timeout        int64    `json:"timeout,omitempty"`
	MinHeight      int64    `json:"min_height,omitempty"`
	LockedInHeight int64    `json:"locked_in_height,omitempty"`
	ActivatedTime  int64    `json:"activated_time,omitempty"` // time of the block that activated it
	CarriedBy      uint32   `json:"carried_by,omitempty"`     // passed because this higher version passed
	Expected       Expected `json:"expected_activation"`
	Release        string   `json:"release,omitempty"`
	Implemented    bool     `json:"implemented"`
}

// Tally is a version's support: Count of Denominator slots, Threshold the
// count needed, Slots one character per slot ('1' supports). Frozen tallies
// (passed versions) keep the set they passed with.
type Tally struct {
	Count       int    `json:"count"`
	Threshold   int    `json:"threshold"`
	Denominator int    `json:"denominator"`
	Slots       string `json:"slots"`
	Frozen      bool   `json:"frozen"`
}

// Expected says when a version will activate, as far as the state tells.
// Height is set when the activation height is known exactly.
type Expected struct {
	Height            int64  `json:"height,omitempty"`
	AfterMaintenances uint32 `json:"after_maintenances,omitempty"`
	NotBeforeHeight   int64  `json:"not_before_height,omitempty"`
	NotBeforeTime     int64  `json:"not_before_time,omitempty"`
	MissingSlots      int    `json:"missing_slots,omitempty"`
	Text              string `json:"text"`
}

// ProducerStatus is one slot of the period's set.
type ProducerStatus struct {
	Slot        int    `json:"slot"`
	Producer    string `json:"producer"`
	LastVersion uint32 `json:"last_version"`
	// PeriodVersion is the latest signal this period (default mode).
	PeriodVersion uint32 `json:"period_version"`
}

// NewerStatus reports producers signalling above what this binary
// implements.
type NewerStatus struct {
	Highest     uint32 `json:"highest"`
	Count       int    `json:"count"`
	Denominator int    `json:"denominator"`
	Message     string `json:"message"`
}

// ParamStatus is one declared parameter's current value.
type ParamStatus struct {
	Name    string `json:"name"`
	Version uint32 `json:"version"`
	Value   int64  `json:"value"`
}

// ProposalStatus is one open proposal.
type ProposalStatus struct {
	ID        uint64 `json:"id"`
	Proposer  string `json:"proposer"`
	Param     string `json:"param"`
	Value     int64  `json:"value"`
	Height    int64  `json:"height"`
	Approvals int    `json:"approvals"`
	Needed    int    `json:"needed"`
}

// HaltStatus mirrors HaltError.
type HaltStatus struct {
	Version uint32 `json:"version"`
	Height  int64  `json:"height"`
	Release string `json:"release"`
	Message string `json:"message"`
}

// NewerMessage is the operator warning for signals above this binary.
const NewerMessage = "a newer version is being signalled: upgrade"

// Status returns a snapshot; it reads state and changes nothing.
func (c *Controller) Status() Status {
	st := Status{
		Mode:        c.cfg.Mode.String(),
		Implemented: c.cfg.Implemented,
		Periods:     c.periods,
		Versions:    []VersionStatus{},
		Producers:   []ProducerStatus{},
		Params:      []ParamStatus{},
		Proposals:   []ProposalStatus{},
	}
	if c.cfg.Mode == ModeTron {
		st.LatestVersion = c.latest
	}
	for i := range c.vers {
		st.Versions = append(st.Versions, c.versionStatus(i))
	}
	newer := NewerStatus{Denominator: len(c.set), Message: NewerMessage}
	for i, p := range c.set {
		ps := ProducerStatus{Slot: i, Producer: p, LastVersion: c.slots[i].last}
		if c.cfg.Mode == ModeDefault {
			ps.PeriodVersion = c.slots[i].signal
		}
		st.Producers = append(st.Producers, ps)
		if ps.LastVersion > c.cfg.Implemented {
			newer.Count++
			newer.Highest = max(newer.Highest, ps.LastVersion)
		}
	}
	if newer.Count > 0 {
		st.Newer = &newer
	}
	for i, p := range c.cfg.Params {
		st.Params = append(st.Params, ParamStatus{Name: p.Name, Version: p.Version, Value: c.params[i]})
	}
	needed := int((uint64(c.cfg.ApprovalNum)*uint64(len(c.set)) + uint64(c.cfg.ApprovalDen) - 1) / uint64(c.cfg.ApprovalDen))
	for _, p := range c.props {
		n := 0
		for _, a := range p.approvals {
			n += int(a)
		}
		st.Proposals = append(st.Proposals, ProposalStatus{ID: p.id, Proposer: p.proposer, Param: p.param, Value: p.value, Height: p.height, Approvals: n, Needed: needed})
	}
	if c.halt != nil {
		st.Halt = &HaltStatus{Version: c.halt.Version, Height: c.halt.Height, Release: c.halt.Release, Message: c.halt.Error()}
	}
	return st
}

func (c *Controller) versionStatus(i int) VersionStatus {
	v := &c.vers[i]
	vs := VersionStatus{
		Version: v.p.Number, State: v.lc.State.String(), SinceHeight: v.lc.Since,
		ActivationTime: v.gate, Rate: v.p.Rate, Grace: v.p.Grace, GraceLeft: v.lc.GraceLeft,
		Timeout: v.p.Timeout, MinHeight: v.p.MinHeight, LockedInHeight: v.lockedAt,
		ActivatedTime: v.activeTime, CarriedBy: v.carriedBy, Release: v.p.Release,
		Implemented: v.p.Number <= c.cfg.Implemented,
	}
	vs.Tally = c.tally(v)
	vs.Expected = c.expected(v, vs.Tally)
	return vs
}

func (c *Controller) tally(v *version) Tally {
	frozen := c.cfg.Mode == ModeTron || v.lc.State.passed()
	if frozen {
		// Tron tallies are the stats arrays themselves; default-mode passed
		// versions keep the tally they passed with.
		t := Tally{Count: v.ones, Denominator: len(v.bits), Slots: bitString(v.bits), Frozen: v.lc.State.passed()}
		t.Threshold = threshold(v.p.Rate, t.Denominator)
		if v.bits == nil {
			// No array yet (java-tron's null): show what a fresh array of
			// the current set would need.
			t.Threshold = threshold(v.p.Rate, len(c.set))
		}
		return t
	}
	b := make([]byte, len(c.slots))
	for j := range c.slots {
		if c.slots[j].signal >= v.p.Number {
			b[j] = 1
		}
	}
	return Tally{Count: v.live, Denominator: len(b), Threshold: threshold(v.p.Rate, len(b)), Slots: bitString(b)}
}

func bitString(b []byte) string {
	s := make([]byte, len(b))
	for i, x := range b {
		s[i] = '0' + x&1
	}
	return string(s)
}

func (c *Controller) expected(v *version, t Tally) Expected {
	switch v.lc.State {
	case Active:
		return Expected{Height: v.lc.Since, Text: fmt.Sprintf("active from height %d", v.lc.Since)}
	case Failed:
		return Expected{Text: "failed: timed out before lock-in; only a higher version passing can carry it"}
	case LockedIn:
		e := Expected{AfterMaintenances: v.lc.GraceLeft, NotBeforeHeight: v.p.MinHeight}
		switch {
		case v.lc.GraceLeft == 0:
			e.Height = v.p.MinHeight
			e.Text = fmt.Sprintf("locked in: active from height %d (its min height)", v.p.MinHeight)
		case v.p.MinHeight > 0:
			e.Text = fmt.Sprintf("locked in: active at the %s maintenance from now, and not before height %d", ordinal(v.lc.GraceLeft), v.p.MinHeight)
		default:
			e.Text = fmt.Sprintf("locked in: active at the %s maintenance from now", ordinal(v.lc.GraceLeft))
		}
		return e
	}
	missing := max(t.Threshold-t.Count, 0)
	if t.Denominator == 0 {
		missing = threshold(v.p.Rate, len(c.set))
	}
	e := Expected{NotBeforeTime: v.gate, NotBeforeHeight: v.p.MinHeight, MissingSlots: missing}
	grace := ""
	if v.p.Grace > 0 {
		grace = fmt.Sprintf(", then %d maintenance(s) of grace", v.p.Grace)
	}
	if v.lc.State == Defined {
		e.Text = fmt.Sprintf("waiting for time %d; then %d more slot(s) this period%s", v.gate, missing, grace)
	} else {
		e.Text = fmt.Sprintf("needs %d more slot(s) this period%s", missing, grace)
	}
	return e
}

func ordinal(n uint32) string {
	switch n {
	case 1:
		return "1st"
	case 2:
		return "2nd"
	case 3:
		return "3rd"
	}
	return fmt.Sprintf("%dth", n)
}
