package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

const mainnetGenesisHex = "d4e56740f876aef8c010b86a40d5f56745a118d0906a34e69aec8c0db1cb8fa3"

// mainnetForks is EIP-2124's mainnet schedule as go-ethereum lists it, with
// the shared heights (Spurious Dragon, Constantinople+Petersburg) repeated.
const mainnetForks = "1150000,1920000,2463000,2675000,2675000,4370000,7280000,7280000"

// runForkgate executes the CLI in-process and returns stdout and the error.
func runForkgate(t *testing.T, args ...string) (string, error) {
	t.Helper()
	out, _, err := execForkgate(args...)
	return out, err
}

// execForkgate runs the root command in-process, capturing both streams.
func execForkgate(args ...string) (stdout, stderr string, err error) {
	root := newRootCmd()
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(args)
	err = root.Execute()
	return out.String(), errOut.String(), err
}

func exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return exitUsage // run maps other errors (cobra flag errors) to 2
}

// TestForkIDCommandEIP2124 reproduces EIP-2124's published mainnet vectors
// through the CLI (values from the EIP's Test Cases section; see
// forkid/forkid_test.go for the sources).
func TestForkIDCommandEIP2124(t *testing.T) {
	cases := []struct {
		at   string
		want string
	}{
		{"0", "hash: fc64ec04\nnext: 1150000\n"},
		{"1149999", "hash: fc64ec04\nnext: 1150000\n"},
		{"1150000", "hash: 97c2c34c\nnext: 1920000\n"},
		{"1920000", "hash: 91d1f948\nnext: 2463000\n"},
		{"2463000", "hash: 7a64da13\nnext: 2675000\n"},
		{"2675000", "hash: 3edd5b10\nnext: 4370000\n"},
		{"4370000", "hash: a00bc324\nnext: 7280000\n"},
		{"7279999", "hash: a00bc324\nnext: 7280000\n"},
		{"7280000", "hash: 668db0af\nnext: 0\n"},
	}
	for _, c := range cases {
		out, err := runForkgate(t, "forkid", "--genesis", mainnetGenesisHex, "--at", c.at, "--forks", mainnetForks)
		if err != nil {
			t.Fatalf("--at %s: %v", c.at, err)
		}
		if out != c.want {
			t.Errorf("--at %s:\n got %q\nwant %q", c.at, out, c.want)
		}
	}
}

// TestForkIDCommandTimeForks: Shanghai on mainnet (hash 0xdce96c2d, from
// ethereum/execution-specs' Shanghai upgrade schedule and go-ethereum's test).
func TestForkIDCommandTimeForks(t *testing.T) {
	heights := mainnetForks + ",9069000,9200000,12244000,12965000,13773000,15050000"
	out, err := runForkgate(t, "forkid", "--genesis", "0x"+mainnetGenesisHex, "--at", "20000000",
		"--time", "1681338455", "--forks", heights, "--time-forks", "1681338455,1710338135")
	if err != nil {
		t.Fatal(err)
	}
	if want := "hash: dce96c2d\nnext: 1710338135\n"; out != want {
		t.Errorf("got %q, want %q", out, want)
	}
}

func TestForkIDCommandJSON(t *testing.T) {
	out, err := runForkgate(t, "forkid", "--format", "json", "--genesis", mainnetGenesisHex, "--at", "0", "--forks", mainnetForks)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	if len(got) != 2 || got["hash"] != "fc64ec04" || got["next"] != float64(1150000) {
		t.Errorf("json = %v, want exactly {hash: fc64ec04, next: 1150000}", got)
	}
	compact := strings.Join(strings.Fields(out), "")
	if compact != `{"hash":"fc64ec04","next":1150000}` {
		t.Errorf("json = %s", compact)
	}
}

func TestForkIDCommandNoForks(t *testing.T) {
	out, err := runForkgate(t, "forkid", "--genesis", mainnetGenesisHex, "--at", "5", "--forks", "")
	if err != nil {
		t.Fatal(err)
	}
	if want := "hash: fc64ec04\nnext: 0\n"; out != want {
		t.Errorf("got %q, want %q", out, want)
	}
}

func TestForkIDCommandUsageErrors(t *testing.T) {
	g := []string{"--genesis", mainnetGenesisHex}
	cases := []struct {
		name string
		args []string
		msg  string
	}{
		{"no genesis", []string{"--at", "1", "--forks", "1"}, "--genesis is required"},
		{"short genesis", []string{"--genesis", "d4e567", "--at", "1", "--forks", "1"}, "want 64 hex digits"},
		{"bad genesis", append([]string{"--genesis", strings.Repeat("zz", 32)}, "--at", "1", "--forks", "1"), "is not a block hash"},
		{"no at", append(g, "--forks", "1"), "--at is required"},
		{"bad at", append(g, "--at", "tip", "--forks", "1"), `--at "tip" is not a block height`},
		{"negative at", append(g, "--at", "-1", "--forks", "1"), "is not a block height"},
		{"bad time", append(g, "--at", "1", "--time", "soon", "--forks", "1"), "is not a unix time"},
		{"neither", append(g, "--at", "1"), "--forks H1,H2,... or a chain config with --config"},
		{"both", append(g, "--at", "1", "--forks", "1", "--config", "x.toml"), "mutually exclusive"},
		{"time forks with config", append(g, "--at", "1", "--config", "x.toml", "--time-forks", "5"), "--time-forks goes with --forks"},
		{"never in list", append(g, "--at", "1", "--forks", "1,-1"), "leave never-scheduled forks (-1) out"},
		{"empty entry", append(g, "--at", "1", "--forks", "1,,2"), "entry 2 is empty"},
		{"junk entry", append(g, "--at", "1", "--forks", "1,2x"), `"2x" is not a fork height`},
		{"junk time fork", append(g, "--at", "1", "--forks", "1", "--time-forks", "t"), `"t" is not a fork time`},
		{"bad format", append(g, "--format", "yaml", "--at", "1", "--forks", "1"), "--format must be text or json"},
		{"missing config", append(g, "--at", "1", "--config", filepath.Join(t.TempDir(), "missing.toml")), "--config "},
		{"positional", append(g, "--at", "1", "--forks", "1", "extra"), "unknown command"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, err := runForkgate(t, append([]string{"forkid"}, c.args...)...)
			if code := exitCode(err); code != exitUsage {
				t.Fatalf("exit code %d (err %v), want %d", code, err, exitUsage)
			}
			if !strings.Contains(err.Error(), c.msg) {
				t.Errorf("error %q does not contain %q", err, c.msg)
			}
			if out != "" {
				t.Errorf("printed %q on error", out)
			}
		})
	}
}

func TestForkIDCommandHelpDocumentsJSON(t *testing.T) {
	out, err := runForkgate(t, "forkid", "--help")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`{"hash": "fc64ec04", "next": 1150000}`, "--config", "--forks", "--time-forks", "docs/forkid.md"} {
		if !strings.Contains(out, want) {
			t.Errorf("help lacks %q", want)
		}
	}
}
