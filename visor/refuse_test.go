package visor

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"aead.dev/minisign"
	"github.com/forkgate/forkgate/release"
)

// The old release halts where version 2 activates and no release for it is
// stored: the supervisor stops with exit 3, naming what is missing and
// where it is expected, and a second run refuses at once (the old binary
// is not started again: never a loop).
func TestMissingReleaseStops(t *testing.T) {
	f, h := haltedHome(t)
	if h.code != ExitUpgrade || !strings.Contains(h.missing, "no stored release can run height 12 (protocol version 2 active)") ||
		!strings.Contains(h.missing, "0.1.0: implements protocol version 1, version 2 is active at height 12") ||
		!strings.Contains(h.missing, filepath.Join(h.home, "visor", "releases")) {
		t.Fatalf("exit %d:\n%s", h.code, h.missing)
	}
	home := copyHome(t, h.home)
	_, errOut, code := cli(t, f.visor, nil, append([]string{"visor", "run", home}, nodeArgs(home, 40)...)...)
	if code != ExitUpgrade || strings.Contains(errOut, "running release") {
		t.Fatalf("second run: exit %d\n%s", code, errOut)
	}
	if st := readStatusJSON(t, home); !strings.Contains(st, `"state": "refused"`) {
		t.Fatalf("status.json: %s", st)
	}
}

// A stored binary altered after it was added is refused before it runs,
// with the file named; nothing is switched.
func TestTamperedBinaryRefused(t *testing.T) {
	f, h := haltedHome(t)
	home := copyHome(t, h.home)
	mustCLI(t, f.visor, "visor", "add", home, f.rel["0.2.0"])
	bin := Layout{home}.Binary("0.2.0")
	os.Chmod(bin, 0o755)
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0x40
	if err := os.WriteFile(bin, b, 0o555); err != nil {
		t.Fatal(err)
	}
	_, errOut, code := cli(t, f.visor, nil, append([]string{"visor", "run", home}, nodeArgs(home, 40)...)...)
	if code != ExitFindings || !strings.Contains(errOut, bin) || !strings.Contains(errOut, "the binary was altered") {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	assertUnswitched(t, home, h)
}

func assertUnswitched(t *testing.T, home string, h *halted) {
	t.Helper()
	l := Layout{home}
	if cur, _ := l.CurrentVersion(); cur != "0.1.0" {
		t.Fatalf("current %s, want 0.1.0", cur)
	}
	if _, err := os.Stat(l.Journal()); err == nil {
		t.Fatal("a journal was left")
	}
	if ents, _ := os.ReadDir(l.Backups()); len(ents) > 0 {
		t.Fatalf("backups: %v", ents)
	}
	if st := nodeStatus(t, fx.visor, home); st.Height != h.height || st.StateHash != h.stateHash {
		t.Fatalf("data changed: height %d hash %s", st.Height, st.StateHash)
	}
}

// Releases that do not verify are never stored: an archive altered after
// its checksums were made, a binary of another build under a manifest that
// vouches for it (its version output disagrees), and a signature by
// another key.
func TestAddRefusesUnverifiedReleases(t *testing.T) {
	f, h := haltedHome(t)
	home := copyHome(t, h.home)
	dir := t.TempDir()

	tampered := filepath.Join(dir, "tampered")
	copyTree(t, f.rel["0.2.0"], tampered)
	archive := filepath.Join(tampered, "forkgate_0.2.0_linux_amd64.tar.gz")
	b, _ := os.ReadFile(archive)
	b[len(b)/2] ^= 1
	os.WriteFile(archive, b, 0o644)

	// The old binary, with a manifest (signed, checksummed) that describes
	// 0.2.0's build: every hash agrees, the binary's own version does not.
	wrong := filepath.Join(dir, "wrong")
	info := buildInfo(t, f.bins["0.2.0"])
	assembleAs(t, wrong, f.bins["0.1.0"], info)

	// The same files, the checksums signed by another key.
	other := filepath.Join(dir, "other-key")
	copyTree(t, f.rel["0.2.0"], other)
	sums := filepath.Join(other, release.ChecksumsName("0.2.0"))
	b, _ = os.ReadFile(sums)
	var otherPriv minisign.PrivateKey
	if err := otherPriv.UnmarshalText(bytes.TrimSpace(f.otherKey.SecretTxt)); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(release.SignatureName(sums), minisign.Sign(otherPriv, b), 0o644)
	for _, tc := range []struct{ name, src, want string }{
		{"tampered archive", tampered, "has sha256"},
		{"wrong-version binary", wrong, `the binary reports version "0.1.0"`},
		{"signed by another key", other, "not by the trusted key"},
		{"missing directory", filepath.Join(dir, "nope"), "no such file"},
	} {
		_, errOut, code := cli(t, f.visor, nil, "visor", "add", home, tc.src)
		wantCode := ExitFindings
		if tc.name == "missing directory" {
			wantCode = ExitUsage
		}
		if code != wantCode || !strings.Contains(errOut, tc.want) {
			t.Errorf("%s: exit %d, want %d with %q:\n%s", tc.name, code, wantCode, tc.want, errOut)
		}
	}
	if ents, _ := os.ReadDir(Layout{home}.Releases()); len(ents) != 1 || ents[0].Name() != "0.1.0" {
		t.Fatalf("releases stored: %v", ents)
	}
	assertUnswitched(t, home, h)
}

// A release staged from the artifact store: fetched, checked against the
// trusted key and its checksums, its binary run, then stored; an object
// altered in the store is refused and nothing is stored.
func TestAddFromStore(t *testing.T) {
	f, h := haltedHome(t)
	dir := t.TempDir()
	src := filepath.Join(dir, "rel")
	copyTree(t, f.rel["0.2.0"], src)
	store := filepath.Join(dir, "store")
	s, err := release.OpenStore("file://" + store)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := release.Publish(t.Context(), src, s, release.OpenOptions{}); err != nil {
		t.Fatal(err)
	}
	url := "file://" + store + "/0.2.0"

	// Altered in the store: refused.
	bad := copyHome(t, h.home)
	archive := filepath.Join(store, "0.2.0", "forkgate_0.2.0_linux_amd64.tar.gz")
	orig, err := os.ReadFile(archive)
	if err != nil {
		t.Fatal(err)
	}
	altered := bytes.Clone(orig)
	altered[len(altered)/3] ^= 1
	os.WriteFile(archive, altered, 0o644)
	if _, errOut, code := cli(t, f.visor, nil, "visor", "add", bad, url); code != ExitFindings || !strings.Contains(errOut, "the store's copy was altered") {
		t.Fatalf("altered store object: exit %d\n%s", code, errOut)
	}
	if _, err := os.Stat(Layout{bad}.Release("0.2.0")); err == nil {
		t.Fatal("an unverified release was stored")
	}
	os.WriteFile(archive, orig, 0o644)

	home := copyHome(t, h.home)
	out := mustCLI(t, f.visor, "visor", "add", home, url)
	if !strings.Contains(out, "added release 0.2.0 (protocol version 2") {
		t.Fatalf("add: %s", out)
	}
	if _, err := (Layout{home}).Verify(t.Context(), "0.2.0"); err != nil {
		t.Fatal(err)
	}
}
