package signal

import (
	"fmt"
	"sort"

	"github.com/forkgate/forkgate/schedule"
)

// Mode selects the activation semantics.
type Mode uint8

const (
	// ModeDefault is cumulative support with lock-in, grace and timeout.
	ModeDefault Mode = iota
	// ModeTron reproduces java-tron >= 4.7.2 (TIP-555) exactly.
	ModeTron
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
	// Implemented is the highest version this binary implements; 0 means every
	// declared version. It never affects committed state, only the halt.
	Implemented uint32
	// MaintenanceInterval in seconds. Tron mode rounds each version's time up
	// to a multiple of it, as java-tron does; required there.
	MaintenanceInterval int64
	Params              []ParamDecl
	// ApprovalNum/ApprovalDen is the share of the producer set needed to
	// approve a proposal; both zero means 2/3.
	ApprovalNum, ApprovalDen uint32
}

// normalized returns a validated copy with versions sorted by number and the
// approval share defaulted.
func (c Config) normalized() (Config, error) {
	if c.Mode != ModeDefault && c.Mode != ModeTron {
		return c, fmt.Errorf("unknown mode %d", c.Mode)
	}
	vs := append([]schedule.VersionParams(nil), c.Versions...)
	sort.SliceStable(vs, func(i, j int) bool { return vs[i].Number < vs[j].Number })
	for i := range vs {
		if err := ValidateVersion(c.Mode, c.MaintenanceInterval, vs[i]); err != nil {
			return c, err
		}
		if i > 0 && vs[i].Number == vs[i-1].Number {
			return c, fmt.Errorf("version %d is declared twice: keep one declaration", vs[i].Number)
		}
	}
	c.Versions = vs
	if c.Mode == ModeTron && c.MaintenanceInterval <= 0 {
		return c, fmt.Errorf("tron mode needs maintenance_interval > 0 (seconds; mainnet uses 21600)")
	}
	if c.MaintenanceInterval < 0 {
		return c, fmt.Errorf("maintenance interval %d is negative", c.MaintenanceInterval)
	}
	if c.ApprovalNum == 0 && c.ApprovalDen == 0 {
		c.ApprovalNum, c.ApprovalDen = 2, 3
	}
	if c.ApprovalDen == 0 || c.ApprovalNum == 0 || c.ApprovalNum > c.ApprovalDen {
		return c, fmt.Errorf("approval share %d/%d is invalid: use a fraction in (0, 1], e.g. 2/3", c.ApprovalNum, c.ApprovalDen)
	}
	ps := append([]ParamDecl(nil), c.Params...)
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].Name < ps[j].Name })
	for i, p := range ps {
		if p.Name == "" {
			return c, fmt.Errorf("a parameter has no name")
		}
		if i > 0 && ps[i-1].Name == p.Name {
			return c, fmt.Errorf("parameter %q is declared twice", p.Name)
		}
		if p.Version != 0 && !declared(vs, p.Version) {
			return c, fmt.Errorf("parameter %q belongs to version %d, which is not declared: declare the version or set version = 0", p.Name, p.Version)
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

// ValidateVersion checks one version declaration for the given mode.
func ValidateVersion(mode Mode, interval int64, p schedule.VersionParams) error {
	switch {
	case p.Number == 0:
		return fmt.Errorf("version number 0 cannot be signalled: versions start at 1")
	case p.Rate < 1 || p.Rate > 100:
		return fmt.Errorf("version %d: rate %d must be a percentage in 1..100", p.Number, p.Rate)
	case p.Time < 0:
		return fmt.Errorf("version %d: time %d is negative", p.Number, p.Time)
	case p.MinHeight < 0:
		return fmt.Errorf("version %d: min height %d is negative", p.Number, p.MinHeight)
	case p.Timeout < 0:
		return fmt.Errorf("version %d: timeout %d is negative (0 means none)", p.Number, p.Timeout)
	case p.Timeout != 0 && p.Timeout < p.Time:
		return fmt.Errorf("version %d: timeout %d is before its time %d, so it could never start", p.Number, p.Timeout, p.Time)
	}
	if mode == ModeTron && (p.Grace != 0 || p.Timeout != 0 || p.MinHeight != 0) {
		return fmt.Errorf("version %d: tron mode has no grace, timeout or min height (java-tron has none); set them to 0 or use the default mode", p.Number)
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
