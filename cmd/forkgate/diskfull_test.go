package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// cliProcess runs the forkgate CLI in a child process (see TestMain).
func cliProcess(t *testing.T, timeout time.Duration, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], args...)
	cmd.Env = append(os.Environ(), envChild+"=1")
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("forkgate %s: timed out after %s\n%s", strings.Join(args, " "), timeout, out)
	}
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return string(out), code
}

// TestDiskFullExitsTwoAndResumes fills the disk under a running node (a
// small tmpfs on HOME/data): the node must stop with exit code 2 and a
// message that names the store and says what to do, never log.Fatal's exit
// 1; after space is freed it must resume with the hashes of an
// uninterrupted run.
func TestDiskFullExitsTwoAndResumes(t *testing.T) {
	if testing.Short() {
		t.Skip("fills a disk")
	}
	home := filepath.Join(t.TempDir(), "home")
	mustCLI(t, "node", "init", home)
	data := filepath.Join(home, "data")
	if err := syscall.Mount("tmpfs", data, "tmpfs", 0, "size=8m"); err != nil {
		t.Skipf("cannot mount a small tmpfs to fill (needs root: %v)", err)
	}
	defer syscall.Unmount(data, syscall.MNT_DETACH)

	out, code := cliProcess(t, 3*time.Minute, "node", "run", home, "--until", "100000", "--pace", "0", "--quiet")
	if code != 2 {
		t.Fatalf("exit code %d on a full disk, want 2\n%s", code, tail(out))
	}
	for _, want := range []string{data, "no space left on device", "free space", "restart"} {
		if !strings.Contains(out, want) {
			t.Errorf("message lacks %q:\n%s", want, tail(out))
		}
	}
	// Free space (grow the tmpfs, keeping its files) and resume.
	if err := syscall.Mount("tmpfs", data, "tmpfs", syscall.MS_REMOUNT, "size=256m"); err != nil {
		t.Fatalf("remount: %v", err)
	}
	st := nodeStatusJSON(t, home)
	stopped := st.Height
	if stopped < 2 {
		t.Fatalf("the node stopped at height %d: the disk was too small to test anything", stopped)
	}
	target := stopped + 5
	if out, code := cliProcess(t, 3*time.Minute, "node", "run", home, "--until", itoa(target), "--quiet"); code != 0 {
		t.Fatalf("resume after freeing space: exit %d\n%s", code, tail(out))
	}
	ref := filepath.Join(t.TempDir(), "ref")
	mustCLI(t, "node", "init", ref)
	mustCLI(t, "node", "run", ref, "--until", itoa(target), "--quiet")
	if got, want := nodeStatusJSON(t, home).StateHash, nodeStatusJSON(t, ref).StateHash; got != want {
		t.Fatalf("state hash at %d after the full disk %s, uninterrupted %s", target, got, want)
	}
}

func tail(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > 8 {
		lines = lines[len(lines)-8:]
	}
	return strings.Join(lines, "\n")
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
