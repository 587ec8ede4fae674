package regscan

import (
	"fmt"
	"strconv"
	"strings"
)

// Registry writes the scan as a registry file that config lint --registry
// reads (forkfile.ReadRegistry). Each fork's note says where it is
// registered; the default is the height the code registers (-1: never),
// which Chain33 replaces with the config's value at start-up.
func (r *Result) Registry(source string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "# Fork registry scanned from Go source by `forkgate registry scan`.\n# Source: %s\n# %d fork(s) from %d Go file(s).\n", source, len(r.Forks), r.Files)
	for _, f := range r.Forks {
		b.WriteString("\n[[fork]]\n")
		fmt.Fprintf(&b, "scope = %s\n", strconv.Quote(f.Scope))
		fmt.Fprintf(&b, "name = %s\n", strconv.Quote(f.Name))
		h := f.Height
		if !f.Exact {
			h = 0
		}
		if h < -1 {
			h = -1
		}
		fmt.Fprintf(&b, "default = %d\n", h)
		note := fmt.Sprintf("registered by %s at %s", f.Call, f.Pos)
		if !f.Exact {
			note += " (height not a constant; 0 assumed)"
		}
		fmt.Fprintf(&b, "note = %s\n", strconv.Quote(note))
	}
	return []byte(b.String())
}
