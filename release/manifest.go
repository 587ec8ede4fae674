// Package release makes, publishes and checks forkgate releases.
//
// A release directory holds, for one platform:
//
//	forkgate_0.2.0_linux_amd64.tar.gz       reproducible archive:
//	    forkgate_0.2.0_linux_amd64/forkgate       the binary
//	    forkgate_0.2.0_linux_amd64/release.json   the manifest
//	release.json                            the manifest (same bytes)
//	forkgate_0.2.0_checksums.txt            "sha256  name" lines (sha256sum -c)
//	forkgate_0.2.0_checksums.txt.minisig    minisign signature of the checksums
//
// Trust flows one way: the signature covers the checksums file, which covers
// the archive and the manifest, which names the binary's sha256; and the
// manifest's build section must equal what the binary itself prints for
// `forkgate version --format json`. Open checks that whole chain; the
// supervisor (forkgate visor) and the ops check call it before they trust a
// binary. See docs/release.md.
package release

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"

	"github.com/forkgate/forkgate/buildinfo"
)

// ManifestFormat versions release.json. Fields are only ever added; a reader
// refuses a format above the one it knows.
const ManifestFormat = 1

// ManifestFile is the manifest's name, beside the archive and inside it.
const ManifestFile = "release.json"

// Name is the product name in file names and manifests.
const Name = "forkgate"

// Release kinds (Chain33's small and large releases).
const (
	// KindSmall rolls out at any time: no new fork and no changed
	// fork-gated rule, and verify found no state change.
	KindSmall = "small"
	// KindLarge needs coordinated fork heights on every chain.
	KindLarge = "large"
)

// Manifest is release.json: what the release is, for the supervisor, the
// upgrade documents and the ops check.
type Manifest struct {
	Format  int    `json:"format"`
	Name    string `json:"name"`
	Version string `json:"version"`
	// MinHeight is the lowest height this build may execute: 0 replays from
	// genesis (forkgate's forks keep the old rules), higher for a release
	// that dropped old rules. A supervisor never starts it below.
	MinHeight int64 `json:"min_height"`
	// Build is exactly what the binary prints for `version --format json`:
	// commit, Go version, os/arch, implemented protocol version, fork
	// registry with its hash, and the built-in schedule's hash.
	Build buildinfo.Info `json:"build"`
	// Archive is the archive's file name beside the manifest.
	Archive string `json:"archive"`
	// Binary is the executable inside the archive.
	Binary BinaryEntry `json:"binary"`
	// Classification says whether this is a small or a large release, and
	// why.
	Classification Classification `json:"classification"`
	// Reproduce says how to rebuild the archive bit for bit.
	Reproduce Reproduce `json:"reproduce"`
	// Notes are the release notes (release build --notes), the first
	// source of an upgrade document's reason.
	Notes string `json:"notes,omitempty"`
}

// BinaryEntry locates and identifies the binary inside the archive.
type BinaryEntry struct {
	Path   string `json:"path"` // inside the archive, "/"-separated
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
}

// Classification is the small/large decision against a previous release.
type Classification struct {
	Kind     string   `json:"kind"`               // small | large
	Previous string   `json:"previous,omitempty"` // the previous release's version; empty: none given
	Reasons  []string `json:"reasons"`            // why, one line each
	// Verified is true when the library verify ran with this binary and
	// found every state hash equal.
	Verified bool `json:"verified"`
}

// Reproduce records the inputs of a reproducible build.
type Reproduce struct {
	SourceDateEpoch int64 `json:"source_date_epoch"` // archive mtimes
	// Dirty is true when the work tree had uncommitted changes (build
	// --allow-dirty): the commit alone does not reproduce the archive.
	Dirty   bool     `json:"dirty,omitempty"`
	Env     []string `json:"env"`     // the build's environment overrides
	Command []string `json:"command"` // go build ...
}

// ArchiveName is the archive of a version for an os/arch.
func ArchiveName(version, goos, goarch string) string {
	return fmt.Sprintf("%s_%s_%s_%s.tar.gz", Name, version, goos, goarch)
}

// ChecksumsName is the checksums file of a version.
func ChecksumsName(version string) string {
	return fmt.Sprintf("%s_%s_checksums.txt", Name, version)
}

// SignatureName is the detached signature of a file.
func SignatureName(file string) string { return file + ".minisig" }

// versionRE bounds versions to what is safe in file and object names.
var versionRE = regexp.MustCompile(`^[0-9A-Za-z][0-9A-Za-z.+-]{0,63}$`)

// CheckVersion refuses a version that cannot name files: empty, too long, or
// holding a path separator or spaces.
func CheckVersion(v string) error {
	if !versionRE.MatchString(v) {
		return fmt.Errorf("version %q: use letters, digits, '.', '-' and '+' (at most 64), e.g. 0.2.0", v)
	}
	return nil
}

// Encode is the manifest's canonical bytes (indented JSON, newline-ended),
// the bytes the checksums file covers.
func (m *Manifest) Encode() []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	if err := enc.Encode(m); err != nil {
		panic(err) // strings, integers and slices of them always encode
	}
	return b.Bytes()
}

// maxManifest bounds a manifest read from disk or a store.
const maxManifest = 1 << 20

// DecodeManifest reads release.json bytes and checks them.
func DecodeManifest(name string, b []byte) (*Manifest, error) {
	if len(b) > maxManifest {
		return nil, fmt.Errorf("%s: %d bytes is not a manifest (limit %d)", name, len(b), maxManifest)
	}
	var m Manifest
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%s: not a release manifest: %v", name, err)
	}
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	return &m, nil
}

// ReadManifest reads a release.json file, or DIR/release.json for a
// directory.
func ReadManifest(path string) (*Manifest, error) {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		path = filepath.Join(path, ManifestFile)
	}
	b, err := readBounded(path, maxManifest)
	if err != nil {
		return nil, err
	}
	return DecodeManifest(path, b)
}

// Validate checks that a manifest is complete and of a known format.
func (m *Manifest) Validate() error {
	switch {
	case m.Format < 1:
		return fmt.Errorf("manifest format %d: not a forkgate release manifest", m.Format)
	case m.Format > ManifestFormat:
		return fmt.Errorf("manifest format %d: this forkgate reads up to %d; use a newer forkgate", m.Format, ManifestFormat)
	case m.Name != Name:
		return fmt.Errorf("manifest names %q, not %s", m.Name, Name)
	case m.Version != m.Build.Version:
		return fmt.Errorf("manifest version %q differs from its build's version %q", m.Version, m.Build.Version)
	case m.MinHeight < 0:
		return fmt.Errorf("manifest min_height %d is negative", m.MinHeight)
	case !isHex64(m.Binary.SHA256):
		return fmt.Errorf("manifest binary sha256 %q is not 64 hex digits", m.Binary.SHA256)
	case m.Binary.Path == "" || m.Archive == "":
		return fmt.Errorf("manifest lacks the archive or the binary's path")
	case m.Archive != ArchiveName(m.Version, m.Build.OS, m.Build.Arch):
		return fmt.Errorf("manifest archive %q is not %s", m.Archive, ArchiveName(m.Version, m.Build.OS, m.Build.Arch))
	case m.Binary.Path != archiveTop(m.Archive)+"/"+Name:
		return fmt.Errorf("manifest binary path %q is not %s/%s", m.Binary.Path, archiveTop(m.Archive), Name)
	case m.Classification.Kind != KindSmall && m.Classification.Kind != KindLarge:
		return fmt.Errorf("manifest classification %q is neither small nor large", m.Classification.Kind)
	}
	return CheckVersion(m.Version)
}

// Platform is the manifest's "os/arch".
func (m *Manifest) Platform() string { return m.Build.OS + "/" + m.Build.Arch }
