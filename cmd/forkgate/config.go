package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/forkgate/forkgate/atomicfile"

	"github.com/forkgate/forkgate/forkfile"
	"github.com/forkgate/forkgate/schedule"
	"github.com/spf13/cobra"
)

func init() { register(newConfigCmd) }

func newConfigCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "config",
		Short: "Check, show, compare and edit fork config files (Chain33 layout)",
		Long: `Fork config files use Chain33's layout: Title, [fork.system] NAME = HEIGHT,
[fork.sub.<executor>] NAME = HEIGHT (including Enable), and [mver.*]
height-versioned parameters. -1 means never. forkgate adds, in valid TOML:
  NAME = { time = UNIX_SECONDS }   activate at a block time
  NAME = { version = N }           activate when protocol version N is adopted
  NAME = { parent = H }            activate at the parent (main) chain's height H
and [[signal.version]] tables declaring signalled versions.`,
	}
	c.AddCommand(newLintCmd(), newShowCmd(), newDiffCmd(), newSetCmd(), newFmtCmd(), newCompatCmd())
	return c
}

// loadFile reads a config; any problem with it is unusable input (exit 2),
// reported with positions.
func loadFile(path string) (*forkfile.File, error) {
	f, err := forkfile.Load(path)
	if err != nil {
		return nil, inputErr(err)
	}
	return f, nil
}

// loadChain reads a chain's config: one file holding its forks, or a
// Chain33 node config with its default fork config(s) merged in (--forks).
// A file without fork tables and no --forks is unusable input: reading it
// alone would give an empty schedule, not the chain's.
func loadChain(path string, forks []string) (*forkfile.File, error) {
	f, err := loadFile(path)
	if err != nil {
		return nil, err
	}
	if len(forks) > 0 {
		dfs := make([]*forkfile.File, 0, len(forks))
		for _, fp := range forks {
			df, err := loadFile(fp)
			if err != nil {
				return nil, err
			}
			dfs = append(dfs, df)
		}
		if f, err = forkfile.Merge(f, dfs...); err != nil {
			return nil, inputErr(err)
		}
	}
	if !f.HasForkTables() {
		return nil, usageErr("%s has no [fork.*] tables: a Chain33 node config (chain33.toml, bityuan.toml) gets its forks from a default "+
			"fork config merged in at start-up; give that file with --forks, e.g. --forks chain33.fork.toml (see docs/schedule.md)", path)
	}
	return f, nil
}

func addForksFlag(c *cobra.Command, forks *[]string) {
	c.Flags().StringArrayVar(forks, "forks", nil, "default fork config merged under each config, as Chain33 merges chain33.fork.toml into chain33.toml (repeatable)")
}

func inputErr(err error) error {
	var pe *forkfile.PosError
	var el forkfile.ErrorList
	switch {
	case errors.As(err, &el), errors.As(err, &pe):
		return &exitError{code: exitUsage, msg: "unusable input:\n" + err.Error()}
	case errors.Is(err, os.ErrNotExist):
		return usageErr("%v; check the path", err)
	}
	return usageErr("%v", err)
}

func loadRegistry(path string) (*schedule.Registry, error) {
	if path == "" {
		return nil, nil
	}
	r, err := forkfile.LoadRegistry(path)
	if err != nil {
		return nil, inputErr(err)
	}
	return r, nil
}

// lintReport is the JSON schema of `config lint` (see docs/cli-json.md).
type lintReport struct {
	Files    []string           `json:"files"`
	Errors   int                `json:"errors"`
	Warnings int                `json:"warnings"`
	Accepted int                `json:"accepted,omitempty"` // findings the baseline accepts (not in findings)
	ByRule   []ruleCount        `json:"by_rule"`
	Findings []schedule.Finding `json:"findings"`
}

// ruleCount is one line of the grouped summary.
type ruleCount struct {
	Rule     string `json:"rule"`
	Severity string `json:"severity"`
	Count    int    `json:"count"`
}

// groupByRule counts findings per rule and severity, most frequent first.
func groupByRule(fs []schedule.Finding) []ruleCount {
	idx := map[[2]string]int{}
	out := []ruleCount{}
	for _, f := range fs {
		k := [2]string{f.Rule, f.Severity.String()}
		i, ok := idx[k]
		if !ok {
			i = len(out)
			idx[k] = i
			out = append(out, ruleCount{Rule: f.Rule, Severity: f.Severity.String()})
		}
		out[i].Count++
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Rule < out[j].Rule
	})
	return out
}

// lintExamples is how many findings of a rule the text output lists
// before summing up the rest (--all lists every one).
const lintExamples = 3

func newLintCmd() *cobra.Command {
	var registry, base, parent, baseline, writeBaseline, dialect string
	var strict, all bool
	var forks, enable, disable []string
	c := &cobra.Command{
		Use:   "lint FILE...",
		Short: "Check configs against the upgrade regulation and the schedule rules",
		Long: `lint checks each file for:
  - a change record at the top with dated entries ("# 2026-11-21 ...")
  - a comment directly above every fork item
  - with --base OLD, a record entry naming every fork added since OLD
  - with --registry, unknown forks (error) and missing ones (warning; --strict: error)
  - duplicates, ordering and requirements, parameters and versions
  - with --parent, parent-height forks equal to the parent chain's config
  - with --dialect chain33, any value Chain33 cannot read (time, version and
    parent activations, [[signal.version]])
Every finding has a rule id (change-record, fork-note, record-entry,
unknown-fork, missing-fork, dialect, ...): --disable ID or --enable ID
selects rules. To adopt the rules on files that predate them, record today's
findings with --write-baseline FILE and lint with --baseline FILE from then
on: only new findings count. The text output groups findings by rule with
counts and lists the first few of each (--all lists every one).
Exit 0 when clean (warnings allowed), 1 with error findings, 2 on unusable input.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			format, err := outputFormat(cmd)
			if err != nil {
				return err
			}
			reg, err := loadRegistry(registry)
			if err != nil {
				return err
			}
			rules, err := forkfile.NewRuleSet(enable, disable)
			if err != nil {
				return usageErr("%v", err)
			}
			d, err := forkfile.ParseDialect(dialect)
			if err != nil {
				return usageErr("--dialect: %v", err)
			}
			var bl *forkfile.Baseline
			if baseline != "" {
				b, err := forkfile.LoadBaseline(baseline)
				if err != nil {
					return usageErr("--baseline: %v", err)
				}
				bl = &b
			}
			opts := forkfile.LintOptions{Registry: reg, Strict: strict, Dialect: d}
			if base != "" {
				if opts.Base, err = loadFile(base); err != nil {
					return err
				}
			}
			if parent != "" {
				if opts.Parent, err = loadFile(parent); err != nil {
					return err
				}
			}
			rep := lintReport{Files: args, Findings: []schedule.Finding{}}
			var bad []error
			for _, path := range args {
				f, err := loadChain(path, forks)
				if err != nil {
					bad = append(bad, err)
					continue
				}
				for _, fd := range forkfile.Lint(f, opts) {
					if rules.Keep(fd) {
						rep.Findings = append(rep.Findings, fd)
					}
				}
			}
			if len(bad) > 0 {
				msgs := make([]string, len(bad))
				for i, e := range bad {
					msgs[i] = e.Error()
				}
				return &exitError{code: exitUsage, msg: strings.Join(msgs, "\n")}
			}
			out := cmd.OutOrStdout()
			if writeBaseline != "" {
				if err := replaceConfig(writeBaseline, forkfile.NewBaseline(rep.Findings).Encode()); err != nil {
					return usageErr("writing %s: %v", writeBaseline, err)
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "%s: %d finding(s) accepted; lint with --baseline %s from now on\n", writeBaseline, len(rep.Findings), writeBaseline)
				return nil
			}
			if bl != nil {
				fresh, accepted := bl.Filter(rep.Findings)
				rep.Findings, rep.Accepted = fresh, len(accepted)
				if rep.Findings == nil {
					rep.Findings = []schedule.Finding{}
				}
			}
			for _, f := range rep.Findings {
				if f.Severity == schedule.SevError {
					rep.Errors++
				} else {
					rep.Warnings++
				}
			}
			rep.ByRule = groupByRule(rep.Findings)
			if format == "json" {
				if err := writeJSON(out, rep); err != nil {
					return err
				}
			} else {
				printLint(out, rep, all)
			}
			if rep.Errors > 0 {
				return findings()
			}
			return nil
		},
	}
	c.Flags().StringVar(&registry, "registry", "", "registry file declaring the known forks")
	c.Flags().StringVar(&base, "base", "", "earlier version of the config; forks added since need a record entry")
	c.Flags().StringVar(&parent, "parent", "", "parent (main) chain config for parent-height forks")
	c.Flags().BoolVar(&strict, "strict", false, "a registered fork missing from the file is an error")
	c.Flags().StringSliceVar(&enable, "enable", nil, "check only these rule ids (comma-separated or repeated)")
	c.Flags().StringSliceVar(&disable, "disable", nil, "skip these rule ids (comma-separated or repeated)")
	c.Flags().StringVar(&baseline, "baseline", "", "baseline file of accepted findings: only new findings count")
	c.Flags().StringVar(&writeBaseline, "write-baseline", "", "write today's findings to this baseline file and exit 0")
	c.Flags().StringVar(&dialect, "dialect", "auto", "chain33: report every value Chain33 cannot read; forkgate or auto: allow forkgate's extensions")
	c.Flags().BoolVar(&all, "all", false, "list every finding instead of the first few of each rule")
	addForksFlag(c, &forks)
	return c
}

// printLint writes the findings grouped by rule: a count line per rule and
// its first findings, so a file with a hundred notes missing reads as a few
// lines.
func printLint(w io.Writer, rep lintReport, all bool) {
	byRule := map[string][]schedule.Finding{}
	for _, f := range rep.Findings {
		byRule[f.Rule+"\x00"+f.Severity.String()] = append(byRule[f.Rule+"\x00"+f.Severity.String()], f)
	}
	for _, rc := range rep.ByRule {
		fs := byRule[rc.Rule+"\x00"+rc.Severity]
		fmt.Fprintf(w, "%s (%s): %d\n", rc.Rule, rc.Severity, rc.Count)
		n := len(fs)
		if !all {
			n = min(n, lintExamples)
		}
		for _, f := range fs[:n] {
			fmt.Fprintf(w, "  %s\n", f)
		}
		if n < len(fs) {
			fmt.Fprintf(w, "  ... and %d more (--all lists them, --disable %s skips the rule)\n", len(fs)-n, rc.Rule)
		}
	}
	acc := ""
	if rep.Accepted > 0 {
		acc = fmt.Sprintf(", %d accepted by the baseline", rep.Accepted)
	}
	fmt.Fprintf(w, "%d file(s): %d error(s), %d warning(s)%s\n", len(rep.Files), rep.Errors, rep.Warnings, acc)
}

// showFork and showReport are the JSON schema of `config show`.
type showFork struct {
	Key        string `json:"key"`
	Activation string `json:"activation"` // as written in a config
	Kind       string `json:"kind"`       // never, height, time, version
	Domain     string `json:"domain"`     // own, parent
	Active     *bool  `json:"active,omitempty"`
	Note       string `json:"note,omitempty"`
	Origin     string `json:"origin"`
}

// showParam is a parameter value: at a height, the one in force; without a
// height, every value the file sets (Fork names the fork it follows).
type showParam struct {
	Name   string `json:"name"`
	Fork   string `json:"fork,omitempty"`
	Type   string `json:"type"`
	Value  string `json:"value"` // canonical TOML: 100, "text", ["a", "b"]
	Origin string `json:"origin,omitempty"`
}

type showReport struct {
	File     string             `json:"file"`
	Title    string             `json:"title"`
	Height   *int64             `json:"height,omitempty"`
	Time     *int64             `json:"time,omitempty"`
	Parent   *int64             `json:"parent_height,omitempty"`
	Forks    []showFork         `json:"forks"`
	Params   []showParam        `json:"params,omitempty"`
	Findings []schedule.Finding `json:"findings"`
}

func newShowCmd() *cobra.Command {
	var height, tm, parentHeight int64
	var timeText, registry string
	var versionActive, forks []string
	c := &cobra.Command{
		Use:   "show FILE",
		Short: "List every fork, its activation, and whether it is active at a height",
		Long: `show lists every fork in the file (and, with --registry, the registered ones it
omits, with their defaults). With --height (and --time, --parent-height for
time and parent-height forks) it says which are active there and the
parameter values in force. Version forks count as not active unless
--version-active says from which height a version is active (their height is
known only once producers adopt the version).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			format, err := outputFormat(cmd)
			if err != nil {
				return err
			}
			reg, err := loadRegistry(registry)
			if err != nil {
				return err
			}
			f, err := loadChain(args[0], forks)
			if err != nil {
				return err
			}
			s, fs := f.Schedule(reg, false)
			rep := showReport{File: args[0], Title: f.Title, Forks: []showFork{}, Findings: fs}
			if rep.Findings == nil {
				rep.Findings = []schedule.Finding{}
			}
			oracle := schedule.VersionHeights{}
			for _, va := range versionActive {
				v, h, ok := strings.Cut(va, "=")
				n, err1 := strconv.ParseUint(v, 10, 32)
				hh, err2 := strconv.ParseInt(h, 10, 64)
				if !ok || err1 != nil || err2 != nil || n == 0 || hh < 0 {
					return usageErr("--version-active %q: write VERSION=HEIGHT, e.g. 2=500", va)
				}
				oracle[uint32(n)] = hh
			}
			if cmd.Flags().Changed("time") {
				if tm, err = parseTime("time", timeText); err != nil {
					return err
				}
			}
			at := cmd.Flags().Changed("height")
			if at {
				if err := atLeast("height", height, 0); err != nil {
					return err
				}
				rep.Height = &height
				if cmd.Flags().Changed("time") {
					rep.Time = &tm
				}
			}
			notes := map[string]string{}
			for _, it := range f.Items {
				notes[it.Key()] = strings.Join(cleanNote(it.Entry.Above), " ")
			}
			b := schedule.Block{Height: height, Time: tm, ParentHeight: parentHeight}
			switch {
			case cmd.Flags().Changed("parent-height"):
				if err := atLeast("parent-height", parentHeight, 0); err != nil {
					return err
				}
			case f.ParentStart > 0:
				// A parallel chain's block h is anchored at parent height
				// parent_start + h, as the node computes it.
				b.ParentHeight = f.ParentStart + height
			default:
				b.ParentHeight = -1
			}
			if at && b.ParentHeight >= 0 {
				rep.Parent = &b.ParentHeight
			}
			if !cmd.Flags().Changed("time") {
				b.Time = -1
			}
			for _, e := range s.Entries() {
				sf := showFork{Key: e.Fork.Key(), Activation: forkfile.FormatActivation(e.Activation, e.Fork.Domain),
					Kind: e.Activation.Kind.String(), Domain: e.Fork.Domain.String(), Note: notes[e.Fork.Key()], Origin: e.Origin}
				if sf.Note == "" {
					sf.Note = e.Fork.Note
				}
				if at {
					active := s.IsActive(e.Fork.Key(), b, oracle)
					sf.Active = &active
				}
				rep.Forks = append(rep.Forks, sf)
			}
			if at {
				for _, name := range s.Params() {
					if v, ok := s.ParamValue(name, b, oracle); ok {
						rep.Params = append(rep.Params, showParam{Name: name, Type: v.Type.String(), Value: v.Text})
					}
				}
			} else {
				for _, p := range f.Params {
					rep.Params = append(rep.Params, showParam{Name: p.Name, Fork: p.Fork, Type: p.Value.Type.String(), Value: p.Value.Text, Origin: p.Origin})
				}
			}
			out := cmd.OutOrStdout()
			if format == "json" {
				return writeJSON(out, rep)
			}
			printShow(out, rep)
			return nil
		},
	}
	c.Flags().Int64Var(&height, "height", 0, "height to evaluate")
	c.Flags().StringVar(&timeText, "time", "", "block time for time forks: unix seconds, a date (2026-12-01, UTC) or an RFC 3339 time")
	c.Flags().Int64Var(&parentHeight, "parent-height", 0, "parent chain height for parent-height forks (default: the file's [library] parent_start + --height)")
	c.Flags().StringVar(&registry, "registry", "", "registry file; registered forks the file omits are shown with their defaults")
	c.Flags().StringArrayVar(&versionActive, "version-active", nil, "VERSION=HEIGHT: evaluate version forks as if the version is active from HEIGHT (repeatable)")
	addForksFlag(c, &forks)
	return c
}

func printShow(w io.Writer, rep showReport) {
	title := rep.Title
	if title == "" {
		title = "(no Title)"
	}
	fmt.Fprintf(w, "%s  %s\n", rep.File, title)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	hdr := "FORK\tACTIVATION\tDOMAIN"
	if rep.Height != nil {
		hdr += fmt.Sprintf("\tACTIVE@%d", *rep.Height)
	}
	fmt.Fprintln(tw, hdr)
	for _, f := range rep.Forks {
		line := fmt.Sprintf("%s\t%s\t%s", f.Key, f.Activation, f.Domain)
		if f.Active != nil {
			line += "\t" + yesNo(*f.Active)
		}
		fmt.Fprintln(tw, line)
	}
	tw.Flush()
	if len(rep.Params) > 0 {
		if rep.Height != nil {
			fmt.Fprintf(w, "\nparameters at height %d:\n", *rep.Height)
		} else {
			fmt.Fprintln(w, "\nparameters (from a fork on, where one is named):")
		}
		for _, p := range rep.Params {
			if p.Fork != "" {
				fmt.Fprintf(w, "  %s = %s  (from %s)\n", p.Name, p.Value, p.Fork)
			} else {
				fmt.Fprintf(w, "  %s = %s\n", p.Name, p.Value)
			}
		}
	}
	for _, f := range rep.Findings {
		fmt.Fprintln(w, f)
	}
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func cleanNote(lines []string) []string {
	out := make([]string, 0, len(lines))
	for _, l := range lines {
		out = append(out, strings.TrimSpace(strings.TrimLeft(strings.TrimSpace(l), "#")))
	}
	return out
}

// diffReport is the JSON schema of `config diff`.
type diffReport struct {
	Old     string            `json:"old"`
	New     string            `json:"new"`
	Changes []forkfile.Change `json:"changes"`
}

func newDiffCmd() *cobra.Command {
	var forks []string
	c := &cobra.Command{
		Use:   "diff OLD NEW",
		Short: "List forks, parameters and versions added, removed and changed",
		Long: `diff compares two configs and lists what an upgrade changes: forks, height-
versioned parameters and signalled versions, each added, removed or changed,
with the note above the new item. Exit 0 whether or not there are changes;
2 on unusable input.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			format, err := outputFormat(cmd)
			if err != nil {
				return err
			}
			a, err := loadChain(args[0], forks)
			if err != nil {
				return err
			}
			b, err := loadChain(args[1], forks)
			if err != nil {
				return err
			}
			rep := diffReport{Old: args[0], New: args[1], Changes: forkfile.Diff(a, b)}
			if rep.Changes == nil {
				rep.Changes = []forkfile.Change{}
			}
			out := cmd.OutOrStdout()
			if format == "json" {
				return writeJSON(out, rep)
			}
			if len(rep.Changes) == 0 {
				fmt.Fprintln(out, "no changes")
				return nil
			}
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "CHANGE\tWHAT\tNAME\tOLD\tNEW")
			for _, ch := range rep.Changes {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", ch.Kind, ch.What, ch.Name, dash(ch.Old), dash(ch.New))
			}
			return tw.Flush()
		},
	}
	addForksFlag(c, &forks)
	return c
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func newSetCmd() *cobra.Command {
	var note, date, dialect string
	var dryRun bool
	c := &cobra.Command{
		Use:   "set FILE NAME VALUE --note TEXT",
		Short: "Change one fork item, keeping every other byte of the file",
		Long: `set changes one fork item (NAME is ForkX for [fork.system] or exec.ForkX for
[fork.sub.exec]; a missing item is added to its section). VALUE is a height,
-1 or "never", "genesis", or an inline table such as "{ time = 1767225600 }".
A NAME under mver (mver.exec.sub.exchange.banks, or
mver.exec.sub.exchange.ForkFix.banks for the value from a fork on) sets a
height-versioned parameter to any TOML value, written as given: a string
("text"), a list (["1A", "1B"]), a number. The note goes directly above the
item and a dated line is added to the change record at the top. Every other comment and the layout are kept.
A file in Chain33's dialect (every fork value a plain integer) only takes
plain integers, since Chain33 would refuse to start with anything else;
--dialect forkgate allows time, version and parent activations.`,
		Args: cobra.ExactArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := outputFormat(cmd); err != nil {
				return err
			}
			f, err := loadFile(args[0])
			if err != nil {
				return err
			}
			if date == "" {
				date = time.Now().UTC().Format("2006-01-02")
			}
			d, err := forkfile.ParseDialect(dialect)
			if err != nil {
				return usageErr("--dialect: %v", err)
			}
			req := forkfile.SetRequest{Key: args[1], Value: args[2], Note: note, Date: date, Dialect: d}
			var out []byte
			if strings.HasPrefix(args[1], "mver.") {
				out, err = forkfile.SetParam(f, req)
			} else {
				out, err = forkfile.Set(f, req)
			}
			if err != nil {
				return usageErr("%s: %v", args[0], err)
			}
			if dryRun {
				_, err := cmd.OutOrStdout().Write(out)
				return err
			}
			if err := replaceConfig(args[0], out); err != nil {
				return usageErr("writing %s: %v", args[0], err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: set %s = %s\n", args[0], args[1], args[2])
			return nil
		},
	}
	c.Flags().StringVar(&note, "note", "", "what problem the change solves and how to configure it (required)")
	c.Flags().StringVar(&date, "date", "", "date of the change-record entry (default: today, UTC)")
	c.Flags().BoolVar(&dryRun, "dry-run", false, "print the edited file instead of writing it")
	c.Flags().StringVar(&dialect, "dialect", "auto", "chain33 (plain integer heights only), forkgate (time, version, parent activations) or auto (the file's own: forkgate if it already uses an extension)")
	return c
}

func newFmtCmd() *cobra.Command {
	var check bool
	c := &cobra.Command{
		Use:   "fmt FILE...",
		Short: "Rewrite configs in canonical TOML layout, keeping every comment",
		Long: `fmt rewrites files with tomledit's canonical layout (comments kept and
attached to their items). After one fmt, every later edit gives a minimal
diff. With --check it changes nothing and exits 1 if a file is not canonical.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := outputFormat(cmd); err != nil {
				return err
			}
			var differ []string
			for _, path := range args {
				if _, err := loadFile(path); err != nil {
					return err
				}
				src, err := os.ReadFile(path)
				if err != nil {
					return usageErr("%v", err)
				}
				out, err := forkfile.Canonical(src)
				if err != nil {
					return usageErr("%s: %v", path, err)
				}
				if bytes.Equal(out, src) {
					continue
				}
				differ = append(differ, path)
				if !check {
					if err := replaceConfig(path, out); err != nil {
						return usageErr("writing %s: %v", path, err)
					}
				}
			}
			sort.Strings(differ)
			for _, p := range differ {
				if check {
					fmt.Fprintf(cmd.OutOrStdout(), "%s: not canonical; run forkgate config fmt %s\n", p, p)
				} else {
					fmt.Fprintf(cmd.OutOrStdout(), "%s: formatted\n", p)
				}
			}
			if check && len(differ) > 0 {
				return findings()
			}
			return nil
		},
	}
	c.Flags().BoolVar(&check, "check", false, "report files that are not canonical instead of rewriting them")
	return c
}

// replaceConfig rewrites a config in place, keeping its permissions; an
// interrupted write never leaves half a config behind.
func replaceConfig(path string, data []byte) error {
	mode := os.FileMode(0o644)
	if st, err := os.Stat(path); err == nil {
		mode = st.Mode().Perm()
	}
	return atomicfile.Write(path, data, mode)
}

// forkPointsFromConfig gathers a config's fork-ID points (see
// schedule.ForkIDPoints).
func forkPointsFromConfig(path string, forks []string) (heights, times []uint64, err error) {
	f, err := loadChain(path, forks)
	if err != nil {
		return nil, nil, err
	}
	s, _ := f.Schedule(nil, false)
	heights, times = s.ForkIDPoints()
	return heights, times, nil
}

// compatReport is the JSON schema of `config compat`.
type compatReport struct {
	Old        string              `json:"old"`
	New        string              `json:"new"`
	Head       int64               `json:"head"`
	Compatible bool                `json:"compatible"`
	RewindTo   *int64              `json:"rewind_to,omitempty"` // -1: resync from genesis
	Remedy     string              `json:"remedy,omitempty"`    // "rewind to height N" or "resync from genesis"
	Conflicts  []schedule.Conflict `json:"conflicts,omitempty"`
	Message    string              `json:"message,omitempty"`
}

func newCompatCmd() *cobra.Command {
	var head, headTime, parentHeight int64
	var headTimeText string
	var forks []string
	c := &cobra.Command{
		Use:   "compat OLD NEW --head H",
		Short: "Check that a new config does not rewrite history below the chain head",
		Long: `compat is the start-up compatibility check, run ahead of time: the chain ran
with OLD up to height --head (and --head-time for time forks); would NEW change
any fork or parameter that already took effect? Changing only future forks is
fine. On a conflict it names the exact height to rewind to and exits 1.
Time, version and parent-height activations at or below the head need the
chain's own mapping to heights, which only a node has; here they give a
a resync from genesis. A version fork counts as passed, since
whether its version activated is known only to a node.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			format, err := outputFormat(cmd)
			if err != nil {
				return err
			}
			if !cmd.Flags().Changed("head") {
				return usageErr("--head is required: the height the chain has reached")
			}
			if cmd.Flags().Changed("head-time") {
				if headTime, err = parseTime("head-time", headTimeText); err != nil {
					return err
				}
			}
			if head < 0 || headTime < 0 || parentHeight < 0 {
				return usageErr("--head, --head-time and --parent-height cannot be negative")
			}
			var snaps [2]schedule.Snapshot
			for i, path := range args {
				f, err := loadChain(path, forks)
				if err != nil {
					return err
				}
				s, fs := f.Schedule(nil, false)
				if fs.HasErrors() {
					return usageErr("%s has errors; run forkgate config lint %s first", path, path)
				}
				snaps[i] = s.Snapshot()
			}
			rep := compatReport{Old: args[0], New: args[1], Head: head, Compatible: true}
			ce := schedule.CheckCompatible(snaps[0], snaps[1], schedule.Head{Height: head, Time: headTime, ParentHeight: parentHeight})
			if ce != nil {
				rep.Compatible = false
				rep.RewindTo = &ce.RewindTo
				rep.Remedy = schedule.Remedy(ce.RewindTo)
				rep.Conflicts = ce.Conflicts
				rep.Message = ce.Error()
			}
			out := cmd.OutOrStdout()
			if format == "json" {
				if err := writeJSON(out, rep); err != nil {
					return err
				}
			} else if ce == nil {
				fmt.Fprintf(out, "compatible: %s changes nothing at or below height %d\n", args[1], head)
			} else {
				fmt.Fprintln(out, ce.Error())
				for _, c := range ce.Conflicts {
					fmt.Fprintf(out, "  %s: %s\n", c.What, schedule.Remedy(c.RewindTo))
				}
			}
			if ce != nil {
				return findings()
			}
			return nil
		},
	}
	c.Flags().Int64Var(&head, "head", 0, "height the chain has reached (required)")
	c.Flags().StringVar(&headTimeText, "head-time", "", "time of the head block: unix seconds, a date (2026-12-01, UTC) or an RFC 3339 time")
	c.Flags().Int64Var(&parentHeight, "parent-height", 0, "parent chain height at the head, for parallel chains")
	addForksFlag(c, &forks)
	return c
}
