package release

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/forkgate/forkgate/buildinfo"
	"github.com/forkgate/forkgate/verify"
)

// Two builds of the same commit from different directories give the same
// bytes: archive, manifest, checksums and signature.
func TestBuildIsReproducible(t *testing.T) {
	f := testRelease(t)
	if f.srcA == "" || filepath.Dir(f.a.Dir) != filepath.Dir(f.b.Dir) || f.a.Dir == f.b.Dir {
		t.Fatalf("fixture: %+v", f)
	}
	for _, name := range []string{ArchiveName(testVersion, f.a.Manifest.Build.OS, f.a.Manifest.Build.Arch), ManifestFile, ChecksumsName(testVersion), SignatureName(ChecksumsName(testVersion))} {
		a, errA := os.ReadFile(filepath.Join(f.a.Dir, name))
		b, errB := os.ReadFile(filepath.Join(f.b.Dir, name))
		if errA != nil || errB != nil {
			t.Fatalf("%s: %v %v", name, errA, errB)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs between the two builds (sha256 %s vs %s)", name, SHA256Bytes(a), SHA256Bytes(b))
		}
	}
	// No stray files (the scratch build directory is gone).
	ents, _ := os.ReadDir(f.a.Dir)
	if len(ents) != 4 {
		t.Errorf("release directory holds %d entries, want 4", len(ents))
	}
}

// The manifest is what the binary says about itself, plus where it is.
func TestManifest(t *testing.T) {
	f := testRelease(t)
	m := f.a.Manifest
	if m.Format != ManifestFormat || m.Version != testVersion || m.Build.Commit != testCommit || m.MinHeight != 0 {
		t.Errorf("manifest header: %+v", m)
	}
	if m.Build.Implemented != 2 || len(m.Build.Forks) != 11 || m.Build.RegistryHash == "" || m.Build.ScheduleHash == "" {
		t.Errorf("manifest build: %+v", m.Build)
	}
	if m.Classification.Kind != KindLarge || !strings.Contains(m.Classification.Reasons[0], "no previous release") {
		t.Errorf("classification without --previous: %+v", m.Classification)
	}
	if m.Notes != "Test release notes." || m.Reproduce.SourceDateEpoch != testEpoch {
		t.Errorf("notes/reproduce: %q %+v", m.Notes, m.Reproduce)
	}
	cmd := strings.Join(m.Reproduce.Command, " ")
	for _, want := range []string{"-trimpath", "-buildvcs=false", "-buildid=", "buildinfo.Version=0.2.0", "buildinfo.commit=" + testCommit, "-o forkgate ./cmd/forkgate"} {
		if !strings.Contains(cmd, want) {
			t.Errorf("reproduce command lacks %q: %s", want, cmd)
		}
	}
	back, err := ReadManifest(f.a.Dir)
	if err != nil || back.Binary != m.Binary {
		t.Fatalf("ReadManifest: %v %+v", err, back)
	}
	r, err := Open(context.Background(), f.a.Dir, OpenOptions{Key: &f.key.Public, RunBinary: true})
	if err != nil {
		t.Fatal(err)
	}
	if !r.BinaryChecked || r.SignedBy != KeyID(f.key.Public.ID()) || !strings.Contains(r.TrustedComment, "forkgate 0.2.0 commit "+testCommit) {
		t.Errorf("open: %+v", r)
	}
}

// The archive's entries are sorted with fixed owner, mode and time, and the
// gzip header carries no name or time.
func TestArchiveLayout(t *testing.T) {
	f := testRelease(t)
	fh, err := os.Open(f.a.Archive)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	zr, err := gzip.NewReader(fh)
	if err != nil {
		t.Fatal(err)
	}
	if zr.Name != "" || !zr.ModTime.IsZero() {
		t.Errorf("gzip header: name %q mtime %v", zr.Name, zr.ModTime)
	}
	tr := tar.NewReader(zr)
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
		if h.Uid != 0 || h.Gid != 0 || h.Uname != "" || !h.ModTime.Equal(time.Unix(testEpoch, 0)) {
			t.Errorf("%s: uid %d gid %d uname %q mtime %v", h.Name, h.Uid, h.Gid, h.Uname, h.ModTime)
		}
	}
	top := strings.TrimSuffix(filepath.Base(f.a.Archive), ".tar.gz")
	want := []string{top + "/", top + "/forkgate", top + "/release.json"}
	if strings.Join(names, ",") != strings.Join(want, ",") {
		t.Errorf("entries %v, want %v", names, want)
	}
}

// The checksums file is what sha256sum -c reads, and Debian's minisign
// verifies the signature.
func TestChecksumsAndSignatureWithSystemTools(t *testing.T) {
	f := testRelease(t)
	if _, err := exec.LookPath("sha256sum"); err == nil {
		c := exec.Command("sha256sum", "-c", filepath.Base(f.a.Checksums))
		c.Dir = f.a.Dir
		if out, err := c.CombinedOutput(); err != nil {
			t.Errorf("sha256sum -c: %v\n%s", err, out)
		}
	}
	if _, err := exec.LookPath("minisign"); err != nil {
		t.Skip("minisign is not installed (apt-get install minisign): the signature was checked with aead.dev/minisign only")
	}
	pub := filepath.Join(t.TempDir(), "release.pub")
	if err := os.WriteFile(pub, f.key.PublicTxt, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("minisign", "-V", "-p", pub, "-m", f.a.Checksums).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Signature and comment signature verified") {
		t.Fatalf("minisign -V: %v\n%s", err, out)
	}
	dir := copyRelease(t, f.a.Dir)
	flipByte(t, filepath.Join(dir, ChecksumsName(testVersion)), 3)
	if out, err := exec.Command("minisign", "-V", "-p", pub, "-m", filepath.Join(dir, ChecksumsName(testVersion))).CombinedOutput(); err == nil {
		t.Fatalf("minisign accepted a tampered checksums file:\n%s", out)
	}
}

// Open refuses every kind of tampering, naming what is wrong.
func TestOpenRefusesTampering(t *testing.T) {
	f := testRelease(t)
	archive := filepath.Base(f.a.Archive)
	sums := ChecksumsName(testVersion)
	tests := []struct {
		name   string
		tamper func(t *testing.T, dir string)
		class  error
		msg    string
	}{
		{"archive byte", func(t *testing.T, d string) { flipByte(t, filepath.Join(d, archive), -1) }, ErrMismatch, archive + " has sha256"},
		{"checksums byte", func(t *testing.T, d string) { flipByte(t, filepath.Join(d, sums), 5) }, ErrSignature, "does not match its signature"},
		{"signature byte", func(t *testing.T, d string) {
			p := filepath.Join(d, SignatureName(sums))
			b, _ := os.ReadFile(p)
			lines := strings.Split(string(b), "\n")
			lines[1] = strings.Replace(lines[1], lines[1][20:21], map[bool]string{true: "A", false: "B"}[lines[1][20] != 'A'], 1)
			os.WriteFile(p, []byte(strings.Join(lines, "\n")), 0o644)
		}, ErrSignature, ""},
		{"signature missing", func(t *testing.T, d string) { os.Remove(filepath.Join(d, SignatureName(sums))) }, ErrSignature, "signature is mandatory"},
		{"signed by another key", func(t *testing.T, d string) {
			other, _ := ParseSecretKey("other", f.otherKey.SecretTxt, "")
			b, _ := os.ReadFile(filepath.Join(d, sums))
			os.WriteFile(filepath.Join(d, SignatureName(sums)), sign(other, b, "x"), 0o644)
		}, ErrSignature, "not by the trusted key"},
		{"manifest byte", func(t *testing.T, d string) { flipByte(t, filepath.Join(d, ManifestFile), 10) }, ErrMismatch, "release.json has sha256"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyRelease(t, f.a.Dir)
			tc.tamper(t, dir)
			_, err := Open(context.Background(), dir, OpenOptions{Key: &f.key.Public, RunBinary: true})
			if err == nil || !errors.Is(err, tc.class) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("got %v, want %v containing %q", err, tc.class, tc.msg)
			}
		})
	}
	// Without a key, a tampered archive is still caught by the checksums,
	// and an archive opened on its own by its manifest.
	dir := copyRelease(t, f.a.Dir)
	flipByte(t, filepath.Join(dir, archive), -1)
	if _, err := Open(context.Background(), dir, OpenOptions{}); !errors.Is(err, ErrMismatch) {
		t.Errorf("no key, tampered archive: %v", err)
	}
	if _, err := Open(context.Background(), filepath.Join(dir, archive), OpenOptions{}); !errors.Is(err, ErrMismatch) {
		t.Errorf("archive alone, tampered: %v", err)
	}
	r, err := Open(context.Background(), filepath.Join(f.a.Dir, archive), OpenOptions{Key: &f.key.Public})
	if err != nil || r.Manifest.Version != testVersion || r.SignedBy == "" {
		t.Errorf("archive with checksums beside: %v %+v", err, r)
	}
}

// A binary whose version output differs from the manifest is refused.
func TestManifestCheckInfo(t *testing.T) {
	f := testRelease(t)
	m := *f.a.Manifest
	info := m.Build
	if err := m.CheckInfo(info); err != nil {
		t.Fatal(err)
	}
	info.Implemented = 1
	info.Commit = "other"
	err := m.CheckInfo(info)
	if !errors.Is(err, ErrMismatch) || !strings.Contains(err.Error(), `implemented "1" (manifest: "2")`) || !strings.Contains(err.Error(), "commit") {
		t.Errorf("CheckInfo: %v", err)
	}
	info = m.Build
	info.Forks = append([]buildinfo.ForkInfo(nil), info.Forks[1:]...)
	if err := m.CheckInfo(info); err == nil || !strings.Contains(err.Error(), "fork list") {
		t.Errorf("CheckInfo with a fork less: %v", err)
	}
}

func TestExtractBinary(t *testing.T) {
	f := testRelease(t)
	r, err := Open(context.Background(), f.a.Dir, OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "forkgate")
	if err := r.ExtractBinary(dst); err != nil {
		t.Fatal(err)
	}
	sum, _, err := SHA256File(dst)
	if st, _ := os.Stat(dst); err != nil || sum != r.Manifest.Binary.SHA256 || st.Mode().Perm() != 0o755 {
		t.Errorf("extracted: %s %v", sum, err)
	}
}

func TestClassify(t *testing.T) {
	base := buildinfo.Info{Implemented: 2, RegistryHash: "r1", ScheduleHash: "s1", Forks: []buildinfo.ForkInfo{
		{Key: "coins.A", Default: "-1"}, {Key: "game.B", Default: "{ version = 2 }"}}}
	prev := &Manifest{Version: "0.2.0", Build: base}
	with := func(f func(*buildinfo.Info)) buildinfo.Info {
		i := base
		i.Forks = append([]buildinfo.ForkInfo(nil), base.Forks...)
		f(&i)
		return i
	}
	tests := []struct {
		name   string
		prev   *Manifest
		cur    buildinfo.Info
		kind   string
		reason string
	}{
		{"no previous", nil, base, KindLarge, "no previous release"},
		{"same", prev, base, KindSmall, "rolls out at any time"},
		{"notes only", prev, with(func(i *buildinfo.Info) { i.Forks[0].Note = "better words" }), KindSmall, "same 2 forks"},
		{"new fork", prev, with(func(i *buildinfo.Info) { i.Forks = append(i.Forks, buildinfo.ForkInfo{Key: "token.C", Default: "-1"}) }), KindLarge, "adds fork token.C"},
		{"removed fork", prev, with(func(i *buildinfo.Info) { i.Forks = i.Forks[:1] }), KindLarge, "removes fork game.B"},
		{"changed default", prev, with(func(i *buildinfo.Info) { i.Forks[0].Default = "0" }), KindLarge, "changes fork coins.A's declaration"},
		{"new protocol", prev, with(func(i *buildinfo.Info) { i.Implemented = 3 }), KindLarge, "implements protocol version 3"},
		{"requirements", prev, with(func(i *buildinfo.Info) { i.RegistryHash = "r2" }), KindLarge, "registry's hash changed"},
		{"default schedule", prev, with(func(i *buildinfo.Info) { i.ScheduleHash = "s2" }), KindLarge, "built-in default schedule"},
	}
	for _, tc := range tests {
		c := Classify(tc.prev, tc.cur)
		if c.Kind != tc.kind || !strings.Contains(strings.Join(c.Reasons, "; "), tc.reason) {
			t.Errorf("%s: %+v, want %s with %q", tc.name, c, tc.kind, tc.reason)
		}
	}
}

// verify feeds the classification: a build that changes state without a
// new fork (the fault-injection build) is refused as a small release, with
// verify's diagnosis; a clean build of the same source passes as small and
// verified.
func TestSmallReleaseRefusedByVerify(t *testing.T) {
	f := testRelease(t)
	chain, err := verify.LoadChain("../testdata/chains/all-zero")
	if err != nil {
		t.Fatal(err)
	}
	o := BuildOptions{Source: f.srcA, Version: "0.2.1", Commit: testCommit, SourceDateEpoch: testEpoch,
		Previous: f.a.Manifest, Verify: LibraryVerifier([]*verify.Chain{chain}), Tags: []string{"faultinject"}}
	o.Out = filepath.Join(t.TempDir(), "fault")
	_, err = Build(context.Background(), o)
	var refused *RefusedError
	if !errors.As(err, &refused) || !strings.Contains(refused.Reason, "refused as a small release") || !strings.Contains(refused.Diagnosis, "first divergent height") {
		t.Fatalf("fault build: %v", err)
	}
	if ents, _ := os.ReadDir(o.Out); len(ents) != 0 {
		t.Errorf("a refused release left %d files", len(ents))
	}
	o.Tags, o.Out = nil, filepath.Join(t.TempDir(), "clean")
	b, err := Build(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if c := b.Manifest.Classification; c.Kind != KindSmall || !c.Verified || c.Previous != testVersion {
		t.Errorf("clean build: %+v", c)
	}
}
