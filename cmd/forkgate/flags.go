package main

import (
	"math"
	"strings"
	"time"
)

// Flag checks. Every numeric flag is checked before a command acts, so a
// value the command cannot use is refused with exit 2 and a message that
// names the flag and the values it takes, instead of being clamped or
// replaced by a default.

// firstErr returns the first non-nil error: commands list their checks in
// flag order.
func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// inRange checks lo <= v <= hi.
func inRange(flag string, v, lo, hi int64) error {
	if v < lo || v > hi {
		if hi == math.MaxInt64 {
			return usageErr("--%s %d: use %d or more", flag, v, lo)
		}
		return usageErr("--%s %d: use %d..%d", flag, v, lo, hi)
	}
	return nil
}

// atLeast checks v >= lo.
func atLeast(flag string, v, lo int64) error { return inRange(flag, v, lo, math.MaxInt64) }

// nonNegativeDuration checks a wait.
func nonNegativeDuration(flag string, d time.Duration) error {
	if d < 0 {
		return usageErr("--%s %s: give a wait of 0 or more (e.g. 200ms)", flag, d)
	}
	return nil
}

// nonEmpty checks a string flag that has no meaningful empty value.
func nonEmpty(flag, v string) error {
	if strings.TrimSpace(v) == "" {
		return usageErr("--%s is empty: give a value", flag)
	}
	return nil
}

// nonEmptyArgs checks positional arguments (paths) that must not be empty.
func nonEmptyArgs(what string, args []string) error {
	for _, a := range args {
		if strings.TrimSpace(a) == "" {
			return usageErr("%s is an empty string: give a path", what)
		}
	}
	return nil
}
