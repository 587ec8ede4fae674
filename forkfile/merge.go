package forkfile

import (
	"fmt"
	"strings"
)

// Chain33 keeps a node's settings (chain33.toml, bityuan.toml) apart from
// its forks: the node config has no [fork.*] tables, and the binary merges a
// default config holding them (chain33.fork.toml, or a string compiled in)
// under it at start-up: util/cli/chain33.go calls
// types.MergeCfg(types.ReadFile(configPath), defCfg). MergeCfg
// (types/config.go) decodes both, and MergeConfig first runs checkConfig,
// which panics with "rewrite defalut key K" when the node config sets a key
// K that the default config also sets (unless both are tables, which are
// merged key by key), then copies every key of the default the node config
// lacks. Merge follows that rule: the result holds the union of both files'
// keys, and a key set in both is an error naming the two places.

// Merge returns the chain a node runs with: node with each forks file merged
// under it in order, as Chain33 merges its default fork config. Items keep
// the file they are written in, so every message points at the right file.
func Merge(node *File, forks ...*File) (*File, error) {
	out := *node
	out.Items = append([]Item(nil), node.Items...)
	out.Params = append(out.Params[:0:0], node.Params...)
	out.Versions = append(out.Versions[:0:0], node.Versions...)
	out.Record = append(out.Record[:0:0], node.Record...)
	out.byKey = nil
	seen := map[string]string{} // full key -> "file:line:col"
	note := func(f *File) {
		for _, e := range f.Doc.Entries {
			seen[strings.Join(e.Key, ".")] = origin(f.Doc.File, e.Pos)
		}
	}
	note(node)
	var errs ErrorList
	for _, df := range forks {
		for _, e := range df.Doc.Entries {
			k := strings.Join(e.Key, ".")
			if prev, dup := seen[k]; dup {
				errs = append(errs, &PosError{File: df.Doc.File, Pos: e.Pos, Msg: fmt.Sprintf(
					"%s is also set at %s; Chain33 refuses to start when a config sets a key of its default fork config "+
						"(types.MergeConfig: \"rewrite defalut key %s\"): keep it in one file", k, prev, k)})
			}
		}
		note(df)
		if out.Title == "" {
			out.Title = df.Title
		}
		if out.ParentStart == 0 {
			out.ParentStart = df.ParentStart
		}
		out.Items = append(out.Items, df.Items...)
		out.Params = append(out.Params, df.Params...)
		out.Versions = append(out.Versions, df.Versions...)
		out.Record = append(out.Record, df.Record...)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	// Parameters bind to forks by name, and the forks may come from the
	// other file: bind them again over the merged fork list.
	out.Params = out.Params[:0]
	out.indexForks()
	for _, f := range append([]*File{node}, forks...) {
		for _, e := range f.Doc.Entries {
			if e.Key[0] == "mver" {
				saved := out.Doc
				out.Doc = f.Doc
				out.param(e, func(Pos, string, ...any) {})
				out.Doc = saved
			}
		}
	}
	return &out, nil
}

// HasForkTables reports whether the file has any [fork...] table or key: a
// Chain33 node config has none, its forks come from a default fork config.
func (f *File) HasForkTables() bool {
	if len(f.Items) > 0 {
		return true
	}
	for _, t := range f.Doc.Tables {
		if len(t.Key) > 0 && t.Key[0] == "fork" {
			return true
		}
	}
	return false
}
