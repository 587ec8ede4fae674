package visor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/forkgate/forkgate/atomicfile"
	"github.com/forkgate/forkgate/nodestatus"
)

// switchTo moves the home from release `from` to `to`: preflight (the
// release verified, disk space), then the journaled steps plan, hook,
// checkpoint, switch, start; the gate decides between keeping the new
// release and rolling back. It returns the running new node.
func (s *supervisor) switchTo(ctx context.Context, from, to string, st *nodestatus.Status) (*child, error) {
	t0 := s.exitAt
	if t0.IsZero() {
		t0 = time.Now()
	}
	if err := s.verify(ctx, to); err != nil {
		s.status("refused", err.Error(), 0)
		return nil, fmt.Errorf("cannot switch %s -> %s at height %d: %w", from, to, st.Height+1, err)
	}
	verifyMS := time.Since(t0).Milliseconds()
	need := copiedBytes(s.l.Data()) + copiedBytes(filepath.Join(s.l.Home, "cometbft", "data"))
	if err := os.MkdirAll(s.l.Backups(), 0o755); err != nil {
		return nil, err
	}
	if free, err := freeBytes(s.l.Backups()); err == nil && free < need+s.o.MinFreeBytes {
		return nil, fail(ExitUsage, "not enough disk for the checkpoint in %s: %d bytes free, %d needed (%d to copy + %d kept free); free space, then run the supervisor again (nothing was changed)",
			s.l.Backups(), free, need+s.o.MinFreeBytes, need, s.o.MinFreeBytes)
	}
	h := activationHeight(st)
	j := &Journal{From: from, To: to, Height: h, DataHeight: st.Height, Checkpoint: checkpointName(h, from, to)}
	s.last = &nodestatus.VisorSwitch{From: from, To: to, Height: h, Result: "in_progress", Checkpoint: filepath.Join(s.l.Backups(), j.Checkpoint), VerifyMS: verifyMS}

	if err := s.l.record(j, PhasePlan); err != nil {
		return nil, err
	}
	crashPoint(PhasePlan + "+")
	s.status("switching", fmt.Sprintf("%s -> %s at height %d", from, to, h), 0)
	if err := s.l.record(j, PhaseHook); err != nil {
		return nil, err
	}
	if err := s.hook(ctx, to, h); err != nil {
		s.undo(j)
		return nil, err
	}
	crashPoint(PhaseHook + "+")
	if err := s.l.record(j, PhaseCheckpoint); err != nil {
		return nil, err
	}
	if err := s.l.takeCheckpoint(j.Checkpoint); err != nil {
		s.undo(j)
		return nil, fail(ExitUsage, "checkpoint of %s: %v (nothing was switched)", s.l.Data(), err)
	}
	s.last.CheckpointMS = time.Since(t0).Milliseconds()
	crashPoint(PhaseCheckpoint + "+")
	return s.finishSwitch(ctx, j, t0, st)
}

// finishSwitch takes the steps from the link switch on; recovery enters it
// too.
func (s *supervisor) finishSwitch(ctx context.Context, j *Journal, t0 time.Time, st *nodestatus.Status) (*child, error) {
	if err := s.l.record(j, PhaseSwitch); err != nil {
		return nil, err
	}
	if err := s.l.setCurrent(j.To); err != nil {
		return nil, fail(ExitUsage, "switching %s to %s: %v", s.l.Current(), j.To, err)
	}
	crashPoint(PhaseSwitch + "+")
	if err := s.l.record(j, PhaseStart); err != nil {
		return nil, err
	}
	return s.startGated(ctx, j, t0, st)
}

// startGated starts the new release and holds it to the health gate.
// st is the data's status when the switch began, nil when it resumes
// after a crash (the new release may have committed blocks since).
func (s *supervisor) startGated(ctx context.Context, j *Journal, t0 time.Time, st *nodestatus.Status) (*child, error) {
	if s.last == nil {
		s.last = &nodestatus.VisorSwitch{From: j.From, To: j.To, Height: j.Height, Result: "in_progress", Checkpoint: filepath.Join(s.l.Backups(), j.Checkpoint)}
	}
	// Verified again: the switch may resume after a crash, and the binary
	// must be the checked one every time it starts (within one process, by
	// its sha256).
	if err := s.verify(ctx, j.To); err != nil {
		return nil, s.rollback(ctx, j, nil, fmt.Sprintf("release %s no longer verifies: %v", j.To, err))
	}
	if st == nil {
		var err error
		if st, err = s.dataStatus(); err != nil {
			return nil, err
		}
	}
	c, err := s.start(j.To)
	if err != nil {
		return nil, s.rollback(ctx, j, nil, err.Error())
	}
	s.last.StartMS = time.Since(t0).Milliseconds()
	j.ChildPID = c.pid()
	if err := s.l.record(j, PhaseStart); err != nil {
		c.stop(s.o.Grace)
		return nil, err
	}
	crashPoint(PhaseStart + "+")
	s.status("gate", fmt.Sprintf("release %s must commit height %d", j.To, gateTarget(j, st, s.o.GateBlocks)), c.pid())
	if reason := s.gate(ctx, j, st, c); reason != "" {
		return nil, s.rollback(ctx, j, c, reason)
	}
	if first := c.firstBlockAt(); !first.IsZero() {
		s.last.DowntimeMS = first.Sub(t0).Milliseconds()
	}
	s.last.GateMS = time.Since(t0).Milliseconds()
	s.last.Result = "passed"
	if err := s.l.clearJournal(); err != nil {
		return nil, err
	}
	s.logf("switched %s -> %s at height %d: downtime %d ms (old binary's exit to the new one's first block), checkpoint %d ms, gate passed after %d ms; checkpoint kept in %s",
		j.From, j.To, j.Height, s.last.DowntimeMS, s.last.CheckpointMS, s.last.GateMS, s.last.Checkpoint)
	s.status("running", "release "+j.To, c.pid())
	return c, nil
}

func gateTarget(j *Journal, st *nodestatus.Status, blocks int64) int64 {
	first := j.Height
	if st.Height+1 > first {
		first = st.Height + 1
	}
	return first + blocks - 1
}

// gate holds a freshly started release to its promise: it commits the
// target height within the timeout, keeps running (or stops cleanly past
// the target), serves a status with this chain's genesis, and, with
// GateReplay, reproduces every recorded state hash up to the switch. It
// returns why it failed, "" when it passed.
func (s *supervisor) gate(ctx context.Context, j *Journal, st *nodestatus.Status, c *child) string {
	target := gateTarget(j, st, s.o.GateBlocks)
	heightBy := time.Now().Add(s.o.GateTimeout)
	replay := make(chan string, 1)
	if s.o.GateReplay {
		rctx, cancel := context.WithTimeout(ctx, s.o.ReplayTimeout)
		defer cancel()
		go func() { replay <- s.replay(rctx, j) }()
	} else {
		replay <- ""
	}
	replayDone, reached := false, false
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	lastPoll := time.Time{}
	for {
		if !reached {
			reached = c.height.Load() >= target
		}
		if !reached && c.exited() {
			if c.code != 0 {
				return fmt.Sprintf("release %s exited with code %d before committing height %d", j.To, c.code, target)
			}
			st2, err := s.dataStatus()
			if err != nil || st2.Height < target {
				return fmt.Sprintf("release %s stopped before committing height %d", j.To, target)
			}
			reached = true
		}
		// A node that prints no block lines (--quiet) is asked through
		// its status API.
		if !reached && !c.lines.Load() && time.Since(lastPoll) > 100*time.Millisecond {
			lastPoll = time.Now()
			if h, ok := s.apiHeight(ctx); ok {
				if h > st.Height {
					c.sawBlock(h)
				}
				reached = h >= target
			}
		}
		if !replayDone {
			select {
			case r := <-replay:
				if r != "" {
					return r
				}
				replayDone = true
			default:
			}
		}
		if reached && replayDone {
			return ""
		}
		if !reached && time.Now().After(heightBy) {
			return fmt.Sprintf("release %s did not commit height %d within %s (it reached %d): raise --gate-timeout if the network is slow",
				j.To, target, s.o.GateTimeout, c.height.Load())
		}
		select {
		case <-ctx.Done():
			return "the supervisor was stopped during the health gate"
		case <-tick.C:
		}
	}
}

// apiHeight asks the running node's status API (HOME/data/http.addr),
// accepting only a status of this home's chain.
func (s *supervisor) apiHeight(ctx context.Context) (int64, bool) {
	b, err := os.ReadFile(filepath.Join(s.l.Data(), "http.addr"))
	if err != nil {
		return 0, false
	}
	st, err := nodestatus.Fetch(ctx, string(trimSpace(b)), time.Second)
	if err != nil || st.GenesisHash != s.genesis || !st.Running {
		return 0, false
	}
	return st.Height, true
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == ' ' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

// replay exports the checkpoint's blocks and imports them with the new
// binary into a scratch home: `node import` stops at the first state hash
// that differs from the recorded one.
func (s *supervisor) replay(ctx context.Context, j *Journal) string {
	ck := s.l.checkpointHome(j.Checkpoint)
	work := filepath.Join(s.l.Backups(), j.Checkpoint, "replay")
	os.RemoveAll(work)
	defer os.RemoveAll(work)
	scratch := filepath.Join(work, "home")
	if err := os.MkdirAll(filepath.Join(scratch, "data"), 0o700); err != nil {
		return "replay: " + err.Error()
	}
	for _, f := range homeFiles {
		if _, err := os.Stat(filepath.Join(ck, f)); err == nil {
			if err := linkCopy(filepath.Join(ck, f), filepath.Join(scratch, f), false); err != nil {
				return "replay: " + err.Error()
			}
		}
	}
	// Export from a copy: opening a store (even read-only) may write to
	// it, and the checkpoint stays as taken.
	src := filepath.Join(work, "src")
	if err := linkCopy(ck, src, true); err != nil {
		return "replay: " + err.Error()
	}
	if j.DataHeight == 0 {
		return ""
	}
	bin := s.l.Binary(j.To)
	file := filepath.Join(work, "blocks.fgb")
	run := func(args ...string) (string, int) {
		out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
		return string(out), exitCode(err)
	}
	if out, code := run("node", "export", src, file, "--to", strconv.FormatInt(j.DataHeight, 10)); code != 0 {
		return fmt.Sprintf("replay: release %s could not export the chain (exit %d): %s", j.To, code, out)
	}
	out, code := run("node", "import", scratch, file, "--quiet")
	switch {
	case ctx.Err() != nil:
		return fmt.Sprintf("the replay with release %s did not finish within %s: raise --gate-replay-timeout, or pass --gate-replay=false and check the hashes another way", j.To, s.o.ReplayTimeout)
	case code == 1:
		return fmt.Sprintf("release %s does not reproduce the recorded chain (replay of heights 1..%d): %s", j.To, j.DataHeight, trimSpace([]byte(out)))
	case code != 0:
		return fmt.Sprintf("replay: release %s node import exited %d: %s", j.To, code, out)
	}
	return ""
}

// rollback stops the new release, restores the checkpoint and the old
// release, and marks the new one as failed, so the next run does not pick
// it again. It returns the error the supervisor exits with.
func (s *supervisor) rollback(ctx context.Context, j *Journal, c *child, reason string) error {
	if c != nil {
		c.stop(s.o.Grace)
	}
	j.Reason = reason
	s.logf("health gate failed: %s; rolling back to release %s and the checkpoint of height %d", reason, j.From, j.DataHeight)
	if err := s.l.record(j, PhaseRollback); err != nil {
		return err
	}
	if err := s.finishRollback(j); err != nil {
		return err
	}
	return s.rolledBack(j)
}

func (s *supervisor) finishRollback(j *Journal) error {
	if err := atomicfile.Write(s.l.gateFailed(j.To), []byte(j.Reason+"\n"), 0o644); err != nil {
		return err
	}
	if err := s.l.restoreData(j.Checkpoint); err != nil {
		return fail(ExitUsage, "rollback: restoring %s from %s: %v; the journal %s keeps the step: fix the cause and run the supervisor again",
			s.l.Data(), s.l.checkpointHome(j.Checkpoint), err, s.l.Journal())
	}
	if err := s.l.setCurrent(j.From); err != nil {
		return err
	}
	crashPoint(PhaseRollback + "+")
	return s.l.record(j, PhaseRolledBack)
}

func (s *supervisor) rolledBack(j *Journal) error {
	if err := s.l.clearJournal(); err != nil {
		return err
	}
	if s.last == nil {
		s.last = &nodestatus.VisorSwitch{From: j.From, To: j.To, Height: j.Height, Checkpoint: filepath.Join(s.l.Backups(), j.Checkpoint)}
	}
	s.last.Result, s.last.Reason = "rolled_back", j.Reason
	msg := fmt.Sprintf("the switch %s -> %s at height %d was rolled back: %s. The data is back at height %d on release %s; the new release's data is kept in %s. Fix or replace release %s (remove %s, add a good one), then run the supervisor again",
		j.From, j.To, j.Height, j.Reason, j.DataHeight, j.From, filepath.Join(s.l.Backups(), j.Checkpoint, "failed"), j.To, s.l.Release(j.To))
	s.status("rolled_back", msg, 0)
	return fail(ExitFindings, "%s", msg)
}

// undo drops a switch that has not touched the data or the link.
func (s *supervisor) undo(j *Journal) {
	os.RemoveAll(filepath.Join(s.l.Backups(), j.Checkpoint))
	s.l.clearJournal()
	s.last = nil
}

// recover finishes or undoes the switch a crash interrupted: before the
// link moved nothing took effect and the plan is dropped (the loop plans
// it again); from the link on, the new release is started again under the
// gate; a rollback is completed.
func (s *supervisor) recover(ctx context.Context, j *Journal) (*child, error) {
	stopOrphan(j.ChildPID, s.releases, s.o.Grace)
	s.logf("resuming the switch %s -> %s at height %d from journal phase %q", j.From, j.To, j.Height, j.Phase)
	switch j.Phase {
	case PhasePlan, PhaseHook, PhaseCheckpoint:
		if err := s.l.setCurrent(j.From); err != nil {
			return nil, err
		}
		s.undo(j)
		return nil, nil
	case PhaseSwitch, PhaseStart:
		return s.finishSwitch(ctx, j, time.Now(), nil)
	case PhaseRollback:
		if err := s.finishRollback(j); err != nil {
			return nil, err
		}
		return nil, s.rolledBack(j)
	case PhaseRolledBack:
		return nil, s.rolledBack(j)
	}
	return nil, fail(ExitUsage, "%s: unknown phase %q; inspect it, then remove it", s.l.Journal(), j.Phase)
}

func writeJSONFile(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(path, append(b, '\n'), 0o644)
}

func readJSONFile(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if len(b) > 1<<20 {
		return fmt.Errorf("%s: %d bytes is too large", path, len(b))
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %v", path, err)
	}
	return nil
}

// Rollback is `visor rollback`: with the node stopped, it restores the
// checkpoint of the last switch and points current back at the release it
// came from; the release it leaves is marked, so the supervisor does not
// switch to it again (add a fixed release to move on).
func Rollback(ctx context.Context, home string, stderr io.Writer) (*nodestatus.VisorSwitch, error) {
	s := &supervisor{l: Layout{home}}
	s.o.defaults(home)
	s.o.Stderr = stderr
	if err := s.l.check(); err != nil {
		return nil, classify(err)
	}
	if r, err := filepath.EvalSymlinks(s.l.Releases()); err == nil {
		s.releases = r
	}
	v, err := ReadStatus(home)
	if err != nil {
		return nil, classify(err)
	}
	if v.ChildPID > 0 && processOf(v.ChildPID, s.releases) {
		return nil, fail(ExitUsage, "the node runs (pid %d) under a supervisor: stop it first", v.ChildPID)
	}
	j, err := s.l.readJournal()
	if err != nil {
		return nil, classify(err)
	}
	if j == nil {
		sw := v.LastSwitch
		if sw == nil || sw.Result != "passed" || sw.Checkpoint == "" {
			return nil, fail(ExitUsage, "nothing to roll back: %s records no completed switch", s.l.Status())
		}
		if cur, _ := s.l.CurrentVersion(); cur != sw.To {
			return nil, fail(ExitUsage, "current is %s, not %s that the last switch went to: nothing to roll back", cur, sw.To)
		}
		j = &Journal{From: sw.From, To: sw.To, Height: sw.Height, DataHeight: sw.Height - 1, Checkpoint: filepath.Base(sw.Checkpoint),
			Reason: "rolled back by the operator (forkgate visor rollback)"}
		s.last = sw
		if err := s.l.record(j, PhaseRollback); err != nil {
			return nil, classify(err)
		}
	} else if j.Phase != PhaseRollback && j.Phase != PhaseRolledBack {
		return nil, fail(ExitUsage, "a switch is in progress (journal phase %q): run `forkgate visor run %s` to finish it first", j.Phase, home)
	}
	if j.Phase == PhaseRollback {
		if err := s.finishRollback(j); err != nil {
			return nil, classify(err)
		}
	}
	err = s.rolledBack(j)
	var e *Error
	if errors.As(err, &e) && e.Code == ExitFindings {
		return s.last, nil // the rollback itself succeeded
	}
	return s.last, classify(err)
}

func processOf(pid int, releases string) bool {
	exe, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/exe")
	return err == nil && releases != "" && strings.HasPrefix(exe, releases)
}
