package verify

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/forkgate/forkgate/forkfile"

	"github.com/forkgate/forkgate/node"
	"github.com/forkgate/forkgate/schedule"
	"github.com/pelletier/go-toml/v2"
)

// A chain directory of the library holds:
//
//	DIR/config.toml   fork config (Chain33 layout, change record, a note above
//	                  every fork), the [node] table, and the [library] table
//	DIR/fixture.gz    the recorded fixture (forkgate record DIR)
//
// The fork reader and the node ignore [library]; verify and record read it.

// ConfigFile and FixtureFile are the file names inside a chain directory.
const (
	ConfigFile  = "config.toml"
	FixtureFile = "fixture.gz"
)

// LibrarySettings is the [library] table: what node init needs, and the
// ranges record and verify use.
type LibrarySettings struct {
	ChainID             string `toml:"chain_id"`
	Producers           int    `toml:"producers"`
	Accounts            int    `toml:"accounts"`
	Seed                string `toml:"seed"`
	ParentStart         int64  `toml:"parent_start"`
	MaintenanceInterval int64  `toml:"maintenance_interval"`
	GenesisTime         int64  `toml:"genesis_time"`
	// Blocks is the height record runs to (record --blocks overrides).
	Blocks int64 `toml:"blocks"`
	// ExtraBlocks bounds the fresh blocks verify produces past the
	// fixture's end to cross the new release's forks (default 12).
	ExtraBlocks int64 `toml:"extra_blocks"`
}

// Chain is one chain directory of the library.
type Chain struct {
	Name        string
	Dir         string
	ConfigPath  string
	ConfigBytes []byte
	Lib         LibrarySettings
	Config      *node.Config
}

// DefaultExtraBlocks is the default [library] extra_blocks.
const DefaultExtraBlocks = 12

// LoadChain reads a chain directory.
func LoadChain(dir string) (*Chain, error) {
	cfgPath := filepath.Join(dir, ConfigFile)
	b, err := os.ReadFile(cfgPath)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%s is not a library chain directory (no %s)", dir, ConfigFile)
		}
		return nil, err
	}
	cfg, err := node.LoadConfig(cfgPath)
	if err != nil {
		return nil, err
	}
	var doc struct {
		Library *LibrarySettings `toml:"library"`
	}
	if err := toml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("%s: [library]: %v", cfgPath, err)
	}
	if doc.Library == nil {
		return nil, fmt.Errorf("%s has no [library] table (chain_id, producers, accounts, seed, blocks ...): see docs/verify.md", cfgPath)
	}
	lib := *doc.Library
	if lib.ChainID == "" {
		lib.ChainID = node.DefaultChainID
	}
	if lib.Producers == 0 {
		lib.Producers = node.DefaultProducers
	}
	if lib.Accounts == 0 {
		lib.Accounts = node.DefaultAccounts
	}
	if lib.Seed == "" {
		lib.Seed = node.DefaultSeed
	}
	if lib.MaintenanceInterval == 0 {
		lib.MaintenanceInterval = 10
	}
	if lib.GenesisTime == 0 {
		lib.GenesisTime = node.DefaultGenesisTime
	}
	if lib.ExtraBlocks == 0 {
		lib.ExtraBlocks = DefaultExtraBlocks
	}
	if lib.Blocks < 0 || lib.ExtraBlocks < 0 || lib.ParentStart < 0 {
		return nil, fmt.Errorf("%s: [library] blocks, extra_blocks and parent_start must not be negative", cfgPath)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	return &Chain{Name: filepath.Base(abs), Dir: abs, ConfigPath: filepath.Join(abs, ConfigFile), ConfigBytes: b, Lib: lib, Config: cfg}, nil
}

// LoadLibrary reads every chain directory under dir (sorted by name).
func LoadLibrary(dir string) ([]*Chain, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("library %s: %v", dir, err)
	}
	var out []*Chain
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, e.Name(), ConfigFile)); err != nil {
			continue
		}
		c, err := LoadChain(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("library %s holds no chain directories (DIR/%s)", dir, ConfigFile)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// FixturePath is the chain's recorded fixture.
func (c *Chain) FixturePath() string { return filepath.Join(c.Dir, FixtureFile) }

// ConfigDigest is the hex sha256 of config.toml.
func (c *Chain) ConfigDigest() string {
	d := sha256.Sum256(c.ConfigBytes)
	return hex.EncodeToString(d[:])
}

// InitOptions are node.Init's options for this chain with the given config
// file.
func (c *Chain) InitOptions(configPath string) node.InitOptions {
	return node.InitOptions{
		ChainID:             c.Lib.ChainID,
		Producers:           c.Lib.Producers,
		Accounts:            c.Lib.Accounts,
		Seed:                c.Lib.Seed,
		ConfigPath:          configPath,
		GenesisTime:         c.Lib.GenesisTime,
		MaintenanceInterval: c.Lib.MaintenanceInterval,
		ParentStart:         c.Lib.ParentStart,
	}
}

// InitArgs are the `node init` flags for this chain (for another build's
// CLI). --parent-start is only passed when set, so builds without the flag
// can init the other chains.
func (c *Chain) InitArgs(home, configPath string) []string {
	args := []string{"node", "init", home, "--config", configPath,
		"--chain-id", c.Lib.ChainID,
		"--producers", fmt.Sprint(c.Lib.Producers),
		"--accounts", fmt.Sprint(c.Lib.Accounts),
		"--seed", c.Lib.Seed,
		"--genesis-time", fmt.Sprint(c.Lib.GenesisTime),
		"--maintenance-interval", fmt.Sprint(c.Lib.MaintenanceInterval)}
	if c.Lib.ParentStart > 0 {
		args = append(args, "--parent-start", fmt.Sprint(c.Lib.ParentStart))
	}
	return args
}

// ForkHeight is a fork of the chain's config resolved to the first height
// of this chain at which it is active.
type ForkHeight struct {
	Key        string `json:"key"`
	Activation string `json:"activation"`
	Height     int64  `json:"height"` // -1: unknown (never, or a version not active)
}

// ForkHeights resolves every fork of sched to a height of this chain with
// loc (schedule.Locator, the one answer to "where does this fork activate
// here"). Sorted by height, then key.
func ForkHeights(sched *schedule.Schedule, loc schedule.Locator) []ForkHeight {
	var out []ForkHeight
	for _, e := range sched.Entries() {
		fh := ForkHeight{Key: e.Fork.Key(), Activation: forkfile.FormatActivation(e.Activation, e.Fork.Domain), Height: -1}
		if at, ok := loc.ActivationHeight(e.Activation, e.Fork.Domain); ok {
			fh.Height = at
		}
		out = append(out, fh)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Height != out[j].Height {
			return out[i].Height < out[j].Height
		}
		return out[i].Key < out[j].Key
	})
	return out
}
