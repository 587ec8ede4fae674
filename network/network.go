// Package network runs local CometBFT networks of forkgate nodes for
// rehearsals and tests: one OS process per validator on loopback, every
// peer link through an unprivileged TCP relay (so a node can be cut off and
// healed), perturbations (kill, restart, pause, cut, binary switch), status
// across nodes, and the rehearsal of a rolling upgrade (Rehearse).
//
// A network lives in one directory:
//
//	DIR/network.json   the network file (File): nodes, homes, binaries
//	DIR/n0 ... DIR/nK  node homes (forkgate homes, engine = "cometbft")
//	DIR/logs/nI.log    each node's output
//	DIR/net.sock       the control socket of `forkgate net up` (while up)
//
// Children never outlive their network: each runs in its own process group
// with a parent-death signal, Down stops them, and a network stops itself
// after its maximum lifetime.
package network

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"aead.dev/minisign"
	"github.com/cometbft/cometbft/p2p"
	"github.com/forkgate/forkgate/atomicfile"
	"github.com/forkgate/forkgate/node"
	"github.com/forkgate/forkgate/release"
	"github.com/forkgate/forkgate/visor"
)

// FileFormat is the version of network.json.
const FileFormat = 1

// File is DIR/network.json.
type File struct {
	Format  int    `json:"format"`
	ChainID string `json:"chain_id"`
	Power   int64  `json:"power"`
	// Seed and MaintenanceInterval are the node init settings (with the
	// node defaults for accounts and genesis time): `net record` writes them
	// as a library chain's [library] table.
	Seed                string `json:"seed"`
	MaintenanceInterval int64  `json:"maintenance_interval"`
	// MaxLifetime bounds how long a network started by Up runs (Go duration).
	MaxLifetime string     `json:"max_lifetime"`
	Nodes       []NodeSpec `json:"nodes"`
}

// NodeSpec is one node of the network.
type NodeSpec struct {
	Name     string `json:"name"`     // n0, n1, ...
	Home     string `json:"home"`     // relative to DIR
	Producer string `json:"producer"` // the producer key it validates with
	NodeID   string `json:"node_id"`  // CometBFT node ID (from its node_key.json)
	// Binary runs `Binary Args... node run HOME`; Env is added to its
	// environment.
	Binary string   `json:"binary"`
	Args   []string `json:"args,omitempty"`
	Env    []string `json:"env,omitempty"`
	// RunArgs follow `node run HOME` (the rehearsal's stand-in old release:
	// --implemented 1); a binary switch clears them.
	RunArgs []string `json:"run_args,omitempty"`
}

// Options configure Init. Zero values take the defaults.
type Options struct {
	Validators int    // default 4
	Power      int64  // each validator's voting power; default 10 (>= 10 keeps block sync in use)
	ChainID    string // default node.DefaultChainID
	Seed       string // key seed; default node.DefaultSeed
	ConfigPath string // fork config; default the built-in one
	// Binaries run the nodes: one for all, or one per validator. Default:
	// this executable.
	Binaries []string
	Args     []string // extra arguments before `node run` (e.g. a test binary's)
	Env      []string
	RunArgs  []string // extra arguments after `node run HOME`
	// TxsPerBlock of the workload each proposer adds (default the node's, 16;
	// negative: none).
	TxsPerBlock         int
	Workload            string // default the node's ("mixed")
	MaintenanceInterval int64  // default 10
	// ProducerSlots is the size of the elected producer set (default: every
	// validator); with fewer, the others run as full nodes until elected.
	ProducerSlots int
	// SignalVersion, if set, is the version every validator signals
	// ([node] version); a CometBFT node caps it at what its binary implements,
	// so a rolling upgrade signals the new version node by node.
	SignalVersion uint32
	MaxLifetime   time.Duration // default 30 minutes
	// TimeoutPropose and TimeoutCommit override the engine's loopback
	// defaults (300ms, 100ms).
	TimeoutPropose, TimeoutCommit time.Duration
	// Visor runs every node under the supervisor (forkgate visor run).
	Visor *VisorOptions
}

// VisorOptions run a network's nodes under forkgate visor: each home gets
// HOME/visor with its initial release current and the others stored, and
// the node's command becomes `Binary visor run HOME Args... -- node run
// HOME ...`, so the supervisor switches releases at the activation height.
type VisorOptions struct {
	// Initial is the release (directory, archive or store URL) each node
	// starts on: one for all, or one per validator.
	Initial []string
	// Releases are added to every node's supervisor.
	Releases []string
	// Binary is the forkgate that supervises (default: this executable);
	// Args go to `visor run` (e.g. --gate-timeout 1m).
	Binary string
	Args   []string
	// PubKey is the trusted release key (a .pub file or RW... string).
	PubKey string
}

// FileName is the network file in DIR.
const FileName = "network.json"

// Init writes a network of opts.Validators validator homes and the network
// file into dir, which must not exist or be empty.
func Init(dir string, opts Options) (*File, error) {
	if opts.Validators == 0 {
		opts.Validators = 4
	}
	if opts.Validators < 1 || opts.Validators > 32 {
		return nil, fmt.Errorf("validators = %d: use 1..32", opts.Validators)
	}
	if opts.Power == 0 {
		opts.Power = node.DefaultPower
	}
	if opts.Power < 1 {
		return nil, fmt.Errorf("power = %d: give a positive voting power (10 or more keeps block sync in use)", opts.Power)
	}
	if opts.ChainID == "" {
		opts.ChainID = node.DefaultChainID
	}
	if opts.MaxLifetime == 0 {
		opts.MaxLifetime = 30 * time.Minute
	}
	if len(opts.Binaries) == 0 {
		exe, err := os.Executable()
		if err != nil {
			return nil, err
		}
		opts.Binaries = []string{exe}
	}
	if len(opts.Binaries) != 1 && len(opts.Binaries) != opts.Validators {
		return nil, fmt.Errorf("%d binaries for %d validators: give one for all, or one per validator", len(opts.Binaries), opts.Validators)
	}
	if ents, err := os.ReadDir(dir); err == nil && len(ents) > 0 {
		return nil, fmt.Errorf("%s is not empty: give a new directory (or remove it; `forkgate net down %s` first if it runs)", dir, dir)
	}
	if err := os.MkdirAll(filepath.Join(dir, "logs"), 0o755); err != nil {
		return nil, err
	}
	if opts.Seed == "" {
		opts.Seed = node.DefaultSeed
	}
	if opts.MaintenanceInterval == 0 {
		opts.MaintenanceInterval = 10
	}
	f := &File{Format: FileFormat, ChainID: opts.ChainID, Power: opts.Power, MaxLifetime: opts.MaxLifetime.String(),
		Seed: opts.Seed, MaintenanceInterval: opts.MaintenanceInterval}
	for i := 0; i < opts.Validators; i++ {
		bin := opts.Binaries[0]
		if len(opts.Binaries) > 1 {
			bin = opts.Binaries[i]
		}
		abs, err := checkBinary(bin)
		if err != nil {
			return nil, err
		}
		spec := NodeSpec{Name: fmt.Sprintf("n%d", i), Home: fmt.Sprintf("n%d", i), Producer: fmt.Sprintf("p%d", i+1),
			Binary: abs, Args: opts.Args, Env: opts.Env, RunArgs: opts.RunArgs}
		keys := map[string]string{"engine": `"cometbft"`, "producers": fmt.Sprintf("[%q]", spec.Producer), "http": `"127.0.0.1:0"`}
		if opts.SignalVersion > 0 {
			keys["version"] = fmt.Sprint(opts.SignalVersion)
		}
		if opts.TxsPerBlock != 0 {
			keys["txs_per_block"] = fmt.Sprint(max(opts.TxsPerBlock, 0))
		}
		if opts.Workload != "" {
			keys["workload"] = fmt.Sprintf("%q", opts.Workload)
		}
		home := filepath.Join(dir, spec.Home)
		if err := node.Init(home, node.InitOptions{ChainID: opts.ChainID, Producers: opts.Validators, Seed: opts.Seed,
			ConfigPath: opts.ConfigPath, MaintenanceInterval: opts.MaintenanceInterval, NodeKeys: keys,
			ProducerSlots: opts.ProducerSlots, ValidatorDelay: node.CometValidatorDelay,
			NodeTable: cometTable(opts)}); err != nil {
			return nil, fmt.Errorf("%s: %w", home, err)
		}
		if err := os.MkdirAll(filepath.Join(node.CometHome(home), "config"), 0o700); err != nil {
			return nil, err
		}
		nk, err := p2p.LoadOrGenNodeKey(filepath.Join(node.CometHome(home), "config", "node_key.json"))
		if err != nil {
			return nil, err
		}
		spec.NodeID = string(nk.ID())
		if opts.Visor != nil {
			if err := initVisor(&spec, home, i, opts); err != nil {
				return nil, fmt.Errorf("%s: %w", home, err)
			}
		}
		f.Nodes = append(f.Nodes, spec)
	}
	return f, f.Save(dir)
}

// initVisor sets up HOME/visor and makes the supervisor the node's command.
func initVisor(spec *NodeSpec, home string, i int, opts Options) error {
	v := opts.Visor
	if len(v.Initial) != 1 && len(v.Initial) != opts.Validators {
		return fmt.Errorf("%d initial releases for %d validators: give one for all, or one per validator", len(v.Initial), opts.Validators)
	}
	initial := v.Initial[0]
	if len(v.Initial) > 1 {
		initial = v.Initial[i]
	}
	var key *minisign.PublicKey
	if v.PubKey != "" {
		k, err := release.ParsePublicKey(v.PubKey)
		if err != nil {
			return err
		}
		key = &k
	}
	ctx := context.Background()
	if _, err := visor.Init(ctx, home, initial, key); err != nil {
		return err
	}
	for _, r := range v.Releases {
		if r == initial {
			continue
		}
		if _, err := visor.Add(ctx, home, r); err != nil {
			return err
		}
	}
	bin := v.Binary
	if bin == "" {
		exe, err := os.Executable()
		if err != nil {
			return err
		}
		bin = exe
	}
	abs, err := checkBinary(bin)
	if err != nil {
		return err
	}
	absHome, err := filepath.Abs(home)
	if err != nil {
		return err
	}
	spec.Binary = abs
	spec.Args = append(append([]string{"visor", "run", absHome}, v.Args...), "--")
	return nil
}

// cometTable is the [node.cometbft] table Init writes; Up fills in the
// addresses (p2p, peers) each time it starts the network.
func cometTable(opts Options) string {
	var b strings.Builder
	b.WriteString(cometMarker + "\n")
	b.WriteString("# Written by forkgate net: `net up` sets p2p and peers (through its relay) at each start.\n")
	fmt.Fprintf(&b, "p2p = \"127.0.0.1:0\"\nrpc = \"\"\npeers = \"\"\npower = %d\n", opts.Power)
	if opts.TimeoutPropose > 0 {
		fmt.Fprintf(&b, "timeout_propose = %q\n", opts.TimeoutPropose.String())
	}
	if opts.TimeoutCommit > 0 {
		fmt.Fprintf(&b, "timeout_commit = %q\n", opts.TimeoutCommit.String())
	}
	return b.String()
}

const cometMarker = "[node.cometbft]"

// setCometAddrs rewrites p2p, rpc and peers of a home's [node.cometbft]
// table.
func setCometAddrs(home, p2pAddr, rpcAddr, peers string) error {
	path := filepath.Join(home, "config.toml")
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	lines := strings.SplitAfter(string(raw), "\n")
	in, done := false, 0
	for i, line := range lines {
		t := strings.TrimSpace(line)
		if strings.HasPrefix(t, "[") {
			in = t == cometMarker
			continue
		}
		if !in {
			continue
		}
		switch k, _, _ := strings.Cut(t, "="); strings.TrimSpace(k) {
		case "p2p":
			lines[i] = fmt.Sprintf("p2p = %q\n", p2pAddr)
			done++
		case "rpc":
			lines[i] = fmt.Sprintf("rpc = %q\n", rpcAddr)
			done++
		case "peers":
			lines[i] = fmt.Sprintf("peers = %q\n", peers)
			done++
		}
	}
	if done != 3 {
		return fmt.Errorf("%s: no %s table with p2p, rpc and peers lines (written by forkgate net init)", path, cometMarker)
	}
	return atomicfile.Write(path, []byte(strings.Join(lines, "")), 0o644)
}

func checkBinary(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	st, err := os.Stat(abs)
	if err != nil {
		return "", fmt.Errorf("binary %s: %v", path, err)
	}
	if st.IsDir() || st.Mode()&0o111 == 0 {
		return "", fmt.Errorf("binary %s is not an executable file", path)
	}
	return abs, nil
}

// Load reads DIR/network.json.
func Load(dir string) (*File, error) {
	path := filepath.Join(dir, FileName)
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s is not a network directory (no %s): run forkgate net init %s first", dir, FileName, dir)
	}
	if err != nil {
		return nil, err
	}
	var f File
	if err := json.Unmarshal(raw, &f); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	if f.Format != FileFormat {
		return nil, fmt.Errorf("%s: format %d, this build reads format %d", path, f.Format, FileFormat)
	}
	if len(f.Nodes) == 0 || len(f.Nodes) > 32 {
		return nil, fmt.Errorf("%s: %d nodes: a network has 1..32", path, len(f.Nodes))
	}
	for _, n := range f.Nodes {
		if n.Name == "" || n.Home == "" || filepath.IsAbs(n.Home) || strings.Contains(n.Home, "..") || n.NodeID == "" || n.Binary == "" {
			return nil, fmt.Errorf("%s: node %q: name, a home inside the directory, node_id and binary are required", path, n.Name)
		}
	}
	return &f, nil
}

// Save writes DIR/network.json atomically.
func (f *File) Save(dir string) error {
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(dir, FileName), append(b, '\n'), 0o644)
}

// Index is the position of the node called name.
func (f *File) Index(name string) (int, error) {
	var names []string
	for i, n := range f.Nodes {
		if n.Name == name {
			return i, nil
		}
		names = append(names, n.Name)
	}
	return -1, fmt.Errorf("no node %q in this network (nodes: %s)", name, strings.Join(names, ", "))
}

func (f *File) lifetime() time.Duration {
	d, err := time.ParseDuration(f.MaxLifetime)
	if err != nil || d <= 0 {
		return 30 * time.Minute
	}
	return d
}
