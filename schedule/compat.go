package schedule

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"
)

// SnapshotFormat versions the persisted schedule. Bump it when the encoding
// changes, and keep decoding every older format. Format 2 added the signalled
// versions' declarations.
const SnapshotFormat = 2

// Snapshot is the schedule in force, as stored with the chain data so that a
// restart can tell whether a new config rewrites history.
type Snapshot struct {
	Format int             `json:"format"`
	Title  string          `json:"title"`
	Forks  []SnapshotFork  `json:"forks"`  // sorted by key
	Params []SnapshotParam `json:"params"` // sorted by name, then fork
	// Versions are the declarations that drive the signal controller, and so
	// the state hash (format 2 on; absent from format 1).
	Versions []SnapshotVersion `json:"versions,omitempty"` // sorted by number
}

// SnapshotVersion is a signalled version's consensus parameters (its release
// and note are documentation and left out).
type SnapshotVersion struct {
	Number    uint32 `json:"number"`
	Time      int64  `json:"time"`
	Rate      uint32 `json:"rate"`
	Grace     uint32 `json:"grace,omitempty"`
	Timeout   int64  `json:"timeout,omitempty"`
	MinHeight int64  `json:"min_height,omitempty"`
}

// SnapshotFork is one fork's activation in a snapshot.
type SnapshotFork struct {
	Key     string `json:"key"`
	Kind    string `json:"kind"`
	Height  int64  `json:"height,omitempty"`
	Time    int64  `json:"time,omitempty"`
	Version uint32 `json:"version,omitempty"`
	Domain  string `json:"domain,omitempty"`
}

// SnapshotParam is one value of a height-versioned parameter.
type SnapshotParam struct {
	Name  string `json:"name"`
	Fork  string `json:"fork,omitempty"`
	Value string `json:"value"`
}

// Snapshot captures the schedule for storage.
func (s *Schedule) Snapshot() Snapshot {
	sn := Snapshot{Format: SnapshotFormat, Title: s.title, Forks: []SnapshotFork{}, Params: []SnapshotParam{}}
	for _, r := range s.forks {
		sf := SnapshotFork{Key: r.fork.Key(), Kind: r.activation.Kind.String(),
			Height: r.activation.Height, Time: r.activation.Time, Version: r.activation.Version}
		if r.fork.Domain == DomainParent {
			sf.Domain = DomainParent.String()
		}
		sn.Forks = append(sn.Forks, sf)
	}
	for _, ph := range s.ParamHistories() {
		if ph.Base != nil {
			sn.Params = append(sn.Params, SnapshotParam{Name: ph.Name, Value: ph.Base.Text})
		}
		for _, o := range ph.Overrides {
			sn.Params = append(sn.Params, SnapshotParam{Name: ph.Name, Fork: o.Fork, Value: o.Value.Text})
		}
	}
	for _, v := range s.versions {
		sn.Versions = append(sn.Versions, SnapshotVersion{Number: v.Number, Time: v.Time, Rate: v.Rate,
			Grace: v.Grace, Timeout: v.Timeout, MinHeight: v.MinHeight})
	}
	sort.Slice(sn.Params, func(i, j int) bool {
		if sn.Params[i].Name != sn.Params[j].Name {
			return sn.Params[i].Name < sn.Params[j].Name
		}
		return sn.Params[i].Fork < sn.Params[j].Fork
	})
	return sn
}

// Encode is the canonical byte form of a snapshot.
func (sn Snapshot) Encode() []byte {
	b, err := json.Marshal(sn)
	if err != nil {
		panic(err) // plain structs of strings and integers always marshal
	}
	return b
}

// Hash identifies the schedule in force: sha256 of its canonical encoding.
// Two nodes with the same hash run the same forks, parameters and versions.
func (sn Snapshot) Hash() [32]byte { return sha256.Sum256(sn.Encode()) }

// DecodeSnapshot reads a stored snapshot, refusing formats it does not know.
func DecodeSnapshot(b []byte) (Snapshot, error) {
	var sn Snapshot
	if err := json.Unmarshal(b, &sn); err != nil {
		return Snapshot{}, fmt.Errorf("stored fork schedule is corrupt: %v; restore the data directory or re-initialise it", err)
	}
	if sn.Format < 1 || sn.Format > SnapshotFormat {
		return Snapshot{}, fmt.Errorf("stored fork schedule has format %d, this build reads up to %d; run a newer forkgate", sn.Format, SnapshotFormat)
	}
	return sn, nil
}

func (f SnapshotFork) domain() Domain {
	if f.Domain == DomainParent.String() {
		return DomainParent
	}
	return DomainOwn
}

func (f SnapshotFork) activation() Activation {
	switch f.Kind {
	case "height":
		return AtHeight(f.Height)
	case "time":
		return AtTime(f.Time)
	case "version":
		return OnVersion(f.Version)
	}
	return Never()
}

// Head is where the stored chain is. Its Locator maps time, version and
// parent-height activations to heights of this chain; where a mapping is
// unknown the check falls back to a full resync.
type Head struct {
	Height       int64
	Time         int64
	ParentHeight int64
	Locator
}

// Conflict is one change that rewrites history.
type Conflict struct {
	What     string     `json:"what"` // fork key or "param <name>"
	Stored   Activation `json:"-"`    // for forks
	New      Activation `json:"-"`
	OldValue string     `json:"old"` // as text, for forks and parameters
	NewValue string     `json:"new"`
	RewindTo int64      `json:"rewind_to"` // keep blocks up to here; -1 means resync from genesis
}

// CompatError says that a new config changes a fork at or below the head. Its
// RewindTo is the lowest height the chain must be cut back to.
type CompatError struct {
	Head      int64
	RewindTo  int64
	Conflicts []Conflict // lowest rewind first
}

func (e *CompatError) Error() string {
	c := e.Conflicts[0]
	var what string
	if strings.HasPrefix(c.What, "param ") || strings.HasPrefix(c.What, "version ") {
		what = fmt.Sprintf("%s changed from %q to %q", c.What, c.OldValue, c.NewValue)
	} else {
		what = fmt.Sprintf("fork %s changed from %s to %s", c.What, c.Stored, c.New)
	}
	more := ""
	if n := len(e.Conflicts) - 1; n > 0 {
		more = fmt.Sprintf(" (and %d more change(s) below the head)", n)
	}
	if e.RewindTo < 0 {
		return fmt.Sprintf("incompatible fork schedule: %s%s, but the chain is already at height %d. "+
			"The change took effect at genesis or at a height only a node knows: resync from genesis, or restore the stored value",
			what, more, e.Head)
	}
	return fmt.Sprintf("incompatible fork schedule: %s%s, but the chain is already at height %d. "+
		"Rewind to height %d (policy \"rewind\"), restore the stored value, or resync from genesis",
		what, more, e.Head, e.RewindTo)
}

// Remedy says in words what a rewind height asks for.
func Remedy(rewindTo int64) string {
	if rewindTo < 0 {
		return "resync from genesis"
	}
	return fmt.Sprintf("rewind to height %d", rewindTo)
}

// CheckCompatible compares the stored schedule with a new one. Changing only
// forks that have not activated at head is fine; any other change returns a
// CompatError naming the exact rewind height.
func CheckCompatible(stored, next Snapshot, head Head) *CompatError {
	var cs []Conflict
	old := make(map[string]SnapshotFork, len(stored.Forks))
	for _, f := range stored.Forks {
		old[f.Key] = f
	}
	keys := make([]string, 0, len(stored.Forks)+len(next.Forks))
	now := make(map[string]SnapshotFork, len(next.Forks))
	for _, f := range next.Forks {
		now[f.Key] = f
		keys = append(keys, f.Key)
	}
	for _, f := range stored.Forks {
		if _, ok := now[f.Key]; !ok {
			keys = append(keys, f.Key)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		a, b := old[k], now[k]
		if a.activation() == b.activation() && a.Domain == b.Domain {
			continue
		}
		ha, pa := passedAt(a, head)
		hb, pb := passedAt(b, head)
		if !pa && !pb {
			continue // only the future changes
		}
		rewind := int64(-1)
		switch {
		case pa && pb:
			rewind = min(ha, hb) - 1
		case pa:
			rewind = ha - 1
		default:
			rewind = hb - 1
		}
		cs = append(cs, Conflict{What: k, Stored: a.activation(), New: b.activation(),
			OldValue: a.activation().String(), NewValue: b.activation().String(), RewindTo: rewind})
	}
	cs = append(cs, paramConflicts(stored, next, head)...)
	if stored.Format >= 2 {
		cs = append(cs, versionConflicts(stored, next, head)...)
	}
	if len(cs) == 0 {
		return nil
	}
	sort.SliceStable(cs, func(i, j int) bool { return cs[i].RewindTo < cs[j].RewindTo })
	return &CompatError{Head: head.Height, RewindTo: cs[0].RewindTo, Conflicts: cs}
}

// passedAt reports whether a fork's activation is at or below the head, and
// the height of this chain at which it took effect (0 when that height is
// unknown, so that the rewind target becomes a full resync).
func passedAt(f SnapshotFork, head Head) (int64, bool) {
	a, d := f.activation(), f.domain()
	switch a.Kind {
	case KindNever:
		return 0, false
	case KindHeight:
		if d == DomainOwn {
			return a.Height, a.Height <= head.Height
		}
		if a.Height > head.ParentHeight {
			return 0, false
		}
	case KindTime:
		if a.Time > head.Time {
			return 0, false
		}
	case KindVersion:
		if head.VersionHeight == nil {
			return 0, true // unknown: only a resync is safe
		}
		h, ok := head.ActivationHeight(a, d)
		return h, ok && h <= head.Height
	}
	if h, ok := head.ActivationHeight(a, d); ok {
		return h, true
	}
	return 0, true // passed, but where is unknown: only a resync is safe
}

// paramConflicts finds parameter values that changed while in force.
func paramConflicts(stored, next Snapshot, head Head) []Conflict {
	type pk struct{ name, fork string }
	val := func(sn Snapshot) map[pk]string {
		m := make(map[pk]string, len(sn.Params))
		for _, p := range sn.Params {
			m[pk{p.Name, p.Fork}] = p.Value
		}
		return m
	}
	oldV, newV := val(stored), val(next)
	forkAt := func(sn Snapshot) map[string]SnapshotFork {
		m := make(map[string]SnapshotFork, len(sn.Forks))
		for _, f := range sn.Forks {
			m[f.Key] = f
		}
		return m
	}
	oldF, newF := forkAt(stored), forkAt(next)
	var keys []pk
	for k := range oldV {
		keys = append(keys, k)
	}
	for k := range newV {
		if _, ok := oldV[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].name != keys[j].name {
			return keys[i].name < keys[j].name
		}
		return keys[i].fork < keys[j].fork
	})
	var cs []Conflict
	for _, k := range keys {
		o, n := oldV[k], newV[k]
		if o == n {
			continue
		}
		what := "param " + k.name
		if k.fork == "" {
			cs = append(cs, Conflict{What: what + " (base)", OldValue: o, NewValue: n, RewindTo: -1})
			continue
		}
		what += " at " + k.fork
		// The value was in force from the fork's activation under the old
		// schedule, and will be under the new one: either rewrites history
		// once it is at or below the head.
		ha, pa := passedAt(oldF[k.fork], head)
		hb, pb := passedAt(newF[k.fork], head)
		switch {
		case pa && pb:
			cs = append(cs, Conflict{What: what, OldValue: o, NewValue: n, RewindTo: min(ha, hb) - 1})
		case pa:
			cs = append(cs, Conflict{What: what, OldValue: o, NewValue: n, RewindTo: ha - 1})
		case pb:
			cs = append(cs, Conflict{What: what, OldValue: o, NewValue: n, RewindTo: hb - 1})
		}
	}
	return cs
}

// Policy says what a node does when a new config is incompatible.
type Policy uint8

const (
	PolicyRefuse Policy = iota // stop with the CompatError (default)
	PolicyRewind               // cut the chain back to RewindTo and re-execute
	PolicyIgnore               // keep the data and run with the new config
)

var policyNames = []string{"refuse", "rewind", "ignore"}

func (p Policy) String() string {
	if int(p) < len(policyNames) {
		return policyNames[p]
	}
	return fmt.Sprintf("policy(%d)", uint8(p))
}

// ParsePolicy reads a policy name.
func ParsePolicy(s string) (Policy, error) {
	for i, n := range policyNames {
		if s == n {
			return Policy(i), nil
		}
	}
	return 0, fmt.Errorf("unknown compatibility policy %q; use one of %s", s, strings.Join(policyNames, ", "))
}

// Decision is what a node does with a new config at start-up.
type Decision struct {
	RewindTo int64 // valid when Rewind
	Rewind   bool
	Ignored  *CompatError // the conflict that PolicyIgnore let through
}

// Reconcile applies a policy to a compatibility check. Under PolicyRefuse an
// incompatible config is an error.
func Reconcile(stored, next Snapshot, head Head, p Policy) (Decision, error) {
	ce := CheckCompatible(stored, next, head)
	if ce == nil {
		return Decision{}, nil
	}
	switch p {
	case PolicyRewind:
		return Decision{Rewind: true, RewindTo: ce.RewindTo}, nil
	case PolicyIgnore:
		return Decision{Ignored: ce}, nil
	}
	return Decision{}, ce
}

// versionConflicts finds signalled versions whose declaration changed after
// it could have mattered: once the head's time reaches a version's earliest
// activation time (under either declaration), the controller may have started
// counting it, so the change rewrites committed state from the first block
// at that time.
func versionConflicts(stored, next Snapshot, head Head) []Conflict {
	old := map[uint32]SnapshotVersion{}
	for _, v := range stored.Versions {
		old[v.Number] = v
	}
	now := map[uint32]SnapshotVersion{}
	var nums []uint32
	for _, v := range next.Versions {
		now[v.Number] = v
		nums = append(nums, v.Number)
	}
	for _, v := range stored.Versions {
		if _, ok := now[v.Number]; !ok {
			nums = append(nums, v.Number)
		}
	}
	sort.Slice(nums, func(i, j int) bool { return nums[i] < nums[j] })
	var cs []Conflict
	for _, n := range nums {
		a, inOld := old[n]
		b, inNew := now[n]
		if inOld && inNew && a == b {
			continue
		}
		start := int64(math.MaxInt64)
		if inOld {
			start = a.Time
		}
		if inNew {
			start = min(start, b.Time)
		}
		if start > head.Time {
			continue // neither declaration has started yet
		}
		rewind := int64(-1) // the first block at that time is unknown: resync
		if h, ok := head.ActivationHeight(AtTime(start), DomainOwn); ok && h > 0 {
			rewind = h - 1
		}
		cs = append(cs, Conflict{What: fmt.Sprintf("version %d", n), OldValue: describeVersion(a, inOld),
			NewValue: describeVersion(b, inNew), RewindTo: rewind})
	}
	return cs
}

func describeVersion(v SnapshotVersion, ok bool) string {
	if !ok {
		return "not declared"
	}
	return fmt.Sprintf("time=%d rate=%d grace=%d timeout=%d min_height=%d", v.Time, v.Rate, v.Grace, v.Timeout, v.MinHeight)
}
