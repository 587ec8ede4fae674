package forkfile

import (
	"sort"

	"github.com/forkgate/forkgate/schedule"
)

// Change is one difference between two configs. Upgrade documents are built
// from these, so the JSON field names are part of forkgate's stable schema.
type Change struct {
	Kind   string `json:"kind"`             // added, removed, changed
	What   string `json:"what"`             // fork, param, version
	Name   string `json:"name"`             // fork key, parameter name (+ "@fork"), or version number
	Old    string `json:"old,omitempty"`    // the old value, as written in a config
	New    string `json:"new,omitempty"`    // the new value
	Note   string `json:"note,omitempty"`   // the note above the item in the new file
	Origin string `json:"origin,omitempty"` // where the new (or removed old) item is
}

// Diff lists the forks, parameters and versions added, removed and changed
// from old to new, in a stable order (forks, params, versions; by name).
func Diff(old, new *File) []Change {
	var out []Change
	oi, ni := itemMap(old), itemMap(new)
	for _, k := range unionKeys(oi, ni) {
		a, inOld := oi[k]
		b, inNew := ni[k]
		switch {
		case !inOld:
			out = append(out, Change{Kind: "added", What: "fork", Name: k, New: FormatActivation(b.Activation, b.Domain), Note: joinNote(b.Entry.Above), Origin: origin(b.File, b.Entry.Pos)})
		case !inNew:
			out = append(out, Change{Kind: "removed", What: "fork", Name: k, Old: FormatActivation(a.Activation, a.Domain), Origin: origin(a.File, a.Entry.Pos)})
		case a.Activation != b.Activation || a.Domain != b.Domain:
			out = append(out, Change{Kind: "changed", What: "fork", Name: k, Old: FormatActivation(a.Activation, a.Domain), New: FormatActivation(b.Activation, b.Domain), Note: joinNote(b.Entry.Above), Origin: origin(b.File, b.Entry.Pos)})
		}
	}
	op, np := paramMap(old), paramMap(new)
	for _, k := range unionKeys(op, np) {
		a, inOld := op[k]
		b, inNew := np[k]
		switch {
		case !inOld:
			out = append(out, Change{Kind: "added", What: "param", Name: k, New: b.Value.Text, Origin: b.Origin})
		case !inNew:
			out = append(out, Change{Kind: "removed", What: "param", Name: k, Old: a.Value.Text, Origin: a.Origin})
		case a.Value.Text != b.Value.Text:
			out = append(out, Change{Kind: "changed", What: "param", Name: k, Old: a.Value.Text, New: b.Value.Text, Origin: b.Origin})
		}
	}
	ov, nv := versionMap(old), versionMap(new)
	for _, k := range unionKeys(ov, nv) {
		a, inOld := ov[k]
		b, inNew := nv[k]
		switch {
		case !inOld:
			out = append(out, Change{Kind: "added", What: "version", Name: k, New: FormatVersion(b), Note: b.Note})
		case !inNew:
			out = append(out, Change{Kind: "removed", What: "version", Name: k, Old: FormatVersion(a)})
		case a != b:
			out = append(out, Change{Kind: "changed", What: "version", Name: k, Old: FormatVersion(a), New: FormatVersion(b), Note: b.Note})
		}
	}
	return out
}

func itemMap(f *File) map[string]Item {
	m := make(map[string]Item, len(f.Items))
	for _, it := range f.Items {
		m[it.Key()] = it
	}
	return m
}

func paramMap(f *File) map[string]schedule.ParamSetting {
	m := make(map[string]schedule.ParamSetting, len(f.Params))
	for _, p := range f.Params {
		k := p.Name
		if p.Fork != "" {
			k += "@" + p.Fork
		}
		m[k] = p
	}
	return m
}

func versionMap(f *File) map[string]schedule.VersionParams {
	m := make(map[string]schedule.VersionParams, len(f.Versions))
	for _, v := range f.Versions {
		m[FormatUint(uint64(v.Number))] = v
	}
	return m
}

func unionKeys[V any](a, b map[string]V) []string {
	keys := make([]string, 0, len(a)+len(b))
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

func joinNote(lines []string) string {
	out := ""
	for i, l := range lines {
		if i > 0 {
			out += "\n"
		}
		out += trimHash(l)
	}
	return out
}
