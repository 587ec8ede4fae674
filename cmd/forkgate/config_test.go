package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestConfigLintExitCodes(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
		has  string
	}{
		{"examples clean", []string{"config", "lint", "--registry", "../../examples/registry/sample-chain.toml", "--parent", "../../examples/chains/main.toml",
			"../../examples/chains/main.toml", "../../examples/chains/para-a.toml", "../../examples/chains/para-b.toml"}, 0, "0 error(s)"},
		{"chain33 file has findings", []string{"config", "lint", "../../forkfile/testdata/chain33.para.toml"}, 1, "chain33.para.toml:14:1: error: fork system.ForkTicketFundAddrV1 has no comment"},
		{"duplicate key", []string{"config", "lint", "../../forkfile/testdata/malformed_dup.toml"}, 2, "malformed_dup.toml:6:1"},
		{"string height", []string{"config", "lint", "../../forkfile/testdata/malformed_str.toml"}, 2, "malformed_str.toml:4:9"},
		{"height below -1", []string{"config", "lint", "../../forkfile/testdata/malformed_neg.toml"}, 2, "malformed_neg.toml:7:9"},
		{"missing file", []string{"config", "lint", "nope.toml"}, 2, "check the path"},
		{"bad format flag", []string{"config", "lint", "--format", "xml", "../../examples/chains/main.toml"}, 2, "text or json"},
		{"strict registry", []string{"config", "lint", "--strict", "--registry", "../../examples/registry/sample-chain.toml", "../../examples/chains/para-a.toml"}, 1, "missing-fork"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := runForkgate(t, tc.args...)
			if got := exitCode(err); got != tc.code {
				t.Fatalf("exit %d, want %d\n%s%v", got, tc.code, out, err)
			}
			text := out
			if err != nil {
				text += err.Error()
			}
			if !strings.Contains(text, tc.has) {
				t.Errorf("output lacks %q:\n%s", tc.has, text)
			}
		})
	}
}

func TestConfigLintJSON(t *testing.T) {
	out, err := runForkgate(t, "config", "lint", "--format", "json", "../../forkfile/testdata/chain33.para.toml")
	if exitCode(err) != 1 {
		t.Fatalf("exit %d", exitCode(err))
	}
	var rep struct {
		Errors   int `json:"errors"`
		Findings []struct {
			Severity string `json:"severity"`
			Rule     string `json:"rule"`
			Origin   string `json:"origin"`
		} `json:"findings"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if rep.Errors != 9 || rep.Findings[0].Rule != "change-record" || rep.Findings[0].Severity != "error" {
		t.Errorf("report: %+v", rep)
	}
}

func TestConfigShow(t *testing.T) {
	out, err := runForkgate(t, "config", "show", "../../examples/chains/main.toml", "--height", "119999", "--format", "json")
	if err != nil {
		t.Fatal(err)
	}
	var rep showReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	active := map[string]bool{}
	for _, f := range rep.Forks {
		active[f.Key] = f.Active != nil && *f.Active
	}
	if !active["token.ForkTokenSymbolWithNumber"] || active["system.ForkMaxTxFeeV1"] || active["game.ForkGamePayoutV2"] {
		t.Errorf("active set wrong: %v", active)
	}
	if len(rep.Params) != 1 || rep.Params[0].Value != "1000000" {
		t.Errorf("params at 119999: %+v", rep.Params)
	}
	out, err = runForkgate(t, "config", "show", "../../examples/chains/main.toml", "--height", "120000")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "mempool.maxTxFee = 5000000") || !strings.Contains(out, "system.ForkMaxTxFeeV1") {
		t.Errorf("text show:\n%s", out)
	}
}

func TestConfigDiffAndSet(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "main.toml")
	src, _ := os.ReadFile("../../examples/chains/main.toml")
	if err := os.WriteFile(path, src, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := runForkgate(t, "config", "set", path, "token.ForkTokenSymbolWithNumber", "150000", "--note", "network agreed on 150000", "--date", "2026-11-21"); err != nil {
		t.Fatal(err)
	}
	edited, _ := os.ReadFile(path)
	// Exactly two lines added (record and note) and one line changed.
	oldLines, newLines := strings.Split(string(src), "\n"), strings.Split(string(edited), "\n")
	if len(newLines)-len(oldLines) != 2 {
		t.Errorf("line count %d -> %d", len(oldLines), len(newLines))
	}
	out, err := runForkgate(t, "config", "diff", "../../examples/chains/main.toml", path, "--format", "json")
	if err != nil {
		t.Fatal(err)
	}
	var rep diffReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Changes) != 1 || rep.Changes[0].Name != "token.ForkTokenSymbolWithNumber" || rep.Changes[0].Old != "100000" || rep.Changes[0].New != "150000" {
		t.Errorf("diff: %+v", rep.Changes)
	}
	if !strings.Contains(rep.Changes[0].Note, "network agreed on 150000") {
		t.Errorf("diff note: %q", rep.Changes[0].Note)
	}
	// The edited file still lints clean.
	if _, err := runForkgate(t, "config", "lint", path); err != nil {
		t.Errorf("edited file lint: %v", err)
	}
	// A set without a note is refused and changes nothing.
	before, _ := os.ReadFile(path)
	if _, err := runForkgate(t, "config", "set", path, "ForkTxHeight", "5"); exitCode(err) != 2 {
		t.Errorf("set without note: exit %d", exitCode(err))
	}
	after, _ := os.ReadFile(path)
	if string(before) != string(after) {
		t.Error("a refused set changed the file")
	}
}

func TestConfigFmtCheck(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "c.toml")
	if err := os.WriteFile(path, []byte("# 2026-01-01 x\n[fork.system]\n# n\nA=1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := runForkgate(t, "config", "fmt", "--check", path); exitCode(err) != 1 {
		t.Fatalf("non-canonical file: exit %d", exitCode(err))
	}
	if _, err := runForkgate(t, "config", "fmt", path); err != nil {
		t.Fatal(err)
	}
	if _, err := runForkgate(t, "config", "fmt", "--check", path); err != nil {
		t.Errorf("after fmt: %v", err)
	}
}

func TestForkIDFromConfig(t *testing.T) {
	genesis := strings.Repeat("00", 32)
	byConfig, err := runForkgate(t, "forkid", "--genesis", genesis, "--at", "100000", "--config", "../../examples/chains/main.toml")
	if err != nil {
		t.Fatal(err)
	}
	// main.toml: own-height forks 1, 100000, 120000 (0 and -1 drop out) and
	// one time fork; the version fork has no known point.
	byList, err := runForkgate(t, "forkid", "--genesis", genesis, "--at", "100000", "--forks", "1,100000,120000", "--time-forks", "1798761600")
	if err != nil {
		t.Fatal(err)
	}
	if byConfig != byList || !strings.Contains(byConfig, "next: 120000") {
		t.Errorf("config %q vs list %q", byConfig, byList)
	}
}

func TestConfigCompat(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "new.toml")
	src, _ := os.ReadFile("../../examples/chains/main.toml")
	if err := os.WriteFile(path, src, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := runForkgate(t, "config", "set", path, "token.ForkTokenSymbolWithNumber", "90000", "--note", "earlier"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		head   string
		code   int
		rewind string
	}{
		{"50000", 0, ""},       // both heights in the future
		{"89999", 0, ""},       // one below the new height
		{"90000", 1, "89999"},  // the new height is reached
		{"150000", 1, "89999"}, // both passed: the earlier one wins
	}
	for _, tc := range tests {
		out, err := runForkgate(t, "config", "compat", "../../examples/chains/main.toml", path, "--head", tc.head, "--format", "json")
		if exitCode(err) != tc.code {
			t.Fatalf("head %s: exit %d, want %d\n%s", tc.head, exitCode(err), tc.code, out)
		}
		var rep compatReport
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatal(err)
		}
		if tc.rewind != "" && (rep.RewindTo == nil || strings.TrimSpace(out) == "" || !strings.Contains(out, `"rewind_to": `+tc.rewind)) {
			t.Errorf("head %s: %s", tc.head, out)
		}
	}
	if _, err := runForkgate(t, "config", "compat", "../../examples/chains/main.toml", path); exitCode(err) != 2 {
		t.Error("missing --head must be exit 2")
	}
}
