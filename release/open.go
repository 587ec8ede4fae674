package release

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"

	"aead.dev/minisign"
	"github.com/forkgate/forkgate/atomicfile"
	"github.com/forkgate/forkgate/buildinfo"
)

// ErrMismatch is the class of every integrity failure that is not a
// signature's: a checksum, a manifest or a binary that differs from what
// vouches for it. Callers map it (and ErrSignature) to exit code 1.
var ErrMismatch = errors.New("release check failed")

func mismatch(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMismatch, fmt.Sprintf(format, args...))
}

// OpenOptions say how much Open checks.
type OpenOptions struct {
	// Key is the trusted public key. When set, the signature is mandatory
	// and must verify with it.
	Key *minisign.PublicKey
	// RunBinary extracts the binary to a scratch directory and compares its
	// `version --format json` with the manifest. It needs the release to
	// be for this platform.
	RunBinary bool
}

// Release is a release whose files Open has checked.
type Release struct {
	Dir           string
	Manifest      *Manifest
	ManifestBytes []byte
	ArchivePath   string
	ArchiveSHA256 string
	// ChecksumsPath is "" when an archive was opened without a checksums
	// file beside it (then only the archive's own consistency is known).
	ChecksumsPath  string
	ChecksumsBytes []byte
	Checksums      []Checksum
	// SignaturePath and SignedBy (a key ID) are set when the signature was
	// verified with the trusted key; TrustedComment is its signed comment.
	SignaturePath  string
	SignatureBytes []byte
	SignedBy       string
	TrustedComment string
	// BinaryChecked is true when the binary's own version output matched
	// the manifest (OpenOptions.RunBinary).
	BinaryChecked bool
}

// Open checks a release directory, or an archive (with the checksums file
// and signature beside it, when present): the signature over the checksums
// (mandatory with a trusted key), the checksums of the archive and the
// manifest, the manifest inside the archive equal to the one beside it, the
// binary's sha256 against the manifest, and with RunBinary the binary's own
// version output against the manifest. Only this platform's archive is
// read: another platform's line in the checksums file is not checked.
func Open(ctx context.Context, path string, o OpenOptions) (*Release, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	r := &Release{}
	archiveGiven := ""
	if st.IsDir() {
		r.Dir = path
	} else {
		r.Dir, archiveGiven = filepath.Dir(path), filepath.Base(path)
		if !strings.HasSuffix(archiveGiven, ".tar.gz") {
			return nil, fmt.Errorf("%s is neither a release directory nor a .tar.gz archive", path)
		}
	}
	if err := r.readChecksums(o.Key); err != nil {
		return nil, err
	}

	// The manifest: beside the archive in a directory, else from inside it.
	if archiveGiven == "" {
		b, err := readBounded(filepath.Join(r.Dir, ManifestFile), maxManifest)
		if err != nil {
			return nil, fmt.Errorf("release directory %s: %v", r.Dir, err)
		}
		if err := r.checkSum(ManifestFile, SHA256Bytes(b)); err != nil {
			return nil, err
		}
		if r.Manifest, err = DecodeManifest(filepath.Join(r.Dir, ManifestFile), b); err != nil {
			return nil, err
		}
		r.ManifestBytes = b
		archiveGiven = r.Manifest.Archive
	}
	r.ArchivePath = filepath.Join(r.Dir, archiveGiven)
	sum, _, err := SHA256File(r.ArchivePath)
	if err != nil {
		return nil, fmt.Errorf("release archive: %v", err)
	}
	r.ArchiveSHA256 = sum
	if err := r.checkSum(archiveGiven, sum); err != nil {
		return nil, err
	}
	top := archiveTop(archiveGiven)
	content, err := readArchive(r.ArchivePath, top, top+"/"+Name, nil)
	if err != nil {
		return nil, mismatch("%v", err)
	}
	if r.Manifest == nil {
		if r.Manifest, err = DecodeManifest(r.ArchivePath+":"+ManifestFile, content.Manifest); err != nil {
			return nil, mismatch("%v", err)
		}
		r.ManifestBytes = content.Manifest
		if r.Manifest.Archive != archiveGiven {
			return nil, mismatch("%s holds the manifest of %s: the archive was renamed or swapped", archiveGiven, r.Manifest.Archive)
		}
	} else if !bytes.Equal(content.Manifest, r.ManifestBytes) {
		return nil, mismatch("the manifest inside %s differs from %s beside it", archiveGiven, ManifestFile)
	}
	if r.ChecksumsPath != "" && filepath.Base(r.ChecksumsPath) != ChecksumsName(r.Manifest.Version) {
		return nil, mismatch("%s belongs to another release than version %s", filepath.Base(r.ChecksumsPath), r.Manifest.Version)
	}
	if !content.HasBinary {
		return nil, mismatch("%s holds no %s", archiveGiven, r.Manifest.Binary.Path)
	}
	if content.BinarySHA256 != r.Manifest.Binary.SHA256 || content.BinarySize != r.Manifest.Binary.Size {
		return nil, mismatch("the binary in %s has sha256 %s (%d bytes), the manifest says %s (%d bytes)", archiveGiven, content.BinarySHA256, content.BinarySize, r.Manifest.Binary.SHA256, r.Manifest.Binary.Size)
	}
	if o.RunBinary {
		if err := r.checkBinaryRuns(ctx); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// readChecksums finds the directory's checksums file and checks its
// signature.
func (r *Release) readChecksums(key *minisign.PublicKey) error {
	matches, _ := filepath.Glob(filepath.Join(r.Dir, Name+"_*_checksums.txt"))
	switch {
	case len(matches) > 1:
		return fmt.Errorf("%s holds %d checksums files (%s); a release directory holds one release", r.Dir, len(matches), strings.Join(matches, ", "))
	case len(matches) == 0 && key != nil:
		return fmt.Errorf("%w: %s holds no %s_<version>_checksums.txt, so nothing can be checked against the trusted key", ErrSignature, r.Dir, Name)
	case len(matches) == 0:
		return nil
	}
	r.ChecksumsPath = matches[0]
	b, err := readBounded(r.ChecksumsPath, maxChecksums)
	if err != nil {
		return err
	}
	r.ChecksumsBytes = b
	if key != nil {
		sigPath := SignatureName(r.ChecksumsPath)
		sig, err := readBounded(sigPath, 4<<10)
		if err != nil {
			return fmt.Errorf("%w: the release is not signed (%v); a trusted key was given, so the signature is mandatory", ErrSignature, err)
		}
		tc, err := VerifySignature(*key, b, sig, filepath.Base(r.ChecksumsPath))
		if err != nil {
			return err
		}
		r.SignaturePath, r.SignatureBytes, r.SignedBy, r.TrustedComment = sigPath, sig, KeyID(key.ID()), tc
	}
	if r.Checksums, err = ParseChecksums(r.ChecksumsPath, b); err != nil {
		return mismatch("%v", err)
	}
	return nil
}

// checkSum compares a file's sha256 with its checksums line; without a
// checksums file there is nothing to compare.
func (r *Release) checkSum(name, sum string) error {
	if r.ChecksumsPath == "" {
		return nil
	}
	want, ok := ChecksumOf(r.Checksums, name)
	if !ok {
		return mismatch("%s is not listed in %s", name, filepath.Base(r.ChecksumsPath))
	}
	if want != sum {
		return mismatch("%s has sha256 %s, but %s lists %s: the file was altered or is another release's; download it again", name, sum, filepath.Base(r.ChecksumsPath), want)
	}
	return nil
}

// checkBinaryRuns extracts the binary and compares what it says it is with
// the manifest.
func (r *Release) checkBinaryRuns(ctx context.Context) error {
	if p := runtime.GOOS + "/" + runtime.GOARCH; r.Manifest.Platform() != p {
		return fmt.Errorf("the release is for %s, this machine is %s: its binary cannot run here", r.Manifest.Platform(), p)
	}
	tmp, err := os.MkdirTemp("", "forkgate-release-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, Name)
	if err := r.ExtractBinary(bin); err != nil {
		return err
	}
	info, err := BinaryInfo(ctx, bin)
	if err != nil {
		return mismatch("the release's binary does not describe itself: %v", err)
	}
	if err := r.Manifest.CheckInfo(info); err != nil {
		return err
	}
	r.BinaryChecked = true
	return nil
}

// CheckInfo compares a binary's `version --format json` with the manifest's
// build section, naming the first fields that differ.
func (m *Manifest) CheckInfo(info buildinfo.Info) error {
	if reflect.DeepEqual(info, m.Build) {
		return nil
	}
	var diffs []string
	field := func(name, got, want string) {
		if got != want {
			diffs = append(diffs, fmt.Sprintf("%s %q (manifest: %q)", name, got, want))
		}
	}
	field("version", info.Version, m.Build.Version)
	field("commit", info.Commit, m.Build.Commit)
	field("go", info.GoVersion, m.Build.GoVersion)
	field("platform", info.OS+"/"+info.Arch, m.Platform())
	field("implemented", fmt.Sprint(info.Implemented), fmt.Sprint(m.Build.Implemented))
	field("registry_hash", info.RegistryHash, m.Build.RegistryHash)
	field("schedule_hash", info.ScheduleHash, m.Build.ScheduleHash)
	if len(diffs) == 0 {
		diffs = append(diffs, "its fork list")
	}
	return mismatch("the binary reports %s: it is not the build this manifest describes", strings.Join(diffs, ", "))
}

// ExtractBinary writes the release's binary to dst (mode 0755) through a
// temporary file, checking its sha256 against the manifest on the way; dst
// is never left holding unverified bytes.
func (r *Release) ExtractBinary(dst string) error {
	f, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".tmp-")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	content, err := readArchive(r.ArchivePath, archiveTop(r.Manifest.Archive), r.Manifest.Binary.Path, f)
	if err == nil && content.BinarySHA256 != r.Manifest.Binary.SHA256 {
		err = mismatch("%s changed since it was opened: binary sha256 %s, manifest %s", r.ArchivePath, content.BinarySHA256, r.Manifest.Binary.SHA256)
	}
	if err == nil {
		err = f.Chmod(0o755)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return atomicfile.Rename(tmp, dst)
}
