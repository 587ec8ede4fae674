package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestFlagValuesRefused: every flag value a command cannot use is refused
// with exit 2 and a message naming the flag, before anything is written.
func TestFlagValuesRefused(t *testing.T) {
	dir := t.TempDir()
	home := filepath.Join(dir, "home")
	mustCLI(t, "node", "init", home)
	file := filepath.Join(dir, "blocks.fgb")
	fresh := func() string { return filepath.Join(t.TempDir(), "h") }
	tests := []struct {
		args []string
		want string // in the message
	}{
		{[]string{"node", "init", fresh(), "--producers", "0"}, "--producers 0"},
		{[]string{"node", "init", fresh(), "--producers", "101"}, "--producers 101"},
		{[]string{"node", "init", fresh(), "--accounts", "0"}, "--accounts 0"},
		{[]string{"node", "init", fresh(), "--genesis-time", "-5"}, "--genesis-time -5"},
		{[]string{"node", "init", fresh(), "--genesis-time", "9223372036854775807"}, "--genesis-time"},
		{[]string{"node", "init", fresh(), "--maintenance-interval", "1"}, "--maintenance-interval 1"},
		{[]string{"node", "init", fresh(), "--parent-start", "-1"}, "--parent-start -1"},
		{[]string{"node", "init", fresh(), "--chain-id", ""}, "--chain-id is empty"},
		{[]string{"node", "init", fresh(), "--seed", " "}, "--seed is empty"},
		{[]string{"node", "init", ""}, "HOME is an empty string"},
		{[]string{"node", "run", home, "--until", "-1"}, "--until -1"},
		{[]string{"node", "run", home, "--blocks", "-3"}, "--blocks -3"},
		{[]string{"node", "run", home, "--blocks", "3", "--pace", "-1s"}, "--pace -1s"},
		{[]string{"node", "run", ""}, "HOME is an empty string"},
		{[]string{"node", "export", home, file, "--from", "0"}, "--from 0"},
		{[]string{"node", "export", home, file, "--to", "-1"}, "--to -1"},
		{[]string{"node", "export", home, file, "--from", "9", "--to", "3"}, "--from 9 is above --to 3"},
		{[]string{"node", "import", home, file, "--progress-every", "0"}, "--progress-every 0"},
		{[]string{"devnet", "--producers", "0", "--http", "off"}, "--producers 0"},
		{[]string{"devnet", "--blocks", "0", "--http", "off"}, "--blocks 0"},
		{[]string{"devnet", "--upgrade-version", "0", "--http", "off"}, "--upgrade-version 0"},
		{[]string{"devnet", "--txs", "-1", "--http", "off"}, "--txs -1"},
		{[]string{"devnet", "--every", "0", "--http", "off"}, "--every 0"},
		{[]string{"devnet", "--pace", "-5ms", "--http", "off"}, "--pace -5ms"},
		{[]string{"devnet", "--workload", "bogus", "--http", "off"}, "--workload \"bogus\""},
		{[]string{"demo", "--upgrade-step", "-1"}, "--upgrade-step -1"},
		{[]string{"demo", "--upgrade-at", "0"}, "--upgrade-at 0"},
		{[]string{"demo", "--blocks", "10"}, "--blocks 10"},
		{[]string{"record", "--blocks", "-1", dir}, "--blocks -1"},
		{[]string{"verify", "--smooth-window", "-5"}, "--smooth-window -5"},
		{[]string{"verify", "--parallel", "0"}, "--parallel 0"},
		{[]string{"verify", "--heights", "0"}, "--heights"},
	}
	for _, tc := range tests {
		_, errOut, code := runCLI(t, tc.args...)
		if code != exitUsage || !strings.Contains(errOut, tc.want) {
			t.Errorf("forkgate %s: exit %d, %q; want exit 2 with %q", strings.Join(tc.args, " "), code, strings.TrimSpace(errOut), tc.want)
		}
	}
}
