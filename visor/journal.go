package visor

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"syscall"

	"github.com/forkgate/forkgate/atomicfile"
)

// JournalFormat versions journal.json.
const JournalFormat = 1

// Phases of a switch. Each is written to the journal (atomically, fsynced)
// BEFORE its step is taken, so after a crash the journal names the step
// that may be half done; every step is idempotent and is simply taken
// again, except that a crash before the switch undoes the plan.
const (
	PhasePlan       = "plan"       // intent to switch From -> To at Height
	PhaseHook       = "hook"       // running the pre-upgrade hook
	PhaseCheckpoint = "checkpoint" // checkpointing data into Checkpoint
	PhaseSwitch     = "switch"     // pointing current at To
	PhaseStart      = "start"      // running To under the health gate
	PhaseRollback   = "rollback"   // restoring the checkpoint and From
	PhaseRolledBack = "rolled_back"
)

// Phases lists the journal steps in order, for the crash tests and docs.
var Phases = []string{PhasePlan, PhaseHook, PhaseCheckpoint, PhaseSwitch, PhaseStart, PhaseRollback, PhaseRolledBack}

// Journal is the switch in progress.
type Journal struct {
	Format int    `json:"format"`
	Phase  string `json:"phase"`
	From   string `json:"from"`
	To     string `json:"to"`
	// Height is the first height To executes (the activation height, or
	// the data height + 1 when the version was already active).
	Height int64 `json:"height"`
	// DataHeight is the committed height when the old binary stopped.
	DataHeight int64  `json:"data_height"`
	Checkpoint string `json:"checkpoint"` // directory under backups/
	ChildPID   int    `json:"child_pid,omitempty"`
	Reason     string `json:"reason,omitempty"` // why a rollback happened
}

func (l Layout) readJournal() (*Journal, error) {
	b, err := os.ReadFile(l.Journal())
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if len(b) > 1<<20 {
		return nil, fmt.Errorf("%s: %d bytes is not a journal", l.Journal(), len(b))
	}
	var j Journal
	if err := json.Unmarshal(b, &j); err != nil {
		return nil, fmt.Errorf("%s: not a supervisor journal (%v); it is written atomically, so something else wrote it: inspect it, then remove it and run `forkgate visor status`", l.Journal(), err)
	}
	if j.Format < 1 || j.Format > JournalFormat {
		return nil, fmt.Errorf("%s: journal format %d; this forkgate reads %d", l.Journal(), j.Format, JournalFormat)
	}
	return &j, nil
}

// record writes the journal at a phase, then honours a crash point (the
// kill -9 tests).
func (l Layout) record(j *Journal, phase string) error {
	j.Format, j.Phase = JournalFormat, phase
	b, err := json.MarshalIndent(j, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.Write(l.Journal(), append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("journal: %v", err)
	}
	crashPoint(phase)
	return nil
}

func (l Layout) clearJournal() error {
	if err := os.Remove(l.Journal()); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return atomicfile.SyncDir(l.Dir())
}

// CrashEnv names the journal phase at which the supervisor kills itself
// with SIGKILL, right after recording it ("<phase>") or after taking its
// step ("<phase>+"). Tests only.
const CrashEnv = "FORKGATE_VISOR_CRASH_AT"

func crashPoint(at string) {
	if v := os.Getenv(CrashEnv); v != "" && v == at {
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {} // the signal is on its way
	}
}
