package node

import (
	_ "embed"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/forkgate/forkgate/chain"
	"github.com/forkgate/forkgate/forkfile"
	"github.com/forkgate/forkgate/schedule"
	"github.com/pelletier/go-toml/v2"
)

// DefaultConfig is the built-in config.toml: every fork of chain.Registry()
// with a note, a change record, [mver] parameters, protocol version 2, and a
// [node] table.
//
//go:embed default_config.toml
var DefaultConfig string

// defaultNodeTable is the [node] part of DefaultConfig, appended to a config
// given to Init that has none.
func defaultNodeTable() string {
	i := strings.Index(DefaultConfig, "\n# [node] configures")
	if i < 0 {
		i = strings.Index(DefaultConfig, "\n[node]\n")
	}
	return DefaultConfig[i+1:]
}

// NodeConfig is the [node] table of config.toml. The fork reader ignores it;
// it never feeds state except through the blocks this node produces (times,
// signalled versions, transactions), which are stored and replayed as they
// are.
type NodeConfig struct {
	Producers      []string                  `toml:"producers"`
	Version        uint32                    `toml:"version"`
	UpgradeHeight  int64                     `toml:"upgrade_height"`
	UpgradeVersion uint32                    `toml:"upgrade_version"`
	BlockInterval  int64                     `toml:"block_interval"`
	HTTP           string                    `toml:"http"`
	Compat         string                    `toml:"compat"`
	Workload       string                    `toml:"workload"`
	TxsPerBlock    int                       `toml:"txs_per_block"`
	Producer       map[string]ProducerConfig `toml:"producer"`
	// Engine runs the App: "solo" (this node produces every block) or
	// "cometbft" (an in-process CometBFT node, one validator among many).
	Engine   string         `toml:"engine"`
	CometBFT CometBFTConfig `toml:"cometbft"`
}

// CometBFTConfig is [node.cometbft]: what a CometBFT engine needs beyond
// CometBFT's defaults. Its own files live under HOME/cometbft (config/
// genesis.json, node_key.json, priv_validator_key.json; data/).
type CometBFTConfig struct {
	P2P   string `toml:"p2p"`   // p2p listen address, host:port
	RPC   string `toml:"rpc"`   // CometBFT RPC listen address ("" none)
	Peers string `toml:"peers"` // persistent peers: id@host:port,...
	// Timeouts (Go durations); the defaults suit a loopback network.
	TimeoutPropose string `toml:"timeout_propose"`
	TimeoutCommit  string `toml:"timeout_commit"`
	// Power is the voting power of each producer (>= 10 keeps CometBFT's
	// block sync in use for a lagging validator).
	Power int64 `toml:"power"`
}

// EngineName is the configured engine, "solo" by default.
func (c *NodeConfig) EngineName() string {
	if c.Engine == "" {
		return "solo"
	}
	return c.Engine
}

// Engines are the values of [node] engine.
var Engines = []string{"solo", "cometbft"}

// ProducerConfig overrides the signalled version of one producer.
type ProducerConfig struct {
	Version        *uint32 `toml:"version"`
	UpgradeHeight  *int64  `toml:"upgrade_height"`
	UpgradeVersion *uint32 `toml:"upgrade_version"`
}

// Signalling is what one producer signals: Version until UpgradeHeight
// (0: never), then UpgradeVersion.
type Signalling struct {
	Version        uint32 `json:"version"`
	UpgradeHeight  int64  `json:"upgrade_height,omitempty"`
	UpgradeVersion uint32 `json:"upgrade_version,omitempty"`
}

// At is the version signalled in block height.
func (s Signalling) At(height int64) uint32 {
	if s.UpgradeHeight > 0 && height >= s.UpgradeHeight {
		return s.UpgradeVersion
	}
	return s.Version
}

// SignallingFor resolves a producer's signalling from the defaults and its
// [node.producer.<name>] table.
func (c *NodeConfig) SignallingFor(name string) Signalling {
	s := Signalling{Version: c.Version, UpgradeHeight: c.UpgradeHeight, UpgradeVersion: c.UpgradeVersion}
	if p, ok := c.Producer[name]; ok {
		if p.Version != nil {
			s.Version = *p.Version
		}
		if p.UpgradeHeight != nil {
			s.UpgradeHeight = *p.UpgradeHeight
		}
		if p.UpgradeVersion != nil {
			s.UpgradeVersion = *p.UpgradeVersion
		}
	}
	return s
}

func (c *NodeConfig) validate(file string) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%s: [node] %s", file, fmt.Sprintf(format, args...))
	}
	if c.BlockInterval < 1 || c.BlockInterval > MaxBlockInterval {
		return bad("block_interval = %d: give the seconds between blocks, 1..%d (a week)", c.BlockInterval, MaxBlockInterval)
	}
	if _, err := schedule.ParsePolicy(c.Compat); err != nil {
		return bad("compat: %v", err)
	}
	if e := c.EngineName(); e != "solo" && e != "cometbft" {
		return bad("engine = %q: use \"solo\" (the default) or \"cometbft\"", c.Engine)
	}
	if c.CometBFT.Power < 0 || c.CometBFT.Power > 1_000_000 {
		return bad("cometbft.power = %d: use 1..1000000 (0: 10)", c.CometBFT.Power)
	}
	for _, d := range []struct{ key, v string }{{"timeout_propose", c.CometBFT.TimeoutPropose}, {"timeout_commit", c.CometBFT.TimeoutCommit}} {
		if d.v == "" {
			continue
		}
		if t, err := time.ParseDuration(d.v); err != nil || t < 0 {
			return bad("cometbft.%s = %q: give a duration such as \"300ms\"", d.key, d.v)
		}
	}
	if c.TxsPerBlock < 0 || c.TxsPerBlock > 100_000 {
		return bad("txs_per_block = %d: use 0..100000", c.TxsPerBlock)
	}
	names := make([]string, 0, len(c.Producer)+1)
	names = append(names, "")
	for n := range c.Producer {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		s := c.SignallingFor(n)
		where := ""
		if n != "" {
			where = " (in [node.producer." + n + "])"
		}
		if s.Version < 1 {
			return bad("version = %d%s: signalled versions start at 1", s.Version, where)
		}
		if s.UpgradeHeight < 0 {
			return bad("upgrade_height = %d%s: give a height, or 0 for no upgrade", s.UpgradeHeight, where)
		}
		if s.UpgradeHeight > 0 && s.UpgradeVersion < 1 {
			return bad("upgrade_version = %d%s: an upgrade needs a version of at least 1", s.UpgradeVersion, where)
		}
	}
	return nil
}

// MaxBlockInterval bounds [node] block_interval: with genesis times up to
// year 9999 (chain.MaxTime), block times cannot overflow before height 10^13.
const MaxBlockInterval = 7 * 24 * 3600

// Config is a home's config.toml: the fork file and the [node] table.
type Config struct {
	Path     string
	File     *forkfile.File
	Schedule *schedule.Schedule
	Node     NodeConfig
	// Warnings are the schedule's non-fatal findings (a registered fork the
	// file omits runs with its default...): the start-up banner shows them.
	Warnings schedule.Findings
}

// LoadConfig reads config.toml: the fork schedule against chain.Registry()
// (an error finding makes it unusable) and the [node] table, with defaults
// for keys it omits.
func LoadConfig(path string) (*Config, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %v", err)
	}
	return parseConfig(path, src)
}

func parseConfig(path string, src []byte) (*Config, error) {
	f, err := forkfile.Read(path, src)
	if err != nil {
		return nil, err
	}
	s, fs := f.Schedule(chain.Registry(), false)
	if fs.HasErrors() {
		var msgs []string
		for _, x := range fs {
			if x.Severity == schedule.SevError {
				msgs = append(msgs, x.String())
			}
		}
		return nil, fmt.Errorf("%s: the fork schedule has errors (run forkgate config lint %s):\n%s", path, path, strings.Join(msgs, "\n"))
	}
	var doc struct {
		Node *NodeConfig `toml:"node"`
	}
	// Defaults first: keys the file omits keep them.
	def := defaultNode()
	doc.Node = &def
	if err := toml.Unmarshal(src, &doc); err != nil {
		return nil, fmt.Errorf("%s: [node]: %v", path, err)
	}
	if err := doc.Node.validate(path); err != nil {
		return nil, err
	}
	return &Config{Path: path, File: f, Schedule: s, Node: *doc.Node, Warnings: fs}, nil
}

func defaultNode() NodeConfig {
	var doc struct {
		Node NodeConfig `toml:"node"`
	}
	if err := toml.Unmarshal([]byte(DefaultConfig), &doc); err != nil {
		panic("node: default_config.toml: " + err.Error())
	}
	return doc.Node
}
