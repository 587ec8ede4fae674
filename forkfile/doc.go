// Package forkfile reads, checks and edits fork config files in Chain33's
// layout (extended for time, version and parent-height activation), and
// registry files that declare forks for chains whose code is not ours.
//
// Files are read with go-toml/v2's parser so every item keeps its exact
// position and the comments around it; lint messages point at file:line:col
// and edits splice bytes so the rest of the file stays as the author wrote it.
package forkfile

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"
)

// Pos is a 1-based line and column.
type Pos struct {
	Line int `json:"line"`
	Col  int `json:"col"`
}

// PosError is a problem with a file at a position. Every reader error is one,
// so callers can always point at the line to fix.
type PosError struct {
	File string
	Pos  Pos
	Msg  string
}

func (e *PosError) Error() string {
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Pos.Line, e.Pos.Col, e.Msg)
}

// Origin is "file:line:col".
func (e *PosError) Origin() string { return origin(e.File, e.Pos) }

func origin(file string, p Pos) string { return fmt.Sprintf("%s:%d:%d", file, p.Line, p.Col) }

// Value is a TOML value with its place in the source.
type Value struct {
	Kind   unstable.Kind
	Raw    string  // source text of the value
	Data   string  // decoded scalar (strings unquoted); empty for containers
	Inline []Entry // members of an inline table, keys relative to it
	Items  []Value // elements of an array
	Pos    Pos
	Start  int // byte offsets of Raw in the source
	End    int
}

// Entry is one key = value with its full key path and comments.
type Entry struct {
	Key       []string // full path, table prefix included; array tables add an index
	Pos       Pos      // where the key starts
	Value     Value
	Above     []string // comment lines directly above, '#' included
	AbovePos  Pos      // position of the first of them
	Trailer   string   // comment after the value on the same line
	LineStart int      // byte offset of the start of the key's line
	keyOff    int      // byte offset of the key
}

// Table is a [table] or [[array]] header.
type Table struct {
	Key   []string
	Array bool
	Pos   Pos
	Above []string
}

// Comment is a comment line on its own.
type Comment struct {
	Text       string
	Pos        Pos
	Start, End int
}

// Doc is a parsed TOML file that remembers positions and comments.
type Doc struct {
	File     string
	Src      []byte
	Entries  []Entry
	Tables   []Table
	Comments []Comment // every standalone comment line, in order
	// Lead holds the comment lines before the first table or key: the place
	// of the change record the Chain33 upgrade regulation asks for.
	Lead []Comment

	lines lineIndex // offset <-> line and column, built once
}

// Parse reads a TOML document. Syntax errors, duplicate keys and other
// semantic errors come back as a *PosError.
func Parse(file string, src []byte) (*Doc, error) {
	d := &Doc{File: file, Src: src, lines: newLineIndex(src)}
	p := &unstable.Parser{KeepComments: true}
	// A first pass counts the expressions, so that the large per-entry
	// slices are allocated once instead of regrown (on a 50 MB file the
	// copies cost more than this pass).
	p.Reset(src)
	var nKV, nTable, nComment int
	for p.NextExpression() {
		switch p.Expression().Kind {
		case unstable.KeyValue:
			nKV++
		case unstable.Table, unstable.ArrayTable:
			nTable++
		case unstable.Comment:
			nComment++
		}
	}
	d.Entries = make([]Entry, 0, nKV)
	d.Tables = make([]Table, 0, nTable)
	d.Comments = make([]Comment, 0, nComment)
	p.Reset(src)

	var table []string
	arrayIndex := map[string]int{}
	var pending []Comment // comment lines not yet attached
	sawItem := false
	seen := map[string]Pos{}
	tables := map[string]Pos{}
	tr := newTracker()

	for p.NextExpression() {
		n := p.Expression()
		switch n.Kind {
		case unstable.Comment:
			c := d.comment(p, n)
			d.Comments = append(d.Comments, c)
			if !sawItem {
				d.Lead = append(d.Lead, c)
			}
			pending = append(pending, c)
		case unstable.Table, unstable.ArrayTable:
			sawItem = true
			key, kpos, _, _ := keyOf(p, n.Key(), d.pos)
			above := attach(pending, kpos.Line)
			pending = nil
			if err := tr.header(key, n.Kind == unstable.ArrayTable); err != nil {
				return nil, &PosError{File: file, Pos: kpos, Msg: err.Error()}
			}
			full := strings.Join(key, "\x00")
			if n.Kind == unstable.ArrayTable {
				i := arrayIndex[full]
				arrayIndex[full] = i + 1
				key = append(key, strconv.Itoa(i))
			} else if prev, dup := tables[full]; dup {
				return nil, &PosError{File: file, Pos: kpos, Msg: fmt.Sprintf("table [%s] is defined twice (first at line %d); merge the two", strings.Join(key, "."), prev.Line)}
			} else {
				tables[full] = kpos
			}
			table = key
			d.Tables = append(d.Tables, Table{Key: key, Array: n.Kind == unstable.ArrayTable, Pos: kpos, Above: texts(above)})
		case unstable.KeyValue:
			sawItem = true
			e, err := d.entry(p, n, table)
			if err != nil {
				return nil, err
			}
			above := attach(pending, e.Pos.Line)
			pending = nil
			e.Above = texts(above)
			if len(above) > 0 {
				e.AbovePos = above[0].Pos
			}
			full := strings.Join(e.Key, "\x00")
			if prev, dup := seen[full]; dup {
				return nil, &PosError{File: file, Pos: e.Pos, Msg: fmt.Sprintf("key %s is set twice (first at line %d); keep one", strings.Join(e.Key, "."), prev.Line)}
			}
			if err := tr.value(table, e.Key); err != nil {
				return nil, &PosError{File: file, Pos: e.Pos, Msg: err.Error()}
			}
			seen[full] = e.Pos
			d.Entries = append(d.Entries, e)
		}
	}
	if err := p.Error(); err != nil {
		return nil, d.posError(err)
	}
	return d, nil
}

// attach returns the comment lines that end directly above line: a blank line
// detaches a comment from the item below it.
func attach(pending []Comment, line int) []Comment {
	i := len(pending)
	want := line - 1
	for i > 0 && pending[i-1].Pos.Line == want {
		i--
		want--
	}
	return pending[i:]
}

func texts(cs []Comment) []string {
	if len(cs) == 0 {
		return nil
	}
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Text
	}
	return out
}

func (d *Doc) comment(p *unstable.Parser, n *unstable.Node) Comment {
	start := int(n.Raw.Offset)
	return Comment{Text: string(n.Data), Pos: d.pos(start), Start: start, End: start + int(n.Raw.Length)}
}

func (d *Doc) entry(p *unstable.Parser, n *unstable.Node, table []string) (Entry, error) {
	key, kpos, koff, kend := keyOf(p, n.Key(), d.pos)
	full := append(append([]string(nil), table...), key...)
	v, err := d.value(p, n.Value(), d.valueStart(kend))
	if err != nil {
		return Entry{}, err
	}
	e := Entry{Key: full, Pos: kpos, Value: v, keyOff: koff}
	if c := n.Next(); c != nil && c.Kind == unstable.Comment {
		e.Trailer = string(c.Data)
	}
	e.LineStart = d.LineStart(kpos.Line)
	return e, nil
}

// valueStart is the offset of the value after a key ending at keyEnd: past
// the blanks, the '=' and the blanks after it.
func (d *Doc) valueStart(keyEnd int) int {
	i := skipBlanks(d.Src, keyEnd)
	if i < len(d.Src) && d.Src[i] == '=' {
		i++
	}
	return skipBlanks(d.Src, i)
}

func skipBlanks(src []byte, i int) int {
	for i < len(src) && (src[i] == ' ' || src[i] == '\t') {
		i++
	}
	return i
}

// skipFiller skips what may sit between the elements of an array or an
// inline table: blanks, newlines, commas and comments.
func skipFiller(src []byte, i int) int {
	for i < len(src) {
		switch src[i] {
		case ' ', '\t', '\r', '\n', ',':
			i++
		case '#':
			for i < len(src) && src[i] != '\n' {
				i++
			}
		default:
			return i
		}
	}
	return i
}

// value reads a value that starts at byte offset from. The parser gives
// containers no range, so arrays and inline tables are measured by walking
// from their opening bracket over their members to the closing one; their
// Raw is then the exact source text, comments and line breaks included.
func (d *Doc) value(p *unstable.Parser, n *unstable.Node, from int) (Value, error) {
	v := Value{Kind: n.Kind}
	switch n.Kind {
	case unstable.InlineTable, unstable.Array:
		closer := byte(']')
		if n.Kind == unstable.InlineTable {
			closer = '}'
		}
		if from >= len(d.Src) {
			return v, &PosError{File: d.File, Pos: d.pos(from), Msg: "value expected"}
		}
		v.Start, v.Pos = from, d.pos(from)
		cur := from + 1
		it := n.Children()
		for it.Next() {
			c := it.Node()
			if c.Kind == unstable.Comment {
				continue // comments inside arrays; skipFiller steps over them
			}
			cur = skipFiller(d.Src, cur)
			if n.Kind == unstable.InlineTable {
				e, err := d.entry(p, c, nil)
				if err != nil {
					return v, err
				}
				v.Inline = append(v.Inline, e)
				cur = e.Value.End
				continue
			}
			item, err := d.value(p, c, cur)
			if err != nil {
				return v, err
			}
			v.Items = append(v.Items, item)
			cur = item.End
		}
		cur = skipFiller(d.Src, cur)
		if cur >= len(d.Src) || d.Src[cur] != closer {
			return v, &PosError{File: d.File, Pos: d.pos(cur), Msg: fmt.Sprintf("expected %q to close the %s opened at line %d", closer, strings.ToLower(n.Kind.String()), v.Pos.Line)}
		}
		v.End = cur + 1
		v.Raw = string(d.Src[v.Start:v.End])
		return v, nil
	}
	v.Start = int(n.Raw.Offset)
	v.End = v.Start + int(n.Raw.Length)
	v.Raw = string(d.Src[v.Start:v.End])
	v.Data = string(n.Data)
	v.Pos = d.pos(v.Start)
	return v, nil
}

// keyOf returns a key's parts, its position, and the byte offsets where it
// starts and ends (quotes included).
func keyOf(p *unstable.Parser, it unstable.Iterator, pos func(int) Pos) ([]string, Pos, int, int) {
	var key []string
	var kp Pos
	off, end := 0, 0
	for it.Next() {
		k := it.Node()
		if len(key) == 0 {
			off = int(k.Raw.Offset)
			kp = pos(off)
		}
		end = int(k.Raw.Offset + k.Raw.Length)
		key = append(key, string(k.Data))
	}
	return key, kp, off, end
}

// pos converts a byte offset to a line and a column counted in characters, so
// that Chinese comments do not push columns off.
func (d *Doc) pos(off int) Pos {
	if d.lines.starts == nil {
		d.lines = newLineIndex(d.Src)
	}
	return d.lines.pos(d.Src, off)
}

// LineStart is the byte offset where a 1-based line starts (the end of the
// source for a line past the last).
func (d *Doc) LineStart(line int) int {
	if d.lines.starts == nil {
		d.lines = newLineIndex(d.Src)
	}
	if line < 1 {
		return 0
	}
	if line > len(d.lines.starts) {
		return len(d.Src)
	}
	return d.lines.starts[line-1]
}

// lineIndex answers offset -> line:column in O(log n) so that reading a file
// stays linear in its size: it holds every line's start and, per block of
// blockSize bytes, how many UTF-8 continuation bytes precede the block (a
// column counts characters, and a 50 MB file may be one long line).
type lineIndex struct {
	starts []int // starts[i] is the offset of line i+1
	cont   []int // cont[k]: continuation bytes in src[:k*blockSize]
}

const blockSize = 256

func newLineIndex(src []byte) lineIndex {
	li := lineIndex{starts: []int{0}, cont: make([]int, 0, len(src)/blockSize+1)}
	n := 0
	for i, c := range src {
		if i%blockSize == 0 {
			li.cont = append(li.cont, n)
		}
		switch {
		case c == '\n':
			li.starts = append(li.starts, i+1)
		case c&0xC0 == 0x80:
			n++
		}
	}
	if len(src)%blockSize == 0 {
		li.cont = append(li.cont, n)
	}
	return li
}

// contBefore is the number of UTF-8 continuation bytes in src[:off].
func (li *lineIndex) contBefore(src []byte, off int) int {
	k := off / blockSize
	n := li.cont[k]
	for _, c := range src[k*blockSize : off] {
		if c&0xC0 == 0x80 {
			n++
		}
	}
	return n
}

func (li *lineIndex) pos(src []byte, off int) Pos {
	off = max(0, min(off, len(src)))
	line := sort.SearchInts(li.starts, off+1) // first start > off, 1-based line
	ls := li.starts[line-1]
	col := 1 + (off - ls) - (li.contBefore(src, off) - li.contBefore(src, ls))
	return Pos{Line: line, Col: col}
}

func (d *Doc) posError(err error) error {
	var pe *unstable.ParserError
	if errors.As(err, &pe) {
		off := 0
		if len(pe.Highlight) > 0 {
			off = cap(d.Src) - cap(pe.Highlight)
			if off < 0 || off > len(d.Src) {
				off = 0
			}
		} else {
			off = len(d.Src)
		}
		return &PosError{File: d.File, Pos: d.pos(off), Msg: "TOML syntax: " + pe.Message}
	}
	var de *toml.DecodeError
	if errors.As(err, &de) {
		row, col := de.Position()
		msg := strings.TrimPrefix(de.Error(), "toml: ")
		return &PosError{File: d.File, Pos: Pos{Line: row, Col: col}, Msg: msg}
	}
	return &PosError{File: d.File, Pos: Pos{Line: 1, Col: 1}, Msg: err.Error()}
}
