package signal

import (
	"fmt"
	"sort"

	"github.com/forkgate/forkgate/schedule"
)

// Mode selects the activation semantics. Its number is stored (signal/meta),
// so each mode keeps the value written here forever: never renumber, only
// add.
type Mode uint8

const (
	// ModeDefault is cumulative support with lock-in, grace and timeout.
	ModeDefault Mode = 0
	// ModeTron reproduces java-tron >= 4.7.2 (TIP-555) exactly.
	ModeTron Mode = 1
)

func (m Mode) String() string {
	switch m {
	case ModeDefault:
		return "default"
	case ModeTron:
		return "tron"
	}
	return fmt.Sprintf("mode(%d)", uint8(m))
}

// ParseMode reads a mode name as written in configs and scenario files.
func ParseMode(s string) (Mode, error) {
	switch s {
	case "", "default":
		return ModeDefault, nil
	case "tron":
		return ModeTron, nil
	}
	return 0, fmt.Errorf("unknown mode %q: use \"default\" or \"tron\"", s)
}

// MaxProducers bounds a producer set so that every slot index and tally fits
// the encodings, whatever the input.
const MaxProducers = 1 << 16

// tronMinSignal mirrors java-tron's update(): header versions below
// ENERGY_LIMIT (5) are ignored entirely.
const tronMinSignal = 5

// ParamDecl declares a business parameter that producers change through
// proposals. Version is the protocol version that must be active before the
// parameter can be proposed (0: always).
type ParamDecl struct {
	Name    string
	Version uint32
	Default int64
}

// Config is everything the controller needs from the chain config plus one
// binary-local option (Implemented).
type Config struct {
	Mode     Mode
	Versions []schedule.VersionParams
	// Implemented is the highest version this binary implements; 0 means the
	// highest declared version (1 when none is declared: every chain starts
	// at version 1). It never affects committed state, only the halt and the
	// newer-version warning.
	Implemented uint32
	// MaintenanceInterval in seconds. Tron mode rounds each version's time up
	// to a multiple of it, as java-tron does; required there.
	MaintenanceInterval int64
	Params              []ParamDecl
	// ApprovalNum/ApprovalDen is the share of the producer set needed to
	// approve a proposal; both zero means 2/3.
	ApprovalNum, ApprovalDen uint32
}

// ConfigError is a Config that New refuses. Field says which part is wrong
// ("mode", "maintenance_interval", "approval", "version" or "param") and
// Index which element of Versions or Params, as given (-1 for the others),
// so a reader of a config or scenario file can name the line.
type ConfigError struct {
	Field string
	Index int
	Err   error
}

func (e *ConfigError) Error() string { return e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }

// Validate reports the first reason New would refuse the config, as a
// *ConfigError.
func (c Config) Validate() error {
	_, err := c.normalized()
	return err
}

// normalized returns a validated copy with versions sorted by number, the
// approval share defaulted and Implemented resolved.
func (c Config) normalized() (Config, error) {
	bad := func(field string, index int, format string, args ...any) error {
		return &ConfigError{Field: field, Index: index, Err: fmt.Errorf(format, args...)}
	}
	if c.Mode != ModeDefault && c.Mode != ModeTron {
		return c, bad("mode", -1, "unknown mode %d: use default or tron", c.Mode)
	}
	if c.Mode == ModeTron && c.MaintenanceInterval <= 0 {
		return c, bad("maintenance_interval", -1, "tron mode needs maintenance_interval > 0 (seconds; mainnet uses 21600)")
	}
	if c.MaintenanceInterval < 0 {
		return c, bad("maintenance_interval", -1, "maintenance interval %d is negative: give it in seconds", c.MaintenanceInterval)
	}
	// Validate in the order given, so Index names the element as written.
	order := make([]int, len(c.Versions))
	for i, v := range c.Versions {
		if err := ValidateVersion(c.Mode, v); err != nil {
			return c, &ConfigError{Field: "version", Index: i, Err: err}
		}
		order[i] = i
	}
	sort.SliceStable(order, func(i, j int) bool { return c.Versions[order[i]].Number < c.Versions[order[j]].Number })
	vs := make([]schedule.VersionParams, len(order))
	for k, i := range order {
		vs[k] = c.Versions[i]
		if k > 0 && vs[k].Number == vs[k-1].Number {
			return c, bad("version", i, "version %d is declared twice: keep one declaration", vs[k].Number)
		}
	}
	c.Versions = vs
	if c.Implemented == 0 {
		c.Implemented = 1
		if n := len(vs); n > 0 {
			c.Implemented = vs[n-1].Number
		}
	}
	if c.ApprovalNum == 0 && c.ApprovalDen == 0 {
		c.ApprovalNum, c.ApprovalDen = 2, 3
	}
	if c.ApprovalDen == 0 || c.ApprovalNum == 0 || c.ApprovalNum > c.ApprovalDen {
		return c, bad("approval", -1, "approval share %d/%d is invalid: use a fraction in (0, 1], e.g. 2/3", c.ApprovalNum, c.ApprovalDen)
	}
	porder := make([]int, len(c.Params))
	for i, p := range c.Params {
		if p.Name == "" {
			return c, bad("param", i, "parameter %d has no name: give it one", i+1)
		}
		if p.Version != 0 && !declared(vs, p.Version) {
			return c, bad("param", i, "parameter %q belongs to version %d, which is not declared: declare the version or set version = 0", p.Name, p.Version)
		}
		porder[i] = i
	}
	sort.SliceStable(porder, func(i, j int) bool { return c.Params[porder[i]].Name < c.Params[porder[j]].Name })
	ps := make([]ParamDecl, len(porder))
	for k, i := range porder {
		ps[k] = c.Params[i]
		if k > 0 && ps[k].Name == ps[k-1].Name {
			return c, bad("param", i, "parameter %q is declared twice: keep one declaration", ps[k].Name)
		}
	}
	c.Params = ps
	return c, nil
}

func declared(vs []schedule.VersionParams, n uint32) bool {
	for _, v := range vs {
		if v.Number == n {
			return true
		}
	}
	return false
}

// ValidateVersion checks one version declaration for mode: the rules every
// mode shares (schedule.VersionParams.Validate, which config lint applies
// too), then the mode's own. It returns a *schedule.VersionError.
func ValidateVersion(mode Mode, p schedule.VersionParams) error {
	if err := p.Validate(); err != nil {
		return err
	}
	if mode != ModeTron {
		return nil
	}
	// java-tron has none of these; a non-zero value would be ignored
	// silently, so it is refused.
	for _, f := range []struct {
		name string
		set  bool
	}{{"grace", p.Grace != 0}, {"timeout", p.Timeout != 0}, {"min_height", p.MinHeight != 0}} {
		if f.set {
			return &schedule.VersionError{Number: p.Number, Field: f.name,
				Reason: f.name + " is not 0, but tron mode has no grace, timeout or min height (java-tron has none): set it to 0 or use the default mode"}
		}
	}
	return nil
}

// tronGate is java-tron's effective time gate: the version's time rounded up
// to a multiple of the maintenance interval counted from unix epoch 0, using
// Java's truncating division (so time 0 becomes one interval).
func tronGate(t, interval int64) int64 {
	return ((t-1)/interval + 1) * interval
}

// threshold is the smallest count that meets rate% of den, i.e. the least c
// with c*100 >= rate*den.
func threshold(rate uint32, den int) int {
	return (int(rate)*den + 99) / 100
}

// meets is the integer threshold test used everywhere; an empty set never
// meets.
func meets(count int, rate uint32, den int) bool {
	return den > 0 && count*100 >= int(rate)*den
}
