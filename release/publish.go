package release

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strings"

	"aead.dev/minisign"
	"github.com/forkgate/forkgate/atomicfile"
)

// Published is the outcome of Publish, also written to DIR/published.json
// (outside the checksums: it says where the release went, not what it is)
// so that `forkgate upgrade doc` can name the download path.
type Published struct {
	Format  int               `json:"format"`
	Version string            `json:"version"`
	Stores  []PublishedStore  `json:"stores"`
	Objects []PublishedObject `json:"objects"` // of the last publish
}

// PublishedStore is one store the release went to, and the URL of the
// release's "directory" there.
type PublishedStore struct {
	Store   string `json:"store"`
	Release string `json:"release"`
}

// PublishedObject is one uploaded file.
type PublishedObject struct {
	Name    string `json:"name"` // "<version>/<file>"
	SHA256  string `json:"sha256"`
	Size    int64  `json:"size"`
	Created bool   `json:"created"` // false: the same bytes were already there
}

// PublishedFile is the publish record in a release directory.
const PublishedFile = "published.json"

// PublishedFormat versions published.json.
const PublishedFormat = 1

// Publish checks a release directory (with the trusted key, when given) and
// uploads its files to the store under "<version>/": the archive and the
// manifest first, the signature next and the checksums file last, so a
// reader that finds the checksums file finds everything it lists.
func Publish(ctx context.Context, dir string, s Store, o OpenOptions) (*Published, error) {
	r, err := Open(ctx, dir, o)
	if err != nil {
		return nil, err
	}
	if r.ChecksumsPath == "" {
		return nil, fmt.Errorf("%s has no checksums file: publish a directory made by forkgate release build", dir)
	}
	files := []string{r.ArchivePath, filepath.Join(r.Dir, ManifestFile)}
	if sig := SignatureName(r.ChecksumsPath); fileExists(sig) {
		if r.SignaturePath == "" {
			// Unchecked (no key given) but still published: fetchers check it.
			r.SignaturePath = sig
		}
		files = append(files, sig)
	}
	files = append(files, r.ChecksumsPath)
	v := r.Manifest.Version
	pub := &Published{Format: PublishedFormat, Version: v}
	for _, f := range files {
		b, err := readBounded(f, maxBinary)
		if err != nil {
			return nil, err
		}
		name := v + "/" + filepath.Base(f)
		created, err := s.Put(ctx, name, b)
		if err != nil {
			return nil, err
		}
		pub.Objects = append(pub.Objects, PublishedObject{Name: name, SHA256: SHA256Bytes(b), Size: int64(len(b)), Created: created})
	}
	// Record where it went, keeping earlier stores.
	if old, err := ReadPublished(dir); err == nil && old.Version == v {
		pub.Stores = old.Stores
	}
	here := PublishedStore{Store: s.URL(), Release: ReleaseURL(s.URL(), v)}
	found := false
	for _, st := range pub.Stores {
		found = found || st == here
	}
	if !found {
		pub.Stores = append(pub.Stores, here)
	}
	b, _ := json.MarshalIndent(pub, "", "  ")
	if err := atomicfile.Write(filepath.Join(dir, PublishedFile), append(b, '\n'), 0o644); err != nil {
		return nil, err
	}
	return pub, nil
}

// ReadPublished reads DIR/published.json.
func ReadPublished(dir string) (*Published, error) {
	b, err := readBounded(filepath.Join(dir, PublishedFile), maxManifest)
	if err != nil {
		return nil, err
	}
	var p Published
	if err := json.Unmarshal(b, &p); err != nil || p.Format < 1 || p.Format > PublishedFormat {
		return nil, fmt.Errorf("%s: not a publish record (format %d): %v", filepath.Join(dir, PublishedFile), p.Format, err)
	}
	return &p, nil
}

// ReleaseURL is the URL of a version's release "directory" in a store:
// the version appended to the store URL's path, before any query.
func ReleaseURL(base, elem string) string {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme == "" && u.Host == "") {
		return strings.TrimSuffix(base, "/") + "/" + elem
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + "/" + elem
	return u.String()
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

// FetchOptions configure Fetch.
type FetchOptions struct {
	// Key is the trusted public key; with it the signature is mandatory.
	Key *minisign.PublicKey
	// Out is the directory the release is written to (created; it must
	// not hold another release).
	Out string
	// Platform selects the archive (default: this machine's os/arch).
	Platform string
}

// Fetch downloads a release from a store URL and checks it as Open does,
// including the binary's own version output when the release is for this
// machine. The URL names the release's "directory" in a store
// (file:///srv/releases/0.2.0, s3://bucket/prefix/0.2.0?endpoint=...) or
// its checksums file (any scheme, and the only form over HTTP). Only this
// platform's archive is downloaded and checked. Nothing is left in Out
// unless every check passed.
func Fetch(ctx context.Context, rawURL string, o FetchOptions) (*Release, error) {
	storeURL, dirName, sumsName, err := splitReleaseURL(rawURL)
	if err != nil {
		return nil, err
	}
	s, err := OpenStore(storeURL)
	if err != nil {
		return nil, err
	}
	if sumsName == "" {
		names, err := s.List(ctx, dirName+"/")
		if err != nil {
			return nil, err
		}
		for _, n := range names {
			if b := path.Base(n); strings.HasPrefix(b, Name+"_") && strings.HasSuffix(b, "_checksums.txt") {
				if sumsName != "" {
					return nil, fmt.Errorf("%s holds two checksums files (%s, %s)", rawURL, sumsName, b)
				}
				sumsName = b
			}
		}
		if sumsName == "" {
			return nil, fmt.Errorf("%s holds no %s_<version>_checksums.txt: is it a published release?", rawURL, Name)
		}
	}
	version := strings.TrimSuffix(strings.TrimPrefix(sumsName, Name+"_"), "_checksums.txt")
	if err := CheckVersion(version); err != nil {
		return nil, fmt.Errorf("%s: %v", sumsName, err)
	}
	platform := o.Platform
	if platform == "" {
		platform = runtime.GOOS + "/" + runtime.GOARCH
	}
	goos, goarch, ok := strings.Cut(platform, "/")
	if !ok {
		return nil, fmt.Errorf("platform %q is not os/arch", platform)
	}
	get := func(name string, limit int64) ([]byte, error) {
		key := name
		if dirName != "" {
			key = dirName + "/" + name
		}
		return s.Get(ctx, key, limit)
	}
	sums, err := get(sumsName, maxChecksums)
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{sumsName: sums}
	if sig, err := get(SignatureName(sumsName), 4<<10); err == nil {
		files[SignatureName(sumsName)] = sig
	} else if o.Key != nil {
		return nil, fmt.Errorf("%w: %s has no signature %s (%v); a trusted key was given, so the signature is mandatory", ErrSignature, rawURL, SignatureName(sumsName), err)
	}
	if o.Key != nil {
		if _, err := VerifySignature(*o.Key, sums, files[SignatureName(sumsName)], sumsName); err != nil {
			return nil, err
		}
	}
	list, err := ParseChecksums(sumsName, sums)
	if err != nil {
		return nil, mismatch("%v", err)
	}
	archive := ArchiveName(version, goos, goarch)
	for _, name := range []string{archive, ManifestFile} {
		want, ok := ChecksumOf(list, name)
		if !ok {
			return nil, fmt.Errorf("%s lists no %s: the release has no build for %s", sumsName, name, platform)
		}
		b, err := get(name, maxBinary)
		if err != nil {
			return nil, err
		}
		if got := SHA256Bytes(b); got != want {
			return nil, mismatch("downloaded %s has sha256 %s, %s lists %s: the store's copy was altered; do not use it", name, got, sumsName, want)
		}
		files[name] = b
	}

	// Stage in a scratch directory beside Out, check, then move in.
	if o.Out == "" {
		return nil, fmt.Errorf("no output directory (--out)")
	}
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return nil, err
	}
	stage, err := os.MkdirTemp(o.Out, ".fetch-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(stage)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(stage, n), files[n], 0o644); err != nil {
			return nil, err
		}
	}
	// The binary runs only once a trusted signature vouched for it.
	r, err := Open(ctx, stage, OpenOptions{Key: o.Key, RunBinary: o.Key != nil && platform == runtime.GOOS+"/"+runtime.GOARCH})
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		dst := filepath.Join(o.Out, n)
		if old, err := os.ReadFile(dst); err == nil && string(old) != string(files[n]) {
			return nil, fmt.Errorf("%s already holds another %s; fetch into an empty directory", o.Out, n)
		}
	}
	for _, n := range names {
		if err := atomicfile.Write(filepath.Join(o.Out, n), files[n], 0o644); err != nil {
			return nil, err
		}
	}
	// Open the final copy again: every hash is re-checked; the binary
	// already ran from the staged copy, whose bytes these are.
	final, err := Open(ctx, o.Out, OpenOptions{Key: o.Key})
	if err != nil {
		return nil, err
	}
	final.BinaryChecked = r.BinaryChecked
	return final, nil
}

// splitReleaseURL splits a release URL into the store, the release's
// directory inside it, and the checksums file when the URL names it.
func splitReleaseURL(raw string) (store, dir, sums string, err error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", "", "", fmt.Errorf("release URL %q: %v", raw, err)
	}
	p := strings.TrimSuffix(u.Path, "/")
	if u.Scheme == "" {
		p = strings.TrimSuffix(raw, "/")
	}
	if b := path.Base(p); strings.HasSuffix(b, "_checksums.txt") {
		sums = b
		p = path.Dir(p)
	}
	dir = path.Base(p)
	if dir == "/" || dir == "." || dir == "" {
		return "", "", "", fmt.Errorf("release URL %q names no release directory (.../<version>)", raw)
	}
	parent := path.Dir(p)
	if u.Scheme == "" {
		return parent, dir, sums, nil
	}
	u.Path = parent
	return u.String(), dir, sums, nil
}
