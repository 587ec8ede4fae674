package upgradedoc

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"aead.dev/minisign"
	"github.com/forkgate/forkgate/atomicfile"
	"github.com/forkgate/forkgate/forkfile"
	"github.com/forkgate/forkgate/release"
	"github.com/forkgate/forkgate/schedule"
)

// Input is everything a set of documents is made from.
type Input struct {
	// Release is the opened, verified release; Key the public key its
	// signature verified with (required: documents describe signed
	// releases only).
	Release *release.Release
	Key     *minisign.PublicKey
	// Reason is the upgrade reason (--reason); empty: the release notes.
	Reason       string
	ReasonSource string
	// Downloads are the release's URLs in its stores (the release's
	// published.json when empty).
	Downloads []string
	Chains    []ChainInput
	// Parent is the parent chain's new config, for chains that follow a
	// parent's heights; it may be one of Chains.
	Parent string
	// Lead is how many blocks past the head a fork is suggested when the
	// config's height has already passed (0: such a fork is an error).
	Lead int64
	// Registry checks the suggested configs; nil: the release's registry.
	Registry *schedule.Registry
	// Date is the change-record date of suggested edits (YYYY-MM-DD).
	Date string
}

// ChainInput is one chain: its new config, the config it runs now, and its
// head.
type ChainInput struct {
	Config     string
	Base       string
	Head       int64
	ParentHead int64 // -1: unknown (needed only for parent-height forks)
}

// InputError is an input that cannot make a document (exit code 2); it
// names the input.
type InputError struct{ Msg string }

func (e *InputError) Error() string { return e.Msg }

func inputErr(format string, args ...any) error {
	return &InputError{Msg: fmt.Sprintf(format, args...)}
}

// CheckError is a suggested configuration that fails lint or the
// compatibility check (exit code 1).
type CheckError struct {
	Chain string
	Msg   string
}

func (e *CheckError) Error() string { return e.Chain + ": " + e.Msg }

// Generate makes one document per chain. Chains are processed parents
// first, so a parallel chain that follows its parent's heights follows the
// heights suggested for the parent in the same run.
func Generate(in Input) ([]*Document, error) {
	if in.Release == nil {
		return nil, inputErr("no release (--release DIR)")
	}
	if len(in.Chains) == 0 {
		return nil, inputErr("no chain config (--chain CONFIG)")
	}
	if in.Key == nil || in.Release.SignedBy == "" {
		return nil, inputErr("the release's signature was not verified: give --pubkey KEY (a document tells operators which key to trust)")
	}
	m := in.Release.Manifest
	reason, source := strings.TrimSpace(in.Reason), in.ReasonSource
	if reason == "" {
		reason, source = strings.TrimSpace(m.Notes), "release notes"
	}
	if reason == "" {
		return nil, inputErr("no upgrade reason: give --reason FILE, or build the release with --notes FILE")
	}
	downloads := in.Downloads
	if len(downloads) == 0 {
		if pub, err := release.ReadPublished(in.Release.Dir); err == nil {
			for _, s := range pub.Stores {
				downloads = append(downloads, s.Release)
			}
		}
	}
	if len(downloads) == 0 {
		return nil, inputErr("no download path: publish the release first (forkgate release publish %s --store URL) or give --store URL", in.Release.Dir)
	}
	reg := in.Registry
	if reg == nil {
		var err error
		if reg, err = RegistryOf(m); err != nil {
			return nil, inputErr("release %s: %v", m.Version, err)
		}
	}
	if in.Date == "" {
		// The release's own date keeps documents reproducible.
		in.Date = time.Unix(m.Reproduce.SourceDateEpoch, 0).UTC().Format("2006-01-02")
	}

	var parent *forkfile.File
	if in.Parent != "" {
		f, err := loadConfig(in.Parent, "--parent")
		if err != nil {
			return nil, err
		}
		parent = f
	}
	order := make([]int, len(in.Chains))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool {
		return samePath(in.Chains[order[a]].Config, in.Parent) && !samePath(in.Chains[order[b]].Config, in.Parent)
	})
	docs := make([]*Document, len(in.Chains))
	for _, i := range order {
		d, suggested, err := generateOne(in, reg, in.Chains[i], reason, source, downloads, parent)
		if err != nil {
			return nil, err
		}
		if samePath(in.Chains[i].Config, in.Parent) {
			parent = suggested // children follow the heights suggested for their parent
		}
		docs[i] = d
	}
	return docs, nil
}

func samePath(a, b string) bool {
	if a == "" || b == "" {
		return false
	}
	x, err1 := filepath.Abs(a)
	y, err2 := filepath.Abs(b)
	return err1 == nil && err2 == nil && x == y
}

func loadConfig(p, flag string) (*forkfile.File, error) {
	f, err := forkfile.Load(p)
	if err != nil {
		return nil, inputErr("%s %s: %v", flag, p, err)
	}
	return f, nil
}

// RegistryOf rebuilds a release's fork registry from its manifest.
func RegistryOf(m *release.Manifest) (*schedule.Registry, error) {
	reg := schedule.NewRegistry()
	for _, fi := range m.Build.Forks {
		scope, name := schedule.SplitKey(fi.Key)
		act, dom, err := forkfile.ParseActivation(fi.Default)
		if err != nil {
			return nil, fmt.Errorf("fork %s default %q: %v", fi.Key, fi.Default, err)
		}
		if fi.Domain == schedule.DomainParent.String() {
			dom = schedule.DomainParent
		}
		if err := reg.Register(schedule.Fork{Scope: scope, Name: name, Default: act, Domain: dom, Note: fi.Note, Release: fi.Release}); err != nil {
			return nil, err
		}
	}
	return reg, nil
}

func generateOne(in Input, reg *schedule.Registry, c ChainInput, reason, source string, downloads []string, parent *forkfile.File) (*Document, *forkfile.File, error) {
	if c.Base == "" {
		return nil, nil, inputErr("chain %s: no base config (--base OLD_CONFIG: the config the chain runs now)", c.Config)
	}
	if c.Head < 0 {
		return nil, nil, inputErr("chain %s: the head %d is negative; give --head H, the height the chain has reached", c.Config, c.Head)
	}
	nf, err := loadConfig(c.Config, "--chain")
	if err != nil {
		return nil, nil, err
	}
	bf, err := loadConfig(c.Base, "--base")
	if err != nil {
		return nil, nil, err
	}
	if nf.Title != bf.Title {
		return nil, nil, inputErr("chain %s has title %q but its base %s has %q: pair each --chain with its own --base", c.Config, nf.Title, c.Base, bf.Title)
	}
	m := in.Release.Manifest
	d := &Document{Format: Format, Changes: forkfile.Diff(bf, nf)}
	if d.Changes == nil {
		d.Changes = []forkfile.Change{}
	}
	d.Chain = Chain{Title: nf.Title, Kind: "main", Config: c.Config, ConfigSHA256: release.SHA256Bytes(nf.Doc.Src),
		Base: c.Base, BaseSHA256: release.SHA256Bytes(bf.Doc.Src), Head: c.Head}
	if forkfile.IsParaTitle(nf.Title) {
		d.Chain.Kind = "parallel"
	}
	if c.ParentHead >= 0 {
		ph := c.ParentHead
		d.Chain.ParentHead = &ph
	}
	for _, it := range nf.Items {
		if it.Domain == schedule.DomainParent {
			d.Chain.FollowsParent = true
		}
	}
	if d.Chain.FollowsParent && parent != nil {
		d.Chain.Parent = parent.Doc.File
	}
	d.Release = releaseSection(in.Release, in.Key)
	d.Reason = Reason{Notes: reason, Source: source, Record: addedRecord(bf, nf)}

	items, suggested, err := suggest(nf, bf, c, parent, in.Lead, in.Date)
	if err != nil {
		return nil, nil, err
	}
	d.Suggested.Items = items
	d.Suggested.Config = string(suggested.Doc.Src)

	// Lint the suggestion against the release's registry, the base (new
	// forks need a record line) and the parent; then the compatibility
	// check at the head.
	lp := parent
	if !d.Chain.FollowsParent {
		lp = nil
	}
	fs := forkfile.Lint(suggested, forkfile.LintOptions{Registry: reg, Base: bf, Parent: lp})
	d.Suggested.Lint = Lint{Findings: fs}
	if d.Suggested.Lint.Findings == nil {
		d.Suggested.Lint.Findings = []schedule.Finding{}
	}
	for _, f := range fs {
		if f.Severity == schedule.SevError {
			d.Suggested.Lint.Errors++
		} else {
			d.Suggested.Lint.Warnings++
		}
	}
	if d.Suggested.Lint.Errors > 0 {
		var lines []string
		for _, f := range fs {
			if f.Severity == schedule.SevError {
				lines = append(lines, "  "+f.String())
			}
		}
		return nil, nil, &CheckError{Chain: c.Config, Msg: "the suggested configuration fails lint; fix the chain's config:\n" + strings.Join(lines, "\n")}
	}
	bs, bfs := bf.Schedule(nil, false)
	ss, sfs := suggested.Schedule(nil, false)
	if bfs.HasErrors() || sfs.HasErrors() {
		return nil, nil, &CheckError{Chain: c.Config, Msg: "the base or the suggested config has schedule errors; run forkgate config lint on both"}
	}
	head := schedule.Head{Height: c.Head, ParentHeight: max(c.ParentHead, 0)}
	d.Suggested.Compat = Compat{Head: c.Head, ParentHead: d.Chain.ParentHead, Compatible: true}
	if ce := schedule.CheckCompatible(bs.Snapshot(), ss.Snapshot(), head); ce != nil {
		d.Suggested.Compat.Compatible = false
		d.Suggested.Compat.Conflicts = ce.Conflicts
		return nil, nil, &CheckError{Chain: c.Config, Msg: "the suggested configuration rewrites history below the head: " + ce.Error()}
	}

	d.Download = downloadSection(downloads, m)
	d.Download.SHA256 = d.Release.ArchiveSHA256
	d.Steps = steps(d)
	d.Checks = checks(d)
	return d, suggested, nil
}

func releaseSection(r *release.Release, key *minisign.PublicKey) Release {
	m := r.Manifest
	return Release{
		Name: m.Name, Version: m.Version, Commit: m.Build.Commit, GoVersion: m.Build.GoVersion, Platform: m.Platform(),
		Implemented: m.Build.Implemented, MinHeight: m.MinHeight, RegistryHash: m.Build.RegistryHash, ScheduleHash: m.Build.ScheduleHash,
		Kind: m.Classification.Kind, KindReasons: m.Classification.Reasons, Previous: m.Classification.Previous,
		Archive: m.Archive, ArchiveSHA256: r.ArchiveSHA256, ManifestSHA256: release.SHA256Bytes(r.ManifestBytes), ManifestText: string(r.ManifestBytes),
		BinaryPath: m.Binary.Path, BinarySHA256: m.Binary.SHA256,
		Checksums: filepath.Base(r.ChecksumsPath), ChecksumsText: string(r.ChecksumsBytes),
		Signature: filepath.Base(r.SignaturePath), SignatureText: string(r.SignatureBytes),
		PublicKey: key.String(), KeyID: release.KeyID(key.ID()),
	}
}

// addedRecord lists the new config's record lines that the base lacks.
func addedRecord(base, nf *forkfile.File) []RecordLine {
	old := map[string]bool{}
	for _, r := range base.Record {
		old[r.Date+"\x00"+r.Text] = true
	}
	out := []RecordLine{}
	for _, r := range nf.Record {
		if !old[r.Date+"\x00"+r.Text] {
			out = append(out, RecordLine{Date: r.Date, Text: r.Text, Origin: fmt.Sprintf("%s:%d", nf.Doc.File, r.Pos.Line)})
		}
	}
	return out
}

func downloadSection(urls []string, m *release.Manifest) Download {
	d := Download{Releases: urls, Archive: archiveURL(urls[0], m.Archive)}
	d.Fetch = fmt.Sprintf("forkgate release fetch %s --pubkey KEY.pub --out forkgate-%s", shellQuote(urls[0]), m.Version)
	return d
}

// archiveURL puts a file name after a release URL's path, before its query.
func archiveURL(rel, file string) string {
	base, query, hasQuery := strings.Cut(rel, "?")
	u := strings.TrimSuffix(base, "/") + "/" + path.Base(file)
	if hasQuery {
		u += "?" + query
	}
	return u
}

var safeShell = regexp.MustCompile(`^[A-Za-z0-9_./:=@%+,-]+$`)

func shellQuote(s string) string {
	if safeShell.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// DocName is the file name stem of a chain's document:
// UPGRADE-<version>-<title without dots at the ends>.
func DocName(d *Document) string {
	t := strings.Trim(d.Chain.Title, ".")
	t = regexp.MustCompile(`[^A-Za-z0-9._-]+`).ReplaceAllString(t, "-")
	if t == "" {
		t = "untitled"
	}
	return "UPGRADE-" + d.Release.Version + "-" + t
}

// WriteFiles writes each document as DIR/<DocName>.json and .md; two
// documents with one name are refused before anything is written.
func WriteFiles(dir string, docs []*Document) ([]string, error) {
	seen := map[string]string{}
	for _, d := range docs {
		n := DocName(d)
		if other, ok := seen[n]; ok {
			return nil, inputErr("chains %s and %s have the same title %q: one document each is needed", other, d.Chain.Config, d.Chain.Title)
		}
		seen[n] = d.Chain.Config
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var out []string
	for _, d := range docs {
		stem := filepath.Join(dir, DocName(d))
		for _, f := range []struct {
			ext  string
			data []byte
		}{{".json", d.Encode()}, {".md", []byte(Markdown(d, DocName(d)+".json"))}} {
			if err := atomicfile.Write(stem+f.ext, f.data, 0o644); err != nil {
				return nil, err
			}
			out = append(out, stem+f.ext)
		}
	}
	return out, nil
}
