package release

import (
	"context"
	"errors"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// storeContract is what every writable store must do: create, read back,
// accept the same bytes again, refuse other bytes, list, and report a
// missing object as fs.ErrNotExist.
func storeContract(t *testing.T, s Store) {
	t.Helper()
	ctx := context.Background()
	created, err := s.Put(ctx, "0.9.0/a.txt", []byte("one"))
	if err != nil || !created {
		t.Fatalf("put: %v %v", created, err)
	}
	if created, err := s.Put(ctx, "0.9.0/a.txt", []byte("one")); err != nil || created {
		t.Fatalf("same bytes again: created %v, %v", created, err)
	}
	if _, err := s.Put(ctx, "0.9.0/a.txt", []byte("two")); !errors.Is(err, ErrImmutable) || !strings.Contains(err.Error(), "other bytes") {
		t.Fatalf("other bytes: %v", err)
	}
	if _, err := s.Put(ctx, "0.9.0/a.txt", []byte("one plus more")); !errors.Is(err, ErrImmutable) {
		t.Fatalf("longer bytes: %v", err)
	}
	if b, err := s.Get(ctx, "0.9.0/a.txt", 10); err != nil || string(b) != "one" {
		t.Fatalf("get: %q %v", b, err)
	}
	if _, err := s.Get(ctx, "0.9.0/a.txt", 2); err == nil {
		t.Fatal("get above the limit succeeded")
	}
	if _, err := s.Get(ctx, "0.9.0/none", 10); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing: %v", err)
	}
	if _, err := s.Put(ctx, "../escape", []byte("x")); err == nil {
		t.Fatal("a name leaving the store was accepted")
	}
	names, err := s.List(ctx, "0.9.0/")
	if err != nil || strings.Join(names, ",") != "0.9.0/a.txt" {
		t.Fatalf("list: %v %v", names, err)
	}
}

func TestFileStoreContract(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenStore("file://" + dir)
	if err != nil {
		t.Fatal(err)
	}
	storeContract(t, s)
	if st, _ := os.Stat(filepath.Join(dir, "0.9.0", "a.txt")); st.Mode().Perm() != 0o444 {
		t.Errorf("stored object mode %v, want read-only", st.Mode())
	}
}

// fakeS3 starts an in-process S3 server on loopback with one bucket and
// returns the store URL for prefix.
func fakeS3(t *testing.T, prefix string) string {
	t.Helper()
	srv := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	t.Setenv("AWS_ACCESS_KEY_ID", "test-access")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test-secret-key")
	c, err := minio.New(u.Host, &minio.Options{Creds: credentials.NewStaticV4("test-access", "test-secret-key", ""), BucketLookup: minio.BucketLookupPath})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.MakeBucket(context.Background(), "releases", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	return "s3://releases/" + prefix + "?endpoint=" + u.Host + "&insecure=true&lookup=path&region=us-east-1"
}

func TestS3StoreContract(t *testing.T) {
	s, err := OpenStore(fakeS3(t, "forkgate"))
	if err != nil {
		t.Fatal(err)
	}
	storeContract(t, s)
}

func TestOpenStoreURLs(t *testing.T) {
	for _, bad := range []string{"ftp://x/y", "file://host/path", "s3:///prefix", "s3://b/p?lookup=odd"} {
		if _, err := OpenStore(bad); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
	tests := []struct{ url, store, dir, sums string }{
		{"file:///srv/rel/0.2.0", "file:///srv/rel", "0.2.0", ""},
		{"/srv/rel/0.2.0/", "/srv/rel", "0.2.0", ""},
		{"s3://b/p/0.2.0?endpoint=h:1", "s3://b/p?endpoint=h:1", "0.2.0", ""},
		{"https://h/rel/0.2.0/forkgate_0.2.0_checksums.txt", "https://h/rel", "0.2.0", "forkgate_0.2.0_checksums.txt"},
	}
	for _, tc := range tests {
		store, dir, sums, err := splitReleaseURL(tc.url)
		if err != nil || store != tc.store || dir != tc.dir || sums != tc.sums {
			t.Errorf("%s: %q %q %q %v", tc.url, store, dir, sums, err)
		}
	}
}

// Publish, then fetch through each kind of store; a second publish of the
// same release is a no-op, and a re-signed copy (other bytes under the same
// names) is refused.
func TestPublishAndFetch(t *testing.T) {
	f := testRelease(t)
	ctx := context.Background()
	storeDir := t.TempDir()
	stores := map[string]string{"file": "file://" + storeDir, "s3": fakeS3(t, "forkgate")}
	for _, kind := range []string{"file", "s3"} {
		t.Run(kind, func(t *testing.T) {
			dir := copyRelease(t, f.a.Dir)
			s, err := OpenStore(stores[kind])
			if err != nil {
				t.Fatal(err)
			}
			pub, err := Publish(ctx, dir, s, OpenOptions{Key: &f.key.Public})
			if err != nil {
				t.Fatal(err)
			}
			if len(pub.Objects) != 4 || !pub.Objects[0].Created || !strings.HasSuffix(pub.Objects[3].Name, "_checksums.txt") {
				t.Errorf("published: %+v", pub.Objects)
			}
			again, err := Publish(ctx, dir, s, OpenOptions{})
			if err != nil || again.Objects[0].Created {
				t.Fatalf("publish again: %v %+v", err, again)
			}
			rec, err := ReadPublished(dir)
			if err != nil || len(rec.Stores) != 1 || !strings.HasSuffix(strings.Split(rec.Stores[0].Release, "?")[0], "/"+testVersion) {
				t.Fatalf("published.json: %v %+v", err, rec)
			}

			// Other bytes under the same names: refused, nothing changed.
			resigned := copyRelease(t, f.a.Dir)
			other, _ := ParseSecretKey("other", f.otherKey.SecretTxt, "")
			sums, _ := os.ReadFile(filepath.Join(resigned, ChecksumsName(testVersion)))
			os.WriteFile(filepath.Join(resigned, SignatureName(ChecksumsName(testVersion))), sign(other, sums, "other"), 0o644)
			if _, err := Publish(ctx, resigned, s, OpenOptions{}); !errors.Is(err, ErrImmutable) {
				t.Fatalf("publishing other bytes: %v", err)
			}

			out := filepath.Join(t.TempDir(), "fetched")
			r, err := Fetch(ctx, rec.Stores[0].Release, FetchOptions{Key: &f.key.Public, Out: out})
			if err != nil {
				t.Fatal(err)
			}
			if !r.BinaryChecked || r.SignedBy == "" || r.Manifest.Binary.SHA256 != f.a.Manifest.Binary.SHA256 {
				t.Errorf("fetched: %+v", r)
			}
		})
	}
	// Over HTTP, by the checksums file's URL.
	srv := httptest.NewServer(http.FileServer(http.Dir(storeDir)))
	defer srv.Close()
	r, err := Fetch(ctx, srv.URL+"/"+testVersion+"/"+ChecksumsName(testVersion), FetchOptions{Key: &f.key.Public, Out: t.TempDir()})
	if err != nil || !r.BinaryChecked {
		t.Fatalf("fetch over HTTP: %v", err)
	}
}

// Fetch refuses a tampered store copy, and leaves nothing behind.
func TestFetchRefusesTampering(t *testing.T) {
	f := testRelease(t)
	ctx := context.Background()
	archive := filepath.Base(f.a.Archive)
	sums := ChecksumsName(testVersion)
	tests := []struct {
		name   string
		tamper func(dir string)
		key    bool
		class  error
	}{
		{"archive", func(d string) { flipByte(t, filepath.Join(d, archive), -1) }, true, ErrMismatch},
		{"archive, no key", func(d string) { flipByte(t, filepath.Join(d, archive), -1) }, false, ErrMismatch},
		{"checksums", func(d string) { flipByte(t, filepath.Join(d, sums), 7) }, true, ErrSignature},
		{"signature", func(d string) { flipByte(t, filepath.Join(d, SignatureName(sums)), 90) }, true, ErrSignature},
		{"signature removed", func(d string) { os.Remove(filepath.Join(d, SignatureName(sums))) }, true, ErrSignature},
		{"manifest", func(d string) { flipByte(t, filepath.Join(d, ManifestFile), 40) }, true, ErrMismatch},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			store := t.TempDir()
			rel := filepath.Join(store, testVersion)
			if err := os.Rename(copyRelease(t, f.a.Dir), rel); err != nil {
				t.Fatal(err)
			}
			tc.tamper(rel)
			o := FetchOptions{Out: filepath.Join(t.TempDir(), "out")}
			if tc.key {
				o.Key = &f.key.Public
			}
			_, err := Fetch(ctx, "file://"+rel, o)
			if !errors.Is(err, tc.class) {
				t.Fatalf("got %v, want %v", err, tc.class)
			}
			if ents, _ := os.ReadDir(o.Out); len(ents) != 0 {
				t.Errorf("fetch left %d files in %s", len(ents), o.Out)
			}
		})
	}
}
