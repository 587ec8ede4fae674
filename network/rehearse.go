package network

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/forkgate/forkgate/node"
)

// Binary is a release a rehearsal runs.
type Binary struct {
	Path    string   // the executable
	Args    []string // before `node run` (a test binary's)
	Env     []string
	RunArgs []string // after `node run HOME`
	Label   string   // for the report
}

// RehearseOptions configure Rehearse.
type RehearseOptions struct {
	Dir        string // the network directory; "" = a temporary one, removed afterwards
	Validators int    // default 4
	Old, New   Binary
	// Version is the protocol version the new release implements and the
	// old one does not (default 2).
	Version uint32
	// KillDuringCatchUp kills -9 the upgraded cut-off validator while it
	// catches up, and restarts it.
	KillDuringCatchUp bool
	// After is how many blocks past the activation every node must reach
	// before the final check (default 20).
	After int64
	Log   io.Writer // progress; nil: none
}

// ReportFormat is the version of the rehearsal report's JSON.
const ReportFormat = 1

// Report is what a rehearsal did and found.
type Report struct {
	Format     int     `json:"format"`
	Validators int     `json:"validators"`
	Old        string  `json:"old_release"`
	New        string  `json:"new_release"`
	Version    uint32  `json:"version"`
	Steps      []Step  `json:"steps"`
	Activation int64   `json:"activation_height"` // where Version became active (0: never)
	CutNode    string  `json:"cut_node"`
	Halt       *Halt   `json:"halt,omitempty"`
	CatchUp    float64 `json:"catch_up_seconds"` // the switched cut-off node (after the kill, if any), to the network's height at its (re)start
	// Agreement compares every node's block store at the end.
	Agreement *Agreement   `json:"agreement,omitempty"`
	Final     []NodeStatus `json:"final"`
	Seconds   float64      `json:"seconds"`
	Problems  []string     `json:"problems,omitempty"`
	OK        bool         `json:"ok"`
}

// Step is one step of the rehearsal.
type Step struct {
	Name    string  `json:"name"`
	Detail  string  `json:"detail"`
	Height  int64   `json:"height"` // the network's height when it ended
	Seconds float64 `json:"seconds"`
}

// Halt is how the old binary of the cut-off node stopped.
type Halt struct {
	Node        string `json:"node"`
	ExitCode    int    `json:"exit_code"`
	Height      int64  `json:"height"`       // from upgrade-info.json
	StateHeight int64  `json:"state_height"` // the node's committed height
	BlockStore  int64  `json:"block_store_height"`
	Path        string `json:"path"` // consensus, blocksync or start
	Release     string `json:"release"`
}

// Rehearse runs a rolling upgrade on a real network: every validator starts
// on the old release; all but the last switch to the new one, one at a
// time, while the network keeps producing; the last is cut off (before the
// final switch, so the new version cannot activate first) and healed after
// the activation; its old binary must halt with
// exit 3 at the activation height (block sync), then it switches, catches
// up (killed -9 once while catching up, if asked), and at the end every
// node's block store must hold the same state hash at every height.
//
// An error means the rehearsal could not run; a run that found a problem
// returns a Report with OK false.
func Rehearse(ctx context.Context, o RehearseOptions) (rep *Report, err error) {
	if o.Validators == 0 {
		o.Validators = 4
	}
	if o.Validators < 4 {
		return nil, fmt.Errorf("validators = %d: a rehearsal needs at least 4 (with one cut off and one restarting, the rest must hold more than 2/3 of the power)", o.Validators)
	}
	if o.Version == 0 {
		o.Version = 2
	}
	if o.After == 0 {
		o.After = 20
	}
	log := syncWriter(o.Log)
	dir := o.Dir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "forkgate-rehearse-"); err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		dir = filepath.Join(dir, "net")
	}
	began := time.Now()
	rep = &Report{Format: ReportFormat, Validators: o.Validators, Old: o.Old.Label, New: o.New.Label, Version: o.Version}
	if _, err := Init(dir, Options{Validators: o.Validators, Binaries: []string{o.Old.Path}, Args: o.Old.Args, Env: o.Old.Env,
		RunArgs: o.Old.RunArgs, SignalVersion: o.Version}); err != nil {
		return nil, err
	}
	stepStart := time.Now()
	nw, err := Up(ctx, dir, UpOptions{WaitHeight: 3, Log: log})
	if err != nil {
		return nil, err
	}
	defer nw.Down()
	step := func(name, detail string, args ...any) {
		s := Step{Name: name, Detail: fmt.Sprintf(detail, args...), Height: nw.Height(ctx), Seconds: time.Since(stepStart).Seconds()}
		rep.Steps = append(rep.Steps, s)
		fmt.Fprintf(log, "== %s: %s (height %d, %.1fs)\n", s.Name, s.Detail, s.Height, s.Seconds)
		stepStart = time.Now()
	}
	problem := func(format string, args ...any) {
		rep.Problems = append(rep.Problems, fmt.Sprintf(format, args...))
		fmt.Fprintf(log, "PROBLEM: %s\n", rep.Problems[len(rep.Problems)-1])
	}
	step("up", "%d validators on the old release (%s), each signalling v%d capped at what its binary implements", o.Validators, o.Old.Label, o.Version)

	names := make([]string, o.Validators)
	for i := range names {
		names[i] = nw.File.Nodes[i].Name
	}
	last := names[len(names)-1]
	rep.CutNode = last
	others := names[:len(names)-1]

	// 1. Rolling upgrade of all but the last, one at a time, the network
	// producing during each switch.
	var cutAt int64
	for k, name := range others {
		if k == len(others)-1 {
			// 2. Cut the last off before the version can activate: before
			// the switch that gives the new release its 3/4 of the slots.
			// (The network pauses while that switch restarts its node: two
			// of four validators are not 2/3.)
			if act := activation(nw.Status(ctx), o.Version); act > 0 {
				return nil, fmt.Errorf("version %d activated at %d before the last validator could be cut off", o.Version, act)
			}
			if err := nw.Perturb(last, Cut, ""); err != nil {
				return nil, err
			}
			cutAt = statusOf(nw.Status(ctx), last).Height
			// Restarted while cut off (its operator rebooted it), it will
			// catch up through block sync once healed, CometBFT's path for
			// a node that starts behind.
			if err := nw.Perturb(last, Restart, ""); err != nil {
				return nil, err
			}
			step("cut "+last, "every peer link of %s closed through the relay at its height %d, and it was restarted (still on the old release) while cut off", last, cutAt)
		}
		h0 := nw.Height(ctx)
		if err := nw.Perturb(name, SwitchBinary, o.New.Path); err != nil {
			return nil, err
		}
		// The network goes on with the switched node.
		if err := nw.WaitHeight(ctx, []string{name}, h0+3, 60*time.Second); err != nil {
			return nil, fmt.Errorf("after switching %s: %w", name, err)
		}
		step("switch "+name, "stopped, restarted on the new release (%s); the network went from %d to %d", o.New.Label, h0, nw.Height(ctx))
	}

	// 3. The rest activate the new version and go past it.
	var act int64
	deadline := time.Now().Add(120 * time.Second)
	for act == 0 {
		sts := nw.Status(ctx)
		act = activation(sts, o.Version)
		if act == 0 && time.Now().After(deadline) {
			return nil, fmt.Errorf("version %d did not activate within 120s (network at %d)", o.Version, nw.Height(ctx))
		}
		time.Sleep(300 * time.Millisecond)
	}
	rep.Activation = act
	if err := nw.WaitHeight(ctx, others, act+5, 60*time.Second); err != nil {
		return nil, err
	}
	cutNow := statusOf(nw.Status(ctx), last)
	if cutNow.Height >= act {
		problem("%s executed height %d (it is at %d) although it was cut off before the activation", last, act, cutNow.Height)
	}
	step("activate", "version %d locked in by the %d upgraded validators and active from height %d; %s still at %d", o.Version, len(others), act, last, cutNow.Height)

	// 4. Heal: the old binary catches up and must stop with exit 3 at the
	// activation height.
	if err := nw.Perturb(last, Heal, ""); err != nil {
		return nil, err
	}
	code, err := nw.WaitExit(ctx, last, 90*time.Second)
	if err != nil {
		return nil, fmt.Errorf("healed %s on the old release: %w", last, err)
	}
	h := &Halt{Node: last, ExitCode: code}
	rep.Halt = h
	info, err := node.ReadUpgradeInfo(filepath.Join(dir, nw.File.Nodes[len(names)-1].Home))
	switch {
	case err != nil:
		problem("%s: %v", last, err)
	case info == nil:
		problem("%s exited %d without writing data/upgrade-info.json", last, code)
	default:
		h.Height, h.StateHeight, h.Path, h.Release = info.Height, info.StateHeight, info.Path, info.Release
	}
	if bs, err := node.OpenHomeBlockStore(filepath.Join(dir, nw.File.Nodes[len(names)-1].Home)); err == nil {
		h.BlockStore = bs.Height()
		bs.Close()
	}
	if code != 3 {
		problem("%s's old release exited %d, want 3 (upgrade needed)", last, code)
	}
	if info != nil && (h.Height != act || h.StateHeight != act-1 || h.BlockStore != act-1) {
		problem("%s stopped with upgrade-info height %d, state %d, block store %d: want %d, %d, %d", last, h.Height, h.StateHeight, h.BlockStore, act, act-1, act-1)
	}
	if h.Path != "blocksync" {
		problem("%s's old release met the activation height through %q, want \"blocksync\" (it restarted behind its peers)", last, h.Path)
	}
	step("heal "+last, "healed at %d; the old release caught up through %s and stopped with exit %d before block %d (state at %d), upgrade-info.json names release %q",
		cutNow.Height, h.Path, code, h.Height, h.StateHeight, h.Release)

	// 4b. Started again on the old release, it refuses at once.
	if err := nw.Perturb(last, Start, ""); err != nil {
		return nil, err
	}
	code2, err := nw.WaitExit(ctx, last, 60*time.Second)
	if err != nil {
		return nil, fmt.Errorf("%s restarted on the old release: %w", last, err)
	}
	info2, _ := node.ReadUpgradeInfo(filepath.Join(dir, nw.File.Nodes[len(names)-1].Home))
	path2 := ""
	if info2 != nil {
		path2 = info2.Path
	}
	if code2 != 3 || path2 != "start" {
		problem("%s restarted on the old release at height %d: exit %d via %q, want 3 via \"start\"", last, act-1, code2, path2)
	}
	step("restart old "+last, "started again on the old release: exit %d at start (%s), nothing executed", code2, path2)

	// 5. Switch it and let it catch up; kill -9 it once on the way.
	target := nw.Height(ctx)
	catchStart := time.Now()
	catchFrom := statusOf(nw.Status(ctx), last).Height
	if err := nw.Perturb(last, SwitchBinary, o.New.Path); err != nil {
		return nil, err
	}
	if o.KillDuringCatchUp {
		// Kill once it has executed the activation height with the new
		// release, before it reaches the others.
		if err := nw.WaitHeight(ctx, []string{last}, act+1, 60*time.Second); err != nil {
			return nil, err
		}
		killedAt := statusOf(nw.Status(ctx), last).Height
		if err := nw.Perturb(last, Kill, ""); err != nil {
			return nil, err
		}
		if err := nw.Perturb(last, Start, ""); err != nil {
			return nil, err
		}
		target = nw.Height(ctx)
		step("kill "+last, "kill -9 while catching up at height %d (network at %d), started again", killedAt, target)
		catchStart, catchFrom = time.Now(), killedAt
	}
	if err := nw.WaitHeight(ctx, []string{last}, target, 90*time.Second); err != nil {
		return nil, err
	}
	rep.CatchUp = time.Since(catchStart).Seconds()
	step("catch up "+last, "on the new release (block %d replayed from its block store): from %d to the network's %d in %.1fs", act, catchFrom, target, rep.CatchUp)

	// 6. Everyone goes on together; then stop and compare every height.
	end := max(nw.Height(ctx)+5, act+o.After)
	if err := nw.WaitHeight(ctx, nil, end, 90*time.Second); err != nil {
		return nil, err
	}
	rep.Final = nw.Status(ctx)
	nw.Down()
	a, err := CompareStores(dir)
	if err != nil {
		return nil, err
	}
	rep.Agreement = a
	if !a.Agree() {
		problem("nodes disagree from height %d: %s", a.FirstDiff, strings.Join(a.Diffs, "; "))
	}
	step("compare", "every node's block store: %d heights held by all, %d (node, height) state hashes compared, first difference: %s",
		a.Heights, a.Compared, firstDiff(a))
	rep.Seconds = time.Since(began).Seconds()
	rep.OK = len(rep.Problems) == 0
	return rep, nil
}

func firstDiff(a *Agreement) string {
	if a.FirstDiff == 0 {
		return "none"
	}
	return fmt.Sprint(a.FirstDiff)
}

// activation is the height from which version v is active on the nodes
// that report it (0: on none yet).
func activation(sts []NodeStatus, v uint32) int64 {
	for _, s := range sts {
		for _, a := range s.Activations {
			if a.Version == v && a.Height > 0 {
				return a.Height
			}
		}
	}
	return 0
}

func statusOf(sts []NodeStatus, name string) NodeStatus {
	for _, s := range sts {
		if s.Name == name {
			return s
		}
	}
	return NodeStatus{}
}

// WriteText writes the report for a terminal.
func (r *Report) WriteText(w io.Writer) {
	fmt.Fprintf(w, "rehearsal: %d validators, %s -> %s (protocol version %d), %.1fs\n", r.Validators, r.Old, r.New, r.Version, r.Seconds)
	for i, s := range r.Steps {
		fmt.Fprintf(w, "%2d. %-14s h=%-4d %5.1fs  %s\n", i+1, s.Name, s.Height, s.Seconds, s.Detail)
	}
	fmt.Fprintln(w, "final:")
	for _, s := range r.Final {
		fmt.Fprintf(w, "  %s  height %d  state hash %.16s  signals v%d  implements v%d  %s\n", s.Name, s.Height, s.StateHash, s.Signalled, s.Implemented, s.State)
	}
	for _, p := range r.Problems {
		fmt.Fprintf(w, "PROBLEM: %s\n", p)
	}
	if r.OK {
		fmt.Fprintln(w, "result: OK: every node holds the same state hash at every height")
	} else {
		fmt.Fprintf(w, "result: FAILED (%d problems)\n", len(r.Problems))
	}
}

// WriteMarkdown writes the report as a Markdown document.
func (r *Report) WriteMarkdown(w io.Writer) {
	fmt.Fprintf(w, "# Rehearsal: rolling upgrade on %d CometBFT validators\n\n", r.Validators)
	result := "**OK**: every node holds the same state hash at every height"
	if !r.OK {
		result = fmt.Sprintf("**FAILED**: %d problems", len(r.Problems))
	}
	fmt.Fprintf(w, "%s → %s (protocol version %d), activation at height %d, %.1f s.\n\n%s\n\n", r.Old, r.New, r.Version, r.Activation, r.Seconds, result)
	fmt.Fprintln(w, "| # | step | height | seconds | what happened |")
	fmt.Fprintln(w, "|---|---|---|---|---|")
	for i, s := range r.Steps {
		fmt.Fprintf(w, "| %d | %s | %d | %.1f | %s |\n", i+1, s.Name, s.Height, s.Seconds, strings.ReplaceAll(s.Detail, "|", "\\|"))
	}
	if h := r.Halt; h != nil {
		fmt.Fprintf(w, "\nThe cut-off validator %s on the old release: exit code %d, upgrade-info.json height %d, state height %d, block store %d, path %s, release %q.\n",
			h.Node, h.ExitCode, h.Height, h.StateHeight, h.BlockStore, h.Path, h.Release)
	}
	fmt.Fprintln(w, "\n| node | height | state hash | signals | implements | state |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|")
	for _, s := range r.Final {
		fmt.Fprintf(w, "| %s | %d | `%.16s` | v%d | v%d | %s |\n", s.Name, s.Height, s.StateHash, s.Signalled, s.Implemented, s.State)
	}
	if a := r.Agreement; a != nil {
		fmt.Fprintf(w, "\nBlock stores compared: %d heights on every node, %d state hashes compared, first difference: %s.\n", a.Heights, a.Compared, firstDiff(a))
	}
	for _, p := range r.Problems {
		fmt.Fprintf(w, "\n- PROBLEM: %s", p)
	}
	fmt.Fprintln(w)
}

// WriteJSON writes the report as JSON (format ReportFormat).
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}
