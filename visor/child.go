package visor

import (
	"bufio"
	"errors"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// child is one run of a node binary. Its stdout passes through to the
// supervisor's, and the "height N ..." lines `node run` prints per block
// tell the supervisor, without polling, when a block is committed.
type child struct {
	cmd     *exec.Cmd
	done    chan struct{}
	code    int
	waitErr error
	started time.Time
	exitAt  time.Time

	height     atomic.Int64 // last committed height seen, 0 before any
	lines      atomic.Bool  // the node prints block lines
	mu         sync.Mutex
	firstBlock time.Time // when the first height line arrived
}

// startChild runs bin with args in its own process group. The child gets
// SIGTERM if the supervisor dies (even by SIGKILL), so a node never runs
// unsupervised after a crash of its supervisor; the start happens on a
// locked OS thread because that signal is tied to the thread that forked.
func startChild(bin string, args []string, stdout, stderr io.Writer) (*child, error) {
	c := &child{done: make(chan struct{})}
	c.cmd = exec.Command(bin, args...)
	c.cmd.Stderr = stderr
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	out, err := c.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the child
		c.started = time.Now()
		if err := c.cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		c.scan(out, stdout)
		c.waitErr = c.cmd.Wait()
		c.exitAt = time.Now()
		c.code = exitCode(c.waitErr)
		close(c.done)
	}()
	if err := <-started; err != nil {
		return nil, err
	}
	return c, nil
}

func (c *child) scan(r io.Reader, w io.Writer) {
	br := bufio.NewReader(r)
	for {
		line, err := br.ReadString('\n')
		if line != "" {
			if h, ok := heightLine(line); ok {
				c.lines.Store(true)
				c.sawBlock(h)
			}
			if w != nil {
				io.WriteString(w, line)
			}
		}
		if err != nil {
			return
		}
	}
}

// heightLine reads the height of a `node run` block line.
func heightLine(line string) (int64, bool) {
	rest, ok := strings.CutPrefix(line, "height ")
	if !ok {
		return 0, false
	}
	f, _, _ := strings.Cut(rest, " ")
	h, err := strconv.ParseInt(f, 10, 64)
	return h, err == nil && h > 0
}

// sawBlock records a committed height: from a block line, or from the
// status API of a node that prints none (then the first block's time is
// known to the polling interval).
func (c *child) sawBlock(h int64) {
	c.mu.Lock()
	if c.firstBlock.IsZero() {
		c.firstBlock = time.Now()
	}
	c.mu.Unlock()
	c.height.Store(h)
}

func (c *child) pid() int { return c.cmd.Process.Pid }

func (c *child) firstBlockAt() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.firstBlock
}

func (c *child) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// stop asks the node to stop (SIGTERM to its group) and kills it after
// grace.
func (c *child) stop(grace time.Duration) {
	if c.exited() {
		return
	}
	syscall.Kill(-c.pid(), syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(grace):
		syscall.Kill(-c.pid(), syscall.SIGKILL)
		<-c.done
	}
}

func exitCode(err error) int {
	if err == nil {
		return 0
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if st, ok := ee.Sys().(syscall.WaitStatus); ok && st.Signaled() {
			return 128 + int(st.Signal())
		}
		return ee.ExitCode()
	}
	return -1
}

// stopOrphan ends a node a killed supervisor left running (its pid is in
// the journal): it got SIGTERM when the supervisor died; wait for it, then
// kill it. A pid that now belongs to another program is left alone.
func stopOrphan(pid int, releases string, grace time.Duration) {
	if pid <= 0 {
		return
	}
	exe, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/exe")
	if err != nil || !strings.HasPrefix(exe, releases) {
		return
	}
	syscall.Kill(pid, syscall.SIGTERM)
	deadline := time.Now().Add(grace)
	for time.Now().Before(deadline) {
		if syscall.Kill(pid, 0) != nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	syscall.Kill(pid, syscall.SIGKILL)
	for i := 0; i < 100 && syscall.Kill(pid, 0) == nil; i++ {
		time.Sleep(20 * time.Millisecond)
	}
}
