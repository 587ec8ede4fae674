package schedule

import "fmt"

// Severity ranks a finding. Errors make lint exit 1; warnings do not.
type Severity uint8

const (
	SevWarning Severity = iota
	SevError
)

func (s Severity) String() string {
	if s == SevError {
		return "error"
	}
	return "warning"
}

// MarshalText makes severities readable in JSON reports.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Finding is one problem found in a schedule or a config file. Origin is
// "file:line:col" when the problem comes from a file, so every message points
// at the line to fix.
type Finding struct {
	Severity Severity `json:"severity"`
	Rule     string   `json:"rule"`
	Origin   string   `json:"origin,omitempty"`
	Fork     string   `json:"fork,omitempty"`
	Message  string   `json:"message"`
}

func (f Finding) String() string {
	loc := f.Origin
	if loc == "" {
		loc = "-"
	}
	return fmt.Sprintf("%s: %s: %s [%s]", loc, f.Severity, f.Message, f.Rule)
}

// Findings is a list with helpers used by lint and build.
type Findings []Finding

// HasErrors reports whether any finding is an error.
func (fs Findings) HasErrors() bool {
	for _, f := range fs {
		if f.Severity == SevError {
			return true
		}
	}
	return false
}

// Rule names are part of the JSON schema; never rename one.
const (
	RuleUnknownFork     = "unknown-fork"
	RuleMissingFork     = "missing-fork"
	RuleDuplicate       = "duplicate"
	RuleOrder           = "order"
	RuleRequires        = "requires"
	RuleParentMismatch  = "parent-mismatch"
	RuleParamConflict   = "param-conflict"
	RuleUnknownVersion  = "unknown-version"
	RuleBadValue        = "bad-value"
	RuleSyntax          = "syntax"
	RuleChangeRecord    = "change-record"
	RuleForkNote        = "fork-note"
	RuleRecordEntry     = "record-entry"
	RuleParaTitle       = "para-title"
	RuleVersionDecl     = "version-decl"
	RuleUnknownParamFor = "param-fork"
	RuleUnknownParam    = "unknown-param"
	RuleDialect         = "dialect"
)

// RuleIDs lists every rule id, for rule selection and its messages.
var RuleIDs = []string{
	RuleUnknownFork, RuleMissingFork, RuleDuplicate, RuleOrder, RuleRequires, RuleParentMismatch,
	RuleParamConflict, RuleUnknownVersion, RuleBadValue, RuleSyntax, RuleChangeRecord, RuleForkNote,
	RuleRecordEntry, RuleParaTitle, RuleVersionDecl, RuleUnknownParamFor, RuleUnknownParam, RuleDialect,
}
