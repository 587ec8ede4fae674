package release

import (
	"bytes"
	"context"
	"fmt"

	"github.com/forkgate/forkgate/buildinfo"
	"github.com/forkgate/forkgate/verify"
)

// Classify decides whether a build is a small or a large release against
// the previous one (Chain33's 6.2.x and 6.3.0). Small: the same forks with
// the same declarations, the same protocol version and the same built-in
// schedule, so it can roll out at any time. Anything else is large and
// needs coordinated heights. Without a previous release the build counts as
// large. A code change that alters state without a fork is invisible here;
// the library verify (BuildOptions.Verify) catches it.
func Classify(prev *Manifest, cur buildinfo.Info) Classification {
	if prev == nil {
		return Classification{Kind: KindLarge, Reasons: []string{"no previous release given (--previous): treated as large, with coordinated fork heights"}}
	}
	c := Classification{Previous: prev.Version}
	old := map[string]buildinfo.ForkInfo{}
	for _, f := range prev.Build.Forks {
		old[f.Key] = f
	}
	seen := map[string]bool{}
	for _, f := range cur.Forks {
		seen[f.Key] = true
		p, ok := old[f.Key]
		switch {
		case !ok:
			c.Reasons = append(c.Reasons, fmt.Sprintf("adds fork %s (default %s)", f.Key, f.Default))
		case p.Default != f.Default || p.Domain != f.Domain:
			c.Reasons = append(c.Reasons, fmt.Sprintf("changes fork %s's declaration: default %s -> %s, domain %q -> %q", f.Key, p.Default, f.Default, p.Domain, f.Domain))
		}
	}
	for _, f := range prev.Build.Forks {
		if !seen[f.Key] {
			c.Reasons = append(c.Reasons, fmt.Sprintf("removes fork %s", f.Key))
		}
	}
	if cur.Implemented != prev.Build.Implemented {
		c.Reasons = append(c.Reasons, fmt.Sprintf("implements protocol version %d (previous release: %d)", cur.Implemented, prev.Build.Implemented))
	}
	if len(c.Reasons) == 0 && cur.RegistryHash != prev.Build.RegistryHash {
		c.Reasons = append(c.Reasons, "the fork registry's hash changed (fork requirements)")
	}
	if cur.ScheduleHash != prev.Build.ScheduleHash {
		c.Reasons = append(c.Reasons, "the built-in default schedule changed")
	}
	if len(c.Reasons) > 0 {
		c.Kind = KindLarge
		return c
	}
	c.Kind = KindSmall
	c.Reasons = []string{fmt.Sprintf("same %d forks with the same declarations, same protocol version %d and built-in schedule as %s: rolls out at any time", len(cur.Forks), cur.Implemented, prev.Version)}
	return c
}

// Verifier checks a new binary against recorded chains: ok when every state
// hash matches; otherwise diagnosis says where and why.
type Verifier func(ctx context.Context, binary string) (ok bool, diagnosis string, err error)

// LibraryVerifier runs forkgate verify over chains with binary as the new
// release (the chains' recorded fixtures are the old one).
func LibraryVerifier(chains []*verify.Chain) Verifier {
	return func(ctx context.Context, binary string) (bool, string, error) {
		rep, err := verify.Run(ctx, verify.Options{Chains: chains, New: binary})
		if err != nil {
			return false, "", err
		}
		if rep.Result == verify.ResultOK {
			return true, "", nil
		}
		var b bytes.Buffer
		rep.WriteText(&b)
		return false, b.String(), nil
	}
}
