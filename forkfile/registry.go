package forkfile

import (
	"fmt"
	"os"
	"strings"

	"github.com/forkgate/forkgate/schedule"
	"github.com/pelletier/go-toml/v2/unstable"
)

// A registry file declares forks for a codebase that is not ours, so that its
// chain configs can be checked too:
//
//	[[fork]]
//	scope = "token"                # "system" or an executor
//	name = "ForkTokenCheck"
//	default = 0                    # same syntax as a config value
//	domain = "own"                 # or "parent"
//	note = "what it fixes and how to configure it"
//	release = "v6.4.0"
//	requires = ["system.ForkBlockHash"]

// LoadRegistry reads a registry file.
func LoadRegistry(path string) (*schedule.Registry, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ReadRegistry(path, src)
}

// ReadRegistry interprets a registry file's bytes.
func ReadRegistry(name string, src []byte) (*schedule.Registry, error) {
	d, err := Parse(name, src)
	if err != nil {
		return nil, err
	}
	type decl struct {
		fork schedule.Fork
		pos  Pos
	}
	var order []string
	decls := map[string]*decl{}
	var errs ErrorList
	bad := func(p Pos, format string, args ...any) {
		errs = append(errs, &PosError{File: name, Pos: p, Msg: fmt.Sprintf(format, args...)})
	}
	for _, e := range d.Entries {
		if len(e.Key) != 3 || e.Key[0] != "fork" {
			bad(e.Pos, "unexpected key %s; a registry holds only [[fork]] tables", strings.Join(e.Key, "."))
			continue
		}
		dc := decls[e.Key[1]]
		if dc == nil {
			dc = &decl{pos: e.Pos, fork: schedule.Fork{Scope: schedule.SystemScope}}
			decls[e.Key[1]] = dc
			order = append(order, e.Key[1])
		}
		f := &dc.fork
		str := func() (string, bool) {
			if e.Value.Kind != unstable.String {
				bad(e.Value.Pos, "%s must be a string", e.Key[2])
				return "", false
			}
			return e.Value.Data, true
		}
		switch e.Key[2] {
		case "scope":
			if s, ok := str(); ok {
				f.Scope = s
			}
		case "name":
			if s, ok := str(); ok {
				f.Name = s
			}
		case "note":
			if s, ok := str(); ok {
				f.Note = s
			}
		case "release":
			if s, ok := str(); ok {
				f.Release = s
			}
		case "domain":
			if s, ok := str(); ok {
				switch s {
				case "own":
				case "parent":
					f.Domain = schedule.DomainParent
				default:
					bad(e.Value.Pos, "domain must be \"own\" or \"parent\", not %q", s)
				}
			}
		case "default":
			act, dom, err := parseActivation(e.Value)
			if err != nil {
				bad(e.Value.Pos, "default: %v", err)
				continue
			}
			f.Default = act
			if dom == schedule.DomainParent {
				f.Domain = dom
			}
		case "requires":
			if e.Value.Kind != unstable.Array {
				bad(e.Value.Pos, "requires must be an array of fork keys")
				continue
			}
			f.Requires = append(f.Requires, arrayStrings(e.Value, bad)...)
		default:
			bad(e.Pos, "unknown fork field %q; use scope, name, default, domain, note, release or requires", e.Key[2])
		}
	}
	reg := schedule.NewRegistry()
	for _, k := range order {
		dc := decls[k]
		if err := reg.Register(dc.fork); err != nil {
			bad(dc.pos, "%v", err)
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return reg, nil
}

// arrayStrings returns the string elements of an array value.
func arrayStrings(v Value, bad func(Pos, string, ...any)) []string {
	var out []string
	for _, it := range v.Items {
		if it.Kind != unstable.String {
			bad(it.Pos, "requires must hold fork keys as strings, not %s", it.Raw)
			continue
		}
		out = append(out, it.Data)
	}
	return out
}
