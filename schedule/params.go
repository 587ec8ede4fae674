package schedule

import (
	"fmt"
	"sort"
	"strconv"
)

// Value is a parameter value as written in config. Integers are parsed once so
// per-block queries do no conversion.
type Value struct {
	Text  string // the TOML text, e.g. `1000` or `"abc"`
	Int   int64
	IsInt bool
}

// IntValue makes an integer Value.
func IntValue(n int64) Value { return Value{Text: strconv.FormatInt(n, 10), Int: n, IsInt: true} }

func (v Value) String() string { return v.Text }

// param is a height-versioned parameter, as Chain33's mver: a base value and
// overrides, each taking effect when its fork activates.
type param struct {
	name       string
	base       Value
	hasBase    bool
	baseOrigin string
	overrides  []override // latest activation first
}

type override struct {
	fork   int // index into Schedule.forks
	value  Value
	origin string
}

func (s *Schedule) buildParams(settings []ParamSetting) Findings {
	var fs Findings
	for _, ps := range settings {
		p := s.params[ps.Name]
		if p == nil {
			p = &param{name: ps.Name}
			s.params[ps.Name] = p
		}
		if ps.Fork == "" {
			if p.hasBase {
				fs = append(fs, Finding{Severity: SevError, Rule: RuleDuplicate, Origin: ps.Origin,
					Message: fmt.Sprintf("parameter %s has two base values (first at %s); keep one", ps.Name, p.baseOrigin)})
				continue
			}
			p.base, p.hasBase, p.baseOrigin = ps.Value, true, ps.Origin
			continue
		}
		i, ok := s.index[ps.Fork]
		if !ok {
			fs = append(fs, Finding{Severity: SevError, Rule: RuleUnknownParamFor, Origin: ps.Origin, Fork: ps.Fork,
				Message: fmt.Sprintf("parameter %s is set for fork %s, which the schedule does not hold; declare the fork or fix the name", ps.Name, ps.Fork)})
			continue
		}
		k := s.forks[i].activation.Kind
		if k == KindTime || s.forks[i].fork.Domain == DomainParent {
			fs = append(fs, Finding{Severity: SevError, Rule: RuleParamConflict, Origin: ps.Origin, Fork: ps.Fork,
				Message: fmt.Sprintf("parameter %s follows fork %s, which activates by %s; parameters must follow forks counted in the chain's own height or version", ps.Name, ps.Fork, describeDomain(s.forks[i]))})
			continue
		}
		for _, o := range p.overrides {
			if o.fork == i {
				fs = append(fs, Finding{Severity: SevError, Rule: RuleDuplicate, Origin: ps.Origin, Fork: ps.Fork,
					Message: fmt.Sprintf("parameter %s is set twice for fork %s (first at %s); keep one", ps.Name, ps.Fork, o.origin)})
				ok = false
			} else if a, b := s.forks[o.fork].activation, s.forks[i].activation; a == b && !a.IsNever() {
				// Chain33 breaks such ties by fork name order, silently
				// changing the value when a fork is renamed; refuse instead.
				fs = append(fs, Finding{Severity: SevError, Rule: RuleParamConflict, Origin: ps.Origin, Fork: ps.Fork,
					Message: fmt.Sprintf("parameter %s is set by %s and %s, which both activate at %s; move one of the forks", ps.Name, s.forks[o.fork].fork.Key(), ps.Fork, a)})
				ok = false
			}
		}
		if ok {
			p.overrides = append(p.overrides, override{fork: i, value: ps.Value, origin: ps.Origin})
		}
	}
	s.sortParamOverrides()
	return fs
}

func describeDomain(r resolved) string {
	if r.activation.Kind == KindTime {
		return "time"
	}
	return "the parent chain's height"
}

// sortParamOverrides orders overrides latest activation first; forks that are
// not (yet) active sort last. Version activations move forks, so this reruns
// after each one.
func (s *Schedule) sortParamOverrides() {
	for _, p := range s.params {
		sort.SliceStable(p.overrides, func(i, j int) bool {
			ai, aj := s.forks[p.overrides[i].fork].at, s.forks[p.overrides[j].fork].at
			if (ai == NeverHeight) != (aj == NeverHeight) {
				return aj == NeverHeight
			}
			if ai != aj {
				return ai > aj
			}
			return s.forks[p.overrides[i].fork].fork.Key() < s.forks[p.overrides[j].fork].fork.Key()
		})
	}
}

// ParamHandle is a parameter resolved once for cheap per-block queries.
type ParamHandle struct {
	s *Schedule
	p *param
}

// Param returns the handle of a height-versioned parameter.
func (s *Schedule) Param(name string) (ParamHandle, bool) {
	p, ok := s.params[name]
	return ParamHandle{s: s, p: p}, ok
}

// Params lists the parameter names, sorted.
func (s *Schedule) Params() []string {
	out := make([]string, 0, len(s.params))
	for n := range s.params {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// At returns the value in force at height: the value of the latest active
// fork that sets it, else the base value. ok is false when neither applies.
func (h ParamHandle) At(height int64) (Value, bool) {
	for _, o := range h.p.overrides {
		at := h.s.forks[o.fork].at
		if at == NeverHeight {
			break // the rest are not active either
		}
		if height >= at {
			return o.value, true
		}
	}
	return h.p.base, h.p.hasBase
}

// Int returns the integer value in force at height, or def when the parameter
// is unset or not an integer there.
func (h ParamHandle) Int(height int64, def int64) int64 {
	v, ok := h.At(height)
	if !ok || !v.IsInt {
		return def
	}
	return v.Int
}

// ParamValue is the by-name convenience query.
func (s *Schedule) ParamValue(name string, height int64) (Value, bool) {
	h, ok := s.Param(name)
	if !ok {
		return Value{}, false
	}
	return h.At(height)
}

// ParamHistory lists a parameter's base and overrides, for show and diff.
type ParamHistory struct {
	Name      string
	Base      *Value
	Overrides []ParamOverride // earliest activation first, unscheduled last
}

// ParamOverride is one fork-bound value of a parameter.
type ParamOverride struct {
	Fork       string
	Activation Activation
	Value      Value
}

// ParamHistories returns every parameter's history, sorted by name.
func (s *Schedule) ParamHistories() []ParamHistory {
	var out []ParamHistory
	for _, name := range s.Params() {
		p := s.params[name]
		ph := ParamHistory{Name: name}
		if p.hasBase {
			b := p.base
			ph.Base = &b
		}
		for _, o := range p.overrides {
			r := s.forks[o.fork]
			ph.Overrides = append(ph.Overrides, ParamOverride{Fork: r.fork.Key(), Activation: r.activation, Value: o.value})
		}
		sort.SliceStable(ph.Overrides, func(i, j int) bool {
			return s.forks[s.index[ph.Overrides[i].Fork]].at < s.forks[s.index[ph.Overrides[j].Fork]].at
		})
		out = append(out, ph)
	}
	return out
}
