package visor

import (
	"context"
	"os/exec"
	"strconv"
	"time"
)

// Exit codes of the pre-upgrade hook (cosmovisor's, so existing scripts
// keep working).
const (
	HookContinue = 0  // done: switch
	HookSkip     = 1  // nothing to do for this upgrade: switch
	HookAbort    = 30 // stop: nothing is switched, the supervisor exits 1
	HookRetry    = 31 // try again, at most HookRetries times
)

// hook runs the pre-upgrade command with "<to-version> <height>". Any other
// exit code than the four above aborts, as does a timeout: a hook that
// cannot say yes is a no.
func (s *supervisor) hook(ctx context.Context, to string, height int64) error {
	if len(s.o.PreUpgrade) == 0 {
		return nil
	}
	for attempt := 1; ; attempt++ {
		hctx, cancel := context.WithTimeout(ctx, s.o.HookTimeout)
		args := append(append([]string(nil), s.o.PreUpgrade[1:]...), to, strconv.FormatInt(height, 10))
		cmd := exec.CommandContext(hctx, s.o.PreUpgrade[0], args...)
		cmd.Stdout, cmd.Stderr = s.o.Stderr, s.o.Stderr
		started := time.Now()
		err := cmd.Run()
		timedOut := hctx.Err() == context.DeadlineExceeded
		cancel()
		code := exitCode(err)
		switch {
		case timedOut:
			return fail(ExitFindings, "pre-upgrade hook %s timed out after %s (attempt %d): switch to %s aborted, nothing changed", s.o.PreUpgrade[0], s.o.HookTimeout, attempt, to)
		case code == HookContinue || code == HookSkip:
			s.logf("pre-upgrade hook exited %d after %s: continuing", code, time.Since(started).Round(time.Millisecond))
			return nil
		case code == HookRetry && attempt <= s.o.HookRetries:
			s.logf("pre-upgrade hook asked to retry (exit 31), attempt %d of %d", attempt, s.o.HookRetries+1)
			continue
		case code == HookRetry:
			return fail(ExitFindings, "pre-upgrade hook %s asked to retry %d times: switch to %s aborted, nothing changed", s.o.PreUpgrade[0], attempt, to)
		}
		return fail(ExitFindings, "pre-upgrade hook %s exited %d (30 aborts; only 0, 1 and 31 continue): switch to %s at height %d aborted, nothing changed",
			s.o.PreUpgrade[0], code, to, height)
	}
}
