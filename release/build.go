package release

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"aead.dev/minisign"
	"github.com/forkgate/forkgate/atomicfile"
	"github.com/forkgate/forkgate/buildinfo"
)

// Module is the module a release is built from.
const Module = "github.com/forkgate/forkgate"

// BuildOptions configure Build.
type BuildOptions struct {
	Source  string // the module's root directory (holds go.mod)
	Version string
	Out     string // the release directory; created, and must be empty
	// Commit is stamped into the binary; default: git rev-parse HEAD.
	Commit string
	// SourceDateEpoch is the archive's mtime (unix seconds); 0: the
	// SOURCE_DATE_EPOCH variable, else the commit's time.
	SourceDateEpoch int64
	// AllowDirty builds from a work tree with uncommitted changes (the
	// archive then cannot be rebuilt from the commit alone).
	AllowDirty bool
	// Implemented caps the protocol versions the binary executes (0: what
	// the code implements), to make an "old" release from this tree.
	Implemented uint32
	MinHeight   int64
	Notes       string
	// Tags are build tags (e.g. faultinject, for rehearsing a bad release).
	Tags []string
	// Sign, when set, signs the checksums file.
	Sign *minisign.PrivateKey
	// Previous is the previous release, to classify this one against.
	Previous *Manifest
	// Verify, when set, runs the library verify with the new binary; a
	// state change refuses the release.
	Verify Verifier
	// Go is the go command (default "go").
	Go string
	// Log receives progress lines (nil: none).
	Log io.Writer
}

// Built is a finished release directory.
type Built struct {
	Dir       string
	Manifest  *Manifest
	Archive   string // path
	Checksums string // path
	Signature string // path; empty when unsigned
	Sums      []Checksum
}

// RefusedError is a release that Build refuses to make: verify found a
// state change (exit 1), with verify's diagnosis.
type RefusedError struct {
	Reason    string
	Diagnosis string
}

func (e *RefusedError) Error() string {
	if e.Diagnosis == "" {
		return e.Reason
	}
	return e.Reason + "\n\n" + e.Diagnosis
}

// Build compiles the binary reproducibly from o.Source and writes the
// release directory.
func Build(ctx context.Context, o BuildOptions) (*Built, error) {
	logf := func(format string, args ...any) {
		if o.Log != nil {
			fmt.Fprintf(o.Log, format+"\n", args...)
		}
	}
	if err := CheckVersion(o.Version); err != nil {
		return nil, err
	}
	if o.MinHeight < 0 {
		return nil, fmt.Errorf("min height %d is negative", o.MinHeight)
	}
	if o.Go == "" {
		o.Go = "go"
	}
	src, err := filepath.Abs(o.Source)
	if err != nil {
		return nil, err
	}
	if err := checkModule(src); err != nil {
		return nil, err
	}
	if err := emptyDir(o.Out); err != nil {
		return nil, err
	}
	commit, epoch, dirty, err := sourceStamp(ctx, src, o)
	if err != nil {
		return nil, err
	}

	work, err := os.MkdirTemp(o.Out, ".build-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	bin := filepath.Join(work, Name)
	env, command := buildCommand(o.Version, commit, o.Implemented, o.Tags)
	logf("building %s %s (commit %s) from %s", Name, o.Version, commit, src)
	args := append([]string(nil), command[1:]...)
	for i := range args {
		if args[i] == "-o" {
			args[i+1] = bin
		}
	}
	cmd := exec.CommandContext(ctx, o.Go, args...)
	cmd.Dir = src
	cmd.Env = append(cleanEnv(os.Environ()), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build failed: %v\n%s", err, out)
	}
	info, err := BinaryInfo(ctx, bin)
	if err != nil {
		return nil, err
	}
	if info.Version != o.Version || info.Commit != commit {
		return nil, fmt.Errorf("the built binary reports version %q commit %q, not %q %q: the link-time stamps did not apply", info.Version, info.Commit, o.Version, commit)
	}
	if o.Implemented != 0 && info.Implemented != o.Implemented {
		return nil, fmt.Errorf("the built binary implements version %d, not the requested cap %d", info.Implemented, o.Implemented)
	}
	class := Classify(o.Previous, info)
	if o.Verify != nil {
		logf("verifying the library with the new binary")
		ok, diagnosis, err := o.Verify(ctx, bin)
		if err != nil {
			return nil, fmt.Errorf("verify: %v", err)
		}
		if !ok {
			reason := "release refused: verify found state hashes that differ from the recorded chains"
			if class.Kind == KindSmall {
				reason = "release refused as a small release: it changes state without a new fork (verify found a state hash mismatch); gate the change behind a new fork and release it as a large release"
			}
			return nil, &RefusedError{Reason: reason, Diagnosis: diagnosis}
		}
		class.Verified = true
		class.Reasons = append(class.Reasons, "verify: every state hash of the library is unchanged with this binary")
	}

	m := &Manifest{
		Format: ManifestFormat, Name: Name, Version: o.Version, MinHeight: o.MinHeight, Build: info,
		Classification: class, Notes: o.Notes,
		Reproduce: Reproduce{SourceDateEpoch: epoch, Dirty: dirty, Env: env, Command: command},
	}
	out, err := Assemble(o.Out, m, bin, o.Sign)
	if err != nil {
		return nil, err
	}
	logf("wrote %s (%s release, binary sha256 %s)", o.Out, class.Kind, m.Binary.SHA256)
	return out, nil
}

// Assemble writes a release directory around a built binary: it fills in
// the manifest's archive and binary entries, writes the reproducible
// archive (mtimes from m.Reproduce.SourceDateEpoch), release.json, the
// checksums file and, with a key, its signature. Build calls it; so can a
// packager that built the binary its own way.
func Assemble(dir string, m *Manifest, bin string, key *minisign.PrivateKey) (*Built, error) {
	sum, size, err := SHA256File(bin)
	if err != nil {
		return nil, err
	}
	m.Archive = ArchiveName(m.Version, m.Build.OS, m.Build.Arch)
	m.Binary = BinaryEntry{Path: archiveTop(m.Archive) + "/" + Name, SHA256: sum, Size: size}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	mb := m.Encode()
	files := []archiveFile{{Name: Name, Mode: 0o755, Path: bin}, {Name: ManifestFile, Mode: 0o644, Data: mb}}
	var ab bytes.Buffer
	if err := writeArchive(&ab, archiveTop(m.Archive), files, time.Unix(m.Reproduce.SourceDateEpoch, 0)); err != nil {
		return nil, err
	}
	out := &Built{Dir: dir, Manifest: m, Archive: filepath.Join(dir, m.Archive), Checksums: filepath.Join(dir, ChecksumsName(m.Version))}
	out.Sums = []Checksum{{SHA256: SHA256Bytes(ab.Bytes()), Name: m.Archive}, {SHA256: SHA256Bytes(mb), Name: ManifestFile}}
	sums := EncodeChecksums(out.Sums)
	type file struct {
		path string
		data []byte
	}
	writes := []file{{out.Archive, ab.Bytes()}, {filepath.Join(dir, ManifestFile), mb}, {out.Checksums, sums}}
	if key != nil {
		out.Signature = SignatureName(out.Checksums)
		trusted := fmt.Sprintf("%s %s commit %s file %s", Name, m.Version, m.Build.Commit, ChecksumsName(m.Version))
		writes = append(writes, file{out.Signature, sign(*key, sums, trusted)})
	}
	for _, w := range writes {
		if err := atomicfile.Write(w.path, w.data, 0o644); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// buildCommand is the reproducible build: no cgo, no paths, no VCS stamp,
// no build ID; the version and commit (and the protocol cap) at link time.
// The command is recorded in the manifest with "-o forkgate"; Build writes
// to a scratch path instead.
func buildCommand(version, commit string, implemented uint32, tags []string) (env, command []string) {
	ld := []string{"-s", "-w", "-buildid=",
		"-X", Module + "/buildinfo.Version=" + version,
		"-X", Module + "/buildinfo.commit=" + commit}
	if implemented != 0 {
		ld = append(ld, "-X", Module+"/buildinfo.implemented="+strconv.FormatUint(uint64(implemented), 10))
	}
	env = []string{"CGO_ENABLED=0", "GOFLAGS=", "GOWORK=off"}
	command = []string{"go", "build", "-trimpath", "-buildvcs=false", "-ldflags", strings.Join(ld, " ")}
	if len(tags) > 0 {
		command = append(command, "-tags", strings.Join(tags, ","))
	}
	command = append(command, "-o", Name, "./cmd/forkgate")
	return env, command
}

// cleanEnv drops the variables that would make a build differ between
// machines; buildCommand sets its own.
func cleanEnv(env []string) []string {
	var out []string
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "CGO_ENABLED", "GOFLAGS", "GOWORK", "GOOS", "GOARCH", "GOEXPERIMENT",
			"GOAMD64", "GOARM", "GOARM64", "GO386", "GOMIPS", "GOMIPS64", "GOPPC64", "GORISCV64", "GOWASM":
			continue
		}
		out = append(out, kv)
	}
	return out
}

func checkModule(src string) error {
	b, err := readBounded(filepath.Join(src, "go.mod"), 1<<20)
	if err != nil {
		return fmt.Errorf("source %s: %v; give the forkgate source tree with --source", src, err)
	}
	first, _, _ := strings.Cut(string(b), "\n")
	if strings.TrimSpace(first) != "module "+Module {
		return fmt.Errorf("source %s is not the %s module (go.mod starts %q)", src, Module, first)
	}
	return nil
}

// emptyDir creates dir, or accepts an existing empty one.
func emptyDir(dir string) error {
	if dir == "" {
		return errors.New("no output directory given (--out DIR)")
	}
	ents, err := os.ReadDir(dir)
	if err == nil && len(ents) > 0 {
		return fmt.Errorf("output directory %s is not empty; give a new directory (a release is never overwritten)", dir)
	}
	return os.MkdirAll(dir, 0o755)
}

// sourceStamp finds the commit, the archive time, and whether the work
// tree has uncommitted changes.
func sourceStamp(ctx context.Context, src string, o BuildOptions) (string, int64, bool, error) {
	git := func(args ...string) (string, error) {
		c := exec.CommandContext(ctx, "git", append([]string{"-C", src}, args...)...)
		out, err := c.Output()
		return strings.TrimSpace(string(out)), err
	}
	commit := o.Commit
	isGit := false
	if head, err := git("rev-parse", "HEAD"); err == nil && head != "" {
		isGit = true
		if commit == "" {
			commit = head
		}
	}
	if commit == "" {
		return "", 0, false, fmt.Errorf("source %s is not a git work tree: give --commit (and SOURCE_DATE_EPOCH)", src)
	}
	if strings.ContainsAny(commit, " \t\n'\"") || len(commit) > 64 {
		return "", 0, false, fmt.Errorf("commit %q is not a commit id", commit)
	}
	dirty := false
	if isGit {
		if st, err := git("status", "--porcelain", "--untracked-files=no"); err == nil && st != "" {
			dirty = true
		}
	}
	if dirty && !o.AllowDirty {
		return "", 0, false, fmt.Errorf("source %s has uncommitted changes, so the release could not be rebuilt from commit %s; commit them, or pass --allow-dirty", src, commit)
	}
	epoch := o.SourceDateEpoch
	if epoch == 0 {
		if v := os.Getenv("SOURCE_DATE_EPOCH"); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				return "", 0, false, fmt.Errorf("SOURCE_DATE_EPOCH=%q is not unix seconds", v)
			}
			epoch = n
		} else if isGit {
			ct, err := git("log", "-1", "--format=%ct", commit)
			if err != nil {
				return "", 0, false, fmt.Errorf("reading the time of commit %s: %v", commit, err)
			}
			if epoch, err = strconv.ParseInt(ct, 10, 64); err != nil {
				return "", 0, false, fmt.Errorf("commit time %q: %v", ct, err)
			}
		} else {
			return "", 0, false, errors.New("no archive time: set SOURCE_DATE_EPOCH (unix seconds) when the source is not a git work tree")
		}
	}
	return commit, epoch, dirty, nil
}

// maxVersionOutput bounds what `version --format json` may print.
const maxVersionOutput = 1 << 20

// BinaryInfo runs a forkgate binary's `version --format json` and decodes
// it: what the binary says it is, the source of truth a manifest is checked
// against.
func BinaryInfo(ctx context.Context, bin string) (buildinfo.Info, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	c := exec.CommandContext(ctx, bin, "version", "--format", "json")
	c.Stdout = &limitedBuffer{b: &stdout, n: maxVersionOutput}
	c.Stderr = &limitedBuffer{b: &stderr, n: 64 << 10}
	if err := c.Run(); err != nil {
		return buildinfo.Info{}, fmt.Errorf("%s version --format json: %v %s", bin, err, strings.TrimSpace(stderr.String()))
	}
	var info buildinfo.Info
	if err := json.Unmarshal(stdout.Bytes(), &info); err != nil || info.Format < 1 {
		return buildinfo.Info{}, fmt.Errorf("%s version --format json did not print a build description: %v", bin, err)
	}
	return info, nil
}

type limitedBuffer struct {
	b *bytes.Buffer
	n int
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if l.b.Len()+len(p) > l.n {
		return 0, fmt.Errorf("output larger than %d bytes", l.n)
	}
	return l.b.Write(p)
}
