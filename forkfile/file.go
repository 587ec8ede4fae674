package forkfile

import (
	"fmt"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/forkgate/forkgate/schedule"
	"github.com/pelletier/go-toml/v2/unstable"
)

// Item is one fork setting in a config file.
type Item struct {
	Scope      string
	Name       string
	Activation schedule.Activation
	Domain     schedule.Domain
	Entry      *Entry // in its file's Doc.Entries
	File       string // the file it is written in (a merged chain has several)
}

// Key is the fork's "scope.Name".
func (it Item) Key() string { return it.Scope + "." + it.Name }

// Section is the TOML table the item lives in, as written in the file.
func (it Item) Section() string {
	if it.Scope == schedule.SystemScope {
		return "[fork.system]"
	}
	return "[fork.sub." + it.Scope + "]"
}

// RecordEntry is one dated line of the change record.
type RecordEntry struct {
	Date string // as written
	Text string
	Pos  Pos
}

// File is a chain's fork config in Chain33's layout:
//
//	Title = "user.p.para."          # parallel chains are user.p.<name>.
//	[fork.system]
//	ForkBlockHash = 1               # a height; -1 = never
//	[fork.sub.token]
//	Enable = 0
//	ForkTokenCheck = { time = 1767225600 }   # extensions: time, version,
//	ForkRootHash = { parent = 7200000 }      # parent-chain height, height
//	[mver.mempool]                  # height-versioned parameters
//	maxTxFee = 100000
//	[mver.mempool.ForkMaxTxFeeV1]
//	maxTxFee = 1000000
//	[[signal.version]]              # signalled protocol versions
//	number = 2
//	rate = 80
type File struct {
	Doc      *Doc
	Title    string
	Items    []Item
	Params   []schedule.ParamSetting
	Versions []schedule.VersionParams
	Record   []RecordEntry
	// ParentStart is a parallel chain's [library] parent_start: its block h
	// is anchored at parent height ParentStart + h (0: not set).
	ParentStart int64

	byKey map[string]string // fork key -> key, for resolving parameters
}

// ErrorList is every value error of a file; each one has a position.
type ErrorList []*PosError

func (l ErrorList) Error() string {
	var b strings.Builder
	for i, e := range l {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Load reads and interprets a config file.
func Load(path string) (*File, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Read(path, src)
}

// Read interprets a config file's bytes. Syntax errors stop at the first one;
// value errors are all collected into an ErrorList.
func Read(name string, src []byte) (*File, error) {
	d, err := Parse(name, src)
	if err != nil {
		return nil, err
	}
	f := &File{Doc: d}
	var errs ErrorList
	bad := func(p Pos, format string, args ...any) {
		errs = append(errs, &PosError{File: name, Pos: p, Msg: fmt.Sprintf(format, args...)})
	}
	versions := map[string]*schedule.VersionParams{}
	var versionOrder []string
	var mver []int // indices into d.Entries; entries are large, so not copied
	nFork := 0
	for i := range d.Entries {
		switch d.Entries[i].Key[0] {
		case "fork":
			nFork++
		case "mver":
			mver = append(mver, i) // needs every fork name first
		}
	}
	f.Items = make([]Item, 0, nFork)
	f.Params = make([]schedule.ParamSetting, 0, len(mver))
	for i := range d.Entries {
		e := &d.Entries[i]
		switch {
		case len(e.Key) == 1 && e.Key[0] == "Title":
			f.Title = e.Value.Data
		case len(e.Key) == 2 && e.Key[0] == "library" && e.Key[1] == "parent_start":
			n, err := parseInt(e.Value.Data)
			if e.Value.Kind != unstable.Integer || err != nil || n < 0 {
				bad(e.Value.Pos, "parent_start must be a parent height >= 0, not %s", e.Value.Raw)
				break
			}
			f.ParentStart = n
		case e.Key[0] == "fork":
			it, ok := f.item(e, bad)
			if ok {
				f.Items = append(f.Items, it)
			}
		case e.Key[0] == "mver":
			// read below, once every fork name is known
		case len(e.Key) == 4 && e.Key[0] == "signal" && e.Key[1] == "version":
			idx := e.Key[2]
			v := versions[idx]
			if v == nil {
				v = &schedule.VersionParams{}
				versions[idx] = v
				versionOrder = append(versionOrder, idx)
			}
			setVersionField(v, *e, bad)
		case e.Key[0] == "signal":
			bad(e.Pos, "unexpected key %s; declare versions as [[signal.version]] tables", strings.Join(e.Key, "."))
		}
	}
	f.indexForks()
	for _, i := range mver {
		f.param(d.Entries[i], bad)
	}
	for _, idx := range versionOrder {
		f.Versions = append(f.Versions, *versions[idx])
	}
	f.Record = parseRecord(d.Lead)
	if len(errs) > 0 {
		return f, errs
	}
	return f, nil
}

func (f *File) item(e *Entry, bad func(Pos, string, ...any)) (Item, bool) {
	var scope, name string
	switch {
	case len(e.Key) == 3 && e.Key[1] == "system":
		scope, name = schedule.SystemScope, e.Key[2]
	case len(e.Key) == 4 && e.Key[1] == "sub":
		scope, name = e.Key[2], e.Key[3]
	default:
		bad(e.Pos, "unexpected key %s; fork items go under [fork.system] or [fork.sub.<executor>]", strings.Join(e.Key, "."))
		return Item{}, false
	}
	if scope == schedule.SystemScope && len(e.Key) == 4 {
		bad(e.Pos, "executor %q collides with the system scope; rename the [fork.sub] section", scope)
		return Item{}, false
	}
	act, dom, err := parseActivation(e.Value)
	if err != nil {
		bad(e.Value.Pos, "fork %s.%s: %v", scope, name, err)
		return Item{}, false
	}
	return Item{Scope: scope, Name: name, Activation: act, Domain: dom, Entry: e, File: f.Doc.File}, true
}

// ParseActivation reads an activation written as a config value: an integer
// height (-1 = never) or an inline table {height|time|version|parent = N}.
func ParseActivation(text string) (schedule.Activation, schedule.Domain, error) {
	d, err := Parse("value", []byte("X = "+text+"\n"))
	if err != nil || len(d.Entries) != 1 {
		return schedule.Activation{}, 0, fmt.Errorf("%q is not a value; write a height (-1 = never) or an inline table such as { time = 1767225600 }", text)
	}
	return parseActivation(d.Entries[0].Value)
}

func parseActivation(v Value) (schedule.Activation, schedule.Domain, error) {
	switch v.Kind {
	case unstable.Integer:
		h, err := parseInt(v.Data)
		if err != nil {
			return schedule.Activation{}, 0, err
		}
		switch {
		case h == -1:
			return schedule.Never(), schedule.DomainOwn, nil
		case h < -1:
			return schedule.Activation{}, 0, fmt.Errorf("height %d is below -1; use -1 for never or a height >= 0", h)
		}
		return schedule.AtHeight(h), schedule.DomainOwn, nil
	case unstable.InlineTable:
		if len(v.Inline) != 1 {
			return schedule.Activation{}, 0, fmt.Errorf("an activation table needs exactly one of height, time, version or parent, got %d keys", len(v.Inline))
		}
		m := v.Inline[0]
		kind := strings.Join(m.Key, ".")
		if kind == "time" && (m.Value.Kind == unstable.DateTime) {
			t, err := time.Parse(time.RFC3339Nano, m.Value.Data)
			if err != nil {
				return schedule.Activation{}, 0, fmt.Errorf("time %s: %v", m.Value.Data, err)
			}
			return schedule.AtTime(t.Unix()), schedule.DomainOwn, nil
		}
		if m.Value.Kind != unstable.Integer {
			return schedule.Activation{}, 0, fmt.Errorf("%s must be an integer, not %s %s", kind, strings.ToLower(m.Value.Kind.String()), m.Value.Raw)
		}
		n, err := parseInt(m.Value.Data)
		if err != nil {
			return schedule.Activation{}, 0, err
		}
		switch kind {
		case "height", "parent":
			dom := schedule.DomainOwn
			if kind == "parent" {
				dom = schedule.DomainParent
			}
			if n == -1 {
				return schedule.Never(), dom, nil
			}
			if n < -1 {
				return schedule.Activation{}, 0, fmt.Errorf("%s %d is below -1; use -1 for never or a height >= 0", kind, n)
			}
			return schedule.AtHeight(n), dom, nil
		case "time":
			if n < 0 {
				return schedule.Activation{}, 0, fmt.Errorf("time %d is negative; give unix seconds or an RFC 3339 date", n)
			}
			return schedule.AtTime(n), schedule.DomainOwn, nil
		case "version":
			if n < 1 || n > int64(^uint32(0)) {
				return schedule.Activation{}, 0, fmt.Errorf("version %d is out of range 1..%d", n, ^uint32(0))
			}
			return schedule.OnVersion(uint32(n)), schedule.DomainOwn, nil
		}
		return schedule.Activation{}, 0, fmt.Errorf("unknown activation key %q; use height, time, version or parent", kind)
	}
	return schedule.Activation{}, 0, fmt.Errorf("%s is not an integer height; write a height (-1 = never) or an inline table such as { time = 1767225600 }", v.Raw)
}

func parseInt(s string) (int64, error) {
	n, err := strconv.ParseInt(strings.ReplaceAll(s, "_", ""), 0, 64)
	if err != nil {
		return 0, fmt.Errorf("%s is not a 64-bit integer", s)
	}
	return n, nil
}

// param reads an [mver...] entry the way Chain33's mversion.UpdateFork does
// (types/config_mver.go): a key's second-to-last component is a fork when it
// names a system fork, or, joined with the component before it, an executor
// fork ("mver.exec.sub.coins.Enable.name2" is coins.Enable's value of
// exec.sub.coins.name2); every other key is a base value, top-level
// [mver] keys included. A component starting with "Fork" that this file does
// not declare is read as a system fork, so that a file checked on its own
// still binds its overrides (the schedule then names the missing fork).
func (f *File) param(e Entry, bad func(Pos, string, ...any)) {
	path := e.Key[1:]
	if len(path) == 0 {
		bad(e.Pos, "mver must be a table of parameters, not a value")
		return
	}
	ps := schedule.ParamSetting{Value: paramValue(e.Value), Origin: origin(f.Doc.File, e.Pos)}
	ps.Name = strings.Join(path, ".")
	if n := len(path); n >= 2 {
		cand := path[n-2]
		fork := f.systemFork(cand)
		if fork == "" && n >= 3 {
			if k := path[n-3] + "." + cand; f.hasKey(k) {
				fork = k
			}
		}
		if fork == "" && strings.HasPrefix(cand, "Fork") {
			fork = schedule.SystemScope + "." + cand
		}
		if fork != "" {
			ps.Fork = fork
			ps.Name = strings.Join(append(append([]string(nil), path[:n-2]...), path[n-1]), ".")
		}
	}
	f.Params = append(f.Params, ps)
}

// indexForks maps fork keys once, so that resolving every parameter's fork
// stays linear in the file's size.
func (f *File) indexForks() {
	f.byKey = make(map[string]string, len(f.Items))
	for _, it := range f.Items {
		k := it.Key()
		f.byKey[k] = k
	}
}

// systemFork is the key of a system fork of this file named name, or "".
func (f *File) systemFork(name string) string {
	if f.byKey == nil {
		f.indexForks()
	}
	return f.byKey[schedule.SystemScope+"."+name]
}

func (f *File) hasKey(key string) bool {
	if f.byKey == nil {
		f.indexForks()
	}
	_, ok := f.byKey[key]
	return ok
}

// paramValue types a parameter value. Its Text is canonical TOML (integers
// in decimal, strings double-quoted, lists as [a, b], tables as { k = v }), so
// a list reflowed over several lines or a comment added inside it is not a
// change, while any change of an element is.
func paramValue(v Value) schedule.Value {
	out := schedule.Value{Text: CanonicalValue(v)}
	switch v.Kind {
	case unstable.Integer:
		if n, err := parseInt(v.Data); err == nil {
			return schedule.IntValue(n)
		}
	case unstable.String:
		out.Type = schedule.TypeString
	case unstable.Bool:
		out.Type = schedule.TypeBool
	case unstable.Array:
		out.Type = schedule.TypeList
	}
	return out
}

// CanonicalValue is a value's canonical TOML text.
func CanonicalValue(v Value) string {
	var b strings.Builder
	writeCanonical(&b, v)
	return b.String()
}

func writeCanonical(b *strings.Builder, v Value) {
	switch v.Kind {
	case unstable.Integer:
		if n, err := parseInt(v.Data); err == nil {
			b.WriteString(strconv.FormatInt(n, 10))
			return
		}
		b.WriteString(v.Raw)
	case unstable.Float:
		b.WriteString(strings.ReplaceAll(v.Raw, "_", ""))
	case unstable.String:
		writeQuoted(b, v.Data)
	case unstable.Array:
		b.WriteByte('[')
		for i, it := range v.Items {
			if i > 0 {
				b.WriteString(", ")
			}
			writeCanonical(b, it)
		}
		b.WriteByte(']')
	case unstable.InlineTable:
		if len(v.Inline) == 0 {
			b.WriteString("{}")
			return
		}
		// A table's keys are unordered: reordering them is no change.
		members := append([]Entry(nil), v.Inline...)
		sort.SliceStable(members, func(i, j int) bool { return strings.Join(members[i].Key, ".") < strings.Join(members[j].Key, ".") })
		b.WriteString("{ ")
		for i, e := range members {
			if i > 0 {
				b.WriteString(", ")
			}
			for j, k := range e.Key {
				if j > 0 {
					b.WriteByte('.')
				}
				writeKey(b, k)
			}
			b.WriteString(" = ")
			writeCanonical(b, e.Value)
		}
		b.WriteString(" }")
	default:
		b.WriteString(v.Raw)
	}
}

func writeKey(b *strings.Builder, k string) {
	bare := k != ""
	for _, r := range k {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			bare = false
			break
		}
	}
	if bare {
		b.WriteString(k)
		return
	}
	writeQuoted(b, k)
}

// writeQuoted writes a TOML basic string.
func writeQuoted(b *strings.Builder, s string) {
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\t':
			b.WriteString(`\t`)
		case '\r':
			b.WriteString(`\r`)
		default:
			if r < 0x20 || r == 0x7f {
				fmt.Fprintf(b, `\u%04X`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
}

func setVersionField(v *schedule.VersionParams, e Entry, bad func(Pos, string, ...any)) {
	field := e.Key[3]
	if field == "release" || field == "note" {
		if e.Value.Kind != unstable.String {
			bad(e.Value.Pos, "%s must be a string", field)
			return
		}
		if field == "release" {
			v.Release = e.Value.Data
		} else {
			v.Note = e.Value.Data
		}
		return
	}
	var n int64
	switch {
	case e.Value.Kind == unstable.Integer:
		var err error
		if n, err = parseInt(e.Value.Data); err != nil {
			bad(e.Value.Pos, "version %s: %v", field, err)
			return
		}
	case e.Value.Kind == unstable.DateTime && (field == "time" || field == "timeout"):
		t, err := time.Parse(time.RFC3339Nano, e.Value.Data)
		if err != nil {
			bad(e.Value.Pos, "version %s: %v", field, err)
			return
		}
		n = t.Unix()
	default:
		bad(e.Value.Pos, "version %s must be an integer, not %s", field, e.Value.Raw)
		return
	}
	if n < 0 || n > 1<<53 {
		bad(e.Value.Pos, "version %s %d is out of range", field, n)
		return
	}
	switch field {
	case "number":
		if n > int64(^uint32(0)) {
			bad(e.Value.Pos, "version number %d does not fit 32 bits", n)
			return
		}
		v.Number = uint32(n)
	case "time":
		v.Time = n
	case "rate":
		v.Rate = uint32(min(n, 1<<31))
	case "grace":
		v.Grace = uint32(min(n, 1<<31))
	case "timeout":
		v.Timeout = n
	case "min_height":
		v.MinHeight = n
	default:
		bad(e.Pos, "unknown version field %q; use number, time, rate, grace, timeout, min_height, release or note", field)
	}
}

// A dated record line: "# 2026-11-21 ...", also 2026/11/21, 2026.11.21 and
// 2026年11月21日, which Chinese chain teams write.
var recordDate = regexp.MustCompile(`^#+\s*(\d{4}[-/.年]\d{1,2}[-/.月]\d{1,2}日?)[\s:：,，]*(.*)$`)

func parseRecord(lead []Comment) []RecordEntry {
	var out []RecordEntry
	for _, c := range lead {
		if m := recordDate.FindStringSubmatch(strings.TrimSpace(c.Text)); m != nil {
			out = append(out, RecordEntry{Date: m[1], Text: strings.TrimSpace(m[2]), Pos: c.Pos})
		}
	}
	return out
}

// IsParaTitle reports whether a title names a Chain33 parallel chain:
// "user.p.<name>." with exactly three dots.
func IsParaTitle(title string) bool {
	return strings.HasPrefix(title, "user.p.") && strings.HasSuffix(title, ".") && strings.Count(title, ".") == 3
}

// Config converts the file to the schedule's input.
func (f *File) Config() schedule.Config {
	cfg := schedule.Config{Title: f.Title, Params: f.Params, Versions: f.Versions}
	for _, it := range f.Items {
		cfg.Settings = append(cfg.Settings, schedule.Setting{
			Scope: it.Scope, Name: it.Name, Activation: it.Activation, Domain: it.Domain,
			Origin: origin(it.File, it.Entry.Pos),
		})
	}
	return cfg
}

// Schedule builds the file's schedule against a registry (nil: the file on
// its own).
func (f *File) Schedule(reg *schedule.Registry, strict bool) (*schedule.Schedule, schedule.Findings) {
	return schedule.Build(reg, f.Config(), schedule.Options{Strict: strict})
}
