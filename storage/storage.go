// Package storage holds what forkgate's Pebble stores (the state store and
// the block store) share: how Pebble's messages reach the operator.
//
// Pebble reports an error it cannot recover from (a failed WAL commit when
// the disk is full, a MANIFEST that cannot be synced, corruption) through
// its Logger's Fatalf, and does not expect it to return: the database is no
// longer usable. forkgate answers with one clear message that names the
// store, says what to do, and exits with code 2 ("unusable input": the
// environment cannot hold the data), never with log.Fatal's bare line and
// exit code 1, which means "findings or mismatch".
package storage

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"syscall"

	"github.com/cockroachdb/pebble"
)

// ExitCode is the process exit code after a fatal storage error.
const ExitCode = 2

// Exit ends the process after a fatal storage error; tests replace it.
var Exit = func(code int) { os.Exit(code) }

// Out receives the operator message; tests replace it.
var Out io.Writer = os.Stderr

var once sync.Mutex

// Logger is the Pebble logger of the store in dir: informational messages
// are dropped (Pebble logs every WAL replay on open), fatal ones end the
// process as described above.
func Logger(dir string) pebble.Logger { return logger{dir: dir} }

type logger struct{ dir string }

func (logger) Infof(string, ...any) {}

func (l logger) Fatalf(format string, args ...any) {
	once.Lock() // two stores failing at once print one message each, not interleaved
	defer once.Unlock()
	fmt.Fprintf(Out, "forkgate: storage error in %s: %s\n"+
		"forkgate: the store cannot go on. If the disk is full, free space; otherwise check the disk (dmesg, SMART). "+
		"Then restart the node: blocks are synced before the state commits them, so it resumes from the last committed block.\n",
		l.dir, fmt.Sprintf(format, args...))
	Exit(ExitCode)
	// Pebble must not continue after Fatalf; if Exit was replaced and
	// returned, stop this goroutine.
	panic(fmt.Sprintf("storage: fatal error in %s", l.dir))
}

// BackgroundError reports errors Pebble survives (a failed compaction, a
// transient I/O error) without stopping the node.
func BackgroundError(dir string) func(error) {
	return func(err error) {
		fmt.Fprintf(Out, "forkgate: warning: storage %s: background error: %v (the node goes on; check free disk space)\n", dir, err)
	}
}

// Explain adds what to do to a storage error of the store in dir: a full
// disk or a read-only file system say so, anything else names the store.
func Explain(dir string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, syscall.ENOSPC):
		return fmt.Errorf("%s: the disk is full (%w): free space, then restart; nothing committed was lost", dir, err)
	case errors.Is(err, syscall.EROFS), errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM):
		return fmt.Errorf("%s: cannot write (%w): make the directory writable by this user", dir, err)
	}
	return fmt.Errorf("%s: %w", dir, err)
}
