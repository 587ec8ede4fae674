package forkfile

import (
	"bytes"
	"fmt"
	"sort"
	"strings"

	"github.com/creachadair/tomledit"
	"github.com/forkgate/forkgate/schedule"
)

// SetRequest changes one fork item.
type SetRequest struct {
	Key   string // "ForkName" (system) or "exec.ForkName"
	Value string // a config value: -1, 100, { time = ... }; also "never" and "genesis"
	Note  string // written above the item; required by the regulation
	Date  string // the change record's date, YYYY-MM-DD
	// Dialect limits the value to what the file's readers accept (auto: the
	// file's own dialect, see File.Dialect).
	Dialect Dialect
}

// Set returns the file's bytes with one fork item set, its note written above
// it and a dated line added to the change record. Every other byte of the file
// is kept, so the diff is exactly the edit.
func Set(f *File, req SetRequest) ([]byte, error) {
	if strings.TrimSpace(req.Note) == "" {
		return nil, fmt.Errorf("a note is required: say what problem the change solves and how to configure it (--note)")
	}
	scope, name := schedule.SplitKey(req.Key)
	value := strings.TrimSpace(req.Value)
	switch value {
	case "never":
		value = "-1"
	case "genesis":
		value = "0"
	}
	if _, _, err := ParseActivation(value); err != nil {
		return nil, fmt.Errorf("value for %s: %v", req.Key, err)
	}
	if err := checkDialect(f, req.Dialect, req.Key, value); err != nil {
		return nil, err
	}
	src := f.Doc.Src
	var edits []splice

	var target *Item
	for i := range f.Items {
		if f.Items[i].Scope == scope && f.Items[i].Name == name {
			target = &f.Items[i]
		}
	}
	section := (&Item{Scope: scope}).Section()
	noteLines := func(indent string) string { return noteText(req.Note, indent) }
	action := "set"
	if target != nil {
		e := target.Entry
		indent := leadingSpace(src[e.LineStart:])
		if !hasNote(e.Above, req.Note) {
			edits = append(edits, splice{at: e.LineStart, end: e.LineStart, text: noteLines(indent)})
		}
		edits = append(edits, splice{at: e.Value.Start, end: e.Value.End, text: value})
	} else {
		action = "add"
		line := noteLines("") + name + " = " + value + "\n"
		if end, ok := sectionEnd(f, scope); ok {
			edits = append(edits, splice{at: end, end: end, text: line})
		} else {
			edits = append(edits, newSection(src, section, line))
		}
	}

	record := fmt.Sprintf("# %s %s %s = %s under %s: %s\n", req.Date, action, name, value, section, firstLine(req.Note))
	edits = append(edits, recordEdit(f, record))

	out := apply(src, edits)
	// Read the result back: the edit must leave a valid file that says what
	// was asked.
	nf, err := Read(f.Doc.File, out)
	if err != nil {
		return nil, fmt.Errorf("internal error: the edited file does not read back: %v", err)
	}
	want, dom, _ := ParseActivation(value)
	for _, it := range nf.Items {
		if it.Scope == scope && it.Name == name && it.Activation == want && it.Domain == dom {
			return out, nil
		}
	}
	return nil, fmt.Errorf("internal error: %s did not read back as %s", req.Key, value)
}

func noteText(note, indent string) string {
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimSpace(note), "\n") {
		b.WriteString(indent + "# " + strings.TrimSpace(l) + "\n")
	}
	return b.String()
}

// recordEdit adds a dated line to the change record: after its last dated
// entry, or as a new record at the top.
func recordEdit(f *File, line string) splice {
	if n := len(f.Record); n > 0 {
		at := lineEnd(f.Doc.Src, f.Doc.LineStart(f.Record[n-1].Pos.Line))
		return splice{at: at, end: at, text: line}
	}
	return splice{at: 0, end: 0, text: "# Change record (newest last)\n" + line + "\n"}
}

// SetParam returns the file's bytes with one [mver] parameter set to a TOML
// value (a string, a list such as ["1A", "1B"], a number…) written as given,
// its note above it and a dated record line; every other byte is kept. The
// key is the full path, "mver.exec.sub.exchange.banks" or
// "mver.exec.sub.exchange.ForkFix.banks" for the value from a fork on.
func SetParam(f *File, req SetRequest) ([]byte, error) {
	if strings.TrimSpace(req.Note) == "" {
		return nil, fmt.Errorf("a note is required: say what the change does and why (--note)")
	}
	path := strings.Split(req.Key, ".")
	if len(path) < 2 || path[0] != "mver" {
		return nil, fmt.Errorf("parameter %q must be a path under mver, e.g. mver.exec.sub.exchange.banks", req.Key)
	}
	for _, p := range path {
		if p == "" || strings.ContainsAny(p, " \t\"'[]=#") {
			return nil, fmt.Errorf("parameter %q: write each part of the path as a bare key", req.Key)
		}
	}
	value := strings.TrimSpace(req.Value)
	vd, err := Parse("value", []byte("X = "+value+"\n"))
	if err != nil || len(vd.Entries) != 1 {
		return nil, fmt.Errorf("%q is not a TOML value; quote strings (\"text\") and write lists as [\"a\", \"b\"]", req.Value)
	}
	want := CanonicalValue(vd.Entries[0].Value)
	src := f.Doc.Src
	var edits []splice
	var target *Entry
	for i := range f.Doc.Entries {
		if strings.Join(f.Doc.Entries[i].Key, ".") == req.Key {
			target = &f.Doc.Entries[i]
		}
	}
	table, key := path[:len(path)-1], path[len(path)-1]
	header := "[" + strings.Join(table, ".") + "]"
	action := "set"
	if target != nil {
		if !hasNote(target.Above, req.Note) {
			edits = append(edits, splice{at: target.LineStart, end: target.LineStart, text: noteText(req.Note, leadingSpace(src[target.LineStart:]))})
		}
		edits = append(edits, splice{at: target.Value.Start, end: target.Value.End, text: value})
	} else {
		action = "add"
		line := noteText(req.Note, "") + key + " = " + value + "\n"
		at := -1
		for _, t := range f.Doc.Tables {
			if !t.Array && strings.Join(t.Key, ".") == strings.Join(table, ".") {
				at = lineEnd(src, f.Doc.LineStart(t.Pos.Line))
			}
		}
		for _, e := range f.Doc.Entries {
			if len(e.Key) == len(path) && strings.Join(e.Key[:len(table)], ".") == strings.Join(table, ".") && at >= 0 {
				at = max(at, lineEnd(src, e.Value.End))
			}
		}
		if at >= 0 {
			edits = append(edits, splice{at: at, end: at, text: line})
		} else {
			edits = append(edits, newSection(src, header, line))
		}
	}
	edits = append(edits, recordEdit(f, fmt.Sprintf("# %s %s %s = %s: %s\n", req.Date, action, req.Key, want, firstLine(req.Note))))
	out := apply(src, edits)
	nf, err := Read(f.Doc.File, out)
	if err != nil {
		return nil, fmt.Errorf("the edited file does not read back: %v", err)
	}
	for _, e := range nf.Doc.Entries {
		if strings.Join(e.Key, ".") == req.Key && CanonicalValue(e.Value) == want {
			return out, nil
		}
	}
	return nil, fmt.Errorf("internal error: %s did not read back as %s", req.Key, want)
}

// newSection appends a table with one item at the end of the file.
func newSection(src []byte, header, line string) splice {
	pre := ""
	if len(src) > 0 && src[len(src)-1] != '\n' {
		pre = "\n"
	}
	return splice{at: len(src), end: len(src), text: pre + "\n" + header + "\n" + line}
}

type splice struct {
	at, end int
	text    string
}

func apply(src []byte, edits []splice) []byte {
	sort.SliceStable(edits, func(i, j int) bool { return edits[i].at > edits[j].at })
	out := append([]byte(nil), src...)
	for _, e := range edits {
		out = append(out[:e.at], append([]byte(e.text), out[e.end:]...)...)
	}
	return out
}

// sectionEnd is the offset after the last line of the fork section of scope.
func sectionEnd(f *File, scope string) (int, bool) {
	end, ok := -1, false
	for _, it := range f.Items {
		if it.Scope == scope {
			end, ok = lineEnd(f.Doc.Src, it.Entry.Value.End), true
		}
	}
	return end, ok
}

func lineEnd(src []byte, off int) int {
	if i := bytes.IndexByte(src[off:], '\n'); i >= 0 {
		return off + i + 1
	}
	return len(src)
}

func leadingSpace(b []byte) string {
	i := 0
	for i < len(b) && (b[i] == ' ' || b[i] == '\t') {
		i++
	}
	return string(b[:i])
}

func hasNote(above []string, note string) bool {
	return strings.Contains(joinNote(above), strings.TrimSpace(strings.Split(strings.TrimSpace(note), "\n")[0]))
}

func firstLine(s string) string {
	return strings.TrimSpace(strings.Split(strings.TrimSpace(s), "\n")[0])
}

// Canonical formats a file with tomledit, which keeps every comment and
// attaches each to its item, but normalises spacing. The first run on a
// hand-written file changes whitespace; after that the output is a fixed
// point, so later edits give minimal diffs.
func Canonical(src []byte) ([]byte, error) {
	doc, err := tomledit.Parse(bytes.NewReader(src))
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := (&tomledit.Formatter{}).Format(&buf, doc); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
