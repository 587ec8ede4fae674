package schedule

import (
	"fmt"
	"sort"
)

// Setting is one fork activation as a chain config states it. Origin points at
// the config line ("file:line:col") for messages.
type Setting struct {
	Scope      string
	Name       string
	Activation Activation
	Domain     Domain
	Origin     string
}

// Key is the "scope.Name" of the fork the setting configures.
func (s Setting) Key() string { return s.Scope + "." + s.Name }

// ParamSetting is one value of a height-versioned parameter: the base value
// (Fork empty) or the value from the activation of Fork on.
type ParamSetting struct {
	Name   string // "module.key", e.g. "mempool.maxTxFee"
	Fork   string // fork key "scope.Name"; empty for the base value
	Value  Value
	Origin string
}

// Config is what a chain's config file says about forks: its settings, its
// height-versioned parameters and its signalled versions.
type Config struct {
	Title    string
	Settings []Setting
	Params   []ParamSetting
	Versions []VersionParams
}

// Options tune Build.
type Options struct {
	// Strict makes a registered fork that the config omits an error instead
	// of a warning.
	Strict bool
}

// Schedule is a resolved fork schedule: every fork with one activation and
// every height-versioned parameter. Build returns it and nothing changes it
// afterwards; what varies from block to block (which versions the producers
// have activated) comes from a VersionOracle when Rules are computed. So one
// Schedule serves any height of the chain, after a rollback or a rewind as
// before it.
type Schedule struct {
	title    string
	forks    []resolved // sorted by key
	index    map[string]int
	params   map[string]*param
	versions []VersionParams
}

// resolved is one fork's activation.
type resolved struct {
	fork       Fork
	activation Activation
	origin     string
}

// Block is the point a query asks about. ParentHeight matters only for forks
// counted in the parent chain's height (-1 on a chain without a parent).
type Block struct {
	Height       int64
	Time         int64
	ParentHeight int64
}

// VersionOracle is what a version-signal controller tells the schedule: the
// height from which a protocol version is active. Versions are cumulative:
// when v activates, every declared lower version is active no later
// (package signal carries them), and an activation never moves.
type VersionOracle interface {
	ActivationHeight(version uint32) (height int64, ok bool)
}

// VersionHeights is a fixed oracle: version -> activation height. Tools use
// it to ask "what if version 2 activated at H"; nil means no version is
// active.
type VersionHeights map[uint32]int64

// ActivationHeight implements VersionOracle.
func (v VersionHeights) ActivationHeight(version uint32) (int64, bool) {
	h, ok := v[version]
	return h, ok
}

// since is the height of this chain from which the fork is active at b, or
// NeverHeight when it is not active there. For time and parent-height forks,
// which are not counted in this chain's heights, an active fork reports b's
// own height: only "active or not" is meaningful for them.
func (r *resolved) since(b Block, o VersionOracle) int64 {
	a := r.activation
	switch a.Kind {
	case KindHeight:
		if r.fork.Domain == DomainParent {
			if b.ParentHeight >= a.Height {
				return b.Height
			}
		} else if b.Height >= a.Height {
			return a.Height
		}
	case KindTime:
		if b.Time >= a.Time {
			return b.Height
		}
	case KindVersion:
		if o == nil {
			break
		}
		if h, ok := o.ActivationHeight(a.Version); ok && b.Height >= h {
			return h
		}
	}
	return NeverHeight
}

// originDefault is the origin of a fork that runs with its registry default.
const originDefault = "registry default"

// Build resolves a config against a registry. With a nil registry the config
// is taken on its own: each setting declares its fork. A registered fork the
// config omits runs with the registry's default, and a warning says so. It
// returns the findings (unknown or missing forks, duplicates, order and
// requirement problems, parameters of the wrong type); the schedule is
// usable only when no finding is an error.
func Build(reg *Registry, cfg Config, opts Options) (*Schedule, Findings) {
	var fs Findings
	s := &Schedule{title: cfg.Title, index: make(map[string]int), params: make(map[string]*param)}

	seen := make(map[string]Setting, len(cfg.Settings))
	var forks []resolved
	for _, st := range cfg.Settings {
		if prev, dup := seen[st.Key()]; dup {
			fs = append(fs, Finding{Severity: SevError, Rule: RuleDuplicate, Origin: st.Origin, Fork: st.Key(),
				Message: fmt.Sprintf("fork %s is set twice (first at %s); keep one", st.Key(), prev.Origin)})
			continue
		}
		seen[st.Key()] = st
		if err := st.Activation.Validate(); err != nil {
			fs = append(fs, Finding{Severity: SevError, Rule: RuleBadValue, Origin: st.Origin, Fork: st.Key(),
				Message: fmt.Sprintf("fork %s: %v", st.Key(), err)})
			continue
		}
		f := Fork{Scope: st.Scope, Name: st.Name, Domain: st.Domain}
		if reg != nil {
			known, ok := reg.Lookup(st.Scope, st.Name)
			if !ok {
				fs = append(fs, Finding{Severity: SevError, Rule: RuleUnknownFork, Origin: st.Origin, Fork: st.Key(),
					Message: fmt.Sprintf("fork %s is not in the registry; check the spelling or the executor section, or remove it", st.Key())})
				continue
			}
			f = known
			if st.Domain == DomainParent {
				f.Domain = DomainParent
			}
		}
		forks = append(forks, resolved{fork: f, activation: st.Activation, origin: st.Origin})
	}
	if reg != nil {
		for _, f := range reg.Forks() {
			if _, ok := seen[f.Key()]; ok {
				continue
			}
			sev, what := SevWarning, fmt.Sprintf("it runs with the registry's default, %s", f.Default)
			if opts.Strict {
				sev, what = SevError, "strict mode requires every registered fork"
			}
			fs = append(fs, Finding{Severity: sev, Rule: RuleMissingFork, Fork: f.Key(),
				Message: fmt.Sprintf("fork %s is registered but not configured: %s; add it with the height this chain agreed on, or -1 for never", f.Key(), what)})
			forks = append(forks, resolved{fork: f, activation: f.Default, origin: originDefault})
		}
	}
	sort.Slice(forks, func(i, j int) bool { return forks[i].fork.Key() < forks[j].fork.Key() })
	for i := range forks {
		s.index[forks[i].fork.Key()] = i
	}
	s.forks = forks
	s.versions = append([]VersionParams(nil), cfg.Versions...)
	sort.Slice(s.versions, func(i, j int) bool { return s.versions[i].Number < s.versions[j].Number })

	fs = append(fs, s.checkVersions()...)
	fs = append(fs, s.checkOrder()...)
	fs = append(fs, s.buildParams(reg, cfg.Params)...)
	return s, fs
}

// Title is the chain title from the config.
func (s *Schedule) Title() string { return s.title }

// Len is the number of forks in the schedule.
func (s *Schedule) Len() int { return len(s.forks) }

// Versions returns the signalled version declarations, sorted by number.
func (s *Schedule) Versions() []VersionParams { return append([]VersionParams(nil), s.versions...) }

// HighestVersion is the highest declared protocol version (1 when none is
// declared: every chain starts at version 1).
func (s *Schedule) HighestVersion() uint32 {
	if n := len(s.versions); n > 0 {
		return s.versions[n-1].Number
	}
	return 1
}

// Entry describes one fork of a schedule for reports.
type Entry struct {
	Fork       Fork
	Activation Activation
	Origin     string
}

// Entries lists every fork sorted by key.
func (s *Schedule) Entries() []Entry {
	out := make([]Entry, len(s.forks))
	for i, r := range s.forks {
		out[i] = Entry{Fork: r.fork, Activation: r.activation, Origin: r.origin}
	}
	return out
}

// Activation returns the configured activation of a fork by key.
func (s *Schedule) Activation(key string) (Activation, bool) {
	i, ok := s.index[key]
	if !ok {
		return Activation{}, false
	}
	return s.forks[i].activation, true
}

// Handle is a fork resolved once, so per-block queries are a bit test. Take
// handles at start-up, keep them, and ask Rules about them.
type Handle struct {
	idx int
	key string
}

// Fork returns the handle of a fork. Asking for a fork the schedule does not
// hold is a programming error (register it first), so it panics.
func (s *Schedule) Fork(scope, name string) Handle {
	h, ok := s.Lookup(scope, name)
	if !ok {
		panic(fmt.Sprintf("schedule: fork %s.%s is not registered; register it before taking a handle", scope, name))
	}
	return h
}

// Lookup returns the handle of a fork if the schedule holds it.
func (s *Schedule) Lookup(scope, name string) (Handle, bool) {
	key := scope + "." + name
	i, ok := s.index[key]
	if !ok {
		return Handle{}, false
	}
	return Handle{idx: i, key: key}, true
}

// Key is the fork's "scope.Name".
func (h Handle) Key() string { return h.key }

// IsActive is the by-name convenience query. Unknown forks are never active.
func (s *Schedule) IsActive(key string, b Block, o VersionOracle) bool {
	i, ok := s.index[key]
	return ok && s.forks[i].since(b, o) != NeverHeight
}

// Rules is a snapshot of every fork's state for one block: compute it once per
// block and pass it down, so every rule in a block sees the same answer, and
// parameter values follow from it.
type Rules struct {
	Block Block
	bits  []uint64
	since []int64 // per fork: the height it is active from, NeverHeight if not
}

// Rules computes the snapshot for a block; o says which versions are active
// (nil: none).
func (s *Schedule) Rules(b Block, o VersionOracle) Rules {
	var r Rules
	s.RulesInto(b, o, &r)
	return r
}

// RulesInto fills r, reusing its storage, so a block loop does not allocate.
func (s *Schedule) RulesInto(b Block, o VersionOracle, r *Rules) {
	n := (len(s.forks) + 63) / 64
	if cap(r.bits) < n {
		r.bits = make([]uint64, n)
	}
	if cap(r.since) < len(s.forks) {
		r.since = make([]int64, len(s.forks))
	}
	r.bits, r.since = r.bits[:n], r.since[:len(s.forks)]
	clear(r.bits)
	r.Block = b
	for i := range s.forks {
		at := s.forks[i].since(b, o)
		r.since[i] = at
		if at != NeverHeight {
			r.bits[i/64] |= 1 << (i % 64)
		}
	}
}

// Active reports the fork's state in the snapshot.
func (r *Rules) Active(h Handle) bool { return r.bits[h.idx/64]&(1<<(h.idx%64)) != 0 }

// Locator maps activations that are not counted in this chain's own heights
// to heights of this chain. A nil field means that mapping is unknown.
type Locator struct {
	HeightAtTime   func(t int64) (int64, bool)      // first height whose block time >= t
	HeightAtParent func(parent int64) (int64, bool) // first height anchored at parent height >= parent
	VersionHeight  func(v uint32) (int64, bool)     // height from which version v is active
}

// ActivationHeight is the one answer to "at which height of this chain does
// this activation take effect": its own height, the first block at or after
// its time, the first block anchored at or above its parent height, or the
// height from which its version is active. ok is false when that is not
// known: never, a version not yet active, a time or parent height the chain
// has not reached, or a mapping the locator lacks.
func (l Locator) ActivationHeight(a Activation, d Domain) (int64, bool) {
	switch a.Kind {
	case KindHeight:
		if d == DomainParent {
			return call(l.HeightAtParent, a.Height)
		}
		return a.Height, true
	case KindTime:
		return call(l.HeightAtTime, a.Time)
	case KindVersion:
		if l.VersionHeight == nil {
			return 0, false
		}
		return l.VersionHeight(a.Version)
	}
	return 0, false
}

func call(fn func(int64) (int64, bool), x int64) (int64, bool) {
	if fn == nil {
		return 0, false
	}
	return fn(x)
}

// ActivationHeight is Locator.ActivationHeight for a fork of the schedule.
func (s *Schedule) ActivationHeight(key string, l Locator) (int64, bool) {
	i, ok := s.index[key]
	if !ok {
		return 0, false
	}
	r := s.forks[i]
	return l.ActivationHeight(r.activation, r.fork.Domain)
}

// ForkIDPoints are the activation points a fork ID folds in (EIP-2124):
// own-height forks and time forks. Version forks have no point known in
// advance, and parent-height forks count another chain's heights, so neither
// is part of the ID.
func (s *Schedule) ForkIDPoints() (heights, times []uint64) {
	for _, r := range s.forks {
		switch a := r.activation; {
		case a.Kind == KindHeight && r.fork.Domain == DomainOwn:
			heights = append(heights, uint64(a.Height))
		case a.Kind == KindTime:
			times = append(times, uint64(a.Time))
		}
	}
	return heights, times
}
