package ops

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"aead.dev/minisign"
	"github.com/forkgate/forkgate/buildinfo"
	"github.com/forkgate/forkgate/node"
	"github.com/forkgate/forkgate/release"
	"github.com/forkgate/forkgate/upgradedoc"
)

// The release under test is signed and checked like any other, but its
// "binary" is a shell script that prints a build description, so the ops
// check runs it without compiling forkgate (package release and the CLI
// tests use real builds).
type setup struct {
	relDir string
	doc    *upgradedoc.Document
	docP   string
	key    *minisign.PublicKey
	priv   minisign.PrivateKey
}

func scriptBinary(t *testing.T, info buildinfo.Info) string {
	t.Helper()
	b, err := json.Marshal(info)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "forkgate")
	script := "#!/bin/sh\ncat <<'EOF'\n" + string(b) + "\nEOF\n"
	if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func newSetup(t *testing.T, reported func(*buildinfo.Info)) *setup {
	t.Helper()
	kp, err := release.GenerateKey("")
	if err != nil {
		t.Fatal(err)
	}
	s := &setup{key: &kp.Public, relDir: filepath.Join(t.TempDir(), "rel")}
	if s.priv, err = release.ParseSecretKey("test", kp.SecretTxt, ""); err != nil {
		t.Fatal(err)
	}
	info := node.BuildInfo()
	info.Version, info.Commit = "0.2.0", "0123456789abcdef0123456789abcdef01234567"
	says := info
	if reported != nil {
		reported(&says)
	}
	m := &release.Manifest{Format: release.ManifestFormat, Name: release.Name, Version: "0.2.0", Build: info,
		Classification: release.Classification{Kind: release.KindLarge, Reasons: []string{"test"}}, Notes: "Test upgrade.",
		Reproduce: release.Reproduce{SourceDateEpoch: 1767225600}}
	if err := os.MkdirAll(s.relDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := release.Assemble(s.relDir, m, scriptBinary(t, says), &s.priv); err != nil {
		t.Fatal(err)
	}
	r, err := release.Open(context.Background(), s.relDir, release.OpenOptions{Key: s.key})
	if err != nil {
		t.Fatal(err)
	}
	docs, err := upgradedoc.Generate(upgradedoc.Input{Release: r, Key: s.key, Downloads: []string{"file:///srv/rel/0.2.0"},
		Chains: []upgradedoc.ChainInput{{Config: "../testdata/chains/main/config.toml", Base: "../upgradedoc/testdata/base/main.toml", Head: 30, ParentHead: -1}}})
	if err != nil {
		t.Fatal(err)
	}
	s.doc = docs[0]
	s.docP = filepath.Join(t.TempDir(), "doc.json")
	if err := os.WriteFile(s.docP, s.doc.Encode(), 0o644); err != nil {
		t.Fatal(err)
	}
	return s
}

// home makes a node home whose config.toml is the given text.
func home(t *testing.T, config string) string {
	t.Helper()
	h := t.TempDir()
	if err := os.WriteFile(filepath.Join(h, "config.toml"), []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	return h
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func results(rep *Report) map[string]Result {
	m := map[string]Result{}
	for _, r := range rep.Results {
		m[r.ID] = r
	}
	return m
}

func TestOpsCheck(t *testing.T) {
	s := newSetup(t, nil)
	newCfg := readFile(t, "../testdata/chains/main/config.toml")
	baseCfg := readFile(t, "../upgradedoc/testdata/base/main.toml")
	archive := filepath.Join(s.relDir, s.doc.Release.Archive)
	sums := filepath.Join(s.relDir, s.doc.Release.Checksums)
	extracted := filepath.Join(t.TempDir(), "forkgate")
	r, err := release.Open(context.Background(), s.relDir, release.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.ExtractBinary(extracted); err != nil {
		t.Fatal(err)
	}
	copyDir := func(t *testing.T, tamper func(dir string)) string {
		d := filepath.Join(t.TempDir(), "rel")
		os.MkdirAll(d, 0o755)
		ents, _ := os.ReadDir(s.relDir)
		for _, e := range ents {
			os.WriteFile(filepath.Join(d, e.Name()), []byte(readFile(t, filepath.Join(s.relDir, e.Name()))), 0o644)
		}
		tamper(d)
		return d
	}
	flip := func(p string, at int) {
		b, _ := os.ReadFile(p)
		if at < 0 {
			at = len(b) / 2
		}
		b[at] ^= 1
		os.WriteFile(p, b, 0o644)
	}
	tests := []struct {
		name    string
		binary  func(t *testing.T) string
		config  string
		fail    map[string]string // check id -> text in its difference
		skipped []string
	}{
		{name: "all match", binary: func(*testing.T) string { return s.relDir }, config: newCfg},
		{name: "bare binary", binary: func(*testing.T) string { return extracted }, config: newCfg},
		{name: "archive", binary: func(*testing.T) string { return archive }, config: newCfg},
		{name: "missing fork item", binary: func(*testing.T) string { return s.relDir }, config: baseCfg,
			fail: map[string]string{upgradedoc.CheckConfigForks: "fork producers.ForkMinBondV2: got missing from"}},
		{name: "wrong height", binary: func(*testing.T) string { return s.relDir }, config: strings.Replace(newCfg, "ForkMinBondV2 = 44", "ForkMinBondV2 = 48", 1),
			fail: map[string]string{upgradedoc.CheckConfigForks: "got 48 at "}},
		{name: "other chain", binary: func(*testing.T) string { return s.relDir }, config: readFile(t, "../testdata/chains/future/config.toml"),
			fail: map[string]string{upgradedoc.CheckConfigForks: `"forkgate.library.future"`}},
		{name: "tampered archive", binary: func(t *testing.T) string {
			return copyDir(t, func(d string) { flip(filepath.Join(d, filepath.Base(archive)), -1) })
		}, config: newCfg,
			fail: map[string]string{upgradedoc.CheckBinarySHA256: "has sha256"}, skipped: []string{upgradedoc.CheckBinaryVersion, upgradedoc.CheckReleaseSignature}},
		{name: "tampered checksums", binary: func(t *testing.T) string {
			return copyDir(t, func(d string) { flip(filepath.Join(d, filepath.Base(sums)), 3) })
		}, config: newCfg,
			fail: map[string]string{upgradedoc.CheckReleaseSignature: "does not match its signature"}, skipped: []string{upgradedoc.CheckBinaryVersion, upgradedoc.CheckBinarySHA256}},
		{name: "tampered signature", binary: func(t *testing.T) string {
			return copyDir(t, func(d string) { flip(filepath.Join(d, filepath.Base(sums)+".minisig"), 100) })
		}, config: newCfg, fail: map[string]string{upgradedoc.CheckReleaseSignature: "signature"}, skipped: []string{upgradedoc.CheckBinaryVersion, upgradedoc.CheckBinarySHA256}},
		{name: "another binary", binary: func(t *testing.T) string { return scriptBinary(t, buildinfo.Info{Format: 1, Version: "9.9.9"}) }, config: newCfg,
			fail: map[string]string{upgradedoc.CheckBinarySHA256: "it is not the release's binary"}, skipped: []string{upgradedoc.CheckBinaryVersion}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := Check(context.Background(), s.doc, s.docP, Options{Binary: tc.binary(t), Home: home(t, tc.config)})
			if err != nil {
				t.Fatal(err)
			}
			res := results(rep)
			if rep.OK != (len(tc.fail) == 0) || len(res) != 4 || rep.KeyFrom != "document" {
				t.Errorf("ok %v, results %+v", rep.OK, rep.Results)
			}
			for id, r := range res {
				want, fails := tc.fail[id]
				switch {
				case fails:
					if r.Result != Fail || len(r.Differences) == 0 || !strings.Contains(r.Differences[0].Line(), want) || r.Differences[0].Fix == "" {
						t.Errorf("%s: %+v, want a difference with %q", id, r, want)
					}
				case contains(tc.skipped, id):
					if r.Result != Skipped {
						t.Errorf("%s: %+v, want skipped", id, r)
					}
				case r.Result != OK:
					t.Errorf("%s: %+v", id, r)
				}
			}
		})
	}
}

// A binary that reports another build than the document's fails the version
// check, naming the field; the supervisor's staged binary is found in the
// home; a trusted key other than the signer's fails the signature.
func TestOpsCheckVersionAndStaged(t *testing.T) {
	s := newSetup(t, func(i *buildinfo.Info) { i.Implemented = 1 })
	h := home(t, readFile(t, "../testdata/chains/main/config.toml"))
	r, err := release.Open(context.Background(), s.relDir, release.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	staged := StagedBinary(h, "0.2.0")
	os.MkdirAll(filepath.Dir(staged), 0o755)
	if err := r.ExtractBinary(staged); err != nil {
		t.Fatal(err)
	}
	rep, err := Check(context.Background(), s.doc, s.docP, Options{Home: h})
	if err != nil {
		t.Fatal(err)
	}
	res := results(rep)
	if rep.OK || rep.Binary != staged || res[upgradedoc.CheckBinaryVersion].Result != Fail ||
		!strings.Contains(res[upgradedoc.CheckBinaryVersion].Differences[0].Line(), "implemented protocol version: got 1, the document expects 2") {
		t.Errorf("report: %+v", rep)
	}
	other, _ := release.GenerateKey("")
	rep, err = Check(context.Background(), s.doc, s.docP, Options{Binary: s.relDir, Key: &other.Public})
	if err != nil {
		t.Fatal(err)
	}
	if res := results(rep); rep.OK || res[upgradedoc.CheckReleaseSignature].Result != Fail || res[upgradedoc.CheckConfigForks].Result != Skipped {
		t.Errorf("other key: %+v", rep)
	}
	if _, err := Check(context.Background(), s.doc, s.docP, Options{}); err == nil {
		t.Error("nothing to check was accepted")
	}
	if _, err := Check(context.Background(), s.doc, s.docP, Options{Home: t.TempDir()}); err == nil {
		t.Error("a home without config.toml was accepted")
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
