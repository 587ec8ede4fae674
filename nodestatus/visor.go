package nodestatus

// VisorFormat versions the supervisor's status.json; fields are only ever
// added.
const VisorFormat = 1

// Visor is what the supervisor (forkgate visor) last recorded about a home:
// HOME/visor/status.json, shown as the "visor" object of the node status.
type Visor struct {
	Format  int    `json:"format"`
	Current string `json:"current"` // the release `current` points at
	// State is running, switching, gate, stopped, rolled_back or refused.
	State    string         `json:"state"`
	Detail   string         `json:"detail,omitempty"` // the last message
	ChildPID int            `json:"child_pid,omitempty"`
	Releases []VisorRelease `json:"releases"`
	// Journal is the phase of a switch in progress ("" when none).
	Journal    string       `json:"journal,omitempty"`
	LastSwitch *VisorSwitch `json:"last_switch,omitempty"`
	Updated    string       `json:"updated"` // RFC 3339, UTC
}

// VisorRelease is one stored release.
type VisorRelease struct {
	Version     string `json:"version"`
	Implemented uint32 `json:"implemented"`
	MinHeight   int64  `json:"min_height"`
	GateFailed  string `json:"gate_failed,omitempty"`
}

// VisorSwitch is the last switch between releases and how it went.
type VisorSwitch struct {
	From   string `json:"from"`
	To     string `json:"to"`
	Height int64  `json:"height"` // first height the new release executes
	// Result is passed, rolled_back or in_progress.
	Result     string `json:"result"`
	Reason     string `json:"reason,omitempty"`
	Checkpoint string `json:"checkpoint,omitempty"`
	// Milliseconds from the old binary's exit: new release verified,
	// checkpoint taken, new binary started, its first block committed (the
	// downtime), gate passed.
	VerifyMS     int64 `json:"verify_ms"`
	CheckpointMS int64 `json:"checkpoint_ms"`
	StartMS      int64 `json:"start_ms"`
	DowntimeMS   int64 `json:"downtime_ms"`
	GateMS       int64 `json:"gate_ms"`
}
