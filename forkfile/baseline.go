package forkfile

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/forkgate/forkgate/schedule"
)

// A baseline records the findings a team has accepted, so that lint fails
// only on new ones and the rules can be adopted gradually on files that
// predate them (a Chain33 fork file has a hundred items without notes).
// A finding is matched by its rule, its file and its fork (or, for findings
// about no fork, its message), never by line: editing a file moves lines.
// Each entry also counts, so a second finding of the same key is new.

// BaselineFormat versions the baseline file.
const BaselineFormat = 1

// Baseline is the file's content.
type Baseline struct {
	Format   int             `json:"format"`
	Tool     string          `json:"tool"`
	Findings []BaselineEntry `json:"findings"` // sorted
}

// BaselineEntry is one accepted finding.
type BaselineEntry struct {
	Rule    string `json:"rule"`
	File    string `json:"file"`
	Fork    string `json:"fork,omitempty"`
	Message string `json:"message,omitempty"` // only for findings without a fork
}

func entryOf(f schedule.Finding) BaselineEntry {
	file := f.Origin
	// origin is file:line:col; the file may itself hold colons.
	for range 2 {
		if i := strings.LastIndexByte(file, ':'); i >= 0 {
			file = file[:i]
		}
	}
	e := BaselineEntry{Rule: f.Rule, File: file, Fork: f.Fork}
	if e.Fork == "" {
		e.Message = f.Message
	}
	return e
}

// NewBaseline accepts every finding given.
func NewBaseline(fs schedule.Findings) Baseline {
	b := Baseline{Format: BaselineFormat, Tool: "forkgate config lint", Findings: []BaselineEntry{}}
	for _, f := range fs {
		b.Findings = append(b.Findings, entryOf(f))
	}
	sort.Slice(b.Findings, func(i, j int) bool {
		x, y := b.Findings[i], b.Findings[j]
		if x.File != y.File {
			return x.File < y.File
		}
		if x.Rule != y.Rule {
			return x.Rule < y.Rule
		}
		if x.Fork != y.Fork {
			return x.Fork < y.Fork
		}
		return x.Message < y.Message
	})
	return b
}

// Encode is the baseline's file content: indented JSON, one finding a line
// group, so that a review shows exactly which findings were accepted.
func (b Baseline) Encode() []byte {
	out, err := json.MarshalIndent(b, "", "  ")
	if err != nil {
		panic(err) // strings only
	}
	return append(out, '\n')
}

// LoadBaseline reads a baseline file.
func LoadBaseline(path string) (Baseline, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return Baseline{}, err
	}
	var b Baseline
	if err := json.Unmarshal(src, &b); err != nil {
		return Baseline{}, fmt.Errorf("%s is not a baseline file: %v; write one with --write-baseline", path, err)
	}
	if b.Format != BaselineFormat {
		return Baseline{}, fmt.Errorf("%s has baseline format %d, this build reads %d; rewrite it with --write-baseline", path, b.Format, BaselineFormat)
	}
	return b, nil
}

// Filter splits findings into new ones and those the baseline accepts.
func (b Baseline) Filter(fs schedule.Findings) (fresh, accepted schedule.Findings) {
	left := map[BaselineEntry]int{}
	for _, e := range b.Findings {
		left[e]++
	}
	for _, f := range fs {
		k := entryOf(f)
		if left[k] > 0 {
			left[k]--
			accepted = append(accepted, f)
			continue
		}
		fresh = append(fresh, f)
	}
	return fresh, accepted
}

// RuleSet selects rules by id: every rule, minus --disable, or only
// --enable.
type RuleSet struct {
	only map[string]bool
	off  map[string]bool
}

// NewRuleSet checks the ids and builds the selection.
func NewRuleSet(enable, disable []string) (RuleSet, error) {
	known := map[string]bool{}
	for _, r := range schedule.RuleIDs {
		known[r] = true
	}
	rs := RuleSet{off: map[string]bool{}}
	for _, list := range [][]string{enable, disable} {
		for _, id := range list {
			if !known[id] {
				return RuleSet{}, fmt.Errorf("unknown rule %q; rules are %s", id, strings.Join(schedule.RuleIDs, ", "))
			}
		}
	}
	if len(enable) > 0 {
		rs.only = map[string]bool{}
		for _, id := range enable {
			rs.only[id] = true
		}
	}
	for _, id := range disable {
		rs.off[id] = true
	}
	return rs, nil
}

// Keep reports whether a finding's rule is selected.
func (rs RuleSet) Keep(f schedule.Finding) bool {
	if rs.off[f.Rule] {
		return false
	}
	return rs.only == nil || rs.only[f.Rule]
}
