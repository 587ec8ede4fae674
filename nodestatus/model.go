// Package nodestatus is the status model a forkgate node serves (GET
// /status), the small HTTP server that serves it, and the client that reads
// it. The model is plain data: package node computes it from a home or a
// running node; operators' tools (node status, fleet checks, dashboards)
// read it through Fetch without linking a node.
package nodestatus

import (
	"github.com/forkgate/forkgate/forkid"
	"github.com/forkgate/forkgate/signal"
)

// StatusFormat versions the status JSON; fields are only ever added.
const StatusFormat = 1

// Status is what the status API serves and `node status` prints.
type Status struct {
	Format      int    `json:"format"`
	ChainID     string `json:"chain_id"`
	Title       string `json:"title"`
	GenesisHash string `json:"genesis_hash"`
	Height      int64  `json:"height"`
	Time        int64  `json:"time"`
	StateHash   string `json:"state_hash"`
	AppVersion  string `json:"app_version"`
	// Commit and BinarySHA256 identify the build that serves the status
	// (the sha256 of its executable file), so a fleet check can tell the
	// release's binary from another build of the same version.
	Commit       string `json:"commit,omitempty"`
	BinarySHA256 string `json:"binary_sha256,omitempty"`
	// ScheduleHash is the hash of the node's fork schedule (its config's
	// forks and versions): nodes of one chain must agree on it.
	ScheduleHash    string         `json:"schedule_hash,omitempty"`
	ProtocolVersion uint32         `json:"protocol_version"`
	Implemented     uint32         `json:"implemented"`
	ForkID          forkid.ID      `json:"fork_id"`
	Forks           ForksStatus    `json:"forks"`
	Versions        []VersionInfo  `json:"versions"`
	Signal          signal.Status  `json:"signal"`
	Producers       []ProducerInfo `json:"producers"`
	Running         bool           `json:"running"`
	Halt            string         `json:"halt,omitempty"`
	// UpgradeNeeded is HOME/data/upgrade-info.json: the node stopped at a
	// version it does not implement (exit code 3) and waits for a new binary.
	UpgradeNeeded *UpgradeInfo `json:"upgrade_needed,omitempty"`
	Engine        string       `json:"engine,omitempty"` // "solo" or "cometbft"
	Source        string       `json:"source"`           // "node" (live) or "data" (read from the data directory)
	BlockStore    int64        `json:"block_store_height"`
	// Visor is the supervisor's record when the home runs under forkgate
	// visor (HOME/visor/status.json); absent otherwise.
	Visor *Visor `json:"visor,omitempty"`
}

// ForksStatus summarises the schedule at the head.
type ForksStatus struct {
	Current *ForkPoint `json:"current"` // the last activation point passed (null: none)
	Next    *ForkPoint `json:"next"`    // the next known one (null: none known)
	Last    *ForkPoint `json:"last"`    // the last scheduled one with a known height
	All     []ForkInfo `json:"all"`
}

// ForkPoint is a height at which one or more forks activate.
type ForkPoint struct {
	Height int64    `json:"height"`
	Forks  []string `json:"forks"`
}

// ForkInfo is one fork of the schedule.
type ForkInfo struct {
	Key        string `json:"key"`
	Kind       string `json:"kind"`       // never, height, time, version
	Activation string `json:"activation"` // as written in a config
	// Height is the height from which the fork is active: its own height, the
	// first block at or after its time, or the activation height of its
	// version; -1 while unknown (a version not yet active, never, a parent
	// height).
	Height int64 `json:"height"`
	Active bool  `json:"active"`
}

// VersionInfo is one declared protocol version.
type VersionInfo struct {
	Version          uint32   `json:"version"`
	State            string   `json:"state"`
	ActivationHeight int64    `json:"activation_height"` // -1 until active
	Release          string   `json:"release,omitempty"`
	Forks            []string `json:"forks"` // forks configured { version = V }
}

// ProducerInfo is one slot of the current producer set.
type ProducerInfo struct {
	Slot        int    `json:"slot"`
	Name        string `json:"name,omitempty"`
	Address     string `json:"address"`
	LastVersion uint32 `json:"last_version"` // last signalled, from the signal state
	// Signalling is what this node signals for the producer (absent when it
	// holds no key for it).
	Signalling *Signalling `json:"signalling,omitempty"`
	NextSlot   int64       `json:"next_block"` // height of its next block in round-robin order
}

// Signalling is what a producer signals: Version until UpgradeHeight (0:
// never), then UpgradeVersion.
type Signalling struct {
	Version        uint32 `json:"version"`
	UpgradeHeight  int64  `json:"upgrade_height,omitempty"`
	UpgradeVersion uint32 `json:"upgrade_version,omitempty"`
}

// UpgradeInfoFormat is the version of the upgrade-info.json format.
const UpgradeInfoFormat = 1

// UpgradeInfo is HOME/data/upgrade-info.json, written durably by a node
// before it exits with code 3 ("upgrade needed"). A supervisor reads it to
// know which release to switch to; the node never needs it to restart.
type UpgradeInfo struct {
	Format int `json:"format"`
	// Version is the protocol version that activated; Height the first block
	// this binary must not execute (the node's state is at Height-1 or below).
	Version uint32 `json:"version"`
	Height  int64  `json:"height"`
	// Release is the release the fork config names for Version ("" when it
	// names none: any release implementing Version).
	Release string `json:"release"`
	// Implemented and Binary describe the binary that stopped.
	Implemented uint32 `json:"implemented"`
	Binary      string `json:"binary_version"`
	// ScheduleHash is the hash of the fork schedule the node ran with
	// (hex sha256 of its snapshot), so the new binary can be checked against
	// the same schedule.
	ScheduleHash string `json:"schedule_hash"`
	StateHeight  int64  `json:"state_height"`
	// Path is how the node met the height: "solo", "consensus", "blocksync"
	// (catching up) or "start" (restarted on data at the height).
	Path   string `json:"path,omitempty"`
	Time   string `json:"time"` // RFC 3339, when the node stopped
	Reason string `json:"reason"`
}
