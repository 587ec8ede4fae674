// Package schedule holds a chain's fork schedule: which forks exist, when each
// one activates, and the parameters that change with them.
//
// Every activation has exactly one kind, and one meaning everywhere:
//
//	Never        the fork is known but not scheduled (the safe default)
//	AtHeight(0)  active from genesis
//	AtHeight(h)  active for every block at height >= h
//	AtTime(t)    active for every block whose time >= t (unix seconds)
//	OnVersion(v) active from the height at which protocol version v activates
//	             through producer signalling (see package signal)
//
// The zero Activation is Never, so a fork nobody configured stays off.
package schedule

import (
	"fmt"
	"math"
)

// NeverHeight is the internal sentinel for "no height": it compares greater
// than every real height, so Active needs a single comparison.
const NeverHeight int64 = math.MaxInt64

// Kind says how a fork activates.
type Kind uint8

const (
	KindNever Kind = iota
	KindHeight
	KindTime
	KindVersion
)

func (k Kind) String() string {
	switch k {
	case KindNever:
		return "never"
	case KindHeight:
		return "height"
	case KindTime:
		return "time"
	case KindVersion:
		return "version"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Activation is when a fork switches on. Only the field named by Kind is
// meaningful; constructors keep the others zero so values compare with ==.
type Activation struct {
	Kind    Kind
	Height  int64  // KindHeight: 0 means from genesis
	Time    int64  // KindTime: unix seconds
	Version uint32 // KindVersion: protocol version number
}

// Never is the activation of a fork that is not scheduled.
func Never() Activation { return Activation{} }

// Genesis is the activation of a fork that is on from the first block.
func Genesis() Activation { return Activation{Kind: KindHeight} }

// AtHeight activates at block height h (h >= 0).
func AtHeight(h int64) Activation { return Activation{Kind: KindHeight, Height: h} }

// AtTime activates at the first block whose time is >= t.
func AtTime(t int64) Activation { return Activation{Kind: KindTime, Time: t} }

// OnVersion activates when protocol version v becomes active.
func OnVersion(v uint32) Activation { return Activation{Kind: KindVersion, Version: v} }

// IsNever reports whether the fork is unscheduled.
func (a Activation) IsNever() bool { return a.Kind == KindNever }

// Validate reports activations that no constructor produces.
func (a Activation) Validate() error {
	switch a.Kind {
	case KindNever:
		return nil
	case KindHeight:
		if a.Height < 0 {
			return fmt.Errorf("height %d is negative (use never instead of a negative height)", a.Height)
		}
	case KindTime:
		if a.Time < 0 {
			return fmt.Errorf("time %d is negative", a.Time)
		}
	case KindVersion:
		if a.Version == 0 {
			return fmt.Errorf("version 0 cannot be signalled; versions start at 1")
		}
	default:
		return fmt.Errorf("unknown activation kind %d", a.Kind)
	}
	return nil
}

// String renders the activation the way config files and reports write it.
func (a Activation) String() string {
	switch a.Kind {
	case KindNever:
		return "never"
	case KindHeight:
		if a.Height == 0 {
			return "genesis"
		}
		return fmt.Sprintf("height %d", a.Height)
	case KindTime:
		return fmt.Sprintf("time %d", a.Time)
	case KindVersion:
		return fmt.Sprintf("version %d", a.Version)
	}
	return a.Kind.String()
}

// Domain is the height a fork is counted in. Parallel chains run some forks
// at their parent (main) chain's height, as Chain33's ForkRootHash does.
type Domain uint8

const (
	DomainOwn Domain = iota
	DomainParent
)

func (d Domain) String() string {
	if d == DomainParent {
		return "parent"
	}
	return "own"
}

// SystemScope is the scope of forks that belong to the chain itself rather
// than to one executor.
const SystemScope = "system"

// Fork is one registered rule change.
type Fork struct {
	Scope    string     // SystemScope or an executor name such as "token"
	Name     string     // e.g. "ForkTokenCheck"; no dots
	Default  Activation // used when a chain config does not set the fork
	Domain   Domain     // which height the activation counts in
	Note     string     // the problem it fixes and how to configure it
	Release  string     // the release that introduced it, e.g. "v0.2.0"
	Requires []string   // keys ("scope.Name") of forks that must activate no later
}

// Key is the fork's unique "scope.Name" identifier.
func (f Fork) Key() string { return f.Scope + "." + f.Name }

// VersionParams declares a signalled protocol version in a chain config. The
// parameters live in config (not code) so that binaries that do not implement
// a version still commit identical state while it is being signalled.
type VersionParams struct {
	Number    uint32 // protocol version, >= 1
	Time      int64  // earliest activation time, unix seconds
	Rate      uint32 // percent of producer slots needed, 1..100
	Grace     uint32 // maintenance periods between lock-in and activation
	Timeout   int64  // unix seconds after which an unlocked version fails; 0 = none
	MinHeight int64  // earliest activation height; 0 = none
	Release   string // the release that implements it
	Note      string
}
