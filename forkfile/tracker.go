package forkfile

import (
	"fmt"
	"strings"
)

// tracker checks the TOML rules the syntax parser leaves to the decoder: a
// key is defined once, a value is never reopened as a table, a table made by
// dotted keys or an inline table is never reopened by a header. go-toml's own
// decoder checks the same rules with a scan over every sibling table, which
// makes a file with many [fork.sub.*] tables quadratic to read; a map from
// each path to what defined it keeps reading linear.
type tracker struct {
	kinds map[string]defKind
}

type defKind uint8

const (
	defImplicit defKind = iota + 1 // a super-table of a header: [a.b] makes a
	defTable                       // an explicit [header]
	defDotted                      // a table made by a dotted key: a.b = 1 makes a
	defArray                       // an [[array]] of tables
	defValue                       // a key with a value (inline tables and arrays included)
)

func (k defKind) String() string {
	switch k {
	case defTable, defImplicit:
		return "a table"
	case defDotted:
		return "a table made by dotted keys"
	case defArray:
		return "an array of tables"
	}
	return "a value"
}

func newTracker() *tracker { return &tracker{kinds: map[string]defKind{}} }

func pathKey(p []string) string { return strings.Join(p, "\x00") }

// prefixes checks that no prefix of path holds a value and marks missing ones
// with kind.
func (t *tracker) prefixes(path []string, from int, kind defKind) error {
	for i := from; i < len(path); i++ {
		k := pathKey(path[:i])
		switch have := t.kinds[k]; {
		case have == 0:
			t.kinds[k] = kind
		case have == defValue:
			return fmt.Errorf("%s is already a value (it cannot hold %s); rename one of them", strings.Join(path[:i], "."), strings.Join(path, "."))
		case kind == defDotted && (have == defTable || have == defArray):
			return fmt.Errorf("dotted key %s reopens table [%s]; write its keys in that table", strings.Join(path, "."), strings.Join(path[:i], "."))
		}
	}
	return nil
}

// header records a [table] or [[array]] header (path without the array index).
func (t *tracker) header(path []string, array bool) error {
	if err := t.prefixes(path, 1, defImplicit); err != nil {
		return err
	}
	k := pathKey(path)
	have := t.kinds[k]
	switch {
	case array && (have == 0 || have == defArray):
		t.kinds[k] = defArray
	case array:
		return fmt.Errorf("[[%s]] is already %s; an array of tables needs its own name", strings.Join(path, "."), have)
	case have == 0 || have == defImplicit:
		t.kinds[k] = defTable
	case have == defTable:
		return nil // the caller reports a header given twice
	default:
		return fmt.Errorf("[%s] is already %s; merge the two or rename one", strings.Join(path, "."), have)
	}
	return nil
}

// value records key = value; table is the path of the enclosing header.
func (t *tracker) value(table, full []string) error {
	if err := t.prefixes(full, len(table)+1, defDotted); err != nil {
		return err
	}
	k := pathKey(full)
	if have := t.kinds[k]; have != 0 && have != defValue {
		return fmt.Errorf("%s is already %s; it cannot also be set to a value", strings.Join(full, "."), have)
	}
	t.kinds[k] = defValue
	return nil
}
