// Package visor supervises one node home: it keeps verified releases, picks
// the binary the data needs, runs it, and when the node halts for a protocol
// version it does not implement it switches to the release that does —
// journaled, checkpointed, health-gated, and rolled back when the gate fails.
//
// Layout (docs/visor.md):
//
//	HOME/visor/releases/<version>/         a release as `release` checks it:
//	    release.json, the archive, checksums (and signature)
//	    bin/forkgate                       the extracted binary, mode 0555
//	    gate-failed.json                   present when it failed a health gate
//	HOME/visor/current -> releases/<v>     switched by rename, directory fsynced
//	HOME/visor/trusted.pub                 the trusted release key (optional)
//	HOME/visor/journal.json                the switch in progress (absent: none)
//	HOME/visor/status.json                 what the supervisor last did
//	HOME/visor/backups/<H>-<from>-<to>/    checkpoint home of the data at H-1
//
// Nothing unverified is stored or run: a release is checked (checksums,
// signature with a trusted key, the binary's own version output against its
// manifest) when it is added and again every time it is started.
package visor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"aead.dev/minisign"
	"github.com/forkgate/forkgate/atomicfile"
	"github.com/forkgate/forkgate/release"
)

// Layout is a node home's visor directory.
type Layout struct{ Home string }

func (l Layout) Dir() string             { return filepath.Join(l.Home, "visor") }
func (l Layout) Releases() string        { return filepath.Join(l.Dir(), "releases") }
func (l Layout) Release(v string) string { return filepath.Join(l.Releases(), v) }
func (l Layout) Binary(v string) string  { return filepath.Join(l.Release(v), "bin", release.Name) }
func (l Layout) Current() string         { return filepath.Join(l.Dir(), "current") }
func (l Layout) TrustedKey() string      { return filepath.Join(l.Dir(), "trusted.pub") }
func (l Layout) Journal() string         { return filepath.Join(l.Dir(), "journal.json") }
func (l Layout) Status() string          { return filepath.Join(l.Dir(), "status.json") }
func (l Layout) Backups() string         { return filepath.Join(l.Dir(), "backups") }
func (l Layout) Data() string            { return filepath.Join(l.Home, "data") }
func (l Layout) gateFailed(v string) string {
	return filepath.Join(l.Release(v), "gate-failed.json")
}

// ErrNotInitialised is a home without HOME/visor.
var ErrNotInitialised = errors.New("no supervisor here")

// Init creates HOME/visor with its first release, made current. key, when
// set, is the trusted release key, stored and required from then on.
func Init(ctx context.Context, home, src string, key *minisign.PublicKey) (*release.Manifest, error) {
	l := Layout{home}
	if _, err := os.Stat(filepath.Join(home, "config.toml")); err != nil {
		return nil, fmt.Errorf("%s is not a node home (no config.toml): run `forkgate node init %s` first", home, home)
	}
	if _, err := os.Stat(l.Dir()); err == nil {
		return nil, fmt.Errorf("%s already exists: use `forkgate visor add` to add a release", l.Dir())
	}
	if err := os.MkdirAll(l.Releases(), 0o755); err != nil {
		return nil, err
	}
	if key != nil {
		txt, err := key.MarshalText()
		if err != nil {
			return nil, err
		}
		if err := atomicfile.Write(l.TrustedKey(), append(txt, '\n'), 0o644); err != nil {
			return nil, err
		}
	}
	m, err := Add(ctx, home, src)
	if err != nil {
		os.RemoveAll(l.Dir()) // nothing was run: the home is as before
		return nil, err
	}
	if err := l.setCurrent(m.Version); err != nil {
		return nil, err
	}
	refreshStatus(home)
	return m, nil
}

// trustedKey reads HOME/visor/trusted.pub, nil when there is none.
func (l Layout) trustedKey() (*minisign.PublicKey, error) {
	if _, err := os.Stat(l.TrustedKey()); errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	k, err := release.ParsePublicKey(l.TrustedKey())
	if err != nil {
		return nil, err
	}
	return &k, nil
}

func (l Layout) check() error {
	if _, err := os.Stat(l.Releases()); err != nil {
		return fmt.Errorf("%w: %s does not exist; run `forkgate visor init %s --release DIR` first", ErrNotInitialised, l.Releases(), l.Home)
	}
	return nil
}

// Add verifies a release (a directory, an archive, or a store URL) and
// stores it under releases/<version>. Nothing is stored unless every check
// passed: the checksums, the signature when a trusted key is configured,
// and the binary's own `version --format json` against the manifest. Adding
// the same release again is a no-op; another release of the same version is
// refused.
func Add(ctx context.Context, home, src string) (*release.Manifest, error) {
	l := Layout{home}
	if err := l.check(); err != nil {
		return nil, err
	}
	key, err := l.trustedKey()
	if err != nil {
		return nil, err
	}
	stage, err := os.MkdirTemp(l.Releases(), ".add-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(stage)

	var r *release.Release
	if strings.Contains(src, "://") {
		// Fetch checks the signature (with a key) before the binary runs.
		if r, err = release.Fetch(ctx, src, release.FetchOptions{Key: key, Out: filepath.Join(stage, "fetched")}); err != nil {
			return nil, err
		}
	} else if r, err = release.Open(ctx, src, release.OpenOptions{Key: key}); err != nil {
		return nil, err
	}
	if r.ChecksumsPath == "" {
		return nil, fmt.Errorf("%s has no %s_<version>_checksums.txt: the supervisor only stores releases with checksums (forkgate release build writes them)", src, release.Name)
	}
	// Copy what vouches for the binary, then check the copy: the stored
	// files are the checked ones.
	files := []string{r.ArchivePath, r.ChecksumsPath}
	if sig := release.SignatureName(r.ChecksumsPath); fileExists(sig) {
		files = append(files, sig)
	}
	dst := filepath.Join(stage, "release")
	if err := os.MkdirAll(filepath.Join(dst, "bin"), 0o755); err != nil {
		return nil, err
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(dst, filepath.Base(f)), b, 0o644); err != nil {
			return nil, err
		}
	}
	if err := os.WriteFile(filepath.Join(dst, release.ManifestFile), r.ManifestBytes, 0o644); err != nil {
		return nil, err
	}
	stored, err := release.Open(ctx, dst, release.OpenOptions{Key: key})
	if err != nil {
		return nil, err
	}
	m := stored.Manifest
	bin := filepath.Join(dst, "bin", release.Name)
	if err := stored.ExtractBinary(bin); err != nil {
		return nil, err
	}
	if err := checkRuns(ctx, bin, m); err != nil {
		return nil, err
	}
	if err := os.Chmod(bin, 0o555); err != nil {
		return nil, err
	}

	final := l.Release(m.Version)
	if old, err := release.ReadManifest(final); err == nil {
		if string(old.Encode()) == string(m.Encode()) {
			return m, nil // the same release again
		}
		return nil, fmt.Errorf("%s already holds another release %s (binary sha256 %s, this one %s): a version is never replaced; remove that directory first if it is wrong",
			final, m.Version, old.Binary.SHA256, m.Binary.SHA256)
	}
	if err := syncTree(dst); err != nil {
		return nil, err
	}
	if err := atomicfile.Rename(dst, final); err != nil {
		return nil, err
	}
	refreshStatus(home)
	return m, nil
}

// refreshStatus rewrites status.json with the releases as stored now, so
// the node status (and the fleet checks reading it) see a release as soon
// as it is added. Best effort: the supervisor rewrites it on every step.
func refreshStatus(home string) {
	if v, err := ReadStatus(home); err == nil {
		v.Updated = time.Now().UTC().Format(time.RFC3339)
		writeJSONFile(Layout{home}.Status(), v)
	}
}

// checkRuns compares what the binary says it is with its manifest: the
// check that refuses a binary of another version (or another build) that a
// checksum alone would not catch when the manifest itself vouches for it.
func checkRuns(ctx context.Context, bin string, m *release.Manifest) error {
	if m.Platform() != goPlatform() {
		return fmt.Errorf("release %s is built for %s; this machine is %s: add the release for this platform", m.Version, m.Platform(), goPlatform())
	}
	info, err := release.BinaryInfo(ctx, bin)
	if err != nil {
		return fmt.Errorf("%w: %s does not describe itself: %v", release.ErrMismatch, bin, err)
	}
	if err := m.CheckInfo(info); err != nil {
		return fmt.Errorf("%s: %w; it is not release %s: get the release again from its publisher", bin, err, m.Version)
	}
	return nil
}

// Stored is a release under releases/ as the supervisor sees it.
type Stored struct {
	Manifest *release.Manifest
	// GateFailed is why it failed a health gate, "" if it never did.
	GateFailed string
}

// Releases lists the stored releases by version. A directory that is not a
// readable release is an error naming it: it was altered by hand.
func (l Layout) List() ([]Stored, error) {
	if err := l.check(); err != nil {
		return nil, err
	}
	ents, err := os.ReadDir(l.Releases())
	if err != nil {
		return nil, err
	}
	var out []Stored
	for _, e := range ents {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		m, err := release.ReadManifest(l.Release(e.Name()))
		if err != nil {
			return nil, fmt.Errorf("%s: %v; remove the directory and add the release again", l.Release(e.Name()), err)
		}
		if m.Version != e.Name() {
			return nil, fmt.Errorf("%s holds release %s: a release directory is named for its version; remove it and add the release again", l.Release(e.Name()), m.Version)
		}
		s := Stored{Manifest: m}
		if b, err := os.ReadFile(l.gateFailed(m.Version)); err == nil {
			s.GateFailed = strings.TrimSpace(string(b))
		}
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return CompareVersions(out[i].Manifest.Version, out[j].Manifest.Version) < 0 })
	return out, nil
}

// CurrentVersion is the release `current` points at.
func (l Layout) CurrentVersion() (string, error) {
	t, err := os.Readlink(l.Current())
	if err != nil {
		return "", fmt.Errorf("%s: %v; run `forkgate visor init` (or restore the link to a release under %s)", l.Current(), err, l.Releases())
	}
	return filepath.Base(t), nil
}

// setCurrent points `current` at a release: a new link beside it, renamed
// over it, the directory fsynced, so a crash leaves the old or the new link.
func (l Layout) setCurrent(v string) error {
	if cur, err := l.CurrentVersion(); err == nil && cur == v {
		return nil
	}
	tmp := l.Current() + ".tmp"
	os.Remove(tmp)
	if err := os.Symlink(filepath.Join("releases", v), tmp); err != nil {
		return err
	}
	return atomicfile.Rename(tmp, l.Current())
}

// Verify checks a stored release before it runs: its files against each
// other and the trusted key, the extracted binary's sha256 against the
// manifest, and the binary's own version output.
func (l Layout) Verify(ctx context.Context, v string) (*release.Manifest, error) {
	dir := l.Release(v)
	if _, err := os.Stat(dir); err != nil {
		return nil, &MissingError{Version: v, Where: dir}
	}
	key, err := l.trustedKey()
	if err != nil {
		return nil, err
	}
	r, err := release.Open(ctx, dir, release.OpenOptions{Key: key})
	if err != nil {
		return nil, fmt.Errorf("release %s in %s: %w", v, dir, err)
	}
	bin := l.Binary(v)
	sum, size, err := release.SHA256File(bin)
	if err != nil {
		return nil, &MissingError{Version: v, Where: bin}
	}
	if sum != r.Manifest.Binary.SHA256 || size != r.Manifest.Binary.Size {
		return nil, fmt.Errorf("%w: %s has sha256 %s (%d bytes) but release %s's manifest says %s (%d bytes): the binary was altered; it will not run. Remove %s and add the release again",
			release.ErrMismatch, bin, sum, size, v, r.Manifest.Binary.SHA256, r.Manifest.Binary.Size, dir)
	}
	if err := checkRuns(ctx, bin, r.Manifest); err != nil {
		return nil, err
	}
	return r.Manifest, nil
}

// MissingError is a release (or its binary) that is not where it must be.
type MissingError struct {
	Version string
	Where   string
}

func (e *MissingError) Error() string {
	return fmt.Sprintf("release %s is missing: expected at %s; add it with `forkgate visor add HOME DIR|ARCHIVE|URL`", e.Version, e.Where)
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

// syncTree fsyncs every file and directory under dir, so a rename of dir
// publishes durable content.
func syncTree(dir string) error {
	return filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		err = f.Sync()
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		return err
	})
}
