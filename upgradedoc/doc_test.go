package upgradedoc

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"aead.dev/minisign"
	"github.com/forkgate/forkgate/node"
	"github.com/forkgate/forkgate/release"
)

// The documents' release is a fixed, signed stand-in (a shell script for a
// binary, signed with the test key in testdata), so the goldens do not
// change with every build; package release tests real builds.
func fakeRelease(t *testing.T) (*release.Release, *minisign.PublicKey) {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(t.TempDir(), "forkgate")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\necho stand-in for forkgate 0.2.0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	info := node.BuildInfo()
	info.Version, info.Commit, info.GoVersion, info.OS, info.Arch = "0.2.0", "0123456789abcdef0123456789abcdef01234567", "go1.26.8", "linux", "amd64"
	m := &release.Manifest{Format: release.ManifestFormat, Name: release.Name, Version: "0.2.0", Build: info,
		Classification: release.Classification{Kind: release.KindLarge, Previous: "0.1.0", Reasons: []string{"implements protocol version 2 (previous release: 1)"}},
		Notes:          "Release 0.2.0 schedules the candidate bond of [mver.producers.ForkMinBondV2] and pays game winners 98% once protocol version 2 passes.",
		Reproduce:      release.Reproduce{SourceDateEpoch: 1767225600}}
	key, err := release.LoadSecretKey("testdata/test-release.key", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := release.Assemble(dir, m, bin, &key); err != nil {
		t.Fatal(err)
	}
	pub, err := release.ParsePublicKey("testdata/test-release.pub")
	if err != nil {
		t.Fatal(err)
	}
	r, err := release.Open(context.Background(), dir, release.OpenOptions{Key: &pub})
	if err != nil {
		t.Fatal(err)
	}
	return r, &pub
}

const lib = "../testdata/chains/"

func libraryInput(t *testing.T) Input {
	r, key := fakeRelease(t)
	return Input{
		Release: r, Key: key, Downloads: []string{"file:///srv/releases/0.2.0"},
		Parent: lib + "main/config.toml",
		Chains: []ChainInput{
			{Config: lib + "para-beta/config.toml", Base: "testdata/base/para-beta.toml", Head: 10, ParentHead: 14},
			{Config: lib + "main/config.toml", Base: "testdata/base/main.toml", Head: 30, ParentHead: -1},
			{Config: lib + "future/config.toml", Base: "testdata/base/future.toml", Head: 100, ParentHead: -1},
		},
	}
}

// Golden documents for three library chains: a main chain, a parallel
// chain that follows its parent's heights, and one with forks far in the
// future. FORKGATE_UPDATE_GOLDEN=1 rewrites them.
func TestGoldenDocuments(t *testing.T) {
	docs, err := Generate(libraryInput(t))
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	files, err := WriteFiles(out, docs)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 6 {
		t.Fatalf("files: %v", files)
	}
	// What the goldens must show, asserted so a regenerated golden cannot
	// silently lose it.
	want := map[string]map[string]string{
		"forkgate.library.main":   {"producers.ForkMinBondV2": "44"},
		"user.p.beta.":            {"coins.ForkMinFeeV2": "20", "producers.ForkMinBondV2": "40"},
		"forkgate.library.future": {"producers.ForkMinBondV2": "2000000", "producers.ForkNoSelfVote": "2000000"},
	}
	for _, d := range docs {
		w := want[d.Chain.Title]
		if len(d.Suggested.Items) != len(w) {
			t.Errorf("%s: items %+v", d.Chain.Title, d.Suggested.Items)
		}
		for _, it := range d.Suggested.Items {
			if w[it.Key] != it.Value {
				t.Errorf("%s: %s = %s, want %s", d.Chain.Title, it.Key, it.Value, w[it.Key])
			}
		}
		if d.Suggested.Lint.Errors != 0 || !d.Suggested.Compat.Compatible || d.Reason.Notes == "" || len(d.Checks.Checks) < 8 {
			t.Errorf("%s: lint %+v compat %+v", d.Chain.Title, d.Suggested.Lint, d.Suggested.Compat)
		}
	}
	if pb := docs[0]; !pb.Chain.FollowsParent || pb.Chain.Kind != "parallel" || pb.Chain.Parent == "" || len(pb.Reason.Record) != 2 {
		t.Errorf("para-beta chain: %+v record %+v", pb.Chain, pb.Reason.Record)
	}
	for _, f := range files {
		got, _ := os.ReadFile(f)
		golden := filepath.Join("testdata", "golden", filepath.Base(f))
		if os.Getenv("FORKGATE_UPDATE_GOLDEN") != "" {
			os.MkdirAll(filepath.Dir(golden), 0o755)
			if err := os.WriteFile(golden, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%v (FORKGATE_UPDATE_GOLDEN=1 writes the goldens)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from its golden; diff %s %s (FORKGATE_UPDATE_GOLDEN=1 rewrites it)", filepath.Base(f), f, golden)
		}
	}
	// The JSON reads back.
	d, err := Read(files[0])
	if err != nil || d.Release.BinarySHA256 == "" || len(d.ChecksIn(PhasePre)) == 0 || len(d.ChecksIn(PhasePost)) == 0 {
		t.Fatalf("read back: %v", err)
	}
}

// writeConfig writes a config for a test.
func writeConfig(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const (
	mainBase = `# 2026-01-01 main chain
Title = "test.main"
[fork.sub.coins]
# Old fork.
ForkAddrChecksum = 0
`
	mainNew = `# 2026-01-01 main chain
# 2026-02-01 add ForkFeeToProducer under [fork.sub.coins]
Title = "test.main"
[fork.sub.coins]
# Old fork.
ForkAddrChecksum = 0
# Pay fees to the producer.
ForkFeeToProducer = 50
`
	paraBase = `# 2026-01-01 para chain
Title = "user.p.test."
[fork.sub.coins]
# Old fork.
ForkAddrChecksum = 0
`
	paraNew = `# 2026-01-01 para chain
# 2026-02-01 add ForkFeeToProducer under [fork.sub.coins], following the main chain
Title = "user.p.test."
[fork.sub.coins]
# Old fork.
ForkAddrChecksum = 0
# Pay fees to the producer, at the main chain's height.
ForkFeeToProducer = { parent = 50 }
`
)

// A head past the configured height is an error without --lead; with it
// the fork moves to head + lead, and a parallel chain that follows the
// parent follows the moved height.
func TestSuggestedHeights(t *testing.T) {
	dir := t.TempDir()
	mb, mn := writeConfig(t, dir, "main-base.toml", mainBase), writeConfig(t, dir, "main.toml", mainNew)
	pb, pn := writeConfig(t, dir, "para-base.toml", paraBase), writeConfig(t, dir, "para.toml", paraNew)
	r, key := fakeRelease(t)
	in := Input{Release: r, Key: key, Downloads: []string{"file:///srv/r/0.2.0"}, Parent: mn,
		Chains: []ChainInput{{Config: pn, Base: pb, Head: 300, ParentHead: 60}, {Config: mn, Base: mb, Head: 60, ParentHead: -1}}}

	_, err := Generate(in)
	var ce *CheckError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "coins.ForkFeeToProducer is configured at height 50, at or below the chain head 60") {
		t.Fatalf("head past the fork without a lead: %v", err)
	}

	in.Lead = 100
	docs, err := Generate(in)
	if err != nil {
		t.Fatal(err)
	}
	para, main := docs[0], docs[1]
	if it := main.Suggested.Items[0]; it.Value != "160" || *it.Height != 160 || !strings.Contains(it.Basis, "head + 100") {
		t.Errorf("main item: %+v", it)
	}
	if !strings.Contains(main.Suggested.Config, "ForkFeeToProducer = 160") || !strings.Contains(main.Suggested.Config, "set ForkFeeToProducer = 160 under [fork.sub.coins]") {
		t.Errorf("main suggested config:\n%s", main.Suggested.Config)
	}
	if it := para.Suggested.Items[0]; it.Value != "{ parent = 160 }" || it.Domain != "parent" || !strings.Contains(it.Basis, "follows the parent chain's height 160") {
		t.Errorf("para item: %+v", it)
	}
	if c, ok := para.Check(CheckNodeBeforeForks); !ok || c.Expect.ParentBelow == nil || *c.Expect.ParentBelow != 160 {
		t.Errorf("para pre check: %+v", c)
	}
	if c, _ := main.Check(CheckNodeBeforeForks); c.Expect.HeightBelow == nil || *c.Expect.HeightBelow != 160 {
		t.Errorf("main pre check: %+v", c)
	}

	// The parent already past the fork: the child cannot follow.
	in.Parent, in.Chains = mb, in.Chains[:1]
	in.Chains[0].ParentHead = 200
	if _, err := Generate(in); !errors.As(err, &ce) {
		t.Errorf("parent head past the parent height: %v", err)
	}
}

// A missing input is an error that names it, never an empty section.
func TestMissingInputs(t *testing.T) {
	dir := t.TempDir()
	mb, mn := writeConfig(t, dir, "main-base.toml", mainBase), writeConfig(t, dir, "main.toml", mainNew)
	pb, pn := writeConfig(t, dir, "para-base.toml", paraBase), writeConfig(t, dir, "para.toml", paraNew)
	r, key := fakeRelease(t)
	good := func() Input {
		return Input{Release: r, Key: key, Downloads: []string{"file:///srv/r/0.2.0"}, Chains: []ChainInput{{Config: mn, Base: mb, Head: 10, ParentHead: -1}}}
	}
	noNotes := *r
	m := *r.Manifest
	m.Notes = ""
	noNotes.Manifest = &m
	tests := []struct {
		name   string
		change func(*Input)
		want   string
	}{
		{"no reason", func(in *Input) { in.Release = &noNotes }, "--reason FILE"},
		{"no download", func(in *Input) { in.Downloads = nil }, "release publish"},
		{"no key", func(in *Input) { in.Key = nil }, "--pubkey"},
		{"no chains", func(in *Input) { in.Chains = nil }, "--chain"},
		{"no base", func(in *Input) { in.Chains[0].Base = "" }, "--base"},
		{"missing base file", func(in *Input) { in.Chains[0].Base = filepath.Join(dir, "nope.toml") }, "nope.toml"},
		{"base of another chain", func(in *Input) { in.Chains[0].Base = pb }, "pair each --chain with its own --base"},
		{"parent head", func(in *Input) { in.Chains[0] = ChainInput{Config: pn, Base: pb, Head: 10, ParentHead: -1} }, "--parent-head"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := good()
			tc.change(&in)
			_, err := Generate(in)
			var ie *InputError
			if !errors.As(err, &ie) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an input error naming %q", err, tc.want)
			}
		})
	}
}

// A suggestion that fails lint or the compatibility check is refused.
func TestSuggestionChecked(t *testing.T) {
	dir := t.TempDir()
	r, key := fakeRelease(t)
	base := writeConfig(t, dir, "base.toml", mainBase+"[mver.coins]\nminFee = 1\n")
	unrecorded := writeConfig(t, dir, "unrecorded.toml", mainBase+"# Pay fees to the producer.\nForkFeeToProducer = 50\n")
	rewrites := writeConfig(t, dir, "rewrites.toml", mainNew+"[mver.coins]\nminFee = 5\n")
	for _, tc := range []struct{ config, want string }{
		{unrecorded, "no change-record entry names it"},
		{rewrites, "rewrites history below the head"},
	} {
		_, err := Generate(Input{Release: r, Key: key, Downloads: []string{"file:///x/0.2.0"}, Chains: []ChainInput{{Config: tc.config, Base: base, Head: 10, ParentHead: -1}}})
		var ce *CheckError
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.config, err, tc.want)
		}
	}
}
