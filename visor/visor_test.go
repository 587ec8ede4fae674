package visor

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/forkgate/forkgate/nodestatus"
)

func nodeStatus(t *testing.T, bin, home string) nodestatus.Status {
	t.Helper()
	var st nodestatus.Status
	if err := json.Unmarshal([]byte(mustCLI(t, bin, "node", "status", home, "--format", "json")), &st); err != nil {
		t.Fatal(err)
	}
	return st
}

// A solo node on the old release halts where version 2 activates; the
// supervisor checkpoints, switches to 0.2.0, which passes the gate
// (including the replay) and carries on: the final state equals an
// uninterrupted run of the new release.
func TestSoloSwitchAtActivation(t *testing.T) {
	f := testReleases(t)
	dir := t.TempDir()
	home := upgradeHome(t, f, dir)
	mustCLI(t, f.visor, "visor", "init", home, "--release", f.rel["0.1.0"], "--pubkey", f.pub)
	mustCLI(t, f.visor, "visor", "add", home, f.rel["0.2.0"])

	out, errOut, code := cli(t, f.visor, nil, append([]string{"visor", "run", home}, nodeArgs(home, 40)...)...)
	if code != 0 {
		t.Fatalf("visor run: exit %d\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(errOut, "switched 0.1.0 -> 0.2.0 at height") || !strings.Contains(out, "height 40 ") {
		t.Fatalf("no switch:\n%s\n%s", out, errOut)
	}
	t.Logf("%s", errOut)

	ref := upgradeHome(t, f, filepath.Join(dir, "ref"))
	mustCLI(t, f.bins["0.2.0"], "node", "run", ref, "--until", "40", "--http", "off", "--quiet")
	got, want := nodeStatus(t, f.visor, home), nodeStatus(t, f.visor, ref)
	if got.Height != 40 || got.StateHash != want.StateHash {
		t.Fatalf("supervised: height %d hash %s; uninterrupted new release: height %d hash %s", got.Height, got.StateHash, want.Height, want.StateHash)
	}
	v := got.Visor
	if v == nil || v.Current != "0.2.0" || v.LastSwitch == nil || v.LastSwitch.Result != "passed" || v.LastSwitch.DowntimeMS <= 0 {
		t.Fatalf("node status visor object: %+v", v)
	}
	var act int64
	for _, vi := range got.Versions {
		if vi.Version == 2 {
			act = vi.ActivationHeight
		}
	}
	if v.LastSwitch.Height != act || act <= 1 {
		t.Fatalf("switched at %d, version 2 activated at %d", v.LastSwitch.Height, act)
	}
}

// A data directory restored from a snapshot taken past the activation, with
// the supervisor still on the old release: the old binary is never started;
// the supervisor picks 0.2.0 at once (through a checkpointed, gated switch)
// and the node goes on with the uninterrupted hashes.
func TestSnapshotRestoredPastTheUpgrade(t *testing.T) {
	f, h := haltedHome(t)
	home := haltedWith(t, "0.2.0")
	// The snapshot: the same chain run to 30 by the new release.
	snap := upgradeHome(t, f, t.TempDir())
	mustCLI(t, f.bins["0.2.0"], "node", "run", snap, "--until", "30", "--http", "off", "--quiet")
	data := filepath.Join(home, "data")
	if err := os.RemoveAll(data); err != nil {
		t.Fatal(err)
	}
	copyTree(t, filepath.Join(snap, "data"), data)

	_, errOut, code := cli(t, f.visor, nil, append([]string{"visor", "run", home}, nodeArgs(home, 40)...)...)
	if code != 0 || strings.Contains(errOut, "running release 0.1.0") || !strings.Contains(errOut, "switched 0.1.0 -> 0.2.0 at height 31") {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	if st := nodeStatus(t, f.visor, home); st.Height != 40 || st.StateHash != h.ref40 {
		t.Fatalf("height %d hash %s, want 40 %s", st.Height, st.StateHash, h.ref40)
	}
}
