package node

import (
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// WriteBanner prints what an operator checks before a node produces: this
// binary, the chain, and every fork of the schedule with its activation,
// the height it activates here and whether it is active (as geth prints its
// chain config at start-up), then the config's warnings.
func (n *Node) WriteBanner(w io.Writer) error {
	st, err := n.Status()
	if err != nil {
		return err
	}
	info := BuildInfo()
	fmt.Fprintf(w, "forkgate %s (commit %s, %s), executes protocol versions up to %d\n",
		info.Version, short(info.Commit), info.GoVersion, n.opts.Implemented)
	sh := n.l.cfg.Schedule.Snapshot().Hash()
	fmt.Fprintf(w, "chain %s (%s), genesis %s, height %d; fork schedule %s (hash %s)\n",
		st.ChainID, st.Title, short(st.GenesisHash), st.Height, n.l.cfg.Path, short(hex.EncodeToString(sh[:])))
	tw := tabwriter.NewWriter(w, 2, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  fork\tactivation\tfrom height\tstate")
	for _, f := range st.Forks.All {
		at, state := "-", "inactive"
		if f.Height >= 0 {
			at = fmt.Sprint(f.Height)
		}
		switch {
		case f.Active:
			state = "active"
		case f.Kind == "never":
			state = "never"
		case f.Height > st.Height:
			state = fmt.Sprintf("in %d blocks", f.Height-st.Height)
		case f.Kind == "version":
			state = "waits for its version"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", f.Key, f.Activation, at, state)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, v := range st.Versions {
		line := fmt.Sprintf("  protocol version %d: %s", v.Version, v.State)
		if v.ActivationHeight >= 0 {
			line += fmt.Sprintf(", active from %d", v.ActivationHeight)
		}
		if v.Version > n.opts.Implemented {
			line += fmt.Sprintf("; this binary halts at its activation (upgrade to %s)", orDefault(v.Release, "a release that implements it"))
		}
		fmt.Fprintln(w, line)
	}
	for _, f := range n.l.cfg.Warnings {
		fmt.Fprintf(w, "warning: %s\n", f)
	}
	return nil
}

func short(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}

func orDefault(s, def string) string {
	if strings.TrimSpace(s) == "" {
		return def
	}
	return s
}
