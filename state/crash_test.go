package state

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The crash test re-executes this test binary as a child that commits the
// blocks of a fixed chain into a directory, kills it with SIGKILL at a random
// moment (possibly in the middle of a Commit, or of Open), and checks the
// directory from the parent. The child runs TestCrashHelperProcess, which does
// nothing unless crashDirEnv is set.
const (
	crashDirEnv   = "FORKGATE_STATE_CRASH_DIR"
	crashBlocks   = 120
	crashRounds   = 6
	crashMaxDelay = 250 * time.Millisecond
)

func crashBlock(h int64) []op { return randomBlock(h, 200, 2000) }

func TestCrashHelperProcess(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("child process of TestCrashRecovery")
	}
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Resume where the previous (killed) child stopped, like a restarted node.
	for h := s.Height() + 1; h <= crashBlocks; h++ {
		apply(t, s, crashBlock(h))
		commit(t, s, h)
		// Printed only once Commit returned, i.e. once the batch is synced:
		// the parent may rely on every printed height having survived.
		fmt.Printf("committed %d\n", h)
	}
	s.Close()
}

func TestCrashRecovery(t *testing.T) {
	if os.Getenv(crashDirEnv) != "" {
		t.Skip("already in the child process")
	}
	// The uninterrupted run: roots and full state at every height.
	ref := openStore(t, t.TempDir())
	roots := make([][]byte, crashBlocks+1)
	states := make([]model, crashBlocks+1)
	roots[0], states[0] = emptyRoot, model{}
	m := model{}
	for h := int64(1); h <= crashBlocks; h++ {
		b := crashBlock(h)
		apply(t, ref, b)
		m.apply(b)
		roots[h], states[h] = commit(t, ref, h), maps(m)
	}

	seed := uint64(time.Now().UnixNano())
	t.Logf("kill timing seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 0))
	dir := t.TempDir()
	var before int64 // the store's height when the round starts
	for round := range crashRounds {
		delay := time.Duration(r.Int64N(int64(crashMaxDelay)))
		printed, finished := runAndKill(t, dir, delay)
		printed = max(printed, before)

		s, err := Open(dir, Options{})
		if err != nil {
			t.Fatalf("round %d: reopen after SIGKILL at %v: %v", round, delay, err)
		}
		h := s.Height()
		t.Logf("round %d: killed after %v, child had printed height %d (finished %v), store at height %d", round, delay, printed, finished, h)
		if h < printed || h > printed+1 {
			t.Fatalf("round %d: store at height %d, but the child had committed %d (a commit may only be lost if it was not yet acknowledged)", round, h, printed)
		}
		if !sameBytes(s.Root(), roots[h]) {
			t.Fatalf("round %d: height %d root %x, uninterrupted run %x", round, h, s.Root(), roots[h])
		}
		for k := int64(1); k <= h; k++ {
			if got, err := s.RootAt(k); err != nil || !sameBytes(got, roots[k]) {
				t.Fatalf("round %d: RootAt(%d) = %x, %v; want %x", round, k, got, err, roots[k])
			}
		}
		// The data the tree commits to was written in the same batch.
		checkView(t, s, states[h], nil)
		s.Close()
		before = h
	}

	// The recovered store continues exactly like the uninterrupted run.
	s := openStore(t, dir)
	for h := s.Height() + 1; h <= crashBlocks; h++ {
		apply(t, s, crashBlock(h))
		if got := commit(t, s, h); !sameBytes(got, roots[h]) {
			t.Fatalf("after recovery, height %d root %x, want %x", h, got, roots[h])
		}
	}
}

// runAndKill starts the child on dir, SIGKILLs it after delay and reaps it.
// It returns the last height the child reported as committed and whether it
// finished before the kill.
func runAndKill(t *testing.T, dir string, delay time.Duration) (printed int64, finished bool) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Whatever happens below, never leave the child running or unreaped.
	reaped := false
	t.Cleanup(func() {
		if !reaped {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})

	lines := make(chan int64, crashBlocks+1) // never blocks the reader goroutine
	done := make(chan struct{})
	var passed bool
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			if h, ok := strings.CutPrefix(line, "committed "); ok {
				n, _ := strconv.ParseInt(h, 10, 64)
				lines <- n
			}
			if line == "PASS" {
				passed = true
			}
		}
	}()

	timer := time.NewTimer(delay)
	defer timer.Stop()
wait:
	for {
		select {
		case h := <-lines:
			printed = h
		case <-done:
			break wait // the child exited on its own
		case <-timer.C:
			cmd.Process.Kill() // SIGKILL on Unix: no deferred code, no flush
			for {
				select {
				case h := <-lines:
					printed = h
				case <-done:
					break wait
				}
			}
		}
	}
	err = cmd.Wait()
	reaped = true
	finished = passed && err == nil
	if !finished && !strings.Contains(fmt.Sprint(err), "killed") {
		t.Fatalf("child failed on its own: %v\n%s", err, stderr.String())
	}
	return printed, finished
}
