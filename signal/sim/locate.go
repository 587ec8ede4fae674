package sim

import (
	"strings"

	"github.com/pelletier/go-toml/v2/unstable"
)

// locator knows where a scenario file says things, so an error found after
// decoding can still name its line: the line of each top-level key, and for
// each [[step]], [[version]] and [[param]] table its header and keys.
type locator struct {
	top    map[string]int
	tables map[string][]*table
}

type table struct {
	line int            // the [[...]] header
	keys map[string]int // first segment of each key -> its line
}

// locate reads data, which has already decoded without error, with go-toml's
// own parser, so positions agree with the decoder's.
func locate(data []byte) locator {
	l := locator{top: map[string]int{}, tables: map[string][]*table{}}
	var p unstable.Parser
	p.Reset(data)
	var cur *table   // the array table whose keys come next
	inTable := false // past a [table] header: its keys are not top-level
	for p.NextExpression() {
		e := p.Expression()
		key, line := keyOf(&p, e)
		switch e.Kind {
		case unstable.ArrayTable:
			cur = &table{line: line, keys: map[string]int{}}
			l.tables[key] = append(l.tables[key], cur)
			inTable = true
		case unstable.Table:
			cur, inTable = nil, true
		case unstable.KeyValue:
			first, _, _ := strings.Cut(key, ".")
			switch {
			case cur != nil:
				if _, ok := cur.keys[first]; !ok {
					cur.keys[first] = line
				}
			case !inTable:
				if _, ok := l.top[first]; !ok {
					l.top[first] = line
				}
			}
		}
	}
	return l
}

// keyOf returns an expression's dotted key and the line it starts on.
func keyOf(p *unstable.Parser, e *unstable.Node) (string, int) {
	it := e.Key()
	var parts []string
	line := 0
	for it.Next() {
		n := it.Node()
		if line == 0 {
			line = p.Shape(n.Raw).Start.Line
		}
		parts = append(parts, string(n.Data))
	}
	// go-toml matches keys to fields case-insensitively, so [[Step]] is a
	// step: fold case the same way.
	return strings.ToLower(strings.Join(parts, ".")), line
}

// line is the line of key (the first of keys found) in the i-th [[name]]
// table, else of the table's header; for tables written inline
// (name = [{...}]) it is the line of name itself.
func (l locator) line(name string, i int, keys ...string) int {
	ts := l.tables[name]
	if i < 0 || i >= len(ts) {
		return l.top[name]
	}
	for _, k := range keys {
		if n, ok := ts[i].keys[k]; ok {
			return n
		}
	}
	return ts[i].line
}
