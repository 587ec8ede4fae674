package forkfile

import (
	"fmt"

	"github.com/forkgate/forkgate/schedule"
	"github.com/pelletier/go-toml/v2/unstable"
)

// Dialect is what may be written in a fork config file. Chain33 reads fork
// values as plain integer heights (types.Forks holds a map[string]int64 and
// the node refuses to start on anything else); forkgate's extended dialect
// adds time, version and parent-height activations and [[signal.version]].
type Dialect string

const (
	DialectAuto     Dialect = ""
	DialectChain33  Dialect = "chain33"
	DialectForkgate Dialect = "forkgate"
)

// ParseDialect reads a --dialect value.
func ParseDialect(s string) (Dialect, error) {
	switch Dialect(s) {
	case DialectAuto, "auto":
		return DialectAuto, nil
	case DialectChain33, DialectForkgate:
		return Dialect(s), nil
	}
	return "", fmt.Errorf("unknown dialect %q; use chain33, forkgate or auto", s)
}

// Dialect is the file's dialect as written: forkgate when it uses any
// forkgate-only value, else chain33.
func (f *File) Dialect() Dialect {
	if len(f.ForkgateOnly()) > 0 {
		return DialectForkgate
	}
	return DialectChain33
}

// ForkgateOnly lists the findings for every value Chain33 cannot read: fork
// activations that are not plain integers, and signalled versions.
func (f *File) ForkgateOnly() schedule.Findings {
	var fs schedule.Findings
	for _, it := range f.Items {
		if it.Entry.Value.Kind != unstable.Integer {
			fs = append(fs, schedule.Finding{Severity: schedule.SevError, Rule: schedule.RuleDialect,
				Origin: origin(it.File, it.Entry.Value.Pos), Fork: it.Key(),
				Message: fmt.Sprintf("fork %s = %s is forkgate-only: Chain33 reads fork values as plain integer heights and would refuse to start; write a height (-1 = never)", it.Key(), it.Entry.Value.Raw)})
		}
	}
	for _, t := range f.Doc.Tables {
		if len(t.Key) >= 1 && t.Key[0] == "signal" {
			fs = append(fs, schedule.Finding{Severity: schedule.SevError, Rule: schedule.RuleDialect,
				Origin:  origin(f.Doc.File, t.Pos),
				Message: "[[signal.version]] is forkgate-only: Chain33 has no signalled versions; keep it out of files Chain33 reads"})
			break
		}
	}
	return fs
}

// checkDialect refuses a value the file's dialect cannot hold.
func checkDialect(f *File, d Dialect, key, value string) error {
	if d == DialectAuto {
		d = f.Dialect()
	}
	if d != DialectChain33 {
		return nil
	}
	act, dom, err := ParseActivation(value)
	if err != nil {
		return err
	}
	if dom == schedule.DomainOwn && (act.Kind == schedule.KindHeight || act.Kind == schedule.KindNever) && isPlainInt(value) {
		return nil
	}
	return fmt.Errorf("%s is in Chain33's dialect (every fork value in it is a plain integer), and Chain33 reads fork values "+
		"as integer heights: it would refuse to start with %s = %s. Write a height (-1 = never), or pass --dialect forkgate "+
		"if only forkgate reads this file", f.Doc.File, key, value)
}

func isPlainInt(s string) bool {
	_, err := parseInt(s)
	return err == nil
}
