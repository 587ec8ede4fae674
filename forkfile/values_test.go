package forkfile

import (
	"strings"
	"testing"

	"github.com/forkgate/forkgate/schedule"
)

const exchangeOld = `[fork.system]
ForkA = 100
[fork.sub.exchange]
Enable = 0
ForkFix = 200

[mver]
hello = "world"
[mver.ForkA]
hello = "forkworld"

[mver.exec.sub.exchange]
banks = ["1BankA", "1BankB"]
name = 'ex'
[mver.exec.sub.exchange.ForkFix]
banks = [
  "1BankA", # the first
  "1BankC",
]
[mver.exec.sub.exchange.Enable]
tag = "on"
`

func paramsByKey(f *File) map[string]schedule.ParamSetting {
	m := map[string]schedule.ParamSetting{}
	for _, p := range f.Params {
		m[p.Name+"@"+p.Fork] = p
	}
	return m
}

// TestParamValuesAsChain33ReadsThem: lists, strings and top-level [mver]
// keys are read with their values, and forks bind as Chain33's
// mversion.UpdateFork binds them.
func TestParamValuesAsChain33ReadsThem(t *testing.T) {
	f := mustRead(t, "ex.toml", exchangeOld)
	got := paramsByKey(f)
	want := map[string]struct {
		typ  schedule.ValueType
		text string
	}{
		"hello@":                                   {schedule.TypeString, `"world"`},
		"hello@system.ForkA":                       {schedule.TypeString, `"forkworld"`},
		"exec.sub.exchange.banks@":                 {schedule.TypeList, `["1BankA", "1BankB"]`},
		"exec.sub.exchange.name@":                  {schedule.TypeString, `"ex"`},
		"exec.sub.exchange.banks@exchange.ForkFix": {schedule.TypeList, `["1BankA", "1BankC"]`},
		"exec.sub.exchange.tag@exchange.Enable":    {schedule.TypeString, `"on"`},
	}
	if len(got) != len(want) {
		t.Errorf("got %d params, want %d: %v", len(got), len(want), got)
	}
	for k, w := range want {
		p, ok := got[k]
		if !ok {
			t.Errorf("missing %s (have %v)", k, got)
			continue
		}
		if p.Value.Type != w.typ || p.Value.Text != w.text {
			t.Errorf("%s = %s %s, want %s %s", k, p.Value.Type, p.Value.Text, w.typ, w.text)
		}
	}
	s, fs := f.Schedule(nil, false)
	if fs.HasErrors() {
		t.Fatal(fs)
	}
	for _, tc := range []struct {
		h    int64
		name string
		want string
	}{
		{99, "hello", `"world"`}, {100, "hello", `"forkworld"`},
		{199, "exec.sub.exchange.banks", `["1BankA", "1BankB"]`}, {200, "exec.sub.exchange.banks", `["1BankA", "1BankC"]`},
	} {
		v, ok := s.ParamValue(tc.name, schedule.Block{Height: tc.h, ParentHeight: -1}, nil)
		if !ok || v.Text != tc.want {
			t.Errorf("%s at %d = %v %v, want %s", tc.name, tc.h, v.Text, ok, tc.want)
		}
	}
}

// TestListChangesShowInDiffAndCompat: a changed element is a change and,
// once in force, a conflict; a reflowed list with a comment is neither.
func TestListChangesShowInDiffAndCompat(t *testing.T) {
	old := mustRead(t, "old.toml", exchangeOld)
	reflow := mustRead(t, "reflow.toml", strings.Replace(exchangeOld, `banks = ["1BankA", "1BankB"]`, "banks = [\n \"1BankA\",  # a\n \"1BankB\"\n]", 1))
	if d := Diff(old, reflow); len(d) != 0 {
		t.Errorf("reflowed list is a change: %+v", d)
	}
	changed := mustRead(t, "new.toml", strings.Replace(exchangeOld, `"1BankC",`, `"1BankD",`, 1))
	d := Diff(old, changed)
	if len(d) != 1 || d[0].Name != "exec.sub.exchange.banks@exchange.ForkFix" || d[0].Old != `["1BankA", "1BankC"]` || d[0].New != `["1BankA", "1BankD"]` {
		t.Fatalf("diff = %+v", d)
	}
	snap := func(f *File) schedule.Snapshot {
		s, fs := f.Schedule(nil, false)
		if fs.HasErrors() {
			t.Fatal(fs)
		}
		return s.Snapshot()
	}
	if ce := schedule.CheckCompatible(snap(old), snap(changed), schedule.Head{Height: 199}); ce != nil {
		t.Errorf("a change above the head is a conflict: %v", ce)
	}
	ce := schedule.CheckCompatible(snap(old), snap(changed), schedule.Head{Height: 250})
	if ce == nil || ce.RewindTo != 199 || !strings.Contains(ce.Error(), "exec.sub.exchange.banks") {
		t.Fatalf("conflict = %v", ce)
	}
	base := mustRead(t, "base.toml", strings.Replace(exchangeOld, `"1BankB"]`, `"1BankX"]`, 1))
	ce = schedule.CheckCompatible(snap(old), snap(base), schedule.Head{Height: 5})
	if ce == nil || ce.RewindTo != -1 || !strings.Contains(ce.Error(), "resync from genesis") || strings.Contains(ce.Error(), "-1") {
		t.Fatalf("base conflict = %v", ce)
	}
}

// TestDialect: a Chain33 file takes only plain integers; a forkgate one
// keeps its extensions; lint's dialect check names each extension.
func TestDialect(t *testing.T) {
	f := mustRead(t, "c.toml", exchangeOld)
	if f.Dialect() != DialectChain33 {
		t.Fatalf("dialect %s", f.Dialect())
	}
	for _, v := range []string{"{ time = 1798761600 }", "{ version = 2 }", "{ parent = 5 }", "{ height = 5 }"} {
		_, err := Set(f, SetRequest{Key: "ForkA", Value: v, Note: "n", Date: "2026-12-01"})
		if err == nil || !strings.Contains(err.Error(), "integer heights") {
			t.Errorf("set %s in a chain33 file: %v", v, err)
		}
	}
	if _, err := Set(f, SetRequest{Key: "ForkA", Value: "-1", Note: "n", Date: "2026-12-01"}); err != nil {
		t.Errorf("set -1: %v", err)
	}
	if _, err := Set(f, SetRequest{Key: "ForkA", Value: "{ time = 1798761600 }", Note: "n", Date: "2026-12-01", Dialect: DialectForkgate}); err != nil {
		t.Errorf("forkgate dialect: %v", err)
	}
	ext := mustRead(t, "x.toml", "[fork.system]\nA = 1\nB = { time = 5 }\n[[signal.version]]\nnumber = 2\ntime = 1\nrate = 80\n")
	if ext.Dialect() != DialectForkgate {
		t.Fatalf("dialect %s", ext.Dialect())
	}
	if _, err := Set(ext, SetRequest{Key: "A", Value: "{ version = 2 }", Note: "n", Date: "2026-12-01"}); err != nil {
		t.Errorf("auto dialect of an extended file: %v", err)
	}
	fs := ext.ForkgateOnly()
	if len(fs) != 2 || fs[0].Fork != "system.B" || fs[0].Origin != "x.toml:3:5" || fs[1].Origin != "x.toml:4:3" {
		t.Errorf("forkgate-only findings: %v", fs)
	}
}

// TestSetParam: a list parameter set in place keeps the rest of the file;
// a new one goes into its table, or a new table.
func TestSetParam(t *testing.T) {
	f := mustRead(t, "ex.toml", exchangeOld)
	out, err := SetParam(f, SetRequest{Key: "mver.exec.sub.exchange.ForkFix.banks", Value: `["1BankA", "1BankD"]`, Note: "new recipient", Date: "2026-12-01"})
	if err != nil {
		t.Fatal(err)
	}
	want := "# Change record (newest last)\n# 2026-12-01 set mver.exec.sub.exchange.ForkFix.banks = [\"1BankA\", \"1BankD\"]: new recipient\n\n" +
		strings.Replace(exchangeOld, "[mver.exec.sub.exchange.ForkFix]\nbanks = [\n  \"1BankA\", # the first\n  \"1BankC\",\n]",
			"[mver.exec.sub.exchange.ForkFix]\n# new recipient\nbanks = [\"1BankA\", \"1BankD\"]", 1)
	if string(out) != want {
		t.Errorf("got:\n%s\nwant:\n%s", out, want)
	}
	g := mustRead(t, "ex.toml", string(out))
	if d := Diff(f, g); len(d) != 1 || d[0].New != `["1BankA", "1BankD"]` {
		t.Errorf("diff after set: %+v", d)
	}
	out, err = SetParam(f, SetRequest{Key: "mver.exec.sub.exchange.fee", Value: `"0.1%"`, Note: "fee", Date: "2026-12-01"})
	if err != nil || !strings.Contains(string(out), "name = 'ex'\n# fee\nfee = \"0.1%\"\n[mver.exec.sub.exchange.ForkFix]") {
		t.Errorf("add to a table: %v\n%s", err, out)
	}
	out, err = SetParam(f, SetRequest{Key: "mver.mempool.maxTxFee", Value: "1000", Note: "cap", Date: "2026-12-01"})
	if err != nil || !strings.HasSuffix(string(out), "\n[mver.mempool]\n# cap\nmaxTxFee = 1000\n") {
		t.Errorf("new table: %v\n%s", err, out)
	}
	for _, bad := range []string{"[1, ", "bare words", ""} {
		if _, err := SetParam(f, SetRequest{Key: "mver.x.y", Value: bad, Note: "n", Date: "2026-12-01"}); err == nil {
			t.Errorf("value %q accepted", bad)
		}
	}
	if _, err := SetParam(f, SetRequest{Key: "mver.exec.sub.exchange.banks", Value: "1", Note: ""}); err == nil {
		t.Error("no note accepted")
	}
}
