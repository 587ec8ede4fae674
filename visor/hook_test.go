package visor

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The pre-upgrade hook: exit 31 retries (bounded), 0 continues; 30 aborts
// with nothing changed.
func TestPreUpgradeHook(t *testing.T) {
	f, h := haltedHome(t)
	dir := t.TempDir()
	count := filepath.Join(dir, "count")
	// Fails with 31 until it ran three times, then continues; records its
	// arguments.
	retry := filepath.Join(dir, "retry.sh")
	os.WriteFile(retry, []byte("#!/bin/sh\necho \"$@\" >> "+count+"\n[ $(wc -l < "+count+") -ge 3 ] && exit 0\nexit 31\n"), 0o755)
	abort := filepath.Join(dir, "abort.sh")
	os.WriteFile(abort, []byte("#!/bin/sh\nexit 30\n"), 0o755)

	home := haltedWith(t, "0.2.0")
	_, errOut, code := cli(t, f.visor, nil, append([]string{"visor", "run", home, "--pre-upgrade", abort}, nodeArgs(home, 40)...)...)
	if code != ExitFindings || !strings.Contains(errOut, "exited 30") {
		t.Fatalf("abort: exit %d\n%s", code, errOut)
	}
	assertUnswitched(t, home, h)

	_, errOut, code = cli(t, f.visor, nil, append([]string{"visor", "run", home, "--pre-upgrade", retry, "--hook-retries", "1"}, nodeArgs(home, 40)...)...)
	if code != ExitFindings || !strings.Contains(errOut, "asked to retry 2 times") {
		t.Fatalf("retries exhausted: exit %d\n%s", code, errOut)
	}
	assertUnswitched(t, home, h)

	os.Remove(count)
	out, errOut, code := cli(t, f.visor, nil, append([]string{"visor", "run", home, "--pre-upgrade", retry}, nodeArgs(home, 40)...)...)
	if code != 0 || !strings.Contains(errOut, "switched 0.1.0 -> 0.2.0") {
		t.Fatalf("retry then continue: exit %d\n%s\n%s", code, out, errOut)
	}
	if b, _ := os.ReadFile(count); string(b) != strings.Repeat("0.2.0 12\n", 3) {
		t.Fatalf("hook calls: %q", b)
	}

	// The operator rolls the switch back: the data as it was at the halt,
	// the old release current, the new one marked.
	out = mustCLI(t, f.visor, "visor", "rollback", home)
	if !strings.Contains(out, "rolled back 0.2.0 -> 0.1.0") {
		t.Fatalf("rollback: %s", out)
	}
	if st := nodeStatus(t, f.visor, home); st.Height != h.height || st.StateHash != h.stateHash || st.Visor.Current != "0.1.0" {
		t.Fatalf("after the rollback: height %d hash %s on %s", st.Height, st.StateHash, st.Visor.Current)
	}
	if out := mustCLI(t, f.visor, "visor", "status", home); !strings.Contains(out, "0.2.0") || !strings.Contains(out, "FAILED ITS GATE: rolled back by the operator") {
		t.Fatalf("status: %s", out)
	}
}
