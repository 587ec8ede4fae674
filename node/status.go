package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/forkgate/forkgate/atomicfile"

	"github.com/forkgate/forkgate/buildinfo"
	"github.com/forkgate/forkgate/forkfile"
	"github.com/forkgate/forkgate/forkid"
	"github.com/forkgate/forkgate/schedule"
	"github.com/forkgate/forkgate/signal"
)

// StatusFormat versions the status JSON; fields are only ever added.
const StatusFormat = 1

// Status is what the status API serves and `node status` prints.
type Status struct {
	Format          int            `json:"format"`
	ChainID         string         `json:"chain_id"`
	Title           string         `json:"title"`
	GenesisHash     string         `json:"genesis_hash"`
	Height          int64          `json:"height"`
	Time            int64          `json:"time"`
	StateHash       string         `json:"state_hash"`
	AppVersion      string         `json:"app_version"`
	ProtocolVersion uint32         `json:"protocol_version"`
	Implemented     uint32         `json:"implemented"`
	ForkID          forkid.ID      `json:"fork_id"`
	Forks           ForksStatus    `json:"forks"`
	Versions        []VersionInfo  `json:"versions"`
	Signal          signal.Status  `json:"signal"`
	Producers       []ProducerInfo `json:"producers"`
	Running         bool           `json:"running"`
	Halt            string         `json:"halt,omitempty"`
	Source          string         `json:"source"` // "node" (live) or "data" (read from the data directory)
	BlockStore      int64          `json:"block_store_height"`
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

// Status reports the node at its committed height.
func (n *Node) Status() (*Status, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.state == nil {
		return nil, errors.New("the node is closed")
	}
	app, g := n.app, n.l.genesis
	h := app.Height()
	st := &Status{Format: StatusFormat, ChainID: g.ChainID, Title: n.l.cfg.File.Title, GenesisHash: hexs(n.l.gHash[:]),
		Height: h, Time: g.Time, StateHash: hexs(n.state.Root()), AppVersion: buildinfo.Version,
		Implemented: n.opts.Implemented, Running: n.running, Source: "data"}
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
	sched := app.Schedule()

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
			pi.Signalling = &s
		}
		// Next block of slot i after h: the smallest b > h with (b-1) mod n == i.
		next := h + 1 + int64((i-int(h%int64(len(set)))+len(set))%len(set))
		pi.NextSlot = next
		st.Producers = append(st.Producers, pi)
	}
	if st.Producers == nil {
		st.Producers = []ProducerInfo{}
	}
	return st, nil
}

// HTTPServer serves the status API.
type HTTPServer struct {
	srv  *http.Server
	ln   net.Listener
	addr string
	file string
	done chan struct{}
}

// Addr is the address the server listens on (host:port).
func (s *HTTPServer) Addr() string { return s.addr }

// ServeHTTP starts the status API on addr (e.g. 127.0.0.1:0). GET /status
// returns the Status JSON. The bound address is written to
// HOME/data/http.addr so that `node status` can ask the running node.
func (n *Node) ServeHTTP(addr string) (*HTTPServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("status API: listen on %s: %v", addr, err)
	}
	if tcp, ok := ln.Addr().(*net.TCPAddr); ok && !tcp.IP.IsLoopback() {
		fmt.Fprintf(n.log, "warning: the status API listens on %s, not a loopback address: anyone who can reach it can read the node's status\n", ln.Addr())
	}
	mux := http.NewServeMux()
	handler := func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			http.Error(w, "use GET", http.StatusMethodNotAllowed)
			return
		}
		st, err := n.Status()
		if err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.Encode(st)
	}
	mux.HandleFunc("/status", handler)
	mux.HandleFunc("/{$}", handler)
	s := &HTTPServer{srv: &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}, ln: ln, addr: ln.Addr().String(), done: make(chan struct{})}
	if !n.readOnly {
		s.file = n.l.home.addrFile()
		atomicfile.Write(s.file, []byte(s.addr+"\n"), 0o600)
	}
	go func() {
		defer close(s.done)
		s.srv.Serve(ln)
	}()
	return s, nil
}

// Close stops the server.
func (s *HTTPServer) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	<-s.done
	if s.file != "" {
		os.Remove(s.file)
	}
	return err
}

// ReadStatus reports a home's status: from its running node's status API
// when one answers (the data directory is locked while it runs), otherwise
// from the data directory.
func ReadStatus(home string, opts Options) (*Status, error) {
	if b, err := os.ReadFile(Home(home).addrFile()); err == nil {
		addr := strings.TrimSpace(string(b))
		if st, err := fetchStatus(addr); err == nil {
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

func fetchStatus(addr string) (*Status, error) {
	c := &http.Client{Timeout: 3 * time.Second}
	resp, err := c.Get("http://" + addr + "/status")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status API %s: %s", addr, resp.Status)
	}
	var st Status
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return nil, err
	}
	return &st, nil
}
