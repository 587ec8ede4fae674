package forkfile

import (
	"os"
	"strings"
	"testing"

	"github.com/forkgate/forkgate/schedule"
)

func findingKeys(fs schedule.Findings) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Rule+"@"+f.Origin)
	}
	return out
}

func TestLintChain33FileReportsLines(t *testing.T) {
	src, _ := os.ReadFile("testdata/chain33.para.toml")
	f := mustRead(t, "p.toml", string(src))
	got := findingKeys(Lint(f, LintOptions{}))
	want := []string{
		"change-record@p.toml:1:1",
		"fork-note@p.toml:10:1", // ForkChainParamV1
		"fork-note@p.toml:11:1", // ForkBlockHash
		"fork-note@p.toml:14:1", // ForkTicketFundAddrV1: a trailing tag is not a note
		"fork-note@p.toml:19:1", // token Enable
		"fork-note@p.toml:20:1",
		"fork-note@p.toml:25:1",
		"fork-note@p.toml:26:1",
		"fork-note@p.toml:27:1",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestLintRules(t *testing.T) {
	const good = "# 2026-01-01 add A under [fork.system]\n\n[fork.system]\n# fixes x; set 0 on new chains\nA = 10\n"
	reg := schedule.NewRegistry()
	reg.MustRegister(
		schedule.Fork{Scope: "system", Name: "A", Note: "a"},
		schedule.Fork{Scope: "system", Name: "B", Note: "b"},
	)
	tests := []struct {
		name string
		src  string
		opts func(t *testing.T) LintOptions
		want []string
	}{
		{"clean", good, nil, nil},
		{"lead without dates", "# my chain\n\n[fork.system]\n# n\nA = 1\n", nil, []string{"change-record@f.toml:1:1"}},
		{"blank line detaches the note", "# 2026-01-01 x\n[fork.system]\n# n\n\nA = 1\n", nil, []string{"fork-note@f.toml:5:1"}},
		{"unknown with registry", good + "# n\nC = 1\n", func(*testing.T) LintOptions { return LintOptions{Registry: reg} },
			[]string{"unknown-fork@f.toml:7:1", "missing-fork@f.toml:3:1"}},
		{"strict missing", good, func(*testing.T) LintOptions { return LintOptions{Registry: reg, Strict: true} },
			[]string{"missing-fork@f.toml:3:1"}},
		{"base: added fork needs a record entry", good + "# n\nB = 20\n", func(t *testing.T) LintOptions {
			return LintOptions{Base: mustRead(t, "old.toml", good)}
		}, []string{"record-entry@f.toml:7:1"}},
		{"base: record entry names it", "# 2026-01-01 add A\n# 2026-02-01 add B under [fork.system]\n[fork.system]\n# n\nA = 10\n# n\nB = 20\n", func(t *testing.T) LintOptions {
			return LintOptions{Base: mustRead(t, "old.toml", good)}
		}, nil},
		{"base: a longer name does not count", "# 2026-01-01 add A\n# 2026-02-01 add BB\n[fork.system]\n# n\nA = 10\n# n\nB = 20\n", func(t *testing.T) LintOptions {
			return LintOptions{Base: mustRead(t, "old.toml", good)}
		}, []string{"record-entry@f.toml:7:1"}},
		{"parent height on a main chain", "# 2026-01-01 x\nTitle = \"main\"\n[fork.system]\n# n\nA = { parent = 5 }\n", nil, []string{"para-title@f.toml:5:1"}},
		{"parent mismatch", "# 2026-01-01 x\nTitle = \"user.p.x.\"\n[fork.system]\n# n\nA = { parent = 5 }\n", func(t *testing.T) LintOptions {
			return LintOptions{Parent: mustRead(t, "main.toml", good)}
		}, []string{"parent-mismatch@f.toml:5:1"}},
		{"parent match", "# 2026-01-01 x\nTitle = \"user.p.x.\"\n[fork.system]\n# n\nA = { parent = 10 }\n", func(t *testing.T) LintOptions {
			return LintOptions{Parent: mustRead(t, "main.toml", good)}
		}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var opts LintOptions
			if tc.opts != nil {
				opts = tc.opts(t)
			}
			got := findingKeys(Lint(mustRead(t, "f.toml", tc.src), opts))
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("findings %v, want %v", got, tc.want)
			}
		})
	}
}

func TestShippedExamplesAreClean(t *testing.T) {
	reg, err := LoadRegistry("../examples/registry/sample-chain.toml")
	if err != nil {
		t.Fatal(err)
	}
	main, err := Load("../examples/chains/main.toml")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"main", "para-a", "para-b"} {
		f, err := Load("../examples/chains/" + name + ".toml")
		if err != nil {
			t.Fatal(err)
		}
		fs := Lint(f, LintOptions{Registry: reg, Parent: main})
		if fs.HasErrors() {
			t.Errorf("%s: %v", name, fs)
		}
	}
}

func TestRegistryFile(t *testing.T) {
	reg, err := ReadRegistry("r.toml", []byte(`
[[fork]]
scope = "token"
name = "ForkA"
default = { version = 2 }
note = "n"
requires = ["system.ForkB"]
[[fork]]
name = "ForkB"
default = -1
domain = "parent"
note = "m"
`))
	if err != nil {
		t.Fatal(err)
	}
	a, ok := reg.Lookup("token", "ForkA")
	if !ok || a.Default != schedule.OnVersion(2) || len(a.Requires) != 1 || a.Requires[0] != "system.ForkB" {
		t.Errorf("ForkA = %+v", a)
	}
	b, ok := reg.Lookup("system", "ForkB")
	if !ok || !b.Default.IsNever() || b.Domain != schedule.DomainParent {
		t.Errorf("ForkB = %+v", b)
	}
	bad := []struct{ src, msg string }{
		{"[[fork]]\nname = \"A\"\n", "empty note"},
		{"[[fork]]\nname = \"A\"\nnote = 1\n", "must be a string"},
		{"[[fork]]\nname = \"A\"\nnote = \"n\"\ncolour = \"red\"\n", "unknown fork field"},
		{"[[fork]]\nname = \"A\"\nnote = \"n\"\n[[fork]]\nname = \"A\"\nnote = \"n\"\n", "twice"},
		{"[[fork]]\nname = \"A\"\nnote = \"n\"\ndefault = -3\n", "below -1"},
	}
	for _, tc := range bad {
		_, err := ReadRegistry("r.toml", []byte(tc.src))
		if err == nil || !strings.Contains(err.Error(), tc.msg) || !strings.Contains(err.Error(), "r.toml:") {
			t.Errorf("%q: err = %v, want %q with a position", tc.src, err, tc.msg)
		}
	}
}

func TestDiff(t *testing.T) {
	old := mustRead(t, "old.toml", "[fork.system]\nA = 1\nB = 2\nC = -1\n[mver.m]\nfee = 1\n[[signal.version]]\nnumber = 2\nrate = 80\n")
	new := mustRead(t, "new.toml", "[fork.system]\nA = 1\n# why C\nC = { version = 2 }\nD = 9\n[mver.m]\nfee = 2\n[mver.m.D]\nfee = 3\n[[signal.version]]\nnumber = 2\nrate = 90\n")
	var got []string
	for _, c := range Diff(old, new) {
		got = append(got, c.Kind+" "+c.What+" "+c.Name+" "+c.Old+" -> "+c.New)
	}
	want := []string{
		"removed fork system.B 2 -> ",
		"changed fork system.C -1 -> { version = 2 }",
		"added fork system.D  -> 9",
		"changed param m.fee 1 -> 2",
		"added param m.fee@system.D  -> 3",
		"changed version 2 time=0 rate=80 grace=0 -> time=0 rate=90 grace=0",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("diff:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
