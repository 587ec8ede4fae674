package signal

import (
	"strings"
	"testing"
)

// Every key the controller stores is described with fields and no error,
// in both modes, after signalling, a maintenance and an open proposal: the
// describer reads the fields in the order persist.go writes them.
func TestDescribeEveryStoredKey(t *testing.T) {
	for _, mode := range []Mode{ModeDefault, ModeTron} {
		cfg := Config{Mode: mode, MaintenanceInterval: 6, Params: []ParamDecl{{Name: "game.maxStake", Default: 5}}}
		if mode == ModeDefault {
			cfg.Versions = append(cfg.Versions, vp(2, 75))
		}
		h := newHarness(t, cfg, names(3))
		h.mustBlock("SR1", 2)
		h.mustBlock("SR2", 2)
		if _, err := h.c.Propose(h.h+1, "SR1", "game.maxStake", 7); err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for _, e := range h.store.Entries() {
			d, ok := DescribeState(e.Key, e.Value)
			if !ok || d.Err != nil || len(d.Fields) == 0 || strings.ContainsAny(d.Key, "\x00\x01\x02") {
				t.Fatalf("%s: key %q: %+v, ok %v", mode, e.Key, d, ok)
			}
			seen[strings.SplitAfterN(d.Key, "/", 3)[1]] = true
		}
		for _, k := range []string{"meta", "set", "slot/", "prop/"} {
			if !seen[k] {
				t.Errorf("%s: no %s key described (seen %v)", mode, k, seen)
			}
		}
	}
	if _, ok := DescribeState([]byte("acct/x"), nil); ok {
		t.Error("a key that is not the controller's was claimed")
	}
	d, _ := DescribeState([]byte(keyMeta), []byte{9})
	if d.Err == nil {
		t.Error("a value of an unknown format decoded")
	}
}
