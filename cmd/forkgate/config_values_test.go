package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const exchangeCfg = `# 2026-11-01 exchange fee recipients
Title = "user.p.ex."
[fork.system]
# block hash
ForkA = 100
# a time fork of forkgate's dialect
ForkT = { time = 1798761600 }
# follows the parent chain
ForkP = { parent = 5000 }
[fork.sub.exchange]
# on from genesis
Enable = 0
# new fee recipients
ForkFix = 200

[mver.exec.sub.exchange]
banks = ["1BankA", "1BankB"]
[mver.exec.sub.exchange.ForkFix]
banks = ["1BankA", "1BankC"]

[library]
parent_start = 4990
`

func writeCfg(t *testing.T, name, src string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestConfigListParams: a list parameter is shown with its value, a change
// to it is a diff and, once in force, a compat conflict naming it.
func TestConfigListParams(t *testing.T) {
	old := writeCfg(t, "old.toml", exchangeCfg)
	out, err := runForkgate(t, "config", "show", old, "--height", "250", "--format", "json")
	if err != nil {
		t.Fatal(err)
	}
	var rep showReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Params) != 1 || rep.Params[0].Value != `["1BankA", "1BankC"]` || rep.Params[0].Type != "list" {
		t.Errorf("params at 250: %+v", rep.Params)
	}
	out, err = runForkgate(t, "config", "show", old)
	if err != nil || !strings.Contains(out, `exec.sub.exchange.banks = ["1BankA", "1BankC"]  (from exchange.ForkFix)`) {
		t.Errorf("show without height: %v\n%s", err, out)
	}

	changed := writeCfg(t, "new.toml", strings.Replace(exchangeCfg, `"1BankC"]`, `"1BankD"]`, 1))
	out, err = runForkgate(t, "config", "diff", old, changed)
	if err != nil || !strings.Contains(out, `exec.sub.exchange.banks@exchange.ForkFix  ["1BankA", "1BankC"]  ["1BankA", "1BankD"]`) {
		t.Errorf("diff: %v\n%s", err, out)
	}
	out, err = runForkgate(t, "config", "compat", old, changed, "--head", "300")
	if exitCode(err) != 1 || !strings.Contains(out, "param exec.sub.exchange.banks at exchange.ForkFix: rewind to height 199") {
		t.Errorf("compat: exit %d\n%s", exitCode(err), out)
	}
	base := writeCfg(t, "base.toml", strings.Replace(exchangeCfg, `"1BankB"]`, `"1BankZ"]`, 1))
	out, err = runForkgate(t, "config", "compat", old, base, "--head", "10")
	if exitCode(err) != 1 || !strings.Contains(out, "resync from genesis") || strings.Contains(out, "-1") {
		t.Errorf("compat of a base value: exit %d\n%s", exitCode(err), out)
	}
}

// TestConfigShowTimeAndParentStart: --time takes dates, and a parallel
// chain's parent_start anchors its parent-height forks.
func TestConfigShowTimeAndParentStart(t *testing.T) {
	p := writeCfg(t, "ex.toml", exchangeCfg)
	active := func(args ...string) map[string]bool {
		t.Helper()
		out, err := runForkgate(t, append([]string{"config", "show", p, "--format", "json"}, args...)...)
		if err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
		var rep showReport
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatal(err)
		}
		m := map[string]bool{}
		for _, f := range rep.Forks {
			m[f.Key] = f.Active != nil && *f.Active
		}
		return m
	}
	for _, tc := range []struct {
		time string
		want bool
	}{{"1798761599", false}, {"2026-12-31T23:59:59Z", false}, {"2027-01-01", true}, {"2027-01-01T00:00:00Z", true}} {
		if got := active("--height", "1", "--time", tc.time)["system.ForkT"]; got != tc.want {
			t.Errorf("--time %s: ForkT active %v, want %v", tc.time, got, tc.want)
		}
	}
	if _, err := runForkgate(t, "config", "show", p, "--height", "1", "--time", "yesterday"); exitCode(err) != 2 {
		t.Errorf("--time yesterday: exit %d", exitCode(err))
	}
	if active("--height", "9")["system.ForkP"] || !active("--height", "10")["system.ForkP"] {
		t.Error("parent_start 4990: ForkP (parent 5000) must switch on at height 10")
	}
	if active("--height", "10", "--parent-height", "4999")["system.ForkP"] {
		t.Error("--parent-height overrides parent_start")
	}
}

// TestConfigSetDialect: a Chain33 file refuses what Chain33 cannot read.
func TestConfigSetDialect(t *testing.T) {
	p := writeCfg(t, "chain33.fork.toml", "[fork.system]\n# root hash\nForkRootHash = 100\n")
	out, err := runForkgate(t, "config", "set", p, "ForkRootHash", "{ time = 1798761600 }", "--note", "x")
	if exitCode(err) != 2 || !strings.Contains(err.Error(), "integer heights") {
		t.Errorf("exit %d: %v\n%s", exitCode(err), err, out)
	}
	if _, err := runForkgate(t, "config", "set", p, "ForkRootHash", "{ time = 1798761600 }", "--note", "x", "--dialect", "forkgate"); err != nil {
		t.Errorf("--dialect forkgate: %v", err)
	}
}

// TestConfigTwoFileLayout: a node config without fork tables needs --forks
// (exit 2 with the hint otherwise, forkid too); merged, it has the forks of
// the fork config and its own parameters bound to them; a key set in both
// files is refused, as Chain33 refuses it.
func TestConfigTwoFileLayout(t *testing.T) {
	node := writeCfg(t, "chain33.toml", "Title = \"local\"\n[mempool]\nminTxFeeRate = 100000\n[mver.mempool]\nmaxTxFee = 1000\n[mver.mempool.ForkMaxTxFeeV1]\nmaxTxFee = 5000\n")
	forks := writeCfg(t, "chain33.fork.toml", "[fork.system]\nForkMaxTxFeeV1 = 300\nForkBlockHash = 1\n[fork.sub.coins]\nEnable = 0\n")
	for _, args := range [][]string{
		{"config", "show", node},
		{"config", "lint", node},
		{"config", "diff", node, node},
		{"config", "compat", node, node, "--head", "1"},
		{"forkid", "--genesis", strings.Repeat("ab", 32), "--at", "5", "--config", node},
	} {
		_, err := runForkgate(t, args...)
		if exitCode(err) != 2 || !strings.Contains(err.Error(), "--forks") {
			t.Errorf("%v: exit %d, %v", args, exitCode(err), err)
		}
	}
	out, err := runForkgate(t, "config", "show", node, "--forks", forks, "--height", "300", "--format", "json")
	if err != nil {
		t.Fatal(err)
	}
	var rep showReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Forks) != 3 || rep.Title != "local" || len(rep.Params) != 1 || rep.Params[0].Value != "5000" || !strings.HasPrefix(rep.Forks[0].Origin, forks+":") {
		t.Errorf("merged show: %+v", rep)
	}
	if _, err := runForkgate(t, "forkid", "--genesis", strings.Repeat("ab", 32), "--at", "5", "--config", node, "--fork-config", forks); err != nil {
		t.Errorf("forkid with --fork-config: %v", err)
	}
	clash := writeCfg(t, "clash.toml", "[fork.system]\nForkBlockHash = 2\n")
	_, err = runForkgate(t, "config", "show", clash, "--forks", forks)
	if exitCode(err) != 2 || !strings.Contains(err.Error(), "rewrite defalut key") || !strings.Contains(err.Error(), forks+":3:1") {
		t.Errorf("a key in both files: exit %d, %v", exitCode(err), err)
	}
}

// TestConfigLintAdoption: rules are selected by id, a baseline accepts
// today's findings so only new ones fail, the output groups by rule, and
// the chain33 dialect names forkgate-only values.
func TestConfigLintAdoption(t *testing.T) {
	src, err := os.ReadFile("../../forkfile/testdata/chain33.para.toml")
	if err != nil {
		t.Fatal(err)
	}
	p := writeCfg(t, "para.toml", string(src))
	out, err := runForkgate(t, "config", "lint", p)
	if exitCode(err) != 1 || !strings.Contains(out, "fork-note (error): 8\n") || !strings.Contains(out, "... and 5 more") {
		t.Fatalf("grouped output: exit %d\n%s", exitCode(err), out)
	}
	if out, err := runForkgate(t, "config", "lint", p, "--disable", "fork-note,change-record"); err != nil {
		t.Errorf("--disable: %v\n%s", err, out)
	}
	if out, err := runForkgate(t, "config", "lint", p, "--enable", "change-record", "--format", "json"); exitCode(err) != 1 || !strings.Contains(out, `"errors": 1`) {
		t.Errorf("--enable: exit %d\n%s", exitCode(err), out)
	}
	if _, err := runForkgate(t, "config", "lint", p, "--disable", "fork-notes"); exitCode(err) != 2 || !strings.Contains(err.Error(), "unknown rule") {
		t.Errorf("unknown rule: %v", err)
	}
	bl := filepath.Join(t.TempDir(), "lint-baseline.json")
	if _, err := runForkgate(t, "config", "lint", p, "--write-baseline", bl); err != nil {
		t.Fatal(err)
	}
	out, err = runForkgate(t, "config", "lint", p, "--baseline", bl)
	if err != nil || !strings.Contains(out, "0 error(s), 0 warning(s), 9 accepted by the baseline") {
		t.Fatalf("with the baseline: %v\n%s", err, out)
	}
	// A new fork without a note is a new finding; the accepted ones stay
	// accepted although every line below it moved.
	edited := strings.Replace(string(src), "[fork.system]\n", "[fork.system]\nForkNewThing = 100\n", 1)
	if err := os.WriteFile(p, []byte(edited), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err = runForkgate(t, "config", "lint", p, "--baseline", bl, "--format", "json")
	var rep struct {
		Accepted int `json:"accepted"`
		Findings []struct {
			Fork string `json:"fork"`
		} `json:"findings"`
	}
	if exitCode(err) != 1 || json.Unmarshal([]byte(out), &rep) != nil || len(rep.Findings) != 1 || rep.Findings[0].Fork != "system.ForkNewThing" || rep.Accepted != 9 {
		t.Errorf("new finding over the baseline: exit %d\n%s", exitCode(err), out)
	}
	ext := writeCfg(t, "ext.toml", "# 2026-12-01 start\n[fork.system]\n# a\nA = { time = 5 }\n")
	if _, err := runForkgate(t, "config", "lint", ext); err != nil {
		t.Errorf("forkgate dialect lints clean: %v", err)
	}
	if out, err := runForkgate(t, "config", "lint", ext, "--dialect", "chain33"); exitCode(err) != 1 || !strings.Contains(out, "[dialect]") {
		t.Errorf("--dialect chain33: exit %d\n%s", exitCode(err), out)
	}
}
