package forkfile

import (
	"errors"
	"strings"
	"testing"
)

const chain33Like = `# 变更记录 / change record
# 2026-01-01 add ForkA under [fork.system]

Title="user.p.demo."

[fork.system]
# 说明: ForkA fixes the block hash; new chains 0
ForkA=100   #fork6.3
ForkB = 5

[fork.sub.token]
Enable=0
  # indented note
  ForkTokenCheck = 7
`

func TestSetChangesOnlyWhatItMust(t *testing.T) {
	tests := []struct {
		name string
		req  SetRequest
		want string
	}{
		{
			name: "existing item keeps its notes and trailer",
			req:  SetRequest{Key: "ForkA", Value: "200", Note: "move to 200: the network upgrades later", Date: "2026-11-21"},
			want: `# 变更记录 / change record
# 2026-01-01 add ForkA under [fork.system]
# 2026-11-21 set ForkA = 200 under [fork.system]: move to 200: the network upgrades later

Title="user.p.demo."

[fork.system]
# 说明: ForkA fixes the block hash; new chains 0
# move to 200: the network upgrades later
ForkA=200   #fork6.3
ForkB = 5

[fork.sub.token]
Enable=0
  # indented note
  ForkTokenCheck = 7
`,
		},
		{
			name: "indented item keeps indentation; never keyword",
			req:  SetRequest{Key: "token.ForkTokenCheck", Value: "never", Note: "switch off", Date: "2026-11-21"},
			want: `# 变更记录 / change record
# 2026-01-01 add ForkA under [fork.system]
# 2026-11-21 set ForkTokenCheck = -1 under [fork.sub.token]: switch off

Title="user.p.demo."

[fork.system]
# 说明: ForkA fixes the block hash; new chains 0
ForkA=100   #fork6.3
ForkB = 5

[fork.sub.token]
Enable=0
  # indented note
  # switch off
  ForkTokenCheck = -1
`,
		},
		{
			name: "new item goes to the end of its section",
			req:  SetRequest{Key: "ForkC", Value: "{ time = 1767225600 }", Note: "strict ids from 2026", Date: "2026-11-21", Dialect: DialectForkgate},
			want: `# 变更记录 / change record
# 2026-01-01 add ForkA under [fork.system]
# 2026-11-21 add ForkC = { time = 1767225600 } under [fork.system]: strict ids from 2026

Title="user.p.demo."

[fork.system]
# 说明: ForkA fixes the block hash; new chains 0
ForkA=100   #fork6.3
ForkB = 5
# strict ids from 2026
ForkC = { time = 1767225600 }

[fork.sub.token]
Enable=0
  # indented note
  ForkTokenCheck = 7
`,
		},
		{
			name: "new section is appended",
			req:  SetRequest{Key: "game.Enable", Value: "genesis", Note: "game on", Date: "2026-11-21"},
			want: chain33Like[:strings.Index(chain33Like, "\n\nTitle")] + "\n# 2026-11-21 add Enable = 0 under [fork.sub.game]: game on" +
				chain33Like[strings.Index(chain33Like, "\n\nTitle"):] + "\n[fork.sub.game]\n# game on\nEnable = 0\n",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := mustRead(t, "c.toml", chain33Like)
			out, err := Set(f, tc.req)
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != tc.want {
				t.Errorf("got:\n%s\nwant:\n%s", out, tc.want)
			}
			// The result lints clean on the edited item.
			nf := mustRead(t, "c.toml", string(out))
			if len(nf.Record) != 2 {
				t.Errorf("record has %d entries", len(nf.Record))
			}
		})
	}
}

func TestSetCreatesRecordWhenMissing(t *testing.T) {
	f := mustRead(t, "c.toml", "[fork.system]\n# n\nA = 1\n")
	out, err := Set(f, SetRequest{Key: "A", Value: "2", Note: "why", Date: "2026-11-21"})
	if err != nil {
		t.Fatal(err)
	}
	want := "# Change record (newest last)\n# 2026-11-21 set A = 2 under [fork.system]: why\n\n[fork.system]\n# n\n# why\nA = 2\n"
	if string(out) != want {
		t.Errorf("got:\n%s", out)
	}
	if fs := Lint(mustRead(t, "c.toml", string(out)), LintOptions{}); len(fs) != 0 {
		t.Errorf("edited file does not lint clean: %v", fs)
	}
}

func TestSetRefusesBadInput(t *testing.T) {
	f := mustRead(t, "c.toml", chain33Like)
	for _, req := range []SetRequest{
		{Key: "ForkA", Value: "-5", Note: "x", Date: "2026-11-21"},
		{Key: "ForkA", Value: "abc", Note: "x", Date: "2026-11-21"},
		{Key: "ForkA", Value: "1", Note: " ", Date: "2026-11-21"},
	} {
		if _, err := Set(f, req); err == nil {
			t.Errorf("%+v accepted", req)
		}
	}
}

func TestCanonicalIsAFixedPointAndKeepsComments(t *testing.T) {
	once, err := Canonical([]byte(chain33Like))
	if err != nil {
		t.Fatal(err)
	}
	twice, err := Canonical(once)
	if err != nil {
		t.Fatal(err)
	}
	if string(once) != string(twice) {
		t.Errorf("not a fixed point:\n%s\n---\n%s", once, twice)
	}
	for _, c := range []string{"变更记录", "说明: ForkA", "#fork6.3", "indented note"} {
		if !strings.Contains(string(once), c) {
			t.Errorf("comment %q lost", c)
		}
	}
	a, b := mustRead(t, "a", chain33Like), mustRead(t, "b", string(once))
	if d := Diff(a, b); len(d) != 0 {
		t.Errorf("formatting changed the meaning: %v", d)
	}
}

// FuzzRead feeds arbitrary bytes to the reader: it must never panic, and every
// error must carry a position.
func FuzzRead(f *testing.F) {
	f.Add([]byte(chain33Like))
	f.Add([]byte("[fork.system]\nA = { version = 2 }\nB = { parent = -1 }\n"))
	f.Add([]byte("[fork.system]\nA = 1\nA = 2\n"))
	f.Add([]byte("[[signal.version]]\nnumber = 2\nrate = 80\n[mver.m.A]\nk = 1\n"))
	f.Add([]byte("A = [1, {b = 2}]\n[x]\n\"q.k\" = '''\nml\n'''\n"))
	f.Add([]byte("[fork.sub.token]\nF = { time = 2026-01-01T00:00:00Z }\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		file, err := Read("fuzz.toml", src)
		if err != nil {
			var pe *PosError
			var el ErrorList
			switch {
			case errors.As(err, &el):
				if len(el) == 0 {
					t.Fatal("empty error list")
				}
				for _, e := range el {
					if e.Pos.Line < 1 || e.Pos.Col < 1 {
						t.Fatalf("bad position in %v", e)
					}
				}
			case errors.As(err, &pe):
				if pe.Pos.Line < 1 || pe.Pos.Col < 1 {
					t.Fatalf("bad position in %v", pe)
				}
			default:
				t.Fatalf("error without position: %v", err)
			}
			return
		}
		// A file that reads must lint and build without panicking.
		Lint(file, LintOptions{})
	})
}
