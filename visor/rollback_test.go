package visor

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// 0.2.1 is built with -tags faultinject: a state change without a fork.
// It starts and produces blocks, but replaying the recorded chain with it
// gives other state hashes, so the gate fails: the supervisor rolls back to
// the checkpoint and 0.1.0 (exit 1), keeps the failed data, marks 0.2.1 so
// the next run does not pick it (exit 3: no usable release), and once a
// good release is added the switch succeeds with the uninterrupted hash.
func TestFaultInjectedReleaseRolledBack(t *testing.T) {
	f, h := haltedHome(t)
	home := copyHome(t, h.home)
	mustCLI(t, f.visor, "visor", "add", home, f.rel["0.2.1"])
	_, errOut, code := cli(t, f.visor, nil, append([]string{"visor", "run", home}, nodeArgs(home, 40)...)...)
	if code != ExitFindings || !strings.Contains(errOut, "does not reproduce the recorded chain") ||
		!strings.Contains(errOut, "was rolled back") {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	assertRolledBack(t, home, h)

	_, errOut, code = cli(t, f.visor, nil, append([]string{"visor", "run", home}, nodeArgs(home, 40)...)...)
	if code != ExitUpgrade || !strings.Contains(errOut, "0.2.1: failed its health gate") || strings.Contains(errOut, "running release") {
		t.Fatalf("run after the rollback: exit %d\n%s", code, errOut)
	}
	mustCLI(t, f.visor, "visor", "add", home, f.rel["0.2.0"])
	mustCLI(t, f.visor, append([]string{"visor", "run", home}, nodeArgs(home, 40)...)...)
	if st := nodeStatus(t, f.visor, home); st.Height != 40 || st.StateHash != h.ref40 {
		t.Fatalf("after the good release: height %d hash %s, want 40 %s", st.Height, st.StateHash, h.ref40)
	}
}

func assertRolledBack(t *testing.T, home string, h *halted) {
	t.Helper()
	l := Layout{home}
	if cur, _ := l.CurrentVersion(); cur != "0.1.0" {
		t.Fatalf("current %s after the rollback", cur)
	}
	if _, err := os.Stat(l.Journal()); err == nil {
		t.Fatal("journal left after the rollback")
	}
	if st := nodeStatus(t, fx.visor, home); st.Height != h.height || st.StateHash != h.stateHash {
		t.Fatalf("rolled-back data: height %d hash %s, want %d %s", st.Height, st.StateHash, h.height, h.stateHash)
	}
	failed := filepath.Join(l.Backups(), checkpointName(h.height+1, "0.1.0", "0.2.1"), "failed", "data")
	if _, err := os.Stat(filepath.Join(failed, "state")); err != nil {
		t.Fatalf("the failed release's data is not kept: %v", err)
	}
	if b, err := os.ReadFile(l.gateFailed("0.2.1")); err != nil || len(b) == 0 {
		t.Fatalf("0.2.1 not marked: %v", err)
	}
	if st := readStatusJSON(t, home); !strings.Contains(st, `"result": "rolled_back"`) {
		t.Fatalf("status.json: %s", st)
	}
}

// A kill -9 of the supervisor right after each journal record, and right
// after each step, followed by a plain restart, ends on one release with
// consistent data: the switch to 0.2.0 completes with the uninterrupted
// state hash, and the rollback of 0.2.1 completes with the data as it was.
func TestKill9AtEveryJournalStep(t *testing.T) {
	f, h := haltedHome(t)
	type point struct {
		at, to string
	}
	var points []point
	for _, p := range []string{PhasePlan, PhaseHook, PhaseCheckpoint, PhaseSwitch, PhaseStart} {
		points = append(points, point{p, "0.2.0"}, point{p + "+", "0.2.0"})
	}
	for _, p := range []string{PhaseRollback, PhaseRollback + "+", PhaseRolledBack} {
		points = append(points, point{p, "0.2.1"})
	}
	for _, p := range points {
		t.Run(fmt.Sprintf("%s_%s", p.at, p.to), func(t *testing.T) {
			home := haltedWith(t, p.to)
			args := append([]string{"visor", "run", home}, nodeArgs(home, 40)...)
			_, errOut, code := cli(t, f.visor, []string{CrashEnv + "=" + p.at}, args...)
			if code != 128+9 {
				t.Fatalf("the crash point did not fire: exit %d\n%s", code, errOut)
			}
			l := Layout{home}
			cur, err := l.CurrentVersion()
			if err != nil || (cur != "0.1.0" && cur != p.to) {
				t.Fatalf("after the kill: current %q %v", cur, err)
			}
			if _, err := os.Stat(l.Binary(cur)); err != nil {
				t.Fatalf("current dangles: %v", err)
			}
			_, errOut, code = cli(t, f.visor, nil, args...)
			if p.to == "0.2.0" {
				if code != 0 {
					t.Fatalf("restart: exit %d\n%s", code, errOut)
				}
				if st := nodeStatus(t, f.visor, home); st.Height != 40 || st.StateHash != h.ref40 || st.Visor.Current != "0.2.0" {
					t.Fatalf("restart ended at %d %s on %s, want 40 %s on 0.2.0", st.Height, st.StateHash, st.Visor.Current, h.ref40)
				}
				return
			}
			if code != ExitFindings || !strings.Contains(errOut, "was rolled back") {
				t.Fatalf("restart: exit %d\n%s", code, errOut)
			}
			assertRolledBack(t, home, h)
		})
	}
}
