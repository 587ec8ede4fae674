package schedule

import (
	"fmt"
	"sort"
	"strconv"
)

// ValueType is the TOML type of a parameter value.
type ValueType uint8

const (
	TypeOther  ValueType = iota // a table, date or anything else read as text
	TypeInt                     // a 64-bit integer
	TypeString                  // a string
	TypeBool                    // true or false
	TypeList                    // an array
)

var typeNames = [...]string{"other", "integer", "string", "boolean", "list"}

func (t ValueType) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return fmt.Sprintf("type(%d)", uint8(t))
}

// Value is a parameter value as written in config. Text is its canonical
// TOML text, the one compared by diff and the compatibility check; integers
// are also parsed once so per-block queries do no conversion.
type Value struct {
	Type ValueType
	Text string // e.g. `1000`, `"abc"`, `["a", "b"]`
	Int  int64  // TypeInt only
}

// IntValue makes an integer Value.
func IntValue(n int64) Value { return Value{Type: TypeInt, Text: strconv.FormatInt(n, 10), Int: n} }

// IsInt reports whether the value is an integer.
func (v Value) IsInt() bool { return v.Type == TypeInt }

func (v Value) String() string { return v.Text }

// Param declares a height-versioned parameter that code reads, with its type
// and bounds, so a config that gives it a value of the wrong type is refused
// at lint, init and start instead of being replaced by a default.
type Param struct {
	Name     string // "module.key", e.g. "coins.minFee"
	Type     ValueType
	Min, Max int64 // integer bounds (both 0: any value)
	Default  Value // what the code uses when no config sets it
	Note     string
}

// check reports why v is not a valid value of the parameter.
func (p Param) check(v Value) error {
	if v.Type != p.Type {
		return fmt.Errorf("is a %s here, but the chain reads %s as a %s", v.Type, p.Name, p.Type)
	}
	if p.Type == TypeInt && (p.Min != 0 || p.Max != 0) && (v.Int < p.Min || v.Int > p.Max) {
		return fmt.Errorf("%d is outside %d..%d", v.Int, p.Min, p.Max)
	}
	return nil
}

// param is a height-versioned parameter, as Chain33's mver: a base value and
// overrides, each taking effect when its fork activates.
type param struct {
	name       string
	base       Value
	hasBase    bool
	baseOrigin string
	overrides  []override // sorted by fork key
}

type override struct {
	fork   int // index into Schedule.forks
	value  Value
	origin string
}

func (s *Schedule) buildParams(reg *Registry, settings []ParamSetting) Findings {
	var fs Findings
	for _, ps := range settings {
		if reg != nil {
			if decl, ok := reg.LookupParam(ps.Name); ok {
				if err := decl.check(ps.Value); err != nil {
					fs = append(fs, Finding{Severity: SevError, Rule: RuleBadValue, Origin: ps.Origin, Fork: ps.Fork,
						Message: fmt.Sprintf("parameter %s = %s: %v; write it as a %s", ps.Name, ps.Value.Text, err, decl.Type)})
					continue
				}
			} else if reg.hasParamModule(ps.Name) {
				fs = append(fs, Finding{Severity: SevWarning, Rule: RuleUnknownParam, Origin: ps.Origin, Fork: ps.Fork,
					Message: fmt.Sprintf("parameter %s is not read by this chain (it reads %s); check the spelling", ps.Name, reg.paramNames(ps.Name))})
			}
		}
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
	for _, p := range s.params {
		sort.Slice(p.overrides, func(i, j int) bool { return p.overrides[i].fork < p.overrides[j].fork })
	}
	return fs
}

func describeDomain(r resolved) string {
	if r.activation.Kind == KindTime {
		return "time"
	}
	return "the parent chain's height"
}

// ParamHandle is a parameter resolved once for cheap per-block queries.
type ParamHandle struct {
	p *param
}

// Param returns the handle of a height-versioned parameter.
func (s *Schedule) Param(name string) (ParamHandle, bool) {
	p, ok := s.params[name]
	return ParamHandle{p: p}, ok
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

// Param is the value in force for the rules' block: the value set for the
// active fork that activated last, else the base value. Two active forks
// activating at the same height cannot both be static (Build refuses that);
// when a version activates at a fork's height, the fork that sorts later by
// key wins, as in Chain33. ok is false when neither applies.
func (r *Rules) Param(h ParamHandle) (Value, bool) {
	if h.p == nil {
		return Value{}, false
	}
	best, at := -1, int64(-1)
	for i, o := range h.p.overrides {
		if s := r.since[o.fork]; s != NeverHeight && s >= at {
			best, at = i, s
		}
	}
	if best >= 0 {
		return h.p.overrides[best].value, true
	}
	return h.p.base, h.p.hasBase
}

// Int is the integer value in force, or def when the parameter is unset
// there. Declared parameters are type-checked at Build, so a non-integer
// never reaches a chain that declared the parameter an integer.
func (r *Rules) Int(h ParamHandle, def int64) int64 {
	v, ok := r.Param(h)
	if !ok || !v.IsInt() {
		return def
	}
	return v.Int
}

// ParamValue is the by-name convenience query for a block.
func (s *Schedule) ParamValue(name string, b Block, o VersionOracle) (Value, bool) {
	h, ok := s.Param(name)
	if !ok {
		return Value{}, false
	}
	r := s.Rules(b, o)
	return r.Param(h)
}

// ParamHistory lists a parameter's base and overrides, for show and diff.
type ParamHistory struct {
	Name      string
	Base      *Value
	Overrides []ParamOverride // earliest own-height activation first, version forks then unscheduled last
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
			return staticOrder(ph.Overrides[i].Activation) < staticOrder(ph.Overrides[j].Activation)
		})
		out = append(out, ph)
	}
	return out
}

// staticOrder sorts activations known before the chain runs: heights in
// order, then versions by number, then never.
func staticOrder(a Activation) int64 {
	switch a.Kind {
	case KindHeight:
		return a.Height
	case KindVersion:
		return NeverHeight/2 + int64(a.Version)
	}
	return NeverHeight
}
