package main

import (
	"math"
	"strconv"
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

// parseTime reads a time flag: unix seconds, an RFC 3339 time
// (2026-12-01T08:00:00Z) or a date (2026-12-01, midnight UTC), the forms a
// config file accepts.
func parseTime(flag, v string) (int64, error) {
	v = strings.TrimSpace(v)
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return 0, usageErr("--%s %d: a time cannot be negative", flag, n)
		}
		return n, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			if t.Unix() < 0 {
				return 0, usageErr("--%s %s is before 1970", flag, v)
			}
			return t.Unix(), nil
		}
	}
	return 0, usageErr("--%s %q: give unix seconds, a date (2026-12-01, UTC) or an RFC 3339 time (2026-12-01T08:00:00Z)", flag, v)
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
