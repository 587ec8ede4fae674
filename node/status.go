package node

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/forkgate/forkgate/nodestatus"

	"github.com/forkgate/forkgate/atomicfile"

	"github.com/forkgate/forkgate/buildinfo"
	"github.com/forkgate/forkgate/forkfile"
	"github.com/forkgate/forkgate/forkid"
	"github.com/forkgate/forkgate/schedule"
)

// The status model lives in package nodestatus; these aliases keep node's
// API (node.Status ...) for callers that already run a node.
type (
	Status       = nodestatus.Status
	ForksStatus  = nodestatus.ForksStatus
	ForkPoint    = nodestatus.ForkPoint
	ForkInfo     = nodestatus.ForkInfo
	VersionInfo  = nodestatus.VersionInfo
	ProducerInfo = nodestatus.ProducerInfo
)

// Status reports the node at its committed height.
func (n *Node) Status() (*Status, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.state == nil {
		return nil, errors.New("the node is closed")
	}
	app, g := n.app, n.l.genesis
	h := app.Height()
	st := &Status{Format: nodestatus.StatusFormat, ChainID: g.ChainID, Title: n.l.cfg.File.Title, GenesisHash: hexs(n.l.gHash[:]),
		Height: h, Time: g.Time, StateHash: hexs(n.state.Root()), AppVersion: buildinfo.Version,
		Implemented: n.opts.Implemented, Running: n.running, Source: "data",
		Commit: buildinfo.Commit(), BinarySHA256: executableSHA256()}
	if n.running {
		st.Source = "node"
	}
	if n.blocks != nil {
		st.BlockStore = n.blocks.Height()
		if h > 0 {
			if b, err := n.blocks.Get(h); err == nil {
				st.Time = b.Time
			}
		}
	}
	sig := app.Signal()
	st.Signal = sig.Status()
	if err := sig.Halted(); err != nil {
		st.Halt = err.Error()
	}
	st.Engine = n.l.cfg.Node.EngineName()
	// A recorded upgrade stays pending until a binary executes its height.
	if info, err := ReadUpgradeInfo(string(n.l.home)); err == nil && info != nil && info.Height > h {
		st.UpgradeNeeded = info
	}
	sched := app.Schedule()
	sh := sched.Snapshot().Hash()
	st.ScheduleHash = hexs(sh[:])

	// Forks: the height from which each is active.
	st.ProtocolVersion = 1
	versionForks := map[uint32][]string{}
	var points []ForkInfo
	loc := n.locator()
	rules := sched.Rules(n.l.genesis.Point(h, st.Time), sig)
	for _, e := range sched.Entries() {
		fi := ForkInfo{Key: e.Fork.Key(), Kind: e.Activation.Kind.String(), Height: -1,
			Activation: forkfile.FormatActivation(e.Activation, e.Fork.Domain)}
		if at, ok := loc.ActivationHeight(e.Activation, e.Fork.Domain); ok {
			fi.Height = at
		}
		if e.Activation.Kind == schedule.KindVersion {
			versionForks[e.Activation.Version] = append(versionForks[e.Activation.Version], fi.Key)
		}
		fi.Active = rules.Active(sched.Fork(e.Fork.Scope, e.Fork.Name))
		st.Forks.All = append(st.Forks.All, fi)
		if fi.Height >= 0 {
			points = append(points, fi)
		}
	}
	sort.SliceStable(points, func(i, j int) bool { return points[i].Height < points[j].Height })
	group := func(pick func(ForkInfo) bool, last bool) *ForkPoint {
		var p *ForkPoint
		for _, f := range points {
			if !pick(f) {
				continue
			}
			switch {
			case p == nil:
				p = &ForkPoint{Height: f.Height, Forks: []string{f.Key}}
			case f.Height == p.Height:
				p.Forks = append(p.Forks, f.Key)
			case last:
				p = &ForkPoint{Height: f.Height, Forks: []string{f.Key}}
			default:
				return p
			}
		}
		return p
	}
	st.Forks.Current = group(func(f ForkInfo) bool { return f.Active }, true)
	st.Forks.Next = group(func(f ForkInfo) bool { return !f.Active && f.Height > h }, false)
	st.Forks.Last = group(func(ForkInfo) bool { return true }, true)

	for _, v := range sched.Versions() {
		vi := VersionInfo{Version: v.Number, ActivationHeight: -1, Release: v.Release, Forks: versionForks[v.Number]}
		if vi.Forks == nil {
			vi.Forks = []string{}
		}
		if s, _, ok := sig.VersionState(v.Number); ok {
			vi.State = s.String()
		}
		if ah, ok := sig.ActivationHeight(v.Number); ok {
			vi.ActivationHeight = ah
			if ah <= h+1 && v.Number > st.ProtocolVersion {
				st.ProtocolVersion = v.Number
			}
		}
		st.Versions = append(st.Versions, vi)
	}

	heights, times := sched.ForkIDPoints()
	st.ForkID = forkid.NewID(n.l.gHash[:], heights, times, uint64(h), uint64(st.Time))

	set, err := app.Producers()
	if err != nil && h > 0 {
		return nil, err
	}
	last := map[string]uint32{}
	for _, p := range st.Signal.Producers {
		last[p.Producer] = p.LastVersion
	}
	for i, a := range set {
		pi := ProducerInfo{Slot: i, Name: n.l.names[a], Address: a.String(), LastVersion: last[a.String()]}
		if k, ok := n.l.producers[a]; ok {
			s := n.l.cfg.Node.SignallingFor(k.Name)
			pi.Signalling = &nodestatus.Signalling{Version: s.Version, UpgradeHeight: s.UpgradeHeight, UpgradeVersion: s.UpgradeVersion}
		}
		// Next block of slot i after h: the smallest b > h with (b-1) mod n == i.
		next := h + 1 + int64((i-int(h%int64(len(set)))+len(set))%len(set))
		pi.NextSlot = next
		st.Producers = append(st.Producers, pi)
	}
	if st.Producers == nil {
		st.Producers = []ProducerInfo{}
	}
	st.Visor = readVisor(n.l.home)
	return st, nil
}

// readVisor reads the supervisor's status file (forkgate visor), nil when
// the home runs without one or the file is not readable: the node's own
// status never fails because of it.
func readVisor(h Home) *nodestatus.Visor {
	b, err := os.ReadFile(filepath.Join(string(h), "visor", "status.json"))
	if err != nil || len(b) > 1<<20 {
		return nil
	}
	var v nodestatus.Visor
	if json.Unmarshal(b, &v) != nil || v.Format < 1 {
		return nil
	}
	return &v
}

// StateHashes returns the state hash committed at each height in [from, to]
// the node holds, from its block store (the fleet checks' split search).
func (n *Node) StateHashes(from, to int64) ([]nodestatus.HeightHash, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.state == nil {
		return nil, errors.New("the node is closed")
	}
	if n.blocks == nil {
		return nil, errors.New("this node has no block store")
	}
	if h := n.app.Height(); to > h {
		to = h
	}
	var out []nodestatus.HeightHash
	for h := from; h <= to; h++ {
		b, err := n.blocks.Get(h)
		if err != nil {
			return nil, fmt.Errorf("block %d: %v", h, err)
		}
		out = append(out, nodestatus.HeightHash{Height: h, StateHash: hexs(b.AppHash)})
	}
	return out, nil
}

// executableSHA256 is the sha256 of the running binary, computed once: the
// fleet checks compare it with the release's (a wrong build of the right
// version is otherwise invisible). Empty when the file cannot be read.
var executableSHA256 = sync.OnceValue(func() string {
	path, err := os.Executable()
	if err != nil {
		return ""
	}
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return ""
	}
	return hex.EncodeToString(h.Sum(nil))
})

// HTTPServer is the status API of a node: nodestatus's server, plus the
// address file that lets `node status` find it.
type HTTPServer struct {
	*nodestatus.Server
	file string
}

// ServeHTTP starts the status API on addr (e.g. 127.0.0.1:0). The bound
// address is written to HOME/data/http.addr so that `node status` can ask
// the running node while its data directory is locked.
func (n *Node) ServeHTTP(addr string) (*HTTPServer, error) {
	srv, err := nodestatus.ServeWith(addr, n.Status, nodestatus.Options{Hashes: n.StateHashes}, func(msg string) { fmt.Fprintln(n.log, "warning:", msg) })
	if err != nil {
		return nil, err
	}
	s := &HTTPServer{Server: srv}
	if !n.readOnly {
		s.file = n.l.home.addrFile()
		if err := atomicfile.Write(s.file, []byte(srv.Addr()+"\n"), 0o600); err != nil {
			fmt.Fprintf(n.log, "warning: %v: `node status` will read the data directory instead of asking the node\n", err)
			s.file = ""
		}
	}
	return s, nil
}

// Close stops the server and removes the address file.
func (s *HTTPServer) Close() error {
	err := s.Server.Close()
	if s.file != "" {
		os.Remove(s.file)
	}
	return err
}

// ReadStatus reports a home's status: from its running node's status API
// when one answers (the data directory is locked while it runs), otherwise
// from the data directory, after the same consistency checks `run` makes.
func ReadStatus(home string, opts Options) (*Status, error) {
	if b, err := os.ReadFile(Home(home).addrFile()); err == nil {
		if st, err := nodestatus.Fetch(context.Background(), strings.TrimSpace(string(b)), 3*time.Second); err == nil {
			return st, nil
		}
	}
	n, err := OpenReadOnly(home, opts)
	if err != nil {
		return nil, err
	}
	defer n.Close()
	return n.Status()
}
