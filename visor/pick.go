package visor

import (
	"fmt"
	"runtime"
	"strconv"
	"strings"
)

// Need is what the data asks of the binary that runs next: the height it
// will execute and the protocol version active there.
type Need struct {
	Next   int64  // data height + 1
	Active uint32 // protocol version active at Next
}

// Candidate is a stored release as Pick sees it.
type Candidate struct {
	Version     string
	Implemented uint32 // highest protocol version the binary executes
	MinHeight   int64  // lowest height it may execute
	GateFailed  string // why it failed a health gate; "" if it never did
}

// Fits says why a release cannot run at need, "" when it can.
func (c Candidate) Fits(n Need) string {
	switch {
	case c.GateFailed != "":
		return "failed its health gate: " + c.GateFailed
	case c.Implemented < n.Active:
		return fmt.Sprintf("implements protocol version %d, version %d is active at height %d", c.Implemented, n.Active, n.Next)
	case c.MinHeight > n.Next:
		return fmt.Sprintf("may not run before height %d (its min_height), the data is at %d: binary updated before its trigger", c.MinHeight, n.Next-1)
	}
	return ""
}

// NoReleaseError is a need that no stored release fits.
type NoReleaseError struct {
	Need    Need
	Current string
	Why     []string // one line per stored release
	Dir     string   // where releases are expected
}

func (e *NoReleaseError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "no stored release can run height %d (protocol version %d active)", e.Need.Next, e.Need.Active)
	if e.Current != "" {
		fmt.Fprintf(&b, "; current is %s", e.Current)
	}
	b.WriteString(":")
	for _, w := range e.Why {
		b.WriteString("\n  " + w)
	}
	if len(e.Why) == 0 {
		b.WriteString("\n  (no releases)")
	}
	fmt.Fprintf(&b, "\nadd a release implementing protocol version %d to %s with `forkgate visor add HOME DIR|ARCHIVE|URL`, then run the supervisor again", e.Need.Active, e.Dir)
	return b.String()
}

// Pick chooses the release that runs next. The current release keeps
// running while it fits (a newer binary that replays old rules is not
// forced on an operator); otherwise the release with the lowest protocol
// version that covers the active one (the step the network takes), the
// newest version among equals. A data directory restored from a snapshot
// past several upgrades gets the right binary at once.
func Pick(cands []Candidate, current string, n Need) (Candidate, error) {
	var best *Candidate
	why := make([]string, 0, len(cands))
	for i := range cands {
		c := &cands[i]
		if reason := c.Fits(n); reason != "" {
			why = append(why, c.Version+": "+reason)
			continue
		}
		if c.Version == current {
			return *c, nil
		}
		if best == nil || c.Implemented < best.Implemented ||
			(c.Implemented == best.Implemented && CompareVersions(c.Version, best.Version) > 0) {
			best = c
		}
	}
	if best == nil {
		return Candidate{}, &NoReleaseError{Need: n, Current: current, Why: why}
	}
	return *best, nil
}

// CompareVersions orders versions like 0.2.0, 0.10.1, 1.0.0-rc1: numeric
// parts as numbers, others as text; a pre-release sorts before its release.
func CompareVersions(a, b string) int {
	split := func(v string) (main []string, pre string) {
		v = strings.TrimPrefix(v, "v")
		if i := strings.IndexByte(v, '+'); i >= 0 {
			v = v[:i]
		}
		if i := strings.IndexByte(v, '-'); i >= 0 {
			v, pre = v[:i], v[i+1:]
		}
		return strings.Split(v, "."), pre
	}
	am, ap := split(a)
	bm, bp := split(b)
	for i := 0; i < len(am) || i < len(bm); i++ {
		var x, y string
		if i < len(am) {
			x = am[i]
		}
		if i < len(bm) {
			y = bm[i]
		}
		if c := comparePart(x, y); c != 0 {
			return c
		}
	}
	switch {
	case ap == bp:
		return 0
	case ap == "":
		return 1
	case bp == "":
		return -1
	}
	return comparePart(ap, bp)
}

func comparePart(x, y string) int {
	xi, xerr := strconv.ParseUint(x, 10, 64)
	yi, yerr := strconv.ParseUint(y, 10, 64)
	if xerr == nil && yerr == nil {
		switch {
		case xi < yi:
			return -1
		case xi > yi:
			return 1
		}
		return 0
	}
	return strings.Compare(x, y)
}

func goPlatform() string { return runtime.GOOS + "/" + runtime.GOARCH }
