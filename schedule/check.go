package schedule

import "fmt"

// checkOrder reports forks that activate before a fork they require. Only
// activations of the same kind and domain can be ordered; the rest cannot be
// compared before the chain runs and are left alone.
func (s *Schedule) checkOrder() Findings {
	var fs Findings
	for _, r := range s.forks {
		for _, req := range r.fork.Requires {
			j, ok := s.index[req]
			if !ok {
				fs = append(fs, Finding{Severity: SevError, Rule: RuleRequires, Origin: r.origin, Fork: r.fork.Key(),
					Message: fmt.Sprintf("fork %s requires %s, which the schedule does not hold; configure %s", r.fork.Key(), req, req)})
				continue
			}
			q := s.forks[j]
			if r.activation.IsNever() {
				continue
			}
			if q.activation.IsNever() {
				fs = append(fs, Finding{Severity: SevError, Rule: RuleOrder, Origin: r.origin, Fork: r.fork.Key(),
					Message: fmt.Sprintf("fork %s activates at %s but requires %s, which is never; schedule %s no later than %s", r.fork.Key(), r.activation, req, req, r.fork.Key())})
				continue
			}
			if early, ok := before(r, q); ok && early {
				fs = append(fs, Finding{Severity: SevError, Rule: RuleOrder, Origin: r.origin, Fork: r.fork.Key(),
					Message: fmt.Sprintf("fork %s activates at %s, before %s (%s) which it requires; move it to %s or later", r.fork.Key(), r.activation, req, q.activation, q.activation)})
			}
		}
	}
	return fs
}

// before reports whether a activates strictly before b; ok is false when the
// two cannot be compared (different kinds or height domains).
func before(a, b resolved) (early, ok bool) {
	if a.activation.Kind != b.activation.Kind {
		return false, false
	}
	switch a.activation.Kind {
	case KindHeight:
		if a.fork.Domain != b.fork.Domain {
			return false, false
		}
		return a.activation.Height < b.activation.Height, true
	case KindTime:
		return a.activation.Time < b.activation.Time, true
	case KindVersion:
		return a.activation.Version < b.activation.Version, true
	}
	return false, false
}

// checkVersions validates version declarations and that every version fork
// names a declared version.
func (s *Schedule) checkVersions() Findings {
	var fs Findings
	declared := make(map[uint32]bool, len(s.versions))
	for _, v := range s.versions {
		if declared[v.Number] {
			fs = append(fs, Finding{Severity: SevError, Rule: RuleDuplicate, Message: fmt.Sprintf("version %d is declared twice; keep one", v.Number)})
		} else if err := v.Validate(); err != nil {
			fs = append(fs, Finding{Severity: SevError, Rule: RuleVersionDecl, Message: err.Error()})
		}
		declared[v.Number] = true
	}
	for _, r := range s.forks {
		if r.activation.Kind != KindVersion || declared[r.activation.Version] {
			continue
		}
		if r.origin == originDefault {
			// The config never mentioned the fork: it simply stays off until
			// a config declares the version.
			fs = append(fs, Finding{Severity: SevWarning, Rule: RuleUnknownVersion, Fork: r.fork.Key(),
				Message: fmt.Sprintf("fork %s defaults to version %d, which no [[signal.version]] declares: it stays off until the version is declared", r.fork.Key(), r.activation.Version)})
			continue
		}
		fs = append(fs, Finding{Severity: SevError, Rule: RuleUnknownVersion, Origin: r.origin, Fork: r.fork.Key(),
			Message: fmt.Sprintf("fork %s activates on version %d, which no [[signal.version]] declares; declare it with its time and rate", r.fork.Key(), r.activation.Version)})
	}
	return fs
}

// CheckParent compares a parallel chain's parent-height forks with the parent
// chain's own schedule: a fork that mirrors the parent must activate at exactly
// the parent's height for it, or the two chains disagree about the rules.
func CheckParent(child, parent *Schedule) Findings {
	var fs Findings
	for _, r := range child.forks {
		if r.fork.Domain != DomainParent || r.activation.Kind != KindHeight {
			continue
		}
		j, ok := parent.index[r.fork.Key()]
		if !ok {
			fs = append(fs, Finding{Severity: SevWarning, Rule: RuleParentMismatch, Origin: r.origin, Fork: r.fork.Key(),
				Message: fmt.Sprintf("fork %s follows the parent chain's height %d, but the parent config does not set it; check the parent config", r.fork.Key(), r.activation.Height)})
			continue
		}
		p := parent.forks[j]
		if p.activation != r.activation || p.fork.Domain != DomainOwn {
			fs = append(fs, Finding{Severity: SevError, Rule: RuleParentMismatch, Origin: r.origin, Fork: r.fork.Key(),
				Message: fmt.Sprintf("fork %s is at parent height %d here, but the parent chain activates it at %s (%s); set it to the parent's height", r.fork.Key(), r.activation.Height, p.activation, p.origin)})
		}
	}
	return fs
}
