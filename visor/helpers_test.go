package visor

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"aead.dev/minisign"
	"github.com/forkgate/forkgate/buildinfo"
	"github.com/forkgate/forkgate/release"
)

// The tests share three releases built from this tree: 0.1.0 capped at
// protocol version 1 (the old release), 0.2.0 (the new one) and 0.2.1 (the
// new one built with -tags faultinject: a state change without a fork), and
// the forkgate binary the supervisor itself runs as.

type fixture struct {
	root     string
	visor    string // a forkgate binary to run `visor` with
	rel      map[string]string
	bins     map[string]string
	key      *release.KeyPair
	priv     minisign.PrivateKey
	pub      string // file
	otherKey *release.KeyPair
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

func testReleases(t *testing.T) *fixture {
	t.Helper()
	if testing.Short() {
		t.Skip("builds forkgate releases")
	}
	fxOnce.Do(func() { fx, fxErr = buildFixture() })
	if fxErr != nil {
		t.Fatal(fxErr)
	}
	return fx
}

func buildFixture() (*fixture, error) {
	root, err := os.MkdirTemp("", "forkgate-visor-test-")
	if err != nil {
		return nil, err
	}
	f := &fixture{root: root, rel: map[string]string{}, bins: map[string]string{}}
	if f.key, err = release.GenerateKey(""); err != nil {
		return f, err
	}
	if f.otherKey, err = release.GenerateKey(""); err != nil {
		return f, err
	}
	if err := f.priv.UnmarshalText(bytes.TrimSpace(f.key.SecretTxt)); err != nil {
		return f, err
	}
	f.pub = filepath.Join(root, "release.pub")
	if err := os.WriteFile(f.pub, f.key.PublicTxt, 0o644); err != nil {
		return f, err
	}
	const bi = "github.com/forkgate/forkgate/buildinfo"
	builds := []struct {
		version, implemented, tags string
	}{{"0.1.0", "1", ""}, {"0.2.0", "", ""}, {"0.2.1", "", "faultinject"}}
	for _, b := range builds {
		bin := filepath.Join(root, "bin-"+b.version, release.Name)
		ld := fmt.Sprintf("-X %s.Version=%s -X %s.commit=test-%s", bi, b.version, bi, b.version)
		if b.implemented != "" {
			ld += fmt.Sprintf(" -X %s.implemented=%s", bi, b.implemented)
		}
		args := []string{"build", "-ldflags", ld, "-o", bin}
		if b.tags != "" {
			args = append(args, "-tags", b.tags)
		}
		cmd := exec.Command("go", append(args, "../cmd/forkgate")...)
		if out, err := cmd.CombinedOutput(); err != nil {
			return f, fmt.Errorf("go build %s: %v\n%s", b.version, err, out)
		}
		f.bins[b.version] = bin
		dir := filepath.Join(root, "rel-"+b.version)
		if err := assemble(dir, bin, &f.priv); err != nil {
			return f, err
		}
		f.rel[b.version] = dir
	}
	f.visor = f.bins["0.2.0"]
	return f, nil
}

// assemble makes a signed release directory around a built binary.
func assemble(dir, bin string, key *minisign.PrivateKey) error {
	info, err := release.BinaryInfo(context.Background(), bin)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	m := &release.Manifest{Format: release.ManifestFormat, Name: release.Name, Version: info.Version, Build: info,
		Classification: release.Classification{Kind: release.KindLarge, Reasons: []string{"test"}},
		Reproduce:      release.Reproduce{SourceDateEpoch: 1767225600}}
	_, err = release.Assemble(dir, m, bin, key)
	return err
}

// cli runs a forkgate binary and returns stdout, stderr and the exit code.
func cli(t *testing.T, bin string, env []string, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	return out.String(), errb.String(), exitCode(err)
}

func mustCLI(t *testing.T, bin string, args ...string) string {
	t.Helper()
	out, errOut, code := cli(t, bin, nil, args...)
	if code != 0 {
		t.Fatalf("%s %s: exit %d\n%s%s", filepath.Base(bin), strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// upgradeHome is a node home whose producers signal version 2 from height
// 2, so version 2 activates early in the chain; with `withVisor` it runs
// under a supervisor with release 0.1.0 current and 0.2.0 added.
func upgradeHome(t *testing.T, f *fixture, dir string) string {
	t.Helper()
	home := filepath.Join(dir, "home")
	mustCLI(t, f.visor, "node", "init", home)
	cfg := filepath.Join(home, "config.toml")
	raw, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	patched := bytes.Replace(raw, []byte("upgrade_height = 0"), []byte("upgrade_height = 2"), 1)
	if bytes.Equal(patched, raw) {
		t.Fatal("the default config has no upgrade_height = 0 to patch")
	}
	if err := os.WriteFile(cfg, patched, 0o644); err != nil {
		t.Fatal(err)
	}
	return home
}

// nodeArgs run the solo node until height 40, fast, without a status API
// port (the supervisor reads the block lines).
func nodeArgs(home string, until int) []string {
	return []string{"--", "node", "run", home, "--until", fmt.Sprint(until), "--http", "off"}
}

func readStatusJSON(t *testing.T, home string) string {
	t.Helper()
	b, _ := os.ReadFile(filepath.Join(home, "visor", "status.json"))
	return string(b)
}

// halted is a supervised home (0.1.0 current, nothing else stored) whose
// node stopped where version 2 activates, and the state hash an
// uninterrupted 0.2.0 run reaches at height 40.
type halted struct {
	home      string
	height    int64
	stateHash string // at height
	ref40     string
	missing   string // what visor run said
	code      int
}

var (
	haltOnce sync.Once
	halt     *halted
)

func haltedHome(t *testing.T) (*fixture, *halted) {
	t.Helper()
	f := testReleases(t)
	haltOnce.Do(func() {
		dir := filepath.Join(f.root, "halted")
		h := &halted{home: upgradeHome(t, f, dir)}
		mustCLI(t, f.visor, "visor", "init", h.home, "--release", f.rel["0.1.0"], "--pubkey", f.pub)
		_, h.missing, h.code = cli(t, f.visor, nil, append([]string{"visor", "run", h.home}, nodeArgs(h.home, 40)...)...)
		st := nodeStatus(t, f.visor, h.home)
		h.height, h.stateHash = st.Height, st.StateHash
		ref := upgradeHome(t, f, filepath.Join(dir, "ref"))
		mustCLI(t, f.bins["0.2.0"], "node", "run", ref, "--until", "40", "--http", "off", "--quiet")
		h.ref40 = nodeStatus(t, f.visor, ref).StateHash
		halt = h
	})
	if halt == nil {
		t.Fatal("preparing the halted home failed in an earlier test")
	}
	return f, halt
}

// copyHome copies the halted home for one test.
func copyHome(t *testing.T, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "home")
	if out, err := exec.Command("cp", "-a", src, dst).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v %s", err, out)
	}
	return dst
}

func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	if out, err := exec.Command("cp", "-a", src, dst).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v %s", err, out)
	}
}

func buildInfo(t *testing.T, bin string) buildinfo.Info {
	t.Helper()
	info, err := release.BinaryInfo(context.Background(), bin)
	if err != nil {
		t.Fatal(err)
	}
	return info
}

// assembleAs makes a signed release of bin whose manifest claims info.
func assembleAs(t *testing.T, dir, bin string, info buildinfo.Info) {
	t.Helper()
	os.MkdirAll(dir, 0o755)
	m := &release.Manifest{Format: release.ManifestFormat, Name: release.Name, Version: info.Version, Build: info,
		Classification: release.Classification{Kind: release.KindLarge, Reasons: []string{"test"}},
		Reproduce:      release.Reproduce{SourceDateEpoch: 1767225600}}
	if _, err := release.Assemble(dir, m, bin, &fx.priv); err != nil {
		t.Fatal(err)
	}
}

// Releases exposes the shared releases to the external test package
// (visor_test, which imports network, which imports visor).
type Releases struct {
	Visor string            // the supervising forkgate
	Pub   string            // the trusted key file
	Dirs  map[string]string // version -> release directory
	Bins  map[string]string // version -> binary
}

func SharedReleases(t *testing.T) Releases {
	f := testReleases(t)
	return Releases{Visor: f.visor, Pub: f.pub, Dirs: f.rel, Bins: f.bins}
}

var (
	withMu   sync.Mutex
	withHome = map[string]string{}
)

// haltedWith is the halted home with one more release added, made once and
// copied by each caller.
func haltedWith(t *testing.T, version string) string {
	t.Helper()
	f, h := haltedHome(t)
	withMu.Lock()
	defer withMu.Unlock()
	if p, ok := withHome[version]; ok {
		return copyHome(t, p)
	}
	p := filepath.Join(f.root, "halted-with-"+version)
	copyTree(t, h.home, p)
	mustCLI(t, f.visor, "visor", "add", p, f.rel[version])
	withHome[version] = p
	return copyHome(t, p)
}
