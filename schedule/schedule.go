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

// Schedule is a resolved fork schedule: every fork with one activation. It is
// built once at start-up and queried on every block.
type Schedule struct {
	title    string
	forks    []resolved // sorted by key
	index    map[string]int
	params   map[string]*param
	versions []VersionParams
}

// resolved is one fork's activation prepared for one-comparison queries.
type resolved struct {
	fork       Fork
	activation Activation
	origin     string
	// at is the height (own or parent domain) or time from which the fork
	// is active; NeverHeight when it is not scheduled or, for a version
	// fork, until the version activates.
	at int64
}

func (r *resolved) activeAt(b Block) bool {
	switch r.activation.Kind {
	case KindTime:
		return b.Time >= r.at
	case KindHeight:
		if r.fork.Domain == DomainParent {
			return b.ParentHeight >= r.at
		}
	}
	return b.Height >= r.at
}

// Block is the point a query asks about. ParentHeight matters only for forks
// counted in the parent chain's height.
type Block struct {
	Height       int64
	Time         int64
	ParentHeight int64
}

// Build resolves a config against a registry. With a nil registry the config
// is taken on its own: each setting declares its fork. It returns the findings
// (unknown or missing forks, duplicates, order and requirement problems); the
// schedule is nil only when an error finding makes it meaningless.
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
			sev, what := SevWarning, "it stays never (off)"
			if opts.Strict {
				sev, what = SevError, "strict mode requires every registered fork"
			}
			fs = append(fs, Finding{Severity: sev, Rule: RuleMissingFork, Fork: f.Key(),
				Message: fmt.Sprintf("fork %s is registered but not configured: %s; add it with a height, or -1 for never", f.Key(), what)})
			forks = append(forks, resolved{fork: f, activation: Never(), origin: "registry"})
		}
	}
	sort.Slice(forks, func(i, j int) bool { return forks[i].fork.Key() < forks[j].fork.Key() })
	for i := range forks {
		r := &forks[i]
		r.at = NeverHeight
		switch r.activation.Kind {
		case KindHeight:
			r.at = r.activation.Height
		case KindTime:
			r.at = r.activation.Time
		}
		s.index[r.fork.Key()] = i
	}
	s.forks = forks
	s.versions = append([]VersionParams(nil), cfg.Versions...)
	sort.Slice(s.versions, func(i, j int) bool { return s.versions[i].Number < s.versions[j].Number })

	fs = append(fs, s.checkVersions()...)
	fs = append(fs, s.checkOrder()...)
	fs = append(fs, s.buildParams(cfg.Params)...)
	return s, fs
}

// Title is the chain title from the config.
func (s *Schedule) Title() string { return s.title }

// Len is the number of forks in the schedule.
func (s *Schedule) Len() int { return len(s.forks) }

// Versions returns the signalled version declarations, sorted by number.
func (s *Schedule) Versions() []VersionParams { return append([]VersionParams(nil), s.versions...) }

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

// Handle is a fork resolved once; its queries cost one comparison and never
// allocate. Take handles at start-up, keep them, and query per block.
type Handle struct {
	r   *resolved
	idx int
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
	i, ok := s.index[scope+"."+name]
	if !ok {
		return Handle{}, false
	}
	return Handle{r: &s.forks[i], idx: i}, true
}

// Active reports whether the fork is active at a height of its own domain.
// Height and version forks answer exactly; a time fork needs ActiveAt.
func (h Handle) Active(height int64) bool { return height >= h.r.at }

// ActiveAt reports whether the fork is active for a block, whatever its kind
// and height domain.
func (h Handle) ActiveAt(b Block) bool { return h.r.activeAt(b) }

// Key is the fork's "scope.Name".
func (h Handle) Key() string { return h.r.fork.Key() }

// IsActive is the by-name convenience query. Unknown forks are never active.
func (s *Schedule) IsActive(key string, b Block) bool {
	i, ok := s.index[key]
	return ok && s.forks[i].activeAt(b)
}

// Rules is a snapshot of every fork's state for one block: compute it once per
// block and pass it down, so every rule in a block sees the same answer.
type Rules struct {
	Block Block
	bits  []uint64
}

// Rules computes the snapshot for a block.
func (s *Schedule) Rules(b Block) Rules {
	var r Rules
	s.RulesInto(b, &r)
	return r
}

// RulesInto fills r, reusing its storage, so a block loop does not allocate.
func (s *Schedule) RulesInto(b Block, r *Rules) {
	n := (len(s.forks) + 63) / 64
	if cap(r.bits) < n {
		r.bits = make([]uint64, n)
	}
	r.bits = r.bits[:n]
	clear(r.bits)
	r.Block = b
	for i := range s.forks {
		if s.forks[i].activeAt(b) {
			r.bits[i/64] |= 1 << (i % 64)
		}
	}
}

// Active reports the fork's state in the snapshot.
func (r *Rules) Active(h Handle) bool { return r.bits[h.idx/64]&(1<<(h.idx%64)) != 0 }

// SyncVersions asks an oracle (the signal controller) for the activation
// height of every version the schedule's forks depend on. The chain calls it
// at start and after each committed block. Like a cluster version,
// activation only moves forward: a fork already active keeps its earlier
// height. (The controller passes lower versions along with a higher one, so
// asking for each fork's own version is enough.)
func (s *Schedule) SyncVersions(o VersionOracle) {
	moved := false
	for i := range s.forks {
		r := &s.forks[i]
		if r.activation.Kind != KindVersion {
			continue
		}
		if h, ok := o.ActivationHeight(r.activation.Version); ok && h < r.at {
			r.at, moved = h, true
		}
	}
	// The chain calls this after every block; only an activation can change
	// the parameters' override order.
	if moved {
		s.sortParamOverrides()
	}
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

// Passed lists the activation points that have passed at b and the next one to
// come, used for status reports ("current, next, last").
func (s *Schedule) Passed(b Block) (passed []Entry, next []Entry) {
	for _, r := range s.forks {
		e := Entry{Fork: r.fork, Activation: r.activation, Origin: r.origin}
		if r.activeAt(b) {
			passed = append(passed, e)
		} else if !r.activation.IsNever() {
			next = append(next, e)
		}
	}
	return passed, next
}
