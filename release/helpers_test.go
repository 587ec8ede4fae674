package release

import (
	"context"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"aead.dev/minisign"
)

// The package's tests share one release, built twice from two copies of the
// source tree (the expensive part: one compile, then cache hits and links).

const (
	testVersion = "0.2.0"
	testCommit  = "0123456789abcdef0123456789abcdef01234567"
	testEpoch   = 1767225600
)

type fixture struct {
	root     string
	srcA     string
	a, b     *Built
	key      *KeyPair
	priv     minisign.PrivateKey
	otherKey *KeyPair
}

var (
	fxOnce sync.Once
	fx     *fixture
	fxErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if fx != nil {
		os.RemoveAll(fx.root)
	}
	os.Exit(code)
}

// testRelease builds the shared releases on first use.
func testRelease(t *testing.T) *fixture {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the forkgate binary")
	}
	fxOnce.Do(func() { fx, fxErr = buildFixture() })
	if fxErr != nil {
		t.Fatal(fxErr)
	}
	return fx
}

func buildFixture() (*fixture, error) {
	root, err := os.MkdirTemp("", "forkgate-release-test-")
	if err != nil {
		return nil, err
	}
	f := &fixture{root: root}
	if f.key, err = GenerateKey(""); err != nil {
		return f, err
	}
	if f.otherKey, err = GenerateKey(""); err != nil {
		return f, err
	}
	keyFile := filepath.Join(root, "release.key")
	if err := os.WriteFile(keyFile, f.key.SecretTxt, 0o600); err != nil {
		return f, err
	}
	if f.priv, err = LoadSecretKey(keyFile, ""); err != nil {
		return f, err
	}
	modRoot, err := moduleRoot()
	if err != nil {
		return f, err
	}
	for i, out := range []**Built{&f.a, &f.b} {
		src := filepath.Join(root, []string{"src-a", "src-b"}[i], "forkgate")
		if err := copySource(modRoot, src); err != nil {
			return f, err
		}
		if i == 0 {
			f.srcA = src
		}
		*out, err = Build(context.Background(), BuildOptions{
			Source: src, Version: testVersion, Out: filepath.Join(root, []string{"rel-a", "rel-b"}[i]),
			Commit: testCommit, SourceDateEpoch: testEpoch, Sign: &f.priv, Notes: "Test release notes.",
		})
		if err != nil {
			return f, err
		}
	}
	return f, nil
}

func moduleRoot() (string, error) {
	dir, err := filepath.Abs("..")
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(filepath.Join(dir, "go.mod")); err != nil {
		return "", err
	}
	return dir, nil
}

// copySource copies what a build needs (no .git, outputs or test data), so
// the two builds run from unrelated directories.
func copySource(from, to string) error {
	return filepath.WalkDir(from, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		if d.IsDir() {
			switch d.Name() {
			case ".git", "bin", "out", "testdata", "node_modules":
				if rel != "." {
					return filepath.SkipDir
				}
			}
			return os.MkdirAll(filepath.Join(to, rel), 0o755)
		}
		if !d.Type().IsRegular() || strings.HasSuffix(p, "_test.go") || d.Name() == ".git" {
			return nil
		}
		return copyFile(p, filepath.Join(to, rel))
	})
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// copyRelease copies a release directory for a test to tamper with.
func copyRelease(t *testing.T, dir string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "rel")
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if e.Type().IsRegular() {
			if err := copyFile(filepath.Join(dir, e.Name()), filepath.Join(dst, e.Name())); err != nil {
				t.Fatal(err)
			}
		}
	}
	return dst
}

// flipByte changes one byte of a file in the middle.
func flipByte(t *testing.T, path string, at int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if at < 0 {
		at = len(b) / 2
	}
	b[at] ^= 0x01
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
