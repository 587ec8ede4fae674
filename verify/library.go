package verify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"github.com/forkgate/forkgate/buildinfo"
	"github.com/forkgate/forkgate/chain"
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
	// ProducerSlots (default: producers) and ValidatorDelay (default 0; 2
	// for a chain a CometBFT network made) are the genesis fields of the
	// same names.
	ProducerSlots  int   `toml:"producer_slots"`
	ValidatorDelay int64 `toml:"validator_delay"`
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
	// Schedule is config.toml's fork schedule, resolved with Registry: the
	// registry of the build under test, which may know forks this one
	// does not (LoadChainRegistry).
	Schedule *schedule.Schedule
	Registry *schedule.Registry
}

// DefaultExtraBlocks is the default [library] extra_blocks.
const DefaultExtraBlocks = 12

// LoadChain reads a chain directory, its forks judged by this build's
// registry.
func LoadChain(dir string) (*Chain, error) { return LoadChainRegistry(dir, chain.Registry()) }

// LoadChainRegistry reads a chain directory, its forks judged by reg: the
// registry of the build under test (BinaryRegistry), so an older build can
// verify a newer one whose config schedules forks it does not know.
func LoadChainRegistry(dir string, reg *schedule.Registry) (*Chain, error) {
	cfgPath := filepath.Join(dir, ConfigFile)
	b, err := os.ReadFile(cfgPath)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%s is not a library chain directory (no %s)", dir, ConfigFile)
		}
		return nil, err
	}
	ff, err := forkfile.Read(cfgPath, b)
	if err != nil {
		return nil, err
	}
	sched, fs := ff.Schedule(reg, false)
	if fs.HasErrors() {
		return nil, fmt.Errorf("%s: the fork schedule has errors for the build under test (run forkgate config lint %s):\n%s", cfgPath, cfgPath, errorLines(fs))
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
	return &Chain{Name: filepath.Base(abs), Dir: abs, ConfigPath: filepath.Join(abs, ConfigFile), ConfigBytes: b, Lib: lib,
		Schedule: sched, Registry: reg}, nil
}

// LoadLibrary reads every chain directory under dir (sorted by name), with
// this build's registry.
func LoadLibrary(dir string) ([]*Chain, error) { return LoadLibraryRegistry(dir, chain.Registry()) }

// LoadLibraryRegistry is LoadLibrary with the forks judged by reg.
func LoadLibraryRegistry(dir string, reg *schedule.Registry) ([]*Chain, error) {
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
		c, err := LoadChainRegistry(filepath.Join(dir, e.Name()), reg)
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
		ProducerSlots:       c.Lib.ProducerSlots,
		ValidatorDelay:      c.Lib.ValidatorDelay,
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

// errorLines are the error findings, one a line.
func errorLines(fs schedule.Findings) string {
	var msgs []string
	for _, x := range fs {
		if x.Severity == schedule.SevError {
			msgs = append(msgs, x.String())
		}
	}
	return strings.Join(msgs, "\n")
}

// BinaryRegistry asks another forkgate build for its fork registry
// (`BINARY version --format json`, which lists every fork with its default)
// so that its forks are judged by what it knows, not by this build: an
// older build can then verify a newer one, and the reverse.
func BinaryRegistry(ctx context.Context, binary string) (*schedule.Registry, error) {
	if err := checkBinary(binary); err != nil {
		return nil, err
	}
	out, err := exec.CommandContext(ctx, binary, "version", "--format", "json").Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			err = fmt.Errorf("%v: %s", err, strings.TrimSpace(string(ee.Stderr)))
		}
		return nil, fmt.Errorf("%s version --format json: %v (verify needs a build that describes its fork registry)", binary, err)
	}
	var info buildinfo.Info
	if err := json.Unmarshal(out, &info); err != nil {
		return nil, fmt.Errorf("%s version --format json: %v", binary, err)
	}
	return RegistryOf(info)
}

// RegistryOf rebuilds a fork registry from a build's description.
func RegistryOf(info buildinfo.Info) (*schedule.Registry, error) {
	if len(info.Forks) == 0 {
		return nil, fmt.Errorf("build %s %s lists no forks (version --format json has no \"forks\"): use a build that describes its registry", info.Version, info.Commit)
	}
	reg := schedule.NewRegistry()
	for _, fi := range info.Forks {
		scope, name := schedule.SplitKey(fi.Key)
		def, dom, err := forkfile.ParseActivation(fi.Default)
		if err != nil {
			return nil, fmt.Errorf("build %s: fork %s: default %q: %v", info.Version, fi.Key, fi.Default, err)
		}
		if fi.Domain == schedule.DomainParent.String() {
			dom = schedule.DomainParent
		}
		if err := reg.Register(schedule.Fork{Scope: scope, Name: name, Default: def, Domain: dom, Release: fi.Release, Note: fi.Note}); err != nil {
			return nil, fmt.Errorf("build %s: fork %s: %v", info.Version, fi.Key, err)
		}
	}
	return reg, nil
}

// CheckRecording says whether a chain's fixture still records this chain:
// the same genesis, and a config that differs from the recorded one only in
// what takes effect above the recorded range (a fork added or moved beyond
// it, a parameter that follows such a fork). Such a config is exactly a new
// release's: a correctly gated fork scheduled beyond the fixtures needs no
// new recording. Anything else is listed: record the fixture again (a new
// genesis) or it is a history rewrite that verify reports.
func CheckRecording(c *Chain, f *Fixture) []string {
	var out []string
	g, err := f.GenesisValue()
	if err != nil {
		return []string{err.Error()}
	}
	if g.ChainID != c.Lib.ChainID || f.Header.Chain != c.Name {
		out = append(out, fmt.Sprintf("the fixture is chain %s (%s), the directory %s (%s)", f.Header.Chain, g.ChainID, c.Name, c.Lib.ChainID))
	}
	if f.Header.ConfigDigest == c.ConfigDigest() {
		return out
	}
	old, err := scheduleFrom("recorded config.toml", f.Config)
	if err != nil {
		return append(out, err.Error())
	}
	loc := f.Locator(g)
	n := f.Header.To
	inRange := func(s *schedule.Schedule, key string) (int64, bool) {
		a, ok := s.Activation(key)
		if !ok {
			return 0, false
		}
		var dom schedule.Domain
		for _, e := range s.Entries() {
			if e.Fork.Key() == key {
				dom = e.Fork.Domain
			}
		}
		h, ok := loc.ActivationHeight(a, dom)
		return h, ok && h <= n
	}
	keys := map[string]bool{}
	for _, e := range old.Entries() {
		keys[e.Fork.Key()] = true
	}
	for _, e := range c.Schedule.Entries() {
		keys[e.Fork.Key()] = true
	}
	for _, k := range sortedKeys(keys) {
		ho, io := inRange(old, k)
		hn, in := inRange(c.Schedule, k)
		if (io || in) && (io != in || ho != hn) {
			out = append(out, fmt.Sprintf("%s: fork %s takes effect at %s in the recorded config and at %s now, inside the recorded range 1..%d", c.ConfigPath, k, rangeText(ho, io), rangeText(hn, in), n))
		}
	}
	oldParams := map[string]schedule.ParamHistory{}
	for _, p := range old.ParamHistories() {
		oldParams[p.Name] = p
	}
	for _, p := range c.Schedule.ParamHistories() {
		o := oldParams[p.Name]
		delete(oldParams, p.Name)
		if baseText(o.Base) != baseText(p.Base) {
			out = append(out, fmt.Sprintf("%s: parameter %s's base value changed (%s → %s): it applies from genesis", c.ConfigPath, p.Name, baseText(o.Base), baseText(p.Base)))
		}
		for _, ov := range p.Overrides {
			if _, in := inRange(c.Schedule, ov.Fork); in && overrideText(o, ov.Fork) != ov.Value.Text {
				out = append(out, fmt.Sprintf("%s: parameter %s under %s changed (%s → %s) inside the recorded range", c.ConfigPath, p.Name, ov.Fork, overrideText(o, ov.Fork), ov.Value.Text))
			}
		}
	}
	for name := range oldParams {
		out = append(out, fmt.Sprintf("%s: parameter %s was removed", c.ConfigPath, name))
	}
	newVersions := map[uint32]string{}
	for _, v := range c.Schedule.Versions() {
		newVersions[v.Number] = fmt.Sprint(v)
	}
	for _, v := range old.Versions() {
		if newVersions[v.Number] != fmt.Sprint(v) {
			out = append(out, fmt.Sprintf("%s: the declaration of protocol version %d changed: it decides when the version activates", c.ConfigPath, v.Number))
		}
	}
	return out
}

// scheduleFrom reads a config's fork schedule on its own (no registry).
func scheduleFrom(name string, src []byte) (*schedule.Schedule, error) {
	ff, err := forkfile.Read(name, src)
	if err != nil {
		return nil, err
	}
	s, _ := ff.Schedule(nil, false)
	return s, nil
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func rangeText(h int64, in bool) string {
	if !in {
		return "none (above the range or never)"
	}
	return fmt.Sprintf("height %d", h)
}

func baseText(v *schedule.Value) string {
	if v == nil {
		return "unset"
	}
	return v.Text
}

func overrideText(p schedule.ParamHistory, fork string) string {
	for _, o := range p.Overrides {
		if o.Fork == fork {
			return o.Value.Text
		}
	}
	return "unset"
}
