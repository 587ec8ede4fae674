package verify

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/forkgate/forkgate/chain"
	"github.com/forkgate/forkgate/forkfile"
	"github.com/forkgate/forkgate/schedule"
)

// libraryDir is the test library, from this package's directory.
var libraryDir = filepath.Join("..", "testdata", "chains")

// registryFile renders chain.Registry() as a registry file, so that
// `forkgate config lint --registry testdata/chains/registry.toml` checks the
// library's configs against the reference chain's forks.
func registryFile() []byte {
	var b bytes.Buffer
	b.WriteString("# Forks of forkgate's reference chain (chain.Registry()), as a registry file for\n")
	b.WriteString("# `forkgate config lint --registry`. Generated: FORKGATE_UPDATE_REGISTRY=1 go test ./verify/ -run TestLibraryRegistry\n")
	for _, f := range chain.Registry().Forks() {
		fmt.Fprintf(&b, "\n[[fork]]\nscope = %q\nname = %q\ndefault = %s\n", f.Scope, f.Name, forkfile.FormatActivation(f.Default, f.Domain))
		fmt.Fprintf(&b, "note = %q\nrelease = %q\n", f.Note, f.Release)
		if len(f.Requires) > 0 {
			fmt.Fprintf(&b, "requires = [%s]\n", `"`+strings.Join(f.Requires, `", "`)+`"`)
		}
	}
	return b.Bytes()
}

func TestLibraryRegistry(t *testing.T) {
	path := filepath.Join(libraryDir, "registry.toml")
	want := registryFile()
	if os.Getenv("FORKGATE_UPDATE_REGISTRY") != "" {
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s is out of date with chain.Registry(): regenerate it with FORKGATE_UPDATE_REGISTRY=1 go test ./verify/ -run TestLibraryRegistry", path)
	}
	if _, err := forkfile.ReadRegistry(path, got); err != nil {
		t.Fatal(err)
	}
}

// Every library config lints clean against the chain's registry (strictly:
// every fork is set), para-beta's parent-height forks equal main's heights,
// and each chain has what the library promises.
func TestLibraryConfigsLint(t *testing.T) {
	reg, err := forkfile.LoadRegistry(filepath.Join(libraryDir, "registry.toml"))
	if err != nil {
		t.Fatal(err)
	}
	chains, err := LoadLibrary(libraryDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(chains) < 5 {
		t.Fatalf("the library holds %d chains, want at least 5", len(chains))
	}
	mainFile := loadForkFile(t, filepath.Join(libraryDir, "main", ConfigFile))
	for _, c := range chains {
		t.Run(c.Name, func(t *testing.T) {
			f := loadForkFile(t, c.ConfigPath)
			opts := forkfile.LintOptions{Registry: reg, Strict: true}
			if c.Lib.ParentStart > 0 {
				opts.Parent = mainFile
			}
			for _, fd := range forkfile.Lint(f, opts) {
				t.Errorf("%s", fd)
			}
		})
	}
}

func loadForkFile(t *testing.T, path string) *forkfile.File {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := forkfile.Read(path, b)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

var _ = schedule.KindHeight
