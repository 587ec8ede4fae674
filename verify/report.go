package verify

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/forkgate/forkgate/node"
	"github.com/forkgate/forkgate/state"
)

// ReportFormat versions the JSON report (docs/cli-json.md). Fields are only
// ever added.
const ReportFormat = 1

// Report is the outcome of a verify run.
type Report struct {
	Format   int            `json:"format"`
	Result   string         `json:"result"`    // ok | mismatch | error
	ExitCode int            `json:"exit_code"` // 0 ok, 1 mismatch, 2 error
	Old      string         `json:"old"`       // "recorded fixtures", a fixture file or a binary
	New      string         `json:"new"`       // this build or a binary
	Release  string         `json:"release"`   // buildinfo.Version of the verifying build
	Parallel int            `json:"parallel"`
	Seconds  float64        `json:"seconds"`
	Blocks   int64          `json:"blocks_executed"` // by the new build, over every scenario
	Txs      int64          `json:"txs_executed"`
	Chains   []*ChainReport `json:"chains"`
	// Coverage is the library's fork coverage (verify --coverage); a fork
	// without evidence makes the exit code 1.
	Coverage *CoverageReport `json:"coverage,omitempty"`
}

// ChainReport is one chain's verification.
type ChainReport struct {
	Name            string            `json:"name"`
	Dir             string            `json:"dir"`
	ChainID         string            `json:"chain_id"`
	Fixture         string            `json:"fixture"`
	RecordedRelease string            `json:"recorded_release"`
	ConfigChanged   bool              `json:"config_changed"` // the chain's config differs from the recorded one
	From            int64             `json:"from"`           // fixture heights
	To              int64             `json:"to"`
	Target          int64             `json:"target"` // last height produced past the fixture
	Heights         []int64           `json:"smooth_heights"`
	Forks           []ForkHeight      `json:"forks"`
	Result          string            `json:"result"`
	Scenarios       []*ScenarioResult `json:"scenarios"`
	// Root is the chain's one full diagnosis: of the lowest height any
	// scenario found (RootScenario first found it); the other scenarios
	// keep a one-line message.
	Root         *Diagnosis `json:"root,omitempty"`
	RootScenario string     `json:"root_scenario,omitempty"`
}

// ScenarioResult is one row of the report.
type ScenarioResult struct {
	Chain    string `json:"chain"`
	Scenario string `json:"scenario"`                // new-upgrade | smooth-upgrade | past-forks
	Switch   int64  `json:"switch_height,omitempty"` // smooth: the old data's height
	// From..To are the heights the new build executed (smooth: from the
	// switch height + 1; past-forks: the fresh blocks).
	From      int64      `json:"from"`
	To        int64      `json:"to"`
	Compared  int        `json:"hashes_compared"`
	Nodes     int        `json:"nodes,omitempty"` // past-forks: nodes that agreed
	Blocks    int64      `json:"blocks"`          // executed by the new build
	Txs       int64      `json:"txs"`
	Seconds   float64    `json:"seconds"`
	Result    string     `json:"result"` // ok | mismatch | error | skipped
	Message   string     `json:"message,omitempty"`
	Diagnosis *Diagnosis `json:"diagnosis,omitempty"`

	home        string
	until       int64        // the height this scenario runs to
	finding     *Finding     // the lowest difference found (nil: none, or a config refusal)
	oldState    *state.Store // the old data's state store, open, for an in-process new build
	extra       [][]byte
	extraBlocks []*node.Block
}

func (s *ScenarioResult) name() string {
	if s.Scenario == SmoothUpgrade {
		return fmt.Sprintf("smooth-upgrade@%d", s.Switch)
	}
	return s.Scenario
}

func (s *ScenarioResult) heights() string {
	if s.To < s.From {
		return "-"
	}
	if s.Scenario == SmoothUpgrade {
		return fmt.Sprintf("old 1..%d, new %d..%d", s.Switch, s.From, s.To)
	}
	return fmt.Sprintf("%d..%d", s.From, s.To)
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteText writes the summary for people: one line per scenario, each
// chain's root diagnosis, and the coverage when measured.
func (r *Report) WriteText(w io.Writer) {
	fmt.Fprintf(w, "verify: old %s, new %s\n", r.Old, r.New)
	for _, c := range r.Chains {
		note := ""
		if c.ConfigChanged {
			note = ", config changed since recording"
		}
		fmt.Fprintf(w, "\nchain %s (%s): fixture 1..%d recorded by %s%s; fresh blocks to %d\n", c.Name, c.ChainID, c.To, c.RecordedRelease, note, c.Target)
		for _, s := range c.Scenarios {
			fmt.Fprintf(w, "  %-8s %-22s %-28s %4d hashes %7.2fs", strings.ToUpper(s.Result), s.name(), s.heights(), s.Compared, s.Seconds)
			if s.Message != "" && s.Result != ResultMismatch {
				fmt.Fprintf(w, "  (%s)", s.Message)
			}
			fmt.Fprintln(w)
		}
		if c.Root != nil {
			fmt.Fprintf(w, "\n  %s: the root diagnosis (the lowest height; %s found it):\n", c.Name, c.RootScenario)
			for _, line := range strings.Split(strings.TrimRight(c.Root.Text(), "\n"), "\n") {
				fmt.Fprintf(w, "    %s\n", line)
			}
			for _, s := range c.Scenarios {
				if s.Result == ResultMismatch && s.name() != c.RootScenario {
					fmt.Fprintf(w, "  also %s: %s\n", s.name(), s.summary(c.Root))
				}
			}
		}
	}
	if r.Coverage != nil {
		fmt.Fprintln(w)
		r.Coverage.WriteText(w)
	}
	fmt.Fprintf(w, "\nverify: %s: %d chain(s), %d scenario(s), %d blocks and %d txs executed in %.1fs (%s)\n",
		strings.ToUpper(r.Result), len(r.Chains), r.scenarios(), r.Blocks, r.Txs, r.Seconds, r.rates())
}

func (r *Report) scenarios() int {
	n := 0
	for _, c := range r.Chains {
		n += len(c.Scenarios)
	}
	return n
}

func (r *Report) rates() string {
	if r.Seconds <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f blocks/s, %.0f tx/s", float64(r.Blocks)/r.Seconds, float64(r.Txs)/r.Seconds)
}

// WriteMarkdown writes the report as Markdown: a table with one row per
// chain and scenario, then the diagnoses.
func (r *Report) WriteMarkdown(w io.Writer) {
	fmt.Fprintf(w, "# Upgrade verification: %s\n\n", strings.ToUpper(r.Result))
	fmt.Fprintf(w, "- old: %s\n- new: %s\n- %d blocks and %d transactions executed in %.1f s (%s), %d scenarios at a time\n\n",
		mdEscape(r.Old), mdEscape(r.New), r.Blocks, r.Txs, r.Seconds, r.rates(), r.Parallel)
	fmt.Fprintln(w, "| chain | scenario | heights covered | hashes compared | time | result |")
	fmt.Fprintln(w, "|---|---|---|---:|---:|---|")
	for _, c := range r.Chains {
		for _, s := range c.Scenarios {
			res := s.Result
			if s.Result != ResultOK && s.Message != "" {
				res += ": " + firstLine(s.Message)
			}
			fmt.Fprintf(w, "| %s | %s | %s | %d | %.2f s | %s |\n", c.Name, s.name(), s.heights(), s.Compared, s.Seconds, mdEscape(res))
		}
	}
	for _, c := range r.Chains {
		if c.Root == nil {
			continue
		}
		fmt.Fprintf(w, "\n## %s: root diagnosis (%s, height %d)\n\n```\n%s```\n", c.Name, c.RootScenario, c.Root.Height, c.Root.Text())
		for _, s := range c.Scenarios {
			if s.Result == ResultMismatch && s.name() != c.RootScenario {
				fmt.Fprintf(w, "- also %s: %s\n", s.name(), mdEscape(s.summary(c.Root)))
			}
		}
	}
	if r.Coverage != nil {
		r.Coverage.writeMarkdown(w)
	}
}

// summary is a scenario's finding in one line, related to the root.
func (s *ScenarioResult) summary(root *Diagnosis) string {
	msg := firstLine(s.Message)
	switch {
	case s.Diagnosis == root:
		return msg + " (the root, above)"
	case s.finding != nil && s.finding.Height > root.Height:
		return fmt.Sprintf("%s (above the root at height %d; likely the same cause)", msg, root.Height)
	}
	return msg
}

// writeMarkdown writes the coverage table in Markdown.
func (r *CoverageReport) writeMarkdown(w io.Writer) {
	fmt.Fprintf(w, "\n## Fork coverage: %s\n\n", map[bool]string{true: "OK", false: "MISSING"}[r.OK])
	fmt.Fprintln(w, "| fork | evidence before its activation | from its activation |")
	fmt.Fprintln(w, "|---|---|---|")
	for _, e := range r.Forks {
		fmt.Fprintf(w, "| %s | %s | %s |\n", e.Key, evidenceText(e.Before, e.BeforeChains), evidenceText(e.After, e.AfterChains))
	}
	for _, m := range r.Missing {
		fmt.Fprintf(w, "- %s\n", mdEscape(m))
	}
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 160 {
		s = s[:160] + "…"
	}
	return s
}

func mdEscape(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
