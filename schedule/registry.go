package schedule

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// Registry is the set of forks a codebase knows. Code registers each fork once,
// with its note and default; registration validates the declaration so a bad
// fork fails at start-up, not at its activation height.
type Registry struct {
	forks  []Fork
	index  map[string]int
	params map[string]Param
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{index: make(map[string]int), params: make(map[string]Param)}
}

// RegisterParam declares a parameter the code reads, with its type. A config
// value of another type is then an error of Build, and a parameter the
// registry does not know, in a module that declares some, a warning.
func (r *Registry) RegisterParam(p Param) error {
	mod, key, ok := strings.Cut(p.Name, ".")
	if !ok || mod == "" || key == "" {
		return fmt.Errorf("register parameter %q: the name must be \"module.key\"", p.Name)
	}
	if _, dup := r.params[p.Name]; dup {
		return fmt.Errorf("register parameter %s: registered twice", p.Name)
	}
	if strings.TrimSpace(p.Note) == "" {
		return fmt.Errorf("register parameter %s: empty note; say what it controls", p.Name)
	}
	if p.Type == TypeOther {
		return fmt.Errorf("register parameter %s: give its type", p.Name)
	}
	if p.Min > p.Max {
		return fmt.Errorf("register parameter %s: min %d is above max %d", p.Name, p.Min, p.Max)
	}
	if err := p.check(p.Default); err != nil {
		return fmt.Errorf("register parameter %s: default %s %v", p.Name, p.Default.Text, err)
	}
	r.params[p.Name] = p
	return nil
}

// LookupParam returns a declared parameter.
func (r *Registry) LookupParam(name string) (Param, bool) {
	p, ok := r.params[name]
	return p, ok
}

// Params returns the declared parameters sorted by name.
func (r *Registry) Params() []Param {
	out := make([]Param, 0, len(r.params))
	for _, p := range r.params {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// hasParamModule reports whether the registry declares any parameter in the
// module of name ("coins" for "coins.minFee").
func (r *Registry) hasParamModule(name string) bool {
	mod, _, _ := strings.Cut(name, ".")
	for n := range r.params {
		if m, _, _ := strings.Cut(n, "."); m == mod {
			return true
		}
	}
	return false
}

// paramNames lists the declared parameters of name's module, for messages.
func (r *Registry) paramNames(name string) string {
	mod, _, _ := strings.Cut(name, ".")
	var out []string
	for _, p := range r.Params() {
		if m, _, _ := strings.Cut(p.Name, "."); m == mod {
			out = append(out, p.Name)
		}
	}
	return strings.Join(out, ", ")
}

// Register adds a fork. It refuses duplicates, names with dots, empty notes and
// invalid defaults; requirements may name forks registered later.
func (r *Registry) Register(f Fork) error {
	if err := validateName(f.Scope, "scope"); err != nil {
		return fmt.Errorf("register %s: %w", f.Key(), err)
	}
	if err := validateName(f.Name, "name"); err != nil {
		return fmt.Errorf("register %s: %w", f.Key(), err)
	}
	if _, dup := r.index[f.Key()]; dup {
		return fmt.Errorf("register %s: fork registered twice; every fork needs a unique scope and name", f.Key())
	}
	if strings.TrimSpace(f.Note) == "" {
		return fmt.Errorf("register %s: empty note; say what problem the fork fixes and how to configure it", f.Key())
	}
	if err := f.Default.Validate(); err != nil {
		return fmt.Errorf("register %s: default: %w", f.Key(), err)
	}
	for _, req := range f.Requires {
		if req == f.Key() {
			return fmt.Errorf("register %s: a fork cannot require itself", f.Key())
		}
		if !strings.Contains(req, ".") {
			return fmt.Errorf("register %s: requirement %q must be a key \"scope.Name\"", f.Key(), req)
		}
	}
	f.Requires = append([]string(nil), f.Requires...)
	r.index[f.Key()] = len(r.forks)
	r.forks = append(r.forks, f)
	return nil
}

// MustRegister is Register for package-level declarations, where a bad fork is
// a programming error.
func (r *Registry) MustRegister(forks ...Fork) {
	for _, f := range forks {
		if err := r.Register(f); err != nil {
			panic(err)
		}
	}
}

// Lookup returns the fork registered under scope and name.
func (r *Registry) Lookup(scope, name string) (Fork, bool) {
	i, ok := r.index[scope+"."+name]
	if !ok {
		return Fork{}, false
	}
	return r.forks[i], true
}

// Forks returns the registered forks sorted by key, so callers never depend on
// registration order.
func (r *Registry) Forks() []Fork {
	out := append([]Fork(nil), r.forks...)
	sort.Slice(out, func(i, j int) bool { return out[i].Key() < out[j].Key() })
	return out
}

// Len is the number of registered forks.
func (r *Registry) Len() int { return len(r.forks) }

func validateName(s, what string) error {
	if s == "" {
		return fmt.Errorf("empty %s", what)
	}
	if strings.ContainsAny(s, ". \t\n\"'") {
		return fmt.Errorf("%s %q may not contain dots, spaces or quotes", what, s)
	}
	return nil
}

// SplitKey splits "scope.Name" into its parts. A bare name is a system fork.
func SplitKey(key string) (scope, name string) {
	if i := strings.LastIndexByte(key, '.'); i >= 0 {
		return key[:i], key[i+1:]
	}
	return SystemScope, key
}

// Hash identifies the registry's consensus content: every fork's key,
// default, height domain and requirements, in key order, and every declared
// parameter's type, bounds and default. Notes and release
// names are documentation and left out, so rewording a note keeps the hash.
func (r *Registry) Hash() [32]byte {
	type entry struct {
		Key      string   `json:"key"`
		Kind     string   `json:"kind"`
		Height   int64    `json:"height,omitempty"`
		Time     int64    `json:"time,omitempty"`
		Version  uint32   `json:"version,omitempty"`
		Domain   string   `json:"domain"`
		Requires []string `json:"requires,omitempty"`
	}
	type paramEntry struct {
		Name    string `json:"name"`
		Type    string `json:"type"`
		Min     int64  `json:"min,omitempty"`
		Max     int64  `json:"max,omitempty"`
		Default string `json:"default"`
	}
	var doc struct {
		Forks  []entry      `json:"forks"`
		Params []paramEntry `json:"params,omitempty"`
	}
	for _, f := range r.Forks() {
		d := f.Default
		doc.Forks = append(doc.Forks, entry{Key: f.Key(), Kind: d.Kind.String(), Height: d.Height, Time: d.Time, Version: d.Version,
			Domain: f.Domain.String(), Requires: f.Requires})
	}
	for _, p := range r.Params() {
		doc.Params = append(doc.Params, paramEntry{Name: p.Name, Type: p.Type.String(), Min: p.Min, Max: p.Max, Default: p.Default.Text})
	}
	b, err := json.Marshal(doc)
	if err != nil {
		panic(err) // strings and integers always marshal
	}
	return sha256.Sum256(append([]byte("forkgate/registry/v1\x00"), b...))
}

// HighestVersion is the highest protocol version any registered fork
// activates with by default: the version the registering code implements.
// It is 1 when no fork is version-gated.
func (r *Registry) HighestVersion() uint32 {
	v := uint32(1)
	for _, f := range r.forks {
		if f.Default.Kind == KindVersion {
			v = max(v, f.Default.Version)
		}
	}
	return v
}
