package forkfile

import (
	"testing"

	"github.com/pelletier/go-toml/v2"
)

// trackerCases are documents on both sides of the rules the tracker checks.
var trackerCases = []string{
	"a = 1\n[a]\nb = 1\n",
	"a = 1\n[a.b]\n",
	"[a.b]\nc = 1\n[a]\nb = 2\n",
	"[a]\nb.c = 1\n[a.b]\nd = 1\n",
	"[a]\nb.c = 1\n[a.b.d]\ne = 1\n",
	"[a.b]\n[a]\nb.c = 1\n",
	"a = { b = 1 }\n[a.c]\n",
	"a = { b = 1 }\n[a]\n",
	"[[a]]\nx = 1\n[[a]]\nx = 2\n",
	"[a]\n[[a]]\n",
	"[[a]]\n[a]\n",
	"[[a]]\n[a.b]\nc = 1\n",
	"a.b = 1\na.c = 2\n[x]\n",
	"a.b = 1\na.b.c = 2\n",
	"a.b = 1\n[a]\n",
	"[x]\na = [1, 2]\n[x.a]\n",
	"[fork.system]\nA = 1\n[fork.sub.token]\nB = 2\n[mver.m]\nk = 1\n[mver.m.A]\nk = 2\n",
	"[fork]\nsystem.A = 1\n[fork.system]\nB = 2\n",
	"[a.b.c]\n[a.b]\n[a]\n",
}

// TestTrackerAgreesWithDecoder: the reader refuses exactly the documents
// go-toml's decoder refuses.
func TestTrackerAgreesWithDecoder(t *testing.T) {
	for _, src := range trackerCases {
		checkAgrees(t, []byte(src))
	}
}

func checkAgrees(t *testing.T, src []byte) {
	t.Helper()
	_, ours := Parse("t.toml", src)
	var sink map[string]any
	theirs := toml.Unmarshal(src, &sink)
	if (ours == nil) != (theirs == nil) {
		t.Errorf("%q: reader says %v, go-toml says %v", src, ours, theirs)
	}
}

// FuzzParseAgreesWithDecoder: same, on arbitrary input.
func FuzzParseAgreesWithDecoder(f *testing.F) {
	for _, src := range trackerCases {
		f.Add([]byte(src))
	}
	f.Fuzz(func(t *testing.T, src []byte) { checkAgrees(t, src) })
}
