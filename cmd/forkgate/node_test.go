package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/forkgate/forkgate/chain"
	"github.com/forkgate/forkgate/devnet"

	"github.com/forkgate/forkgate/node"
)

// runCLI runs forkgate and returns stdout, stderr and the exit code.
func runCLI(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	out, errOut, err := execForkgate(args...)
	if err != nil {
		errOut += err.Error()
	}
	return out, errOut, exitCode(err)
}

func mustCLI(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, code := runCLI(t, args...)
	if code != 0 {
		t.Fatalf("forkgate %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

func nodeStatusJSON(t *testing.T, home string) *node.Status {
	t.Helper()
	var st node.Status
	if err := json.Unmarshal([]byte(mustCLI(t, "node", "status", home, "--format", "json")), &st); err != nil {
		t.Fatal(err)
	}
	return &st
}

func TestNodeCLIFlow(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	mustCLI(t, "node", "init", a, "--seed", "cli", "--producers", "3")
	mustCLI(t, "node", "init", b, "--seed", "cli", "--producers", "3")
	if _, _, code := runCLI(t, "node", "init", a); code != 2 {
		t.Fatalf("re-init: exit %d", code)
	}
	// The generated config passes the linter, strictly.
	mustCLI(t, "config", "lint", filepath.Join(a, "config.toml"))

	out := mustCLI(t, "node", "run", a, "--until", "12", "--http", "off")
	if !strings.Contains(out, "height 12 hash ") {
		t.Fatalf("run output:\n%s", out)
	}
	if st := nodeStatusJSON(t, a); st.Height != 12 || len(st.Producers) != 3 {
		t.Fatalf("status: %+v", st)
	}
	// Stop at 12, continue to 25: a second invocation on the same data.
	mustCLI(t, "node", "run", a, "--blocks", "13", "--quiet")
	st := nodeStatusJSON(t, a)
	if st.Height != 25 {
		t.Fatalf("height %d after --blocks 13", st.Height)
	}
	if _, errOut, code := runCLI(t, "node", "run", a, "--until", "10"); code != 2 || !strings.Contains(errOut, "above 10") {
		t.Fatalf("--until below the head: exit %d %s", code, errOut)
	}
	text := mustCLI(t, "node", "status", a)
	for _, s := range []string{"height      25", "fork id", "forks       current", "producer 0"} {
		if !strings.Contains(text, s) {
			t.Errorf("status text lacks %q:\n%s", s, text)
		}
	}

	file := filepath.Join(dir, "a.fgb")
	mustCLI(t, "node", "export", a, file)
	_, errOut, code := runCLI(t, "node", "import", b, file, "--progress-every", "5")
	if code != 0 || !strings.Contains(errOut, "import: block 25 of 25 (100%)") {
		t.Fatalf("import: exit %d\n%s", code, errOut)
	}
	if sb := nodeStatusJSON(t, b); sb.Height != 25 || sb.StateHash != st.StateHash {
		t.Fatalf("imported %d %s, want 25 %s", sb.Height, sb.StateHash, st.StateHash)
	}

	// A tampered file: exit 1 naming the height and both hashes.
	raw, _ := os.ReadFile(file)
	c := filepath.Join(dir, "c")
	mustCLI(t, "node", "init", c, "--seed", "cli", "--producers", "3")
	bad := append([]byte(nil), raw...)
	bad[len(bad)-1] ^= 1 // the checksum
	os.WriteFile(file, bad, 0o644)
	if _, errOut, code := runCLI(t, "node", "import", c, file); code != 2 || !strings.Contains(errOut, "checksum mismatch") {
		t.Fatalf("bad checksum: exit %d %s", code, errOut)
	}

	// A past fork moved: refused with the rewind height, exit 1.
	cfg := filepath.Join(a, "config.toml")
	orig, _ := os.ReadFile(cfg)
	os.WriteFile(cfg, bytes.Replace(orig, []byte("ForkFeeToProducer = 20"), []byte("ForkFeeToProducer = 21"), 1), 0o644)
	if _, errOut, code := runCLI(t, "node", "run", a, "--blocks", "1"); code != 1 || !strings.Contains(errOut, "Rewind to height 19") {
		t.Fatalf("compat: exit %d %s", code, errOut)
	}
	os.WriteFile(cfg, orig, 0o644)
}

func TestNodeCLIHalt(t *testing.T) {
	home := filepath.Join(t.TempDir(), "h")
	mustCLI(t, "node", "init", home)
	cfg := filepath.Join(home, "config.toml")
	raw, _ := os.ReadFile(cfg)
	os.WriteFile(cfg, bytes.Replace(raw, []byte("upgrade_height = 0"), []byte("upgrade_height = 2"), 1), 0o644)
	_, errOut, code := runCLI(t, "node", "run", home, "--until", "40", "--implemented", "1", "--http", "off")
	if code != 3 || !strings.Contains(errOut, "protocol version 2 is active from height") || !strings.Contains(errOut, "v0.2.0") {
		t.Fatalf("halt: exit %d (want 3, upgrade needed)\n%s", code, errOut)
	}
	// The node recorded what it needs, durably, and status shows it.
	info, err := node.ReadUpgradeInfo(home)
	if err != nil || info == nil || info.Version != 2 || info.Release != "v0.2.0" || info.Implemented != 1 || info.StateHeight != info.Height-1 || len(info.ScheduleHash) != 64 {
		t.Fatalf("upgrade-info.json: %+v, %v", info, err)
	}
	st, _, _ := runCLI(t, "node", "status", home)
	if !strings.Contains(st, fmt.Sprintf("UPGRADE     needed: protocol version 2 from height %d", info.Height)) {
		t.Fatalf("status does not show the pending upgrade:\n%s", st)
	}
	// The upgraded binary continues from where the old one stopped.
	mustCLI(t, "node", "run", home, "--until", "40", "--http", "off", "--quiet")
}

func TestDevnetCLIOutOfTheBox(t *testing.T) {
	out, errOut, code := runCLI(t, "devnet", "--home", filepath.Join(t.TempDir(), "dn"))
	if code != 0 {
		t.Fatalf("devnet: exit %d\n%s%s", code, out, errOut)
	}
	for _, s := range []string{"status API on http://127.0.0.1:", "height    60", "v2 locked_in",
		"version 2 active from height 32; forks switched on with it: game.ForkGamePayoutV2"} {
		if !strings.Contains(out, s) {
			t.Errorf("devnet output lacks %q:\n%s", s, out)
		}
	}
	// JSON result with per-producer upgrades.
	out, errOut, code = runCLI(t, "devnet", "--format", "json", "--producers", "4", "--blocks", "45",
		"--producer-upgrade", "p1=5,p2=5,p3=5,p4=0", "--upgrade-at", "0", "--http", "off")
	if code != 0 {
		t.Fatalf("devnet json: exit %d\n%s", code, errOut)
	}
	var res devnet.Result
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	payout := int64(-1)
	for _, f := range res.SwitchedOn {
		if f.Key == chain.ForkGamePayoutV2.Key() {
			payout = f.Height
		}
	}
	if res.Height != 45 || payout != 12 {
		t.Fatalf("devnet result: %s switched on at %d, want 12: %+v", chain.ForkGamePayoutV2.Key(), payout, res)
	}
	if _, _, code := runCLI(t, "devnet", "--producer-upgrade", "p9=3", "--http", "off"); code != 2 {
		t.Fatalf("unknown producer: exit %d", code)
	}
	if _, _, code := runCLI(t, "devnet", "--producer-upgrade", "p1", "--http", "off"); code != 2 {
		t.Fatalf("malformed --producer-upgrade: exit %d", code)
	}
}

// TestNodeRunBanner: before the first block, `node run` lists every fork of
// the schedule with its activation, its height here and its state, and the
// config's warnings.
func TestNodeRunBanner(t *testing.T) {
	home := filepath.Join(t.TempDir(), "home")
	mustCLI(t, "node", "init", home)
	// Omit one fork: it runs with its default, and the banner says so.
	cfgPath := filepath.Join(home, "config.toml")
	cfg, _ := os.ReadFile(cfgPath)
	omitted := strings.Replace(string(cfg), "ForkNoSelfVote = 30\n", "", 1)
	if err := os.WriteFile(cfgPath, []byte(omitted), 0o644); err != nil {
		t.Fatal(err)
	}
	_, errOut, code := runCLI(t, "node", "run", home, "--until", "16", "--quiet", "--http", "off")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	for _, f := range chain.Registry().Forks() {
		if !strings.Contains(errOut, f.Key()) {
			t.Errorf("banner lacks fork %s", f.Key())
		}
	}
	for _, want := range []string{"executes protocol versions up to 2", "fork schedule", "game.ForkGameDrawRefund            15               15           in 15 blocks",
		"protocol version 2", "warning: ", "producers.ForkNoSelfVote is registered but not configured: it runs with the registry's default, never"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("banner lacks %q:\n%s", want, errOut)
		}
	}
}

// TestWrongParameterTypeRefused: a consensus parameter of the wrong type is
// an error with file:line at init and at start, not a silent default.
func TestWrongParameterTypeRefused(t *testing.T) {
	dir := t.TempDir()
	home := filepath.Join(dir, "home")
	mustCLI(t, "node", "init", home)
	cfgPath := filepath.Join(home, "config.toml")
	cfg, _ := os.ReadFile(cfgPath)
	bad := strings.Replace(string(cfg), "minFee = 1\n", "minFee = \"1000\"\n", 1)
	if bad == string(cfg) {
		t.Fatal("the default config has no minFee = 1 line")
	}
	line := strings.Count(bad[:strings.Index(bad, `minFee = "1000"`)], "\n") + 1
	badPath := filepath.Join(dir, "bad.toml")
	if err := os.WriteFile(badPath, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfgPath, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"node", "init", filepath.Join(dir, "new"), "--config", badPath},
		{"node", "run", home, "--until", "3"},
	} {
		_, errOut, code := runCLI(t, args...)
		want := fmt.Sprintf(":%d:", line)
		if code != exitUsage || !strings.Contains(errOut, "coins.minFee") || !strings.Contains(errOut, "integer") || !strings.Contains(errOut, want) {
			t.Errorf("forkgate %s: exit %d, %q; want exit 2 naming coins.minFee, its type and line %d", strings.Join(args, " "), code, errOut, line)
		}
	}
}
