package visor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/forkgate/forkgate/node"
	"github.com/forkgate/forkgate/nodestatus"
	"github.com/forkgate/forkgate/release"
)

// Exit codes of the supervisor (the project's codes).
const (
	ExitOK       = 0
	ExitFindings = 1 // a release refused (tampered, wrong version), a gate failed and was rolled back
	ExitUsage    = 2 // unusable input: no supervisor, a broken journal, a full disk
	ExitUpgrade  = 3 // upgrade needed: no stored release can run the data
)

// Error carries the supervisor's exit code.
type Error struct {
	Code int
	Err  error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

func fail(code int, format string, args ...any) error {
	return &Error{Code: code, Err: fmt.Errorf(format, args...)}
}

// classify maps an error to the supervisor's exit code.
func classify(err error) error {
	var e *Error
	var nr *NoReleaseError
	var me *MissingError
	switch {
	case err == nil || errors.As(err, &e):
		return err
	case errors.As(err, &nr), errors.As(err, &me):
		return &Error{Code: ExitUpgrade, Err: err}
	case errors.Is(err, release.ErrMismatch), errors.Is(err, release.ErrSignature):
		return &Error{Code: ExitFindings, Err: err}
	}
	return &Error{Code: ExitUsage, Err: err}
}

// Options configure Run.
type Options struct {
	// Args are the node's arguments after the binary; default
	// ["node", "run", HOME].
	Args   []string
	Stdout io.Writer // the node's stdout passes through here
	Stderr io.Writer // the node's stderr, and the supervisor's lines
	// GateBlocks is how many blocks from the first height the new release
	// executes it must commit to pass the gate (default 2).
	GateBlocks int64
	// GateTimeout bounds the gate (default 2 minutes).
	GateTimeout time.Duration
	// GateReplay makes the gate also replay the chain up to the switch
	// with the new binary, from genesis in a scratch home, checking every
	// recorded state hash: a release that changes old rules without a
	// fork fails it.
	GateReplay bool
	// ReplayTimeout bounds the replay (default 10 minutes): a long chain
	// takes longer to replay than to commit a few blocks.
	ReplayTimeout time.Duration
	// PreUpgrade is a command run before a switch, with the arguments
	// "<to-version> <height>"; see HookContinue.
	PreUpgrade   []string
	HookRetries  int           // retries on exit 31 (default 3)
	HookTimeout  time.Duration // per attempt (default 5 minutes)
	Grace        time.Duration // SIGTERM to SIGKILL (default 10 s)
	MinFreeBytes int64         // free space kept beyond a checkpoint (default 64 MiB)
}

func (o *Options) defaults(home string) {
	if len(o.Args) == 0 {
		o.Args = []string{"node", "run", home}
	}
	if o.Stdout == nil {
		o.Stdout = io.Discard
	}
	if o.Stderr == nil {
		o.Stderr = io.Discard
	}
	if o.GateBlocks <= 0 {
		o.GateBlocks = 2
	}
	if o.GateTimeout <= 0 {
		o.GateTimeout = 2 * time.Minute
	}
	if o.ReplayTimeout <= 0 {
		o.ReplayTimeout = 10 * time.Minute
	}
	if o.HookRetries <= 0 {
		o.HookRetries = 3
	}
	if o.HookTimeout <= 0 {
		o.HookTimeout = 5 * time.Minute
	}
	if o.Grace <= 0 {
		o.Grace = 10 * time.Second
	}
	if o.MinFreeBytes <= 0 {
		o.MinFreeBytes = 64 << 20
	}
}

// supervisor is one `visor run`.
type supervisor struct {
	l        Layout
	o        Options
	releases string // resolved releases dir, to recognise our own children
	last     *nodestatus.VisorSwitch
	genesis  string    // genesis hash of the home, to recognise its status API
	exitAt   time.Time // when the last node exited: the downtime's start

	mu       sync.Mutex
	verified map[string]string // version -> sha256 of the binary fully verified by this process
}

// verify checks a release before it starts. A release this process fully
// verified (files, signature, version output) is checked again by its
// binary's sha256 only: the same bytes. The others get the full check.
func (s *supervisor) verify(ctx context.Context, v string) error {
	s.mu.Lock()
	sum, ok := s.verified[v]
	s.mu.Unlock()
	if ok {
		if got, _, err := release.SHA256File(s.l.Binary(v)); err == nil && got == sum {
			return nil
		}
	}
	m, err := s.l.Verify(ctx, v)
	if err != nil {
		return err
	}
	s.mu.Lock()
	if s.verified == nil {
		s.verified = map[string]string{}
	}
	s.verified[v] = m.Binary.SHA256
	s.mu.Unlock()
	return nil
}

// preverify verifies, in the background while a node runs, the stored
// releases a later switch may start, so the switch itself only re-hashes
// the binary. A failure here is not reported: the switch verifies again
// and reports it.
func (s *supervisor) preverify(ctx context.Context, cur string) {
	list, err := s.l.List()
	if err != nil {
		return
	}
	go func() {
		for _, r := range list {
			if v := r.Manifest.Version; v != cur && r.GateFailed == "" && ctx.Err() == nil {
				s.verify(ctx, v)
			}
		}
	}()
}

// Run supervises the node of home until it stops: it finishes a switch a
// crash interrupted, picks and verifies the release the data needs, runs
// it, and switches releases when the node halts for a version the running
// one does not implement. It returns nil when the node exited 0 (or was
// stopped through ctx), else an *Error with the exit code.
func Run(ctx context.Context, home string, o Options) error {
	o.defaults(home)
	s := &supervisor{l: Layout{home}, o: o}
	if err := s.l.check(); err != nil {
		return classify(err)
	}
	if r, err := filepath.EvalSymlinks(s.l.Releases()); err == nil {
		s.releases = r
	}
	err := s.run(ctx)
	if err != nil {
		s.logf("%v", err)
	}
	return classify(err)
}

func (s *supervisor) logf(format string, args ...any) {
	fmt.Fprintf(s.o.Stderr, "visor: "+format+"\n", args...)
}

func (s *supervisor) run(ctx context.Context) error {
	j, err := s.l.readJournal()
	if err != nil {
		return fail(ExitUsage, "%v", err)
	}
	var c *child
	if j != nil {
		if c, err = s.recover(ctx, j); err != nil {
			return err
		}
	}
	for {
		if c == nil {
			if c, err = s.next(ctx); err != nil {
				return err
			}
		}
		if stopped := s.wait(ctx, c); stopped {
			s.status("stopped", "stopped by a signal", 0)
			if c.code != 0 && c.code != 128+15 {
				return fail(c.code, "the node exited with code %d after the stop signal", c.code)
			}
			return nil
		}
		if c.code == 0 {
			s.status("stopped", "the node exited 0", 0)
			return nil
		}
		// The node failed. Only a need the current release no longer
		// meets is a reason to switch; any other failure ends the
		// supervisor with the node's code, never a restart loop. A node
		// that exits 3 has just written upgrade-info.json, which says all
		// the switch needs without opening the data.
		st, err := s.haltStatus(c.code)
		if err != nil {
			return err
		}
		cur, _ := s.l.CurrentVersion()
		next, err := s.pick(st, cur)
		var nr *NoReleaseError
		if errors.As(err, &nr) {
			s.status("refused", err.Error(), 0)
			return fmt.Errorf("the node stopped (exit %d) at height %d for an upgrade: %w", c.code, st.Height, err)
		}
		if err != nil {
			return err
		}
		if next.Version == cur {
			s.status("stopped", fmt.Sprintf("the node exited with code %d", c.code), 0)
			return fail(c.code, "the node exited with code %d at height %d and release %s still fits the data: not an upgrade halt, not restarting", c.code, st.Height, cur)
		}
		s.logf("the node stopped at height %d (exit %d); protocol version %d is active from %d: switching %s -> %s", st.Height, c.code, needOf(st).Active, st.Height+1, cur, next.Version)
		if c, err = s.switchTo(ctx, cur, next.Version, st); err != nil {
			return err
		}
	}
}

// next picks the release the data needs and starts it, switching first
// when it is not the current one.
func (s *supervisor) next(ctx context.Context) (*child, error) {
	st, err := s.dataStatus()
	if err != nil {
		return nil, err
	}
	cur, err := s.l.CurrentVersion()
	if err != nil {
		return nil, err
	}
	pick, err := s.pick(st, cur)
	if err != nil {
		s.status("refused", err.Error(), 0)
		return nil, err
	}
	if pick.Version != cur {
		return s.switchTo(ctx, cur, pick.Version, st)
	}
	if err := s.verify(ctx, cur); err != nil {
		s.status("refused", err.Error(), 0)
		return nil, err
	}
	c, err := s.start(cur)
	if err == nil {
		s.preverify(ctx, cur)
	}
	return c, err
}

// wait waits for the child to exit, forwarding a stop (ctx) to it. It
// reports whether the stop came from ctx.
func (s *supervisor) wait(ctx context.Context, c *child) bool {
	select {
	case <-c.done:
		s.exitAt = c.exitAt
		return false
	case <-ctx.Done():
		c.stop(s.o.Grace)
		return true
	}
}

// dataStatus reads the stopped node's status from its data, with this
// build's code (read-only: nothing is written).
func (s *supervisor) dataStatus() (*nodestatus.Status, error) {
	n, err := node.OpenReadOnly(s.l.Home, node.Options{})
	if err != nil {
		return nil, fail(ExitUsage, "reading the node's data in %s: %v", s.l.Data(), err)
	}
	defer n.Close()
	st, err := n.Status()
	if err != nil {
		return nil, fail(ExitUsage, "reading the node's status in %s: %v", s.l.Data(), err)
	}
	s.genesis = st.GenesisHash
	return st, nil
}

// haltStatus is what the data needs after the node exited with code:
// read from upgrade-info.json after exit 3, else from the data.
func (s *supervisor) haltStatus(code int) (*nodestatus.Status, error) {
	if code == ExitUpgrade {
		if info, err := node.ReadUpgradeInfo(s.l.Home); err == nil && info != nil && info.Height > info.StateHeight {
			return &nodestatus.Status{Height: info.StateHeight, ProtocolVersion: info.Version, UpgradeNeeded: info, GenesisHash: s.genesis,
				Versions: []nodestatus.VersionInfo{{Version: info.Version, ActivationHeight: info.Height}}}, nil
		}
	}
	return s.dataStatus()
}

func (s *supervisor) candidates() ([]Candidate, error) {
	list, err := s.l.List()
	if err != nil {
		return nil, err
	}
	out := make([]Candidate, 0, len(list))
	for _, r := range list {
		out = append(out, Candidate{Version: r.Manifest.Version, Implemented: r.Manifest.Build.Implemented,
			MinHeight: r.Manifest.MinHeight, GateFailed: r.GateFailed})
	}
	return out, nil
}

func (s *supervisor) pick(st *nodestatus.Status, cur string) (Candidate, error) {
	cands, err := s.candidates()
	if err != nil {
		return Candidate{}, err
	}
	c, err := Pick(cands, cur, needOf(st))
	var nr *NoReleaseError
	if errors.As(err, &nr) {
		nr.Dir = s.l.Releases()
	}
	return c, err
}

// needOf is what the data needs next: the protocol version active at the
// next height, or the one the node recorded in upgrade-info.json when it
// stopped there (a CometBFT node halts with the block already decided).
func needOf(st *nodestatus.Status) Need {
	n := Need{Next: st.Height + 1, Active: st.ProtocolVersion}
	if u := st.UpgradeNeeded; u != nil && u.Height <= n.Next && u.Version > n.Active {
		n.Active = u.Version
	}
	return n
}

// start runs a release's binary.
func (s *supervisor) start(v string) (*child, error) {
	c, err := startChild(s.l.Binary(v), s.o.Args, s.o.Stdout, s.o.Stderr)
	if err != nil {
		return nil, fail(ExitUsage, "starting %s: %v", s.l.Binary(v), err)
	}
	s.logf("running release %s (pid %d): %s %v", v, c.pid(), s.l.Binary(v), s.o.Args)
	s.status("running", "release "+v, c.pid())
	return c, nil
}

// activationHeight is the first height the new release executes: the
// activation height of the active version when it is still ahead,
// otherwise the next height.
func activationHeight(st *nodestatus.Status) int64 {
	for _, v := range st.Versions {
		if v.Version == st.ProtocolVersion && v.ActivationHeight > st.Height {
			return v.ActivationHeight
		}
	}
	return st.Height + 1
}

// status writes status.json (best effort: a failure is reported, never
// fatal, so the node is not stopped for a status file).
func (s *supervisor) status(state, detail string, pid int) {
	v := &nodestatus.Visor{Format: nodestatus.VisorFormat, State: state, Detail: detail, ChildPID: pid,
		LastSwitch: s.last, Updated: time.Now().UTC().Format(time.RFC3339), Releases: []nodestatus.VisorRelease{}}
	v.Current, _ = s.l.CurrentVersion()
	if list, err := s.l.List(); err == nil {
		for _, r := range list {
			v.Releases = append(v.Releases, nodestatus.VisorRelease{Version: r.Manifest.Version,
				Implemented: r.Manifest.Build.Implemented, MinHeight: r.Manifest.MinHeight, GateFailed: r.GateFailed})
		}
	}
	if j, err := s.l.readJournal(); err == nil && j != nil {
		v.Journal = j.Phase
	}
	if err := writeJSONFile(s.l.Status(), v); err != nil {
		s.logf("warning: %v", err)
	}
}

// ReadStatus reads HOME/visor/status.json.
func ReadStatus(home string) (*nodestatus.Visor, error) {
	l := Layout{home}
	if err := l.check(); err != nil {
		return nil, err
	}
	var v nodestatus.Visor
	if err := readJSONFile(l.Status(), &v); err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
		v = nodestatus.Visor{Format: nodestatus.VisorFormat, State: "never_run", Releases: []nodestatus.VisorRelease{}}
	}
	// The releases and the link are read fresh: they change without the
	// supervisor running (visor add).
	v.Current, _ = l.CurrentVersion()
	v.Releases = []nodestatus.VisorRelease{}
	list, err := l.List()
	if err != nil {
		return nil, err
	}
	for _, r := range list {
		v.Releases = append(v.Releases, nodestatus.VisorRelease{Version: r.Manifest.Version,
			Implemented: r.Manifest.Build.Implemented, MinHeight: r.Manifest.MinHeight, GateFailed: r.GateFailed})
	}
	if j, err := l.readJournal(); err != nil {
		return nil, err
	} else if j != nil {
		v.Journal = j.Phase
	}
	return &v, nil
}
