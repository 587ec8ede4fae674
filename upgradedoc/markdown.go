package upgradedoc

import (
	"fmt"
	"strings"

	"github.com/forkgate/forkgate/release"
)

func sha(text string) string { return release.SHA256Bytes([]byte(text)) }

// Markdown renders a document for people. Every section comes from the
// document's data; jsonName is the JSON file the commands refer to.
func Markdown(d *Document, jsonName string) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	r := d.Release
	p("# Upgrade to %s %s: chain %s\n\n", r.Name, r.Version, d.Chain.Title)
	p("| | |\n|---|---|\n")
	p("| chain | `%s` (%s chain%s) |\n", d.Chain.Title, d.Chain.Kind, map[bool]string{true: ", follows its parent's heights", false: ""}[d.Chain.FollowsParent])
	p("| head when written | %d%s |\n", d.Chain.Head, parentHead(d))
	p("| release | %s %s, commit `%s`, %s, %s |\n", r.Name, r.Version, r.Commit, r.GoVersion, r.Platform)
	p("| kind | **%s release** |\n", r.Kind)
	p("| protocol | implements versions up to %d; runs from height %d |\n", r.Implemented, r.MinHeight)
	p("| machine-readable | `%s` (format %d, checks format %d) |\n\n", jsonName, d.Format, d.Checks.Format)

	p("## 1. Reason for the upgrade\n\n%s\n\n_Source: %s._\n\n", r2md(d.Reason.Notes), d.Reason.Source)
	if len(r.KindReasons) > 0 {
		p("Why this is a %s release:\n\n", r.Kind)
		for _, k := range r.KindReasons {
			p("- %s\n", k)
		}
		p("\n")
	}
	if len(d.Reason.Record) == 0 {
		p("The chain's config adds no change-record line since `%s`.\n\n", d.Chain.Base)
	} else {
		p("Change-record lines added to this chain's config since `%s`:\n\n", d.Chain.Base)
		for _, l := range d.Reason.Record {
			p("- %s %s (`%s`)\n", l.Date, l.Text, l.Origin)
		}
		p("\n")
	}

	p("## 2. New configuration parameters and forks\n\n")
	if len(d.Changes) == 0 {
		p("`%s` and `%s` hold the same forks, parameters and versions: this upgrade changes no configuration on this chain.\n\n", d.Chain.Base, d.Chain.Config)
	} else {
		p("From `%s` to `%s`:\n\n| change | what | name | old | new | description |\n|---|---|---|---|---|---|\n", d.Chain.Base, d.Chain.Config)
		for _, c := range d.Changes {
			p("| %s | %s | `%s` | %s | %s | %s |\n", c.Kind, c.What, c.Name, code(c.Old), code(c.New), cell(c.Note))
		}
		p("\n")
	}

	p("## 3. Suggested configuration for this chain\n\n")
	if len(d.Suggested.Items) == 0 {
		p("No fork item to add or change on this chain.\n\n")
	} else {
		p("| section | item | value | basis |\n|---|---|---|---|\n")
		for _, it := range d.Suggested.Items {
			p("| `%s` | `%s` | `%s` | %s |\n", it.Section, it.Name, it.Value, cell(it.Basis))
		}
		p("\n")
	}
	p("Checked: `forkgate config lint` with the release's fork registry and the base: %d error(s), %d warning(s)", d.Suggested.Lint.Errors, d.Suggested.Lint.Warnings)
	if d.Chain.Parent != "" {
		p(", parent-height forks against `%s`", d.Chain.Parent)
	}
	p("; `forkgate config compat` against the base at head %d%s: %s.\n\n", d.Suggested.Compat.Head, parentHead(d), map[bool]string{true: "compatible (nothing at or below the head changes)", false: "NOT compatible"}[d.Suggested.Compat.Compatible])
	for _, f := range d.Suggested.Lint.Findings {
		p("- lint %s\n", f.String())
	}
	if len(d.Suggested.Lint.Findings) > 0 {
		p("\n")
	}
	p("<details><summary>The whole suggested config</summary>\n\n```toml\n%s```\n\n</details>\n\n", ensureNL(d.Suggested.Config))

	p("## 4. Download\n\n")
	for _, u := range d.Download.Releases {
		p("- release: `%s`\n", u)
	}
	p("- archive: `%s`\n- archive sha256: `%s`\n", d.Download.Archive, d.Download.SHA256)
	p("- binary in the archive: `%s`, sha256 `%s`\n", r.BinaryPath, r.BinarySHA256)
	p("- checksums file: `%s` (sha256 `%s`), signed in `%s` by minisign key `%s`: `%s`\n\n", r.Checksums, sha(r.ChecksumsText), r.Signature, r.KeyID, r.PublicKey)
	p("```sh\n%s\n```\n\n", d.Download.Fetch)

	p("## 5. Upgrade steps\n\n")
	for _, s := range d.Steps {
		p("%d. **%s.** %s\n", s.N, s.Title, s.Detail)
		if len(s.Commands) > 0 {
			p("\n   ```sh\n")
			for _, c := range s.Commands {
				p("   %s\n", c)
			}
			p("   ```\n")
		}
		p("\n")
	}

	p("## 6. Status checks before and after the upgrade\n\n")
	p("The same list is in `%s` under `checks` (format %d), for `forkgate ops check` and the status checks.\n\n", jsonName, d.Checks.Format)
	for _, phase := range []string{PhasePre, PhasePost} {
		p("### %s\n\n| id | reads | checks | expected | by hand |\n|---|---|---|---|---|\n", map[string]string{PhasePre: "Before the upgrade", PhasePost: "After the upgrade"}[phase])
		for _, c := range d.ChecksIn(phase) {
			p("| `%s` | %s | %s | %s | `%s` |\n", c.ID, c.Source, c.What, expectText(c.Expect), strings.ReplaceAll(c.Command, "|", `\|`))
		}
		p("\n")
	}
	return b.String()
}

func parentHead(d *Document) string {
	if d.Chain.ParentHead == nil {
		return ""
	}
	return fmt.Sprintf(" (parent chain at %d)", *d.Chain.ParentHead)
}

func expectText(e Expect) string {
	var parts []string
	add := func(k, v string) { parts = append(parts, fmt.Sprintf("%s `%s`", k, v)) }
	if e.SHA256 != "" {
		add("sha256", e.SHA256)
	}
	if e.KeyID != "" {
		add("key", e.KeyID)
	}
	if e.ChecksumsSHA256 != "" {
		add("checksums sha256", e.ChecksumsSHA256)
	}
	if e.Version != "" {
		add("version", e.Version)
	}
	if e.Commit != "" {
		add("commit", e.Commit)
	}
	if e.Implemented != 0 {
		add("implemented", fmt.Sprint(e.Implemented))
	}
	if e.RegistryHash != "" {
		add("registry hash", e.RegistryHash)
	}
	if e.ScheduleHash != "" {
		add("schedule hash", e.ScheduleHash)
	}
	if e.Title != "" {
		add("title", e.Title)
	}
	for _, f := range e.Forks {
		s := f.Key + " = " + f.Value
		if f.ActiveFrom != nil {
			s += fmt.Sprintf(", active from %d", *f.ActiveFrom)
		}
		add("fork", s)
	}
	if e.HeightBelow != nil {
		add("height below", fmt.Sprint(*e.HeightBelow))
	}
	if e.ParentBelow != nil {
		add("parent height below", fmt.Sprint(*e.ParentBelow))
	}
	if e.HeightAtLeast != nil {
		add("height at least", fmt.Sprint(*e.HeightAtLeast))
	}
	if e.Agree {
		s := "same state hash on every node"
		if e.FromHeight != nil {
			s += fmt.Sprintf(" from height %d", *e.FromHeight)
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "<br>")
}

func code(s string) string {
	if s == "" {
		return "-"
	}
	return "`" + strings.ReplaceAll(s, "|", `\|`) + "`"
}

func cell(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "\n", " "), "|", `\|`)
}

func r2md(s string) string { return strings.TrimSpace(s) }

func ensureNL(s string) string {
	if strings.HasSuffix(s, "\n") {
		return s
	}
	return s + "\n"
}
