package main

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/forkgate/forkgate/verify"
	"github.com/vbauerster/mpb/v8"
)

var testLibrary = filepath.Join("..", "..", "testdata", "chains")

// The short version CI always runs: the whole library passes with this
// build, and the JSON report follows the documented schema.
func TestVerifyCLILibrary(t *testing.T) {
	dir := t.TempDir()
	md := filepath.Join(dir, "report.md")
	out, errOut, code := runCLI(t, "verify", "--library", testLibrary, "--format", "json", "--report", md, "--quiet")
	if code != 0 {
		t.Fatalf("verify: exit %d\n%s%s", code, out, errOut)
	}
	var rep verify.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Format != verify.ReportFormat || rep.Result != "ok" || rep.ExitCode != 0 || len(rep.Chains) < 5 {
		t.Fatalf("report: %+v", rep)
	}
	for _, c := range rep.Chains {
		for _, s := range c.Scenarios {
			if s.Result != "ok" || s.Compared == 0 || s.Seconds <= 0 && s.Scenario != verify.PastForks {
				t.Errorf("%s %s: %+v", c.Name, s.Scenario, s)
			}
		}
	}
	b, err := os.ReadFile(md)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| chain | scenario | heights covered | hashes compared | time | result |", "| main | smooth-upgrade@12 | old 1..12, new 13..24 | 24 |", "| main | smooth-upgrade@24 | old 1..24, new 25..45 | 40 |", "| para-beta | past-forks |"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("markdown report lacks %q:\n%s", want, b)
		}
	}
	if strings.Contains(errOut, "blocks") {
		t.Errorf("progress bars on a non-terminal stderr:\n%s", errOut)
	}
}

func TestVerifyCLIUsageErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.gz")
	os.WriteFile(bad, []byte{0x1f, 0x8b, 1, 2, 3}, 0o644)
	main := filepath.Join(testLibrary, "main")
	for _, args := range [][]string{
		{"verify", "--format", "xml", main},
		{"verify", "--heights", "x", main},
		{"verify", "--heights", "99", main},
		{"verify", "--parallel", "0", main},
		{"verify", "--old", filepath.Join(dir, "missing"), main},
		{"verify", "--new", filepath.Join(dir, "missing"), main},
		{"verify", "--old", bad, main},
		{"verify", dir},
		{"verify", "--library", dir},
		{"record", dir},
		{"record", filepath.Join(testLibrary, "main"), "--format", "json"},
	} {
		_, errOut, code := runCLI(t, args...)
		if code != 2 || errOut == "" {
			t.Errorf("%s: exit %d, want 2 with a message (%s)", strings.Join(args, " "), code, errOut)
		}
	}
}

// record writes a fixture that verify then accepts as the old release.
func TestRecordCLI(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "f.gz")
	stdout := mustCLI(t, "record", filepath.Join(testLibrary, "all-zero"), "--blocks", "8", "--out", out, "--quiet")
	if !strings.Contains(stdout, "recorded all-zero: heights 1..8") {
		t.Fatalf("record: %s", stdout)
	}
	f, err := verify.ReadFixture(out)
	if err != nil || f.Header.To != 8 || f.Header.Format != verify.FixtureFormat {
		t.Fatalf("fixture: %+v, %v", f, err)
	}
	text := mustCLI(t, "verify", filepath.Join(testLibrary, "all-zero"), "--old", out, "--heights", "3,8", "--quiet")
	if !strings.Contains(text, "smooth-upgrade@8") || !strings.Contains(text, "verify: OK") {
		t.Fatalf("verify --old FIXTURE:\n%s", text)
	}
}

// buildForkgate builds this command, with tags, into dir.
func buildForkgate(t *testing.T, dir, name string, tags ...string) string {
	t.Helper()
	bin := filepath.Join(dir, name)
	args := []string{"build", "-o", bin}
	if len(tags) > 0 {
		args = append(args, "-tags", strings.Join(tags, ","))
	}
	cmd := exec.Command("go", append(args, ".")...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %v: %v\n%s", tags, err, out)
	}
	return bin
}

// Two builds through the node CLI: a fault-injection binary (an ungated
// change) fails with the diagnosis; a normal binary passes, both as the
// new release and as the old one.
func TestVerifyCLIBinaries(t *testing.T) {
	if testing.Short() {
		t.Skip("builds two binaries")
	}
	dir := t.TempDir()
	fault := buildForkgate(t, dir, "forkgate-fault", "faultinject")
	normal := buildForkgate(t, dir, "forkgate")
	chainDir := filepath.Join(testLibrary, "all-zero")

	out, errOut, code := runCLI(t, "verify", chainDir, "--new", fault, "--quiet")
	if code != 1 {
		t.Fatalf("verify --new forkgate-fault: exit %d, want 1\n%s%s", code, out, errOut)
	}
	for _, want := range []string{"MISMATCH new-upgrade", "first divergent height", "diverging transaction", "coins.transfer", "acct/0x", "balance", "forks active at", "register a new fork"} {
		if !strings.Contains(out, want) {
			t.Errorf("diagnosis lacks %q:\n%s", want, out)
		}
	}
	out, errOut, code = runCLI(t, "verify", chainDir, "--new", normal, "--old", normal, "--quiet", "--heights", "6,12")
	if code != 0 {
		t.Fatalf("verify --old forkgate --new forkgate: exit %d\n%s%s", code, out, errOut)
	}
	if !strings.Contains(out, "OK       results") {
		t.Errorf("the new binary's results were not compared (verify-replay):\n%s", out)
	}
	twoBuilds(t, dir, normal)
}

// twoBuilds drives two builds from "different tags" against each other: the
// newer (-tags forkgate_newfork) declares coins.ForkMinFeeV3, which the main
// chain's config (a copy) schedules at 46, beyond the recorded range and
// inside the fresh blocks. The older build drives the newer one (its
// registry comes from the newer: `version --format json`), the newer drives
// the older as the old release, and the newer verifies the chain without a
// new recording. Before, the older build exited 2 ("not in the registry").
func twoBuilds(t *testing.T, dir, older string) {
	newer := buildForkgate(t, dir, "forkgate-newfork", "forkgate_newfork")
	chainDir := filepath.Join(dir, "main")
	os.MkdirAll(chainDir, 0o755)
	src := filepath.Join(testLibrary, "main")
	cfg, _ := os.ReadFile(filepath.Join(src, "config.toml"))
	edited := strings.Replace(string(cfg), "ForkMinFeeV2 = 24\n", "ForkMinFeeV2 = 24\n# Take the minimum fee from [mver.coins.ForkMinFeeV3] minFee.\nForkMinFeeV3 = 46\n", 1) +
		"\n[mver.coins.ForkMinFeeV3]\nminFee = 3\n"
	os.WriteFile(filepath.Join(chainDir, "config.toml"), []byte(edited), 0o644)
	fx, _ := os.ReadFile(filepath.Join(src, "fixture.gz"))
	os.WriteFile(filepath.Join(chainDir, "fixture.gz"), fx, 0o644)
	run := func(name string, args ...string) string {
		t.Helper()
		cmd := exec.Command(args[0], args[1:]...)
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if name != "" && code != 0 {
			t.Fatalf("%s: exit %d\n%s", name, code, out)
		}
		return string(out)
	}
	out := run("older drives newer", older, "verify", chainDir, "--new", newer, "--heights", "24", "--quiet")
	if !strings.Contains(out, "fresh blocks to 47") || !strings.Contains(out, "OK       past-forks") {
		t.Errorf("the fresh blocks did not cross ForkMinFeeV3 at 46:\n%s", out)
	}
	run("newer drives older", newer, "verify", chainDir, "--old", older, "--heights", "24", "--quiet")
	run("newer, no new recording", newer, "verify", chainDir, "--heights", "24", "--quiet")
	if out := run("", older, "verify", chainDir, "--heights", "24", "--quiet"); !strings.Contains(out, "ForkMinFeeV3 is not in the registry") {
		t.Errorf("the older build judged the newer build's fork by itself:\n%s", out)
	}
}

// The progress bars render, finish and never block, also with a failed or
// empty run; without a terminal there are none.
func TestVerifyProgressBars(t *testing.T) {
	if newBars(&strings.Builder{}, false) != nil || newBars(os.Stderr, true) != nil {
		t.Fatal("bars without a terminal or with --quiet")
	}
	var buf strings.Builder
	b := &bars{p: mpb.New(mpb.WithOutput(&lockedWriter{w: &buf}), mpb.WithWidth(32)), bars: map[string]*mpb.Bar{}}
	b.Start("main", 10)
	b.Start("future", 5)
	b.Add("main", 10)
	b.Add("future", 2)
	b.Add("unknown", 1)
	b.Finish("main", false)
	b.Finish("future", true)
	b.Wait() // returns: every bar is finished or aborted
	empty := &bars{p: mpb.New(mpb.WithOutput(&lockedWriter{w: &strings.Builder{}})), bars: map[string]*mpb.Bar{}}
	empty.Wait()
}

type lockedWriter struct {
	mu sync.Mutex
	w  *strings.Builder
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// A crafted fixture that claims four billion heights (203 bytes) and a gzip
// bomb (1 MB that decompresses to 1 GB) are unusable input: exit 2 with a
// message, in bounded memory. Before the bounds the first died with
// "runtime: out of memory" and the second took 2.7 GB.
func TestVerifyCLIRefusesCraftedFixtures(t *testing.T) {
	dir := t.TempDir()
	gz := func(name string, parts ...[]byte) string {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		for _, p := range parts {
			zw.Write(p)
		}
		zw.Close()
		p := filepath.Join(dir, name)
		os.WriteFile(p, buf.Bytes(), 0o644)
		return p
	}
	plain := []byte("forkgate-fixture {\"format\":1,\"from\":1,\"to\":4294967295}\n\x00\x00\x00\x00\x00\x00\x00\x00\xff\xff\xff\xff")
	sum := sha256.Sum256(plain)
	crafted := gz("crafted.gz", plain, sum[:])
	bomb := gz("bomb.gz", []byte("forkgate-fixture {\"format\":1,\"from\":1,\"to\":1}\n"), make([]byte, 80<<20))
	for file, want := range map[string]string{crafted: "at most", bomb: "decompresses to more than"} {
		_, errOut, code := runCLI(t, "verify", filepath.Join(testLibrary, "main"), "--old", file, "--quiet")
		if code != 2 || !strings.Contains(errOut, want) {
			t.Errorf("verify --old %s: exit %d, want 2 with %q:\n%s", filepath.Base(file), code, want, errOut)
		}
	}
}
