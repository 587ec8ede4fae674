package schedule

import "fmt"

// VersionError is a version declaration that no mode can run. Field is the
// config key at fault, as written in [[signal.version]] and in scenario
// files, so a reader that knows where each key sits can name its line.
type VersionError struct {
	Number uint32
	Field  string // "number", "time", "rate", "grace", "timeout" or "min_height"
	Reason string // what is wrong and what to do
}

func (e *VersionError) Error() string {
	if e.Field == "number" {
		return e.Reason
	}
	return fmt.Sprintf("version %d: %s", e.Number, e.Reason)
}

// Validate checks the rules every activation mode shares; it is the one
// validator behind both `config lint` (Build) and the node (package signal,
// which adds only what its own modes need). It returns a *VersionError.
func (v VersionParams) Validate() error {
	bad := func(field, format string, args ...any) error {
		return &VersionError{Number: v.Number, Field: field, Reason: fmt.Sprintf(format, args...)}
	}
	switch {
	case v.Number == 0:
		return bad("number", "version number 0 cannot be signalled (a block without a signal carries 0): number versions from 1")
	case v.Rate < 1 || v.Rate > 100:
		return bad("rate", "rate %d must be a percentage of producer slots from 1 to 100", v.Rate)
	case v.Time < 0:
		return bad("time", "time %d is negative: give the earliest activation time in unix seconds (0 = from genesis)", v.Time)
	case v.Timeout < 0:
		return bad("timeout", "timeout %d is negative: give a unix time after time, or 0 for none", v.Timeout)
	case v.Timeout != 0 && v.Timeout <= v.Time:
		// A timeout equal to the time would leave no block in which to lock
		// in but one at exactly that second.
		return bad("timeout", "timeout %d is not after its time %d, so the version could never lock in: set a later timeout, or 0 for none", v.Timeout, v.Time)
	case v.MinHeight < 0:
		return bad("min_height", "min_height %d is negative: give the earliest activation height, or 0 for none", v.MinHeight)
	}
	return nil
}
