package network

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/forkgate/forkgate/node"
	"github.com/forkgate/forkgate/nodestatus"
)

// Node states.
const (
	StateRunning        = "running"
	StatePaused         = "paused"
	StateStopped        = "stopped" // stopped by the network (down, restart, switch)
	StateKilled         = "killed"  // SIGKILL (perturb --kill)
	StateExited         = "exited"  // ended on its own with a non-zero code other than 3
	StateUpgradeNeeded  = "upgrade-needed"
	StateNeverStarted   = "not started"
	stopTimeout         = 15 * time.Second
	defaultWaitTimeout  = 90 * time.Second
	statusFetchDuration = 2 * time.Second
)

// Network is a running network: its node processes and relay.
type Network struct {
	Dir  string
	File *File

	mu     sync.Mutex
	procs  []*proc
	relay  *relay
	p2p    []string // each node's p2p listen address
	rpc    []string // each node's CometBFT RPC address
	log    io.Writer
	timer  *time.Timer
	done   chan struct{}
	downed bool
}

type proc struct {
	cmd      *exec.Cmd
	state    string
	code     int
	exited   chan struct{}
	starts   int
	wantStop bool // a stop the network asked for
	killed   bool
}

// UpOptions tune Up.
type UpOptions struct {
	Log io.Writer // progress lines; nil: none
	// WaitHeight: Up returns once every node committed this height (0: 2;
	// negative: do not wait).
	WaitHeight int64
	Timeout    time.Duration // for the wait; default 90s
}

// Up starts the network in dir: fresh loopback ports (written into each
// home's [node.cometbft]), the relay, one process per node; it waits until
// every node committed opts.WaitHeight.
func Up(ctx context.Context, dir string, opts UpOptions) (*Network, error) {
	// A port picked free can still be taken before the node binds it (by
	// another network started at the same moment). The node then exits
	// before the first block; new ports on a second try fix it, and
	// nothing has been committed that a restart could disturb.
	var err error
	for attempt := 1; attempt <= 3; attempt++ {
		var nw *Network
		nw, err = upOnce(ctx, dir, opts)
		if err == nil {
			return nw, nil
		}
		var busy *portTakenError
		if !errors.As(err, &busy) {
			return nil, err
		}
		fmt.Fprintf(syncWriter(opts.Log), "network %s: %v; starting again on other ports\n", dir, busy)
	}
	return nil, err
}

// portTakenError says a node could not bind its port.
type portTakenError struct {
	node string
	err  error
}

func (e *portTakenError) Error() string {
	return fmt.Sprintf("%s could not bind its port (%v)", e.node, e.err)
}
func (e *portTakenError) Unwrap() error { return e.err }

func upOnce(ctx context.Context, dir string, opts UpOptions) (*Network, error) {
	f, err := Load(dir)
	if err != nil {
		return nil, err
	}
	nw := &Network{Dir: dir, File: f, relay: newRelay(), log: syncWriter(opts.Log), done: make(chan struct{})}
	n := len(f.Nodes)
	nw.p2p, nw.rpc = make([]string, n), make([]string, n)
	picked := map[string]bool{}
	for i := range n {
		if nw.p2p[i], err = freeAddr(picked); err != nil {
			return nil, err
		}
		if nw.rpc[i], err = freeAddr(picked); err != nil {
			return nil, err
		}
	}
	for i := range n {
		var peers []string
		for j := range n {
			if j == i {
				continue
			}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				nw.relay.close()
				return nil, err
			}
			j := j
			nw.relay.listen(ln, i, j, func() string { return nw.p2p[j] })
			peers = append(peers, f.Nodes[j].NodeID+"@"+ln.Addr().String())
		}
		if err := setCometAddrs(nw.home(i), nw.p2p[i], nw.rpc[i], strings.Join(peers, ",")); err != nil {
			nw.relay.close()
			return nil, err
		}
	}
	nw.procs = make([]*proc, n)
	for i := range n {
		nw.procs[i] = &proc{state: StateNeverStarted}
		if err := nw.start(i); err != nil {
			nw.Down()
			return nil, err
		}
	}
	nw.timer = time.AfterFunc(f.lifetime(), func() {
		fmt.Fprintf(nw.log, "network %s: maximum lifetime %s reached, stopping\n", dir, f.lifetime())
		nw.Down()
	})
	if opts.WaitHeight >= 0 {
		h := max(opts.WaitHeight, 2)
		if err := nw.WaitHeight(ctx, nil, h, opts.Timeout); err != nil {
			nw.Down()
			if name := nw.portTaken(); name != "" {
				return nil, &portTakenError{node: name, err: err}
			}
			return nil, err
		}
	}
	return nw, nil
}

// freeAddr picks a free loopback port below the kernel's ephemeral range
// (32768–60999 on Linux). The node binds it a moment later; ports from the
// ephemeral range are handed out all the time (":0" listeners, outgoing
// connections) and could take it first, ports below it only by another
// picker like this one. Up retries when that happens anyway.
func freeAddr(picked map[string]bool) (string, error) {
	for range 100 {
		addr := fmt.Sprintf("127.0.0.1:%d", 20000+rand.IntN(12000))
		if picked[addr] {
			continue
		}
		if ln, err := net.Listen("tcp", addr); err == nil {
			ln.Close()
			picked[addr] = true
			return addr, nil
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// startMarker begins each start's lines in a node's log.
const startMarker = "forkgate net: start"

// portTaken names a node whose log says its address was in use ("" for
// none). Logs are appended across starts, so only the output of the last
// start counts: an earlier attempt's clash must not trigger another retry.
func (nw *Network) portTaken() string {
	for i, spec := range nw.File.Nodes {
		b, err := os.ReadFile(nw.LogPath(i))
		if err != nil {
			continue
		}
		last := string(b)
		if k := strings.LastIndex(last, startMarker); k >= 0 {
			last = last[k:]
		}
		if strings.Contains(last, "address already in use") {
			return spec.Name
		}
	}
	return ""
}

func (nw *Network) home(i int) string { return filepath.Join(nw.Dir, nw.File.Nodes[i].Home) }

// RPC is node i's CometBFT RPC address (host:port).
func (nw *Network) RPC(i int) string { return nw.rpc[i] }

// Pid is node i's process id (0 when it is not running).
func (nw *Network) Pid(i int) int {
	nw.mu.Lock()
	defer nw.mu.Unlock()
	p := nw.procs[i]
	if p.cmd == nil || (p.state != StateRunning && p.state != StatePaused) {
		return 0
	}
	return p.cmd.Process.Pid
}

// LogPath is the output file of node i.
func (nw *Network) LogPath(i int) string {
	return filepath.Join(nw.Dir, "logs", nw.File.Nodes[i].Name+".log")
}

// Done is closed once the network is down.
func (nw *Network) Done() <-chan struct{} { return nw.done }

// start starts node i's process. Call with nw.mu not held.
func (nw *Network) start(i int) error {
	nw.mu.Lock()
	defer nw.mu.Unlock()
	if nw.downed {
		return errors.New("the network is down")
	}
	p := nw.procs[i]
	if p.state == StateRunning || p.state == StatePaused {
		return fmt.Errorf("%s is already running", nw.File.Nodes[i].Name)
	}
	spec := nw.File.Nodes[i]
	home := nw.home(i)
	os.Remove(filepath.Join(home, "data", "http.addr")) // a stale address would answer for another process
	logf, err := os.OpenFile(nw.LogPath(i), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	args := append(append(append([]string{}, spec.Args...), "node", "run", home, "--quiet"), spec.RunArgs...)
	cmd := exec.Command(spec.Binary, args...)
	cmd.Env = append(os.Environ(), spec.Env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	// Own process group (signals reach the node and anything it starts),
	// and SIGKILL if the process that started it dies.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	fmt.Fprintf(logf, "== %s %s %s %s\n", time.Now().UTC().Format(time.RFC3339Nano), startMarker, spec.Binary, strings.Join(args, " "))
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start %s (%s): %v", spec.Name, spec.Binary, err)
	}
	np := &proc{cmd: cmd, state: StateRunning, exited: make(chan struct{}), starts: p.starts + 1}
	nw.procs[i] = np
	fmt.Fprintf(nw.log, "%s started (pid %d, %s)\n", spec.Name, cmd.Process.Pid, filepath.Base(spec.Binary))
	go func() {
		err := cmd.Wait()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		}
		nw.mu.Lock()
		np.code = code
		switch {
		case np.killed:
			np.state = StateKilled
		case np.wantStop:
			np.state = StateStopped
		case code == 3:
			np.state = StateUpgradeNeeded
		case code == 0:
			np.state = StateStopped
		default:
			np.state = StateExited
		}
		state := np.state
		nw.mu.Unlock()
		fmt.Fprintf(logf, "== %s forkgate net: exited with code %d (%s)\n", time.Now().UTC().Format(time.RFC3339Nano), code, state)
		logf.Close()
		fmt.Fprintf(nw.log, "%s %s (exit code %d)\n", spec.Name, state, code)
		close(np.exited)
	}()
	return nil
}

// stop ends node i: SIGTERM to its process group (SIGKILL with kill, or
// after a grace period), then waits for it.
func (nw *Network) stop(i int, kill bool) {
	nw.mu.Lock()
	p := nw.procs[i]
	if p.cmd == nil || (p.state != StateRunning && p.state != StatePaused) {
		nw.mu.Unlock()
		return
	}
	p.wantStop = true
	p.killed = kill
	pid := p.cmd.Process.Pid
	nw.mu.Unlock()
	if kill {
		syscall.Kill(-pid, syscall.SIGKILL)
	} else {
		syscall.Kill(-pid, syscall.SIGTERM)
		syscall.Kill(-pid, syscall.SIGCONT) // a paused node must run to stop
	}
	select {
	case <-p.exited:
	case <-time.After(stopTimeout):
		syscall.Kill(-pid, syscall.SIGKILL)
		<-p.exited
	}
}

// Down stops every node and the relay. It is safe to call more than once.
func (nw *Network) Down() {
	nw.mu.Lock()
	if nw.downed {
		nw.mu.Unlock()
		<-nw.done
		return
	}
	nw.downed = true
	if nw.timer != nil {
		nw.timer.Stop()
	}
	nw.mu.Unlock()
	var wg sync.WaitGroup
	for i := range nw.procs {
		wg.Add(1)
		go func() { defer wg.Done(); nw.stop(i, false) }()
	}
	wg.Wait()
	nw.relay.close()
	close(nw.done)
}

// Perturbations.
const (
	Kill         = "kill"
	Restart      = "restart"
	Start        = "start"
	Pause        = "pause"
	Resume       = "resume"
	Cut          = "cut"
	Heal         = "heal"
	SwitchBinary = "switch-binary"
)

// Actions are the perturbations Perturb knows.
var Actions = []string{Kill, Restart, Start, Pause, Resume, Cut, Heal, SwitchBinary}

// Perturb applies one perturbation to the node called name. binary is the
// new binary of SwitchBinary (its extra arguments are dropped).
func (nw *Network) Perturb(name, action, binary string) error {
	i, err := nw.File.Index(name)
	if err != nil {
		return err
	}
	nw.mu.Lock()
	p := nw.procs[i]
	state := p.state
	nw.mu.Unlock()
	running := state == StateRunning || state == StatePaused
	switch action {
	case Kill:
		if !running {
			return fmt.Errorf("%s is not running (%s)", name, state)
		}
		nw.stop(i, true)
	case Restart:
		nw.stop(i, false)
		return nw.start(i)
	case Start:
		return nw.start(i)
	case Pause, Resume:
		if !running {
			return fmt.Errorf("%s is not running (%s)", name, state)
		}
		sig, to := syscall.SIGSTOP, StatePaused
		if action == Resume {
			sig, to = syscall.SIGCONT, StateRunning
		}
		if err := syscall.Kill(-p.cmd.Process.Pid, sig); err != nil {
			return fmt.Errorf("%s %s: %v", action, name, err)
		}
		nw.mu.Lock()
		if p.state == StateRunning || p.state == StatePaused {
			p.state = to
		}
		nw.mu.Unlock()
	case Cut, Heal:
		nw.relay.setCut(i, action == Cut)
	case SwitchBinary:
		abs, err := checkBinary(binary)
		if err != nil {
			return err
		}
		nw.stop(i, false)
		nw.mu.Lock()
		nw.File.Nodes[i].Binary = abs
		nw.File.Nodes[i].RunArgs = nil
		err = nw.File.Save(nw.Dir)
		nw.mu.Unlock()
		if err != nil {
			return err
		}
		return nw.start(i)
	default:
		return fmt.Errorf("unknown perturbation %q: use one of %s", action, strings.Join(Actions, ", "))
	}
	return nil
}

// WaitExit waits until node name's process has ended and returns its exit
// code.
func (nw *Network) WaitExit(ctx context.Context, name string, timeout time.Duration) (int, error) {
	i, err := nw.File.Index(name)
	if err != nil {
		return 0, err
	}
	nw.mu.Lock()
	p := nw.procs[i]
	nw.mu.Unlock()
	if p.exited == nil {
		return 0, fmt.Errorf("%s never started", name)
	}
	select {
	case <-p.exited:
		return p.code, nil
	case <-time.After(timeout):
		return 0, fmt.Errorf("%s still runs after %s", name, timeout)
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// NodeStatus is one node as `net status` shows it.
type NodeStatus struct {
	Name     string `json:"name"`
	Producer string `json:"producer"`
	Binary   string `json:"binary"`
	State    string `json:"state"`
	Cut      bool   `json:"cut"`
	ExitCode *int   `json:"exit_code,omitempty"`
	Starts   int    `json:"starts"`
	// From the node's status API (or its data when it is not running).
	Height          int64                   `json:"height"`
	StateHash       string                  `json:"state_hash"`
	AppVersion      string                  `json:"app_version"`
	Implemented     uint32                  `json:"implemented"`
	ProtocolVersion uint32                  `json:"protocol_version"`
	Signalled       uint32                  `json:"signalled"` // the version its producer last signalled
	UpgradeNeeded   *nodestatus.UpgradeInfo `json:"upgrade_needed,omitempty"`
	// VotingPower is the node's power in CometBFT's current validator set
	// (0: a full node, not elected; from its RPC while it runs).
	VotingPower int64 `json:"voting_power"`
	// Activations are the protocol versions active at the node's height and
	// the heights they activated at.
	Activations []Activation `json:"activations,omitempty"`
	Error       string       `json:"error,omitempty"`
}

// Activation is a protocol version and the height it is active from.
type Activation struct {
	Version uint32 `json:"version"`
	Height  int64  `json:"height"`
}

// Status reports every node.
func (nw *Network) Status(ctx context.Context) []NodeStatus {
	out := make([]NodeStatus, len(nw.File.Nodes))
	var wg sync.WaitGroup
	for i := range nw.File.Nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			nw.mu.Lock()
			p := nw.procs[i]
			spec := nw.File.Nodes[i]
			ns := NodeStatus{Name: spec.Name, Producer: spec.Producer, Binary: spec.Binary, State: p.state, Starts: p.starts, Cut: nw.relay.isCut(i)}
			if p.exited != nil && p.state != StateRunning && p.state != StatePaused {
				code := p.code
				ns.ExitCode = &code
			}
			nw.mu.Unlock()
			live := ns.State == StateRunning
			fillStatus(ctx, &ns, nw.home(i), live, ns.State == StatePaused)
			if live && nw.rpc != nil {
				ns.VotingPower, _ = nw.rpcPower(ctx, i)
			}
			out[i] = ns
		}()
	}
	wg.Wait()
	return out
}

// fillStatus asks a running node's status API, or reads a stopped node's
// data.
func fillStatus(ctx context.Context, ns *NodeStatus, home string, live, paused bool) {
	var st *nodestatus.Status
	var err error
	switch {
	case paused:
		ns.Error = "paused: no status until resumed"
		return
	case live:
		var addr []byte
		if addr, err = os.ReadFile(filepath.Join(home, "data", "http.addr")); err == nil {
			st, err = nodestatus.Fetch(ctx, strings.TrimSpace(string(addr)), statusFetchDuration)
		} else {
			err = errors.New("starting (no status API address yet)")
		}
	default:
		st, err = node.ReadStatus(home, node.Options{})
	}
	if err != nil {
		ns.Error = err.Error()
		return
	}
	ns.Height, ns.StateHash, ns.AppVersion, ns.Implemented, ns.ProtocolVersion = st.Height, st.StateHash, st.AppVersion, st.Implemented, st.ProtocolVersion
	ns.UpgradeNeeded = st.UpgradeNeeded
	for _, v := range st.Versions {
		if v.ActivationHeight >= 0 {
			ns.Activations = append(ns.Activations, Activation{Version: v.Version, Height: v.ActivationHeight})
		}
	}
	for _, pr := range st.Producers {
		if pr.Name == ns.Producer {
			ns.Signalled = pr.LastVersion
		}
	}
}

// WaitHeight waits until each node in names (nil: all) has committed height
// h (read from its status API), for at most timeout (0: 90s).
func (nw *Network) WaitHeight(ctx context.Context, names []string, h int64, timeout time.Duration) error {
	if timeout <= 0 {
		timeout = defaultWaitTimeout
	}
	if names == nil {
		for _, n := range nw.File.Nodes {
			names = append(names, n.Name)
		}
	}
	deadline := time.Now().Add(timeout)
	for {
		sts := nw.Status(ctx)
		var behind []string
		for _, s := range sts {
			for _, want := range names {
				if s.Name == want && s.Height < h {
					behind = append(behind, fmt.Sprintf("%s at %d (%s%s)", s.Name, s.Height, s.State, errSuffix(s.Error)))
				}
			}
		}
		if len(behind) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("height %d not reached within %s: %s (logs in %s)", h, timeout, strings.Join(behind, ", "), filepath.Join(nw.Dir, "logs"))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-nw.done:
			return errors.New("the network went down")
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func errSuffix(s string) string {
	if s == "" {
		return ""
	}
	return ": " + s
}

// Height is the highest height any running node reports.
func (nw *Network) Height(ctx context.Context) int64 {
	var h int64
	for _, s := range nw.Status(ctx) {
		h = max(h, s.Height)
	}
	return h
}

// syncWriter serialises writes to w (nil: discard): node exits are
// reported from their own goroutines.
func syncWriter(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	if _, ok := w.(*lockedWriter); ok {
		return w
	}
	return &lockedWriter{w: w}
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
