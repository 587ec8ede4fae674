package node

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
)

const (
	envRewindHome = "FORKGATE_NODE_REWIND_HOME"
	envRewindStep = "FORKGATE_NODE_REWIND_STEP"
)

// rewindSteps are the crash points of a rewind and of the start-up that
// follows it, in the order they are passed.
var rewindSteps = []string{"rewind: state closed", "rewind: state moved aside", "rewind: blocks truncated", "open: recovered"}

// TestRewindKilledChild opens a home with the rewind policy and kills itself
// with SIGKILL at one crash point. It does nothing in a normal test run.
func TestRewindKilledChild(t *testing.T) {
	home, step := os.Getenv(envRewindHome), os.Getenv(envRewindStep)
	if home == "" {
		t.Skip("child process of TestRewindKilledAtEveryStep")
	}
	crashPoint = func(s string) {
		if s == step {
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {} // the signal is on its way
		}
	}
	o := testOptions()
	o.Compat = "rewind"
	n, err := Open(home, o)
	if err != nil {
		t.Fatal(err)
	}
	n.Close()
	t.Fatalf("the child reached the end without passing step %q", step)
}

// TestRewindKilledAtEveryStep kills a node with SIGKILL at every step of a
// rewind: each restart must end at the rewind height with the hashes of the
// original chain below it, no state store left aside, and, once run on,
// the hashes of a chain that had the new config from the start.
func TestRewindKilledAtEveryStep(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	const top, rewindTo = 30, 19
	ref := newHome(t, InitOptions{})
	refNode := openNode(t, ref, testOptions())
	runTo(t, refNode, top)
	orig := hashes(t, refNode, top)
	refNode.Close()
	cfg, err := os.ReadFile(Home(ref).Config())
	if err != nil {
		t.Fatal(err)
	}
	// Move a fork that passed at 20: the chain must be cut back to 19.
	changed := strings.Replace(string(cfg), "ForkFeeToProducer = 20", "ForkFeeToProducer = 22", 1)
	fresh := newHome(t, InitOptions{})
	writeFile(t, Home(fresh).Config(), []byte(changed))
	freshNode := openNode(t, fresh, testOptions())
	runTo(t, freshNode, top)
	want := hashes(t, freshNode, top)
	freshNode.Close()

	for _, step := range rewindSteps {
		t.Run(strings.ReplaceAll(step, " ", "_"), func(t *testing.T) {
			home := newHome(t, InitOptions{})
			n := openNode(t, home, testOptions())
			runTo(t, n, top)
			n.Close()
			writeFile(t, Home(home).Config(), []byte(changed))

			cmd := exec.Command(os.Args[0], "-test.run=^TestRewindKilledChild$", "-test.count=1")
			cmd.Env = append(os.Environ(), envRewindHome+"="+home, envRewindStep+"="+step)
			out, err := cmd.CombinedOutput()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
				t.Fatalf("the child was not killed at %q: %v\n%s", step, err, out)
			}

			if step == "rewind: state moved aside" {
				// A kill during a recursive delete leaves part of a store
				// behind: whatever of the aside store remains must not
				// stop the node (it did when the store was deleted in
				// place).
				halfDelete(t, Home(home).stateAside())
			}
			o := testOptions()
			o.Compat = "rewind"
			n = openNode(t, home, o)
			if n.Height() != rewindTo {
				t.Fatalf("after a kill at %q the node is at %d, want %d", step, n.Height(), rewindTo)
			}
			sameHashes(t, "kept prefix", orig[:rewindTo], hashes(t, n, rewindTo))
			if _, err := os.Stat(Home(home).stateAside()); !os.IsNotExist(err) {
				t.Errorf("the state set aside by the rewind is still there: %v", err)
			}
			runTo(t, n, top)
			sameHashes(t, "after the rewind", want, hashes(t, n, top))
		})
	}
}

// halfDelete removes every other file of dir, as an interrupted os.RemoveAll
// would.
func halfDelete(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range entries {
		if i%2 == 0 {
			if err := os.RemoveAll(dir + "/" + e.Name()); err != nil {
				t.Fatal(err)
			}
		}
	}
}
