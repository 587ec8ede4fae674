package release

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/forkgate/forkgate/atomicfile"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Store holds published releases as immutable objects named
// "<version>/<file>". Implementations: a directory (file://, the default),
// an S3-compatible bucket (s3://, also Aliyun OSS), and read-only HTTP.
type Store interface {
	// Put stores data under name. An existing object with the same bytes is
	// left alone (Created false); one with other bytes refuses the put with
	// ErrImmutable. After writing, the object is read back and compared.
	Put(ctx context.Context, name string, data []byte) (created bool, err error)
	// Get reads an object, refusing one larger than limit bytes; a missing
	// object is an error wrapping fs.ErrNotExist.
	Get(ctx context.Context, name string, limit int64) ([]byte, error)
	// List returns the names under a prefix ("0.2.0/"), sorted.
	List(ctx context.Context, prefix string) ([]string, error)
	// URL is the store's address, for documents and messages.
	URL() string
}

// ErrImmutable refuses to overwrite a published object with other bytes.
var ErrImmutable = errors.New("published objects are immutable")

// OpenStore opens a store by URL:
//
//	file:///srv/releases   or a plain path           a directory
//	s3://bucket/prefix?endpoint=host:port&region=r&insecure=true&lookup=path
//	http://host/releases   https://...               read only
//
// S3 credentials come from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or
// MINIO_ACCESS_KEY, MINIO_SECRET_KEY); without them requests are anonymous.
func OpenStore(raw string) (Store, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("store %q: %v", raw, err)
	}
	switch u.Scheme {
	case "", "file":
		p := raw
		if u.Scheme == "file" {
			if u.Host != "" && u.Host != "localhost" {
				return nil, fmt.Errorf("store %q: a file:// URL names a local path (file:///abs/path)", raw)
			}
			p = u.Path
		}
		if p == "" {
			return nil, fmt.Errorf("store %q names no directory", raw)
		}
		abs, err := filepath.Abs(p)
		if err != nil {
			return nil, err
		}
		return &fileStore{root: abs}, nil
	case "s3":
		return openS3(u)
	case "http", "https":
		return &httpStore{base: strings.TrimSuffix(raw, "/")}, nil
	}
	return nil, fmt.Errorf("store %q: unknown scheme %q; use file://, s3:// or http(s)://", raw, u.Scheme)
}

// checkName refuses object names that could leave the store's root.
func checkName(name string) error {
	if name == "" || strings.HasPrefix(name, "/") || path.Clean(name) != name || strings.Contains(name, "\\") || name == ".." || strings.HasPrefix(name, "../") {
		return fmt.Errorf("object name %q is not a clean relative name", name)
	}
	return nil
}

// --- directory store ---

type fileStore struct{ root string }

func (s *fileStore) URL() string { return (&url.URL{Scheme: "file", Path: s.root}).String() }

func (s *fileStore) path(name string) (string, error) {
	if err := checkName(name); err != nil {
		return "", err
	}
	return filepath.Join(s.root, filepath.FromSlash(name)), nil
}

func (s *fileStore) Put(ctx context.Context, name string, data []byte) (bool, error) {
	p, err := s.path(name)
	if err != nil {
		return false, err
	}
	if created, err := sameOrAbsent(ctx, s, name, data); err != nil || !created {
		return created, err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return false, err
	}
	f, err := os.CreateTemp(filepath.Dir(p), ".upload-")
	if err != nil {
		return false, err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(0o444)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return false, fmt.Errorf("store %s: writing %s: %v", s.URL(), name, err)
	}
	// A hard link creates the name only if it is absent, so two publishers
	// racing cannot overwrite each other.
	if err := os.Link(tmp, p); err != nil {
		if errors.Is(err, fs.ErrExist) {
			created, err := sameOrAbsent(ctx, s, name, data)
			if err == nil && created {
				err = fmt.Errorf("store %s: %s appeared and vanished while publishing; publish again", s.URL(), name)
			}
			return false, err
		}
		return false, err
	}
	if err := atomicfile.SyncDir(filepath.Dir(p)); err != nil {
		return false, err
	}
	return true, readBack(ctx, s, name, data)
}

func (s *fileStore) Get(_ context.Context, name string, limit int64) ([]byte, error) {
	p, err := s.path(name)
	if err != nil {
		return nil, err
	}
	b, err := readBounded(p, limit)
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", s.URL(), err)
	}
	return b, nil
}

func (s *fileStore) List(_ context.Context, prefix string) ([]string, error) {
	dir := strings.TrimSuffix(prefix, "/")
	if err := checkName(dir); err != nil {
		return nil, err
	}
	ents, err := os.ReadDir(filepath.Join(s.root, filepath.FromSlash(dir)))
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", s.URL(), err)
	}
	var out []string
	for _, e := range ents {
		if e.Type().IsRegular() && !strings.HasPrefix(e.Name(), ".") {
			out = append(out, dir+"/"+e.Name())
		}
	}
	return out, nil
}

// sameOrAbsent reports whether name is free (true) or already holds data
// (false, nil); other bytes are ErrImmutable.
func sameOrAbsent(ctx context.Context, s Store, name string, data []byte) (bool, error) {
	old, err := s.Get(ctx, name, int64(len(data))+1)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return true, nil
	case errors.Is(err, errTooLarge):
		return false, fmt.Errorf("%w: %s already holds a larger object at %s; publish under a new version", ErrImmutable, s.URL(), name)
	case err != nil:
		return false, err
	case !bytes.Equal(old, data):
		return false, fmt.Errorf("%w: %s already holds other bytes at %s (sha256 %s, publishing %s); publish under a new version", ErrImmutable, s.URL(), name, SHA256Bytes(old), SHA256Bytes(data))
	}
	return false, nil
}

// readBack reads an object after writing it and compares it with what was
// written.
func readBack(ctx context.Context, s Store, name string, data []byte) error {
	got, err := s.Get(ctx, name, int64(len(data))+1)
	if err != nil {
		return fmt.Errorf("store %s: reading back %s: %v", s.URL(), name, err)
	}
	if !bytes.Equal(got, data) {
		return fmt.Errorf("store %s: %s reads back with sha256 %s, wrote %s: the store corrupted it", s.URL(), name, SHA256Bytes(got), SHA256Bytes(data))
	}
	return nil
}

// --- S3 store ---

type s3Store struct {
	client *minio.Client
	bucket string
	prefix string // "" or "a/b/"
	url    string
}

func openS3(u *url.URL) (Store, error) {
	q := u.Query()
	if u.Host == "" {
		return nil, fmt.Errorf("store %s names no bucket (s3://bucket/prefix)", u.Redacted())
	}
	endpoint := q.Get("endpoint")
	if endpoint == "" {
		endpoint = "s3.amazonaws.com"
	}
	opts := &minio.Options{Secure: q.Get("insecure") != "true", Region: q.Get("region")}
	switch q.Get("lookup") {
	case "", "auto":
	case "path":
		opts.BucketLookup = minio.BucketLookupPath
	case "dns":
		opts.BucketLookup = minio.BucketLookupDNS
	default:
		return nil, fmt.Errorf("store %s: lookup must be path, dns or auto", u.Redacted())
	}
	opts.Creds = credentials.NewChainCredentials([]credentials.Provider{&credentials.EnvAWS{}, &credentials.EnvMinio{}})
	c, err := minio.New(endpoint, opts)
	if err != nil {
		return nil, fmt.Errorf("store %s: %v", u.Redacted(), err)
	}
	prefix := strings.Trim(u.Path, "/")
	if prefix != "" {
		prefix += "/"
	}
	return &s3Store{client: c, bucket: u.Host, prefix: prefix, url: u.Redacted()}, nil
}

func (s *s3Store) URL() string { return s.url }

func (s *s3Store) Put(ctx context.Context, name string, data []byte) (bool, error) {
	if err := checkName(name); err != nil {
		return false, err
	}
	if created, err := sameOrAbsent(ctx, s, name, data); err != nil || !created {
		return created, err
	}
	opts := minio.PutObjectOptions{ContentType: "application/octet-stream", SendContentMd5: true}
	// If-None-Match: * makes the create conditional where the server
	// supports it; elsewhere the read-back below still catches a race.
	opts.SetMatchETagExcept("*")
	_, err := s.client.PutObject(ctx, s.bucket, s.prefix+name, bytes.NewReader(data), int64(len(data)), opts)
	if err != nil {
		if minio.ToErrorResponse(err).StatusCode == http.StatusPreconditionFailed {
			return sameOrAbsent(ctx, s, name, data)
		}
		return false, fmt.Errorf("store %s: uploading %s: %v", s.url, name, err)
	}
	return true, readBack(ctx, s, name, data)
}

func (s *s3Store) Get(ctx context.Context, name string, limit int64) ([]byte, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	obj, err := s.client.GetObject(ctx, s.bucket, s.prefix+name, minio.GetObjectOptions{})
	if err == nil {
		defer obj.Close()
		var b []byte
		b, err = io.ReadAll(io.LimitReader(obj, limit+1))
		if err == nil && int64(len(b)) > limit {
			return nil, fmt.Errorf("store %s: %s is larger than %d bytes: %w", s.url, name, limit, errTooLarge)
		}
		if err == nil {
			return b, nil
		}
	}
	if r := minio.ToErrorResponse(err); r.Code == "NoSuchKey" || r.StatusCode == http.StatusNotFound {
		return nil, fmt.Errorf("store %s: %s: %w", s.url, name, fs.ErrNotExist)
	}
	return nil, fmt.Errorf("store %s: reading %s: %v", s.url, name, err)
}

func (s *s3Store) List(ctx context.Context, prefix string) ([]string, error) {
	var out []string
	for o := range s.client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: s.prefix + prefix}) {
		if o.Err != nil {
			return nil, fmt.Errorf("store %s: listing %s: %v", s.url, prefix, o.Err)
		}
		out = append(out, strings.TrimPrefix(o.Key, s.prefix))
	}
	sort.Strings(out)
	return out, nil
}

// --- HTTP store (read only) ---

type httpStore struct{ base string }

func (s *httpStore) URL() string { return s.base }

func (s *httpStore) Put(context.Context, string, []byte) (bool, error) {
	return false, fmt.Errorf("store %s is read-only over HTTP; publish to its file:// or s3:// location", s.base)
}

func (s *httpStore) List(context.Context, string) ([]string, error) {
	return nil, fmt.Errorf("store %s cannot list over HTTP; give the checksums file's URL (.../forkgate_V_checksums.txt)", s.base)
}

func (s *httpStore) Get(ctx context.Context, name string, limit int64) ([]byte, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.base+"/"+name, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("store %s: %v", s.base, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return nil, fmt.Errorf("store %s: %s: %w", s.base, name, fs.ErrNotExist)
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("store %s: GET %s: %s", s.base, name, resp.Status)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("store %s: GET %s: %v", s.base, name, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("store %s: %s is larger than %d bytes: %w", s.base, name, limit, errTooLarge)
	}
	return b, nil
}
