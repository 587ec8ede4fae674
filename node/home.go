package node

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/forkgate/forkgate/atomicfile"

	"github.com/forkgate/forkgate/chain"
	"github.com/forkgate/forkgate/forkfile"
)

// Home is a node's directory:
//
//	HOME/config.toml    fork config (Chain33 layout) and the [node] table
//	HOME/genesis.json   chain.Genesis
//	HOME/keys/*.json    producer and account keys
//	HOME/data/state     state store (package state)
//	HOME/data/blocks    block store (this package)
type Home string

func (h Home) Config() string  { return filepath.Join(string(h), "config.toml") }
func (h Home) Genesis() string { return filepath.Join(string(h), "genesis.json") }
func (h Home) Keys() string    { return filepath.Join(string(h), "keys") }
func (h Home) Data() string    { return filepath.Join(string(h), "data") }
func (h Home) State() string   { return filepath.Join(string(h), "data", "state") }
func (h Home) Blocks() string  { return filepath.Join(string(h), "data", "blocks") }

// stateAside is where a rewind moves the state store before replacing it.
func (h Home) stateAside() string { return filepath.Join(string(h), "data", "state.rewound") }

// addrFile holds the status API address of the running node, so that
// `node status` can ask it while the data directory is locked.
func (h Home) addrFile() string { return filepath.Join(string(h), "data", "http.addr") }

// InitOptions configures Init. Zero values take the defaults.
type InitOptions struct {
	ChainID     string // default "forkgate-devnet"
	Producers   int    // default 4
	Accounts    int    // funded accounts for the transaction source; default 8
	Seed        string // key derivation seed; default "forkgate"
	ConfigPath  string // fork config to copy instead of the built-in one
	GenesisTime int64  // default DefaultGenesisTime
	// MaintenanceInterval in blocks; default 10.
	MaintenanceInterval int64
	// NodeTable, if set, is appended to config.toml after the [node] table
	// (e.g. [node.producer.p1] overrides written by the devnet).
	NodeTable string
	// NodeKeys replace values of the [node] table (key -> TOML value).
	NodeKeys map[string]string
	// ParentStart makes a parallel chain (chain.Genesis.ParentStart): block h
	// is anchored at parent height ParentStart + h. 0: not a parallel chain.
	ParentStart int64
	// ProducerSlots is the size of the elected set (0: Producers).
	ProducerSlots int
	// ValidatorDelay is chain.Genesis.ValidatorDelay: 2 for a CometBFT
	// network's homes, 0 (solo) by default.
	ValidatorDelay int64
}

// Defaults of a new home.
const (
	DefaultChainID     = "forkgate-devnet"
	DefaultProducers   = 4
	DefaultAccounts    = 8
	DefaultSeed        = "forkgate"
	DefaultGenesisTime = 1767225600 // 2026-01-01T00:00:00Z
	// Balances at genesis.
	producerStake   = 10_000
	producerBalance = 1_000_000_000
	accountBalance  = 1_000_000_000
)

// Init creates a home directory. It refuses a directory that already holds
// a config.toml, genesis.json or data, so an existing chain is never
// overwritten.
func Init(home string, o InitOptions) error {
	if o.ChainID == "" {
		o.ChainID = DefaultChainID
	}
	if o.Producers == 0 {
		o.Producers = DefaultProducers
	}
	if o.Accounts == 0 {
		o.Accounts = DefaultAccounts
	}
	if o.Seed == "" {
		o.Seed = DefaultSeed
	}
	if o.GenesisTime == 0 {
		o.GenesisTime = DefaultGenesisTime
	}
	if o.MaintenanceInterval == 0 {
		o.MaintenanceInterval = 10
	}
	if o.Producers < 1 || o.Producers > 100 {
		return fmt.Errorf("init: %d producers: use 1..100", o.Producers)
	}
	if o.Accounts < 1 || o.Accounts > 10_000 {
		return fmt.Errorf("init: %d accounts: use 1..10000", o.Accounts)
	}
	h := Home(home)
	for _, p := range []string{h.Config(), h.Genesis(), h.Data()} {
		if _, err := os.Stat(p); err == nil {
			return fmt.Errorf("init: %s already exists: %s is an initialised home; pick an empty directory or remove it first", p, home)
		}
	}

	cfg := []byte(DefaultConfig)
	if o.ConfigPath != "" {
		b, err := os.ReadFile(o.ConfigPath)
		if err != nil {
			return fmt.Errorf("init: --config: %v", err)
		}
		f, err := forkfile.Read(o.ConfigPath, b)
		if err != nil {
			return fmt.Errorf("init: --config: %v", err)
		}
		hasNode := false
		for _, t := range f.Doc.Tables {
			if len(t.Key) > 0 && t.Key[0] == "node" {
				hasNode = true
			}
		}
		cfg = b
		if !hasNode {
			if len(cfg) > 0 && cfg[len(cfg)-1] != '\n' {
				cfg = append(cfg, '\n')
			}
			cfg = append(append(cfg, '\n'), defaultNodeTable()...)
		}
	}
	if len(o.NodeKeys) > 0 {
		var err error
		if cfg, err = setNodeKeys(cfg, o.NodeKeys); err != nil {
			return fmt.Errorf("init: %v", err)
		}
	}
	if o.NodeTable != "" {
		cfg = append(append(cfg, '\n'), o.NodeTable...)
	}
	// Validate before writing anything.
	if _, err := parseConfig(o.ConfigPath+"(config.toml)", cfg); err != nil {
		return fmt.Errorf("init: %v", err)
	}

	slots := o.ProducerSlots
	if slots == 0 {
		slots = o.Producers
	}
	g := &chain.Genesis{Format: chain.GenesisFormat, ChainID: o.ChainID, Time: o.GenesisTime,
		MaintenanceInterval: o.MaintenanceInterval, ProducerSlots: slots, SignalMode: "default", ParentStart: o.ParentStart,
		ValidatorDelay: o.ValidatorDelay}
	var keys []*Key
	for i := 1; i <= o.Producers; i++ {
		k := DeriveKey(o.Seed, RoleProducer, fmt.Sprintf("p%d", i))
		keys = append(keys, k)
		g.Producers = append(g.Producers, chain.GenesisProducer{Name: k.Name, PubKey: k.PubKey, Stake: producerStake})
		g.Accounts = append(g.Accounts, chain.GenesisAccount{Address: k.Address, Balance: producerBalance})
	}
	for i := 1; i <= o.Accounts; i++ {
		k := DeriveKey(o.Seed, RoleAccount, fmt.Sprintf("a%d", i))
		keys = append(keys, k)
		g.Accounts = append(g.Accounts, chain.GenesisAccount{Address: k.Address, Balance: accountBalance})
	}
	if err := g.Validate(); err != nil {
		return fmt.Errorf("init: %v", err)
	}
	gb, err := json.MarshalIndent(g, "", "  ")
	if err != nil {
		return err
	}

	if err := os.MkdirAll(h.Keys(), 0o700); err != nil {
		return fmt.Errorf("init: %v", err)
	}
	for _, k := range keys {
		if err := writeKey(h.Keys(), k); err != nil {
			return fmt.Errorf("init: %v", err)
		}
	}
	if err := atomicfile.Write(h.Genesis(), append(gb, '\n'), 0o644); err != nil {
		return fmt.Errorf("init: %v", err)
	}
	if err := atomicfile.Write(h.Config(), cfg, 0o644); err != nil {
		return fmt.Errorf("init: %v", err)
	}
	if err := os.MkdirAll(h.Data(), 0o700); err != nil {
		return fmt.Errorf("init: %v", err)
	}
	return nil
}

// setNodeKeys replaces "key = value" lines of the [node] table.
func setNodeKeys(cfg []byte, kv map[string]string) ([]byte, error) {
	lines := strings.SplitAfter(string(cfg), "\n")
	inNode := false
	done := map[string]bool{}
	for i, line := range lines {
		t := strings.TrimSpace(line)
		if strings.HasPrefix(t, "[") {
			inNode = t == "[node]"
			continue
		}
		if !inNode {
			continue
		}
		k, _, ok := strings.Cut(t, "=")
		k = strings.TrimSpace(k)
		if v, want := kv[k]; ok && want && !done[k] {
			lines[i] = k + " = " + v + "\n"
			done[k] = true
		}
	}
	for k := range kv {
		if !done[k] {
			return nil, fmt.Errorf("the [node] table has no %s line to set", k)
		}
	}
	return []byte(strings.Join(lines, "")), nil
}

// loaded is everything a node reads from its home before opening the data.
type loaded struct {
	home      Home
	cfg       *Config
	genesis   *chain.Genesis
	gHash     [32]byte
	producers map[chain.Address]*Key // keys this node signs blocks with
	names     map[chain.Address]string
	accounts  []*Key
}

func loadHome(home string) (*loaded, error) {
	h := Home(home)
	if _, err := os.Stat(h.Config()); errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s is not a node home (no config.toml): run forkgate node init %s first", home, home)
	}
	cfg, err := LoadConfig(h.Config())
	if err != nil {
		return nil, err
	}
	g, err := chain.LoadGenesis(h.Genesis())
	if err != nil {
		return nil, err
	}
	keys, err := LoadKeys(h.Keys())
	if err != nil {
		return nil, err
	}
	l := &loaded{home: h, cfg: cfg, genesis: g, gHash: g.Hash(), producers: map[chain.Address]*Key{}, names: map[chain.Address]string{}}
	want := map[string]bool{}
	for _, n := range cfg.Node.Producers {
		want[n] = true
	}
	for _, p := range g.Producers {
		if a, err := p.Address(); err == nil {
			l.names[a] = p.Name
		}
	}
	for _, k := range keys {
		if k.Role == RoleAccount {
			l.accounts = append(l.accounts, k)
		}
		// A solo node signs with every key of the home: an account that
		// registers and is elected produces too. [node] producers narrows
		// it down to the listed names.
		if len(want) == 0 && len(cfg.Node.Producers) == 0 || want[k.Name] {
			l.producers[k.Addr()] = k
			delete(want, k.Name)
		}
		l.names[k.Addr()] = k.Name
	}
	for n := range want {
		return nil, fmt.Errorf("%s: [node] producers lists %q, but %s has no producer key %s.json", h.Config(), n, h.Keys(), n)
	}
	return l, nil
}

func hexs(b []byte) string { return hex.EncodeToString(b) }

func nodeNames(set []chain.Address, names map[chain.Address]string) string {
	out := make([]string, len(set))
	for i, a := range set {
		if n, ok := names[a]; ok {
			out[i] = n
		} else {
			out[i] = a.String()
		}
	}
	return strings.Join(out, ",")
}

// SetNodeKeys replaces values of config.toml's [node] table (key -> TOML
// value) in cfg; every key must have a line there.
func SetNodeKeys(cfg []byte, kv map[string]string) ([]byte, error) { return setNodeKeys(cfg, kv) }
