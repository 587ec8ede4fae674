// Package ops holds the operator's check (the regulation's §4.4): before
// switching, make sure the version obtained is the one the upgrade document
// describes, and that the node's config holds this chain's fork heights.
//
// Check runs the document's pre checks that need no running node: the
// release's signature and checksums, the binary's sha256, the version the
// binary reports, and the fork items of the node home's config. The checks
// that read a running node or the whole network are the status checks'.
package ops

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"aead.dev/minisign"
	"github.com/forkgate/forkgate/forkfile"
	"github.com/forkgate/forkgate/release"
	"github.com/forkgate/forkgate/upgradedoc"
)

// ReportFormat versions Report's JSON (docs/cli-json.md).
const ReportFormat = 1

// Options say what to check against the document.
type Options struct {
	// Binary is a forkgate binary, a release directory or a release
	// archive.
	Binary string
	// Home is a node home: its config.toml, and the supervisor's staged
	// binary for the document's release when there is one.
	Home string
	// Key is the trusted release key; nil: the document's key.
	Key *minisign.PublicKey
}

// Report is the outcome: one result per check run.
type Report struct {
	Format  int      `json:"format"`
	Doc     string   `json:"doc"`
	Chain   string   `json:"chain"`
	Release string   `json:"release"`
	Binary  string   `json:"binary,omitempty"`
	Home    string   `json:"home,omitempty"`
	KeyFrom string   `json:"key_from"` // "--pubkey" or "document"
	OK      bool     `json:"ok"`
	Results []Result `json:"results"`
}

// Result is one of the document's checks.
type Result struct {
	ID          string       `json:"id"`
	Result      string       `json:"result"` // ok | fail | skipped
	What        string       `json:"what"`
	Differences []Difference `json:"differences,omitempty"`
	Message     string       `json:"message,omitempty"` // why skipped
}

// Difference is one thing that differs from the document and what to do.
type Difference struct {
	What string `json:"what"`
	Got  string `json:"got"`
	Want string `json:"want"`
	Fix  string `json:"fix"`
}

// Line is the difference as one line of text.
func (d Difference) Line() string {
	return fmt.Sprintf("%s: got %s, the document expects %s; %s", d.What, d.Got, d.Want, d.Fix)
}

// Results.
const (
	OK      = "ok"
	Fail    = "fail"
	Skipped = "skipped"
)

// StagedBinary is where the supervisor keeps a release's binary in a home
// (docs/release.md): HOME/visor/releases/<version>/bin/forkgate.
func StagedBinary(home, version string) string {
	return filepath.Join(home, "visor", "releases", version, "bin", "forkgate")
}

// Check runs the document's local checks. An error is returned only for
// unusable input (a home without a config, a path that does not exist).
func Check(ctx context.Context, doc *upgradedoc.Document, docPath string, o Options) (*Report, error) {
	if o.Binary == "" && o.Home == "" {
		return nil, errors.New("nothing to check: give --binary PATH or --home HOME")
	}
	rep := &Report{Format: ReportFormat, Doc: docPath, Chain: doc.Chain.Title, Release: doc.Release.Version, Binary: o.Binary, Home: o.Home, KeyFrom: "--pubkey"}
	key := o.Key
	if key == nil {
		k, err := release.ParsePublicKey(doc.Release.PublicKey)
		if err != nil {
			return nil, fmt.Errorf("%s: release.public_key: %v", docPath, err)
		}
		key, rep.KeyFrom = &k, "document"
	}
	c := &checker{doc: doc, docPath: docPath, key: key, rep: rep}
	bin := o.Binary
	if bin == "" {
		if staged := StagedBinary(o.Home, doc.Release.Version); fileExists(staged) {
			bin = staged
			rep.Binary = staged
		}
	}
	if bin != "" {
		if err := c.binary(ctx, bin); err != nil {
			return nil, err
		}
	} else {
		for _, id := range []string{upgradedoc.CheckReleaseSignature, upgradedoc.CheckBinarySHA256, upgradedoc.CheckBinaryVersion} {
			c.skip(id, fmt.Sprintf("no binary given and none staged at %s; give --binary PATH", StagedBinary(o.Home, doc.Release.Version)))
		}
	}
	if o.Home != "" {
		if err := c.home(o.Home); err != nil {
			return nil, err
		}
	} else {
		c.skip(upgradedoc.CheckConfigForks, "no --home given")
	}
	rep.OK = true
	for _, r := range rep.Results {
		rep.OK = rep.OK && r.Result != Fail
	}
	return rep, nil
}

type checker struct {
	doc     *upgradedoc.Document
	docPath string
	key     *minisign.PublicKey
	rep     *Report
}

func (c *checker) result(id string, diffs []Difference) {
	ch, _ := c.doc.Check(id)
	r := Result{ID: id, What: ch.What, Result: OK, Differences: diffs}
	if len(diffs) > 0 {
		r.Result = Fail
	}
	c.rep.Results = append(c.rep.Results, r)
}

func (c *checker) skip(id, why string) {
	ch, _ := c.doc.Check(id)
	c.rep.Results = append(c.rep.Results, Result{ID: id, What: ch.What, Result: Skipped, Message: why})
}

func (c *checker) refetch() string {
	return "download the release again and check it: " + c.doc.Download.Fetch
}

// binary checks a binary file, a release directory or an archive.
func (c *checker) binary(ctx context.Context, path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	r := c.doc.Release
	var binFile string
	if st.IsDir() || strings.HasSuffix(path, ".tar.gz") {
		// A release: its own chain of trust, then the document's hashes.
		rel, err := release.Open(ctx, path, release.OpenOptions{Key: c.key})
		if err != nil {
			failed, other := upgradedoc.CheckBinarySHA256, upgradedoc.CheckReleaseSignature
			if errors.Is(err, release.ErrSignature) {
				failed, other = other, failed
			} else if !errors.Is(err, release.ErrMismatch) {
				return err
			}
			c.result(failed, []Difference{{What: "release " + path, Got: err.Error(), Want: "a release that passes its checks", Fix: c.refetch()}})
			c.skip(other, "not reached: the release failed "+failed)
			c.skip(upgradedoc.CheckBinaryVersion, "the release failed its checks, so its binary was not run")
			return nil
		}
		var sig []Difference
		if string(rel.ChecksumsBytes) != r.ChecksumsText {
			sig = append(sig, Difference{What: "checksums file " + filepath.Base(rel.ChecksumsPath), Got: "sha256 " + release.SHA256Bytes(rel.ChecksumsBytes), Want: "sha256 " + release.SHA256Bytes([]byte(r.ChecksumsText)), Fix: "this is another release than the document's; " + c.refetch()})
		}
		c.result(upgradedoc.CheckReleaseSignature, sig)
		var sum []Difference
		if rel.ArchiveSHA256 != r.ArchiveSHA256 {
			sum = append(sum, Difference{What: "archive " + filepath.Base(rel.ArchivePath), Got: "sha256 " + rel.ArchiveSHA256, Want: "sha256 " + r.ArchiveSHA256, Fix: c.refetch()})
		}
		if rel.Manifest.Binary.SHA256 != r.BinarySHA256 {
			sum = append(sum, Difference{What: "binary in " + filepath.Base(rel.ArchivePath), Got: "sha256 " + rel.Manifest.Binary.SHA256, Want: "sha256 " + r.BinarySHA256, Fix: c.refetch()})
		}
		c.result(upgradedoc.CheckBinarySHA256, sum)
		if len(sum) > 0 || len(sig) > 0 {
			c.skip(upgradedoc.CheckBinaryVersion, "the binary is not the document's, so it was not run")
			return nil
		}
		tmp, err := os.MkdirTemp("", "forkgate-ops-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		binFile = filepath.Join(tmp, "forkgate")
		if err := rel.ExtractBinary(binFile); err != nil {
			return err
		}
	} else {
		// A bare binary: the document's own chain of trust vouches for the
		// sha256 it expects.
		c.result(upgradedoc.CheckReleaseSignature, c.documentChain())
		sum, _, err := release.SHA256File(path)
		if err != nil {
			return err
		}
		var diffs []Difference
		if sum != r.BinarySHA256 {
			diffs = append(diffs, Difference{What: "binary " + path, Got: "sha256 " + sum, Want: "sha256 " + r.BinarySHA256, Fix: "it is not the release's binary; " + c.refetch()})
		}
		c.result(upgradedoc.CheckBinarySHA256, diffs)
		if len(diffs) > 0 {
			c.skip(upgradedoc.CheckBinaryVersion, "the binary is not the document's, so it was not run")
			return nil
		}
		binFile = path
	}
	c.version(ctx, binFile)
	return nil
}

// documentChain checks the chain of trust the document carries: the
// signature over the checksums text, the checksums listing the manifest,
// and the manifest naming the binary's sha256.
func (c *checker) documentChain() []Difference {
	r := c.doc.Release
	fix := "the document was altered or signed by another key; get the document again from the release's publisher"
	if _, err := release.VerifySignature(*c.key, []byte(r.ChecksumsText), []byte(r.SignatureText), r.Checksums); err != nil {
		return []Difference{{What: "signature of " + r.Checksums, Got: err.Error(), Want: "a good signature by key " + release.KeyID(c.key.ID()), Fix: fix}}
	}
	sums, err := release.ParseChecksums(r.Checksums, []byte(r.ChecksumsText))
	if err != nil {
		return []Difference{{What: r.Checksums, Got: err.Error(), Want: "a checksums file", Fix: fix}}
	}
	var diffs []Difference
	if want, _ := release.ChecksumOf(sums, release.ManifestFile); want != release.SHA256Bytes([]byte(r.ManifestText)) {
		diffs = append(diffs, Difference{What: "the document's manifest", Got: "sha256 " + release.SHA256Bytes([]byte(r.ManifestText)), Want: "sha256 " + want, Fix: fix})
	} else if m, err := release.DecodeManifest("document manifest", []byte(r.ManifestText)); err != nil || m.Binary.SHA256 != r.BinarySHA256 {
		diffs = append(diffs, Difference{What: "the document's binary sha256", Got: r.BinarySHA256, Want: "the signed manifest's", Fix: fix})
	}
	if want, _ := release.ChecksumOf(sums, r.Archive); want != r.ArchiveSHA256 {
		diffs = append(diffs, Difference{What: "the document's archive sha256", Got: r.ArchiveSHA256, Want: want, Fix: fix})
	}
	return diffs
}

// version runs the binary and compares what it reports.
func (c *checker) version(ctx context.Context, bin string) {
	ch, _ := c.doc.Check(upgradedoc.CheckBinaryVersion)
	e := ch.Expect
	info, err := release.BinaryInfo(ctx, bin)
	if err != nil {
		c.result(upgradedoc.CheckBinaryVersion, []Difference{{What: "version output", Got: err.Error(), Want: "the release's build description", Fix: c.refetch()}})
		return
	}
	var diffs []Difference
	field := func(name, got, want string) {
		if got != want {
			diffs = append(diffs, Difference{What: "the binary's " + name, Got: got, Want: want, Fix: "the binary is not the release's build; " + c.refetch()})
		}
	}
	field("version", info.Version, e.Version)
	field("commit", info.Commit, e.Commit)
	field("implemented protocol version", fmt.Sprint(info.Implemented), fmt.Sprint(e.Implemented))
	field("fork registry hash", info.RegistryHash, e.RegistryHash)
	field("schedule hash", info.ScheduleHash, e.ScheduleHash)
	c.result(upgradedoc.CheckBinaryVersion, diffs)
}

// home checks the node's config against the suggested items.
func (c *checker) home(home string) error {
	cfgPath := filepath.Join(home, "config.toml")
	f, err := forkfile.Load(cfgPath)
	if err != nil {
		return fmt.Errorf("home %s: %v", home, err)
	}
	ch, _ := c.doc.Check(upgradedoc.CheckConfigForks)
	var diffs []Difference
	if f.Title != ch.Expect.Title {
		diffs = append(diffs, Difference{What: "chain title in " + cfgPath, Got: fmt.Sprintf("%q", f.Title), Want: fmt.Sprintf("%q", ch.Expect.Title),
			Fix: "this home runs another chain: use that chain's upgrade document"})
		c.result(upgradedoc.CheckConfigForks, diffs)
		return nil
	}
	items := map[string]forkfile.Item{}
	for _, it := range f.Items {
		items[it.Key()] = it
	}
	for _, want := range ch.Expect.Forks {
		wa, wd, err := forkfile.ParseActivation(want.Value)
		if err != nil {
			return fmt.Errorf("%s: fork %s: suggested value %q: %v", c.docPath, want.Key, want.Value, err)
		}
		set := fmt.Sprintf("forkgate config set %s %s '%s' --note 'as the upgrade document %s suggests'", cfgPath, want.Key, want.Value, filepath.Base(c.docPath))
		it, ok := items[want.Key]
		switch {
		case !ok:
			diffs = append(diffs, Difference{What: "fork " + want.Key, Got: "missing from " + cfgPath, Want: want.Value, Fix: "add it: " + set})
		case it.Activation != wa || it.Domain != wd:
			got := forkfile.FormatActivation(it.Activation, it.Domain)
			diffs = append(diffs, Difference{What: "fork " + want.Key, Got: fmt.Sprintf("%s at %s:%d", got, cfgPath, it.Entry.Pos.Line), Want: want.Value, Fix: "set it: " + set})
		}
	}
	c.result(upgradedoc.CheckConfigForks, diffs)
	return nil
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}
