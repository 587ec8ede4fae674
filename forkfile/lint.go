package forkfile

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/forkgate/forkgate/schedule"
)

// LintOptions says what to check a file against.
type LintOptions struct {
	Registry *schedule.Registry // nil: check the file on its own
	Strict   bool               // a registered fork the file omits is an error
	Base     *File              // an earlier version: every fork added since needs a record entry
	Parent   *File              // the parent chain's config, for parent-height forks
	Dialect  Dialect            // chain33: every forkgate-only value is a finding
}

// Lint checks a config file against the upgrade regulation (a dated change
// record at the top, a note above every fork item, a record entry for every
// added fork) and against the schedule rules (unknown, missing, duplicate and
// misordered forks, parameters, versions, parent heights).
func Lint(f *File, opts LintOptions) schedule.Findings {
	var fs schedule.Findings
	file := f.Doc.File

	if len(f.Record) == 0 {
		p := Pos{Line: 1, Col: 1}
		msg := "missing change record: start the file with a comment block of dated entries, e.g. \"# 2026-11-21 add ForkX under [fork.sub.token]: why\""
		if len(f.Doc.Lead) > 0 {
			p = f.Doc.Lead[0].Pos
			msg = "the comment block at the top has no dated entry; write change-record lines as \"# YYYY-MM-DD what changed and why\""
		}
		fs = append(fs, schedule.Finding{Severity: schedule.SevError, Rule: schedule.RuleChangeRecord, Origin: origin(file, p), Message: msg})
	}

	for _, it := range f.Items {
		if len(it.Entry.Above) == 0 {
			fs = append(fs, schedule.Finding{Severity: schedule.SevError, Rule: schedule.RuleForkNote,
				Origin: origin(it.File, it.Entry.Pos), Fork: it.Key(),
				Message: fmt.Sprintf("fork %s has no comment directly above it; add a note saying what problem it solves and how to configure it", it.Key())})
		}
	}

	if opts.Base != nil {
		old := map[string]bool{}
		for _, it := range opts.Base.Items {
			old[it.Key()] = true
		}
		for _, it := range f.Items {
			if old[it.Key()] || recordNames(f.Record, it.Name) {
				continue
			}
			fs = append(fs, schedule.Finding{Severity: schedule.SevError, Rule: schedule.RuleRecordEntry,
				Origin: origin(it.File, it.Entry.Pos), Fork: it.Key(),
				Message: fmt.Sprintf("fork %s was added since %s but no change-record entry names it; add \"# YYYY-MM-DD add %s under %s: why\" to the record at the top", it.Key(), opts.Base.Doc.File, it.Name, it.Section())})
		}
	}

	if opts.Dialect == DialectChain33 {
		fs = append(fs, f.ForkgateOnly()...)
	}

	s, built := f.Schedule(opts.Registry, opts.Strict)
	for _, b := range built {
		if b.Origin == "" {
			// A fork the file omits belongs in its scope's section.
			b.Origin = origin(file, f.sectionPos(b.Fork))
		}
		fs = append(fs, b)
	}

	hasParent := false
	for _, it := range f.Items {
		if it.Domain == schedule.DomainParent {
			hasParent = true
			if !IsParaTitle(f.Title) {
				fs = append(fs, schedule.Finding{Severity: schedule.SevWarning, Rule: schedule.RuleParaTitle,
					Origin: origin(it.File, it.Entry.Pos), Fork: it.Key(),
					Message: fmt.Sprintf("fork %s follows a parent chain's height, but title %q is not a parallel chain (user.p.<name>.)", it.Key(), f.Title)})
			}
		}
	}
	if opts.Parent != nil && hasParent {
		ps, pfs := opts.Parent.Schedule(opts.Registry, false)
		if pfs.HasErrors() {
			fs = append(fs, schedule.Finding{Severity: schedule.SevError, Rule: schedule.RuleParentMismatch,
				Origin:  origin(opts.Parent.Doc.File, Pos{Line: 1, Col: 1}),
				Message: "the parent config has errors of its own; lint it first"})
		} else {
			fs = append(fs, schedule.CheckParent(s, ps)...)
		}
	}
	return fs
}

// recordNames reports whether any record entry names the fork as a word.
func recordNames(rec []RecordEntry, name string) bool {
	re := regexp.MustCompile(`(^|[^A-Za-z0-9_])` + regexp.QuoteMeta(name) + `($|[^A-Za-z0-9_])`)
	for _, r := range rec {
		if re.MatchString(r.Text) {
			return true
		}
	}
	return false
}

// sectionPos is where a fork of key's scope would go: its section header, or
// the top of the file when the section is missing.
func (f *File) sectionPos(key string) Pos {
	scope, _ := schedule.SplitKey(key)
	want := []string{"fork", "system"}
	if scope != schedule.SystemScope {
		want = []string{"fork", "sub", scope}
	}
	for _, t := range f.Doc.Tables {
		if strings.Join(t.Key, ".") == strings.Join(want, ".") {
			return Pos{Line: t.Pos.Line, Col: 1}
		}
	}
	return Pos{Line: 1, Col: 1}
}
