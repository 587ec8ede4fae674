package forkfile

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/forkgate/forkgate/schedule"
)

// FormatActivation writes an activation the way a config file does, so that
// what diff and show print can be pasted back into a file.
func FormatActivation(a schedule.Activation, d schedule.Domain) string {
	switch a.Kind {
	case schedule.KindHeight:
		if d == schedule.DomainParent {
			return fmt.Sprintf("{ parent = %d }", a.Height)
		}
		return strconv.FormatInt(a.Height, 10)
	case schedule.KindTime:
		return fmt.Sprintf("{ time = %d }", a.Time)
	case schedule.KindVersion:
		return fmt.Sprintf("{ version = %d }", a.Version)
	}
	if d == schedule.DomainParent {
		return "{ parent = -1 }"
	}
	return "-1"
}

// FormatVersion summarises a version declaration on one line.
func FormatVersion(v schedule.VersionParams) string {
	s := fmt.Sprintf("time=%d rate=%d grace=%d", v.Time, v.Rate, v.Grace)
	if v.Timeout != 0 {
		s += fmt.Sprintf(" timeout=%d", v.Timeout)
	}
	if v.MinHeight != 0 {
		s += fmt.Sprintf(" min_height=%d", v.MinHeight)
	}
	if v.Release != "" {
		s += " release=" + v.Release
	}
	return s
}

// FormatUint is strconv.FormatUint for callers that only import forkfile.
func FormatUint(n uint64) string { return strconv.FormatUint(n, 10) }

func trimHash(line string) string {
	return strings.TrimSpace(strings.TrimLeft(strings.TrimSpace(line), "#"))
}
