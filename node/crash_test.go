package node

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

const (
	envKillHome  = "FORKGATE_NODE_KILL_HOME"
	envKillUntil = "FORKGATE_NODE_KILL_UNTIL"
	childStarted = "forkgate-kill-child: started"
)

// TestKillNineChild is the child of TestKillNine: it runs a node to a
// height and exits. It does nothing in a normal test run.
func TestKillNineChild(t *testing.T) {
	home := os.Getenv(envKillHome)
	if home == "" {
		t.Skip("child process of TestKillNine")
	}
	until, _ := strconv.ParseInt(os.Getenv(envKillUntil), 10, 64)
	fmt.Println(childStarted)
	o := testOptions()
	o.Log = os.Stderr
	n, err := Open(home, o)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Run(context.Background(), RunOptions{Until: until}); err != nil {
		t.Fatal(err)
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestKillNine kills a node with SIGKILL at random points and restarts it
// until it reaches the target height: the hashes must equal an
// uninterrupted run's.
func TestKillNine(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	const until = 400
	ref := openNode(t, newHome(t, InitOptions{}), testOptions())
	runTo(t, ref, until)
	want := hashes(t, ref, until)

	home := newHome(t, InitOptions{})
	seed := uint64(time.Now().UnixNano())
	t.Logf("kill schedule seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	kills, starts, recoveries := 0, 0, 0
	// The delay is counted from the child's first line, before it opens the
	// home, so kills land in start-up, recovery and production alike. It
	// grows when kills keep landing too early (a slow machine, -race).
	maxDelay := 150 * time.Millisecond
	for done := false; !done; {
		if starts++; starts > 80 {
			t.Fatalf("no completion after %d starts", starts)
		}
		if starts%8 == 0 {
			maxDelay *= 2
		}
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestKillNineChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), envKillHome+"="+home, envKillUntil+"="+strconv.Itoa(until))
		out := &lockedBuffer{}
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			cancel()
			t.Fatal(err)
		}
		cmd.Stderr = out
		if err := cmd.Start(); err != nil {
			cancel()
			t.Fatal(err)
		}
		started := make(chan struct{})
		copied := make(chan struct{})
		go func() {
			defer close(copied)
			sc := bufio.NewScanner(stdout)
			once := false
			for sc.Scan() {
				out.Write(append(sc.Bytes(), '\n'))
				if !once && sc.Text() == childStarted {
					once = true
					close(started)
				}
			}
			if !once {
				close(started)
			}
		}()
		<-started
		exited := make(chan error, 1)
		go func() {
			<-copied // Wait closes the pipe: read it to the end first
			exited <- cmd.Wait()
		}()
		delay := time.Duration(rng.Int64N(int64(maxDelay)))
		select {
		case err := <-exited:
			if err != nil {
				cancel()
				t.Fatalf("child failed: %v\n%s", err, out.String())
			}
			done = true
		case <-time.After(delay):
			cmd.Process.Signal(syscall.SIGKILL)
			if err := <-exited; err == nil { // always reap the child
				done = true // it finished just before the signal
			} else {
				kills++
			}
		}
		recoveries += strings.Count(out.String(), "recovery: ")
		cancel()
	}
	t.Logf("%d starts, %d kills, %d restarts re-executed a block stored but not committed", starts, kills, recoveries)
	n := openNode(t, home, testOptions())
	if n.Height() < until {
		runTo(t, n, until)
	}
	sameHashes(t, "kill -9", want, hashes(t, n, until))
	if kills == 0 {
		t.Skip("no kill landed before the child finished (a fast machine): the run proves nothing this time")
	}
}
