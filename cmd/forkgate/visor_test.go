package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// The supervisor's commands refuse unusable input with exit 2 and say what
// to do; the switch itself is tested in package visor with real releases.
func TestVisorCLIRefusals(t *testing.T) {
	dir := t.TempDir()
	home := filepath.Join(dir, "h")
	mustCLI(t, "node", "init", home)
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"visor", "status", home}, 2, "visor init"},
		{[]string{"visor", "run", home}, 2, "visor init"},
		{[]string{"visor", "run", home, "extra"}, 2, "then -- and the node's arguments"},
		{[]string{"visor", "init", home}, 2, "--release"},
		{[]string{"visor", "init", filepath.Join(dir, "nohome"), "--release", dir}, 2, "not a node home"},
		{[]string{"visor", "init", home, "--release", filepath.Join(dir, "missing")}, 2, "no such file"},
		{[]string{"visor", "rollback", home}, 2, "visor init"},
	} {
		_, errOut, code := runCLI(t, tc.args...)
		if code != tc.code || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, want %d with %q:\n%s", tc.args, code, tc.code, tc.want, errOut)
		}
	}
	// A failed init leaves the home as it was.
	if _, _, code := runCLI(t, "visor", "status", home); code != 2 {
		t.Fatal("a failed init left a supervisor behind")
	}
	if out := mustCLI(t, "visor", "--help"); !strings.Contains(out, "Exit codes: 0 ok, 1 a release refused") {
		t.Fatalf("help: %s", out)
	}
}
