package forkfile

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/forkgate/forkgate/schedule"
)

func mustRead(t *testing.T, name, src string) *File {
	t.Helper()
	f, err := Read(name, []byte(src))
	if err != nil {
		t.Fatalf("Read(%s): %v", name, err)
	}
	return f
}

func TestReadChain33Layout(t *testing.T) {
	src, err := os.ReadFile("testdata/chain33.para.toml")
	if err != nil {
		t.Fatal(err)
	}
	f := mustRead(t, "chain33.para.toml", string(src))
	if f.Title != "user.p.para." || !IsParaTitle(f.Title) {
		t.Errorf("title %q", f.Title)
	}
	want := map[string]schedule.Activation{
		"system.ForkChainParamV1":                      schedule.Genesis(),
		"system.ForkBlockHash":                         schedule.AtHeight(1),
		"system.ForkCheckTxDup":                        schedule.Genesis(),
		"system.ForkTicketFundAddrV1":                  schedule.Never(),
		"system.ForkRootHash":                          schedule.AtHeight(7200000),
		"token.Enable":                                 schedule.Genesis(),
		"token.ForkTokenPrice":                         schedule.Genesis(),
		"token.ForkTokenSymbolWithNumber":              schedule.Genesis(),
		"paracross.Enable":                             schedule.Genesis(),
		"paracross.ForkParacrossWithdrawFromParachain": schedule.Genesis(),
		"paracross.ForkParacrossCommitTx":              schedule.Genesis(),
	}
	if len(f.Items) != len(want) {
		t.Errorf("%d items, want %d", len(f.Items), len(want))
	}
	for _, it := range f.Items {
		if w, ok := want[it.Key()]; !ok || w != it.Activation {
			t.Errorf("%s = %v, want %v", it.Key(), it.Activation, w)
		}
	}
	// Chinese comments are kept, attached to the item below them.
	for _, it := range f.Items {
		switch it.Key() {
		case "system.ForkRootHash":
			if len(it.Entry.Above) != 1 || it.Entry.Above[0] != "#主链和平行链使用同一分叉高度" {
				t.Errorf("ForkRootHash note = %q", it.Entry.Above)
			}
		case "system.ForkTicketFundAddrV1":
			if len(it.Entry.Above) != 0 || it.Entry.Trailer != "#fork6.3" {
				t.Errorf("ForkTicketFundAddrV1: above %q trailer %q", it.Entry.Above, it.Entry.Trailer)
			}
		}
	}
	if len(f.Params) != 2 || f.Params[1].Fork != "system.ForkChainParamV1" || f.Params[1].Name != "consensus.maxTxNumber" {
		t.Errorf("params = %+v", f.Params)
	}
}

func TestReadExtensions(t *testing.T) {
	f := mustRead(t, "x.toml", `
[fork.system]
A = -1
B = 0
C = 1_000
D = { height = 5 }
E = { time = 1767225600 }
F = { time = 2026-01-01T00:00:00Z }
G = { version = 3 }
H = { parent = 7200000 }
I = 0x10
[[signal.version]]
number = 3
time = 2026-01-01T00:00:00Z
rate = 80
grace = 2
timeout = 1800000000
min_height = 10
release = "v0.3.0"
`)
	want := []struct {
		act schedule.Activation
		dom schedule.Domain
	}{
		{schedule.Never(), schedule.DomainOwn},
		{schedule.Genesis(), schedule.DomainOwn},
		{schedule.AtHeight(1000), schedule.DomainOwn},
		{schedule.AtHeight(5), schedule.DomainOwn},
		{schedule.AtTime(1767225600), schedule.DomainOwn},
		{schedule.AtTime(1767225600), schedule.DomainOwn},
		{schedule.OnVersion(3), schedule.DomainOwn},
		{schedule.AtHeight(7200000), schedule.DomainParent},
		{schedule.AtHeight(16), schedule.DomainOwn},
	}
	if len(f.Items) != len(want) {
		t.Fatalf("%d items", len(f.Items))
	}
	for i, w := range want {
		if f.Items[i].Activation != w.act || f.Items[i].Domain != w.dom {
			t.Errorf("item %s = %v/%v, want %v/%v", f.Items[i].Name, f.Items[i].Activation, f.Items[i].Domain, w.act, w.dom)
		}
	}
	v := schedule.VersionParams{Number: 3, Time: 1767225600, Rate: 80, Grace: 2, Timeout: 1800000000, MinHeight: 10, Release: "v0.3.0"}
	if len(f.Versions) != 1 || f.Versions[0] != v {
		t.Errorf("versions = %+v", f.Versions)
	}
}

func TestMalformedInputHasPositions(t *testing.T) {
	tests := []struct {
		name string
		src  string
		line int
		col  int
		msg  string
	}{
		{"duplicate key", "[fork.system]\nA = 1\nA = 2\n", 3, 1, "set twice"},
		{"string height", "[fork.system]\nA = \"100\"\n", 2, 5, "not an integer height"},
		{"float height", "[fork.system]\n\nA = 1.5\n", 3, 5, "not an integer height"},
		{"height below -1", "[fork.sub.token]\nA = -2\n", 2, 5, "below -1"},
		{"parent below -1", "[fork.system]\nA = { parent = -5 }\n", 2, 5, "below -1"},
		{"two activation keys", "[fork.system]\nA = { height = 1, time = 2 }\n", 2, 5, "exactly one"},
		{"unknown activation key", "[fork.system]\nA = { block = 1 }\n", 2, 5, "unknown activation key"},
		{"version zero", "[fork.system]\nA = { version = 0 }\n", 2, 5, "out of range"},
		{"overflow", "[fork.system]\nA = 99999999999999999999\n", 2, 5, ""},
		{"syntax", "[fork.system]\nA = = 1\n", 2, 5, "syntax"},
		{"unclosed table", "[fork.system\nA = 1\n", 1, 13, "syntax"},
		{"table twice", "[fork.system]\nA = 1\n[fork.system]\nB = 1\n", 3, 2, "defined twice"},
		{"deep fork key", "[fork.sub.token.more]\nA = 1\n", 2, 1, "fork items go under"},
		{"chinese before error", "# 中文注释\n[fork.system]\n# 说明\nA = \"x\"\n", 4, 5, "not an integer"},
		{"bad version field", "[[signal.version]]\nnumber = 2\nspeed = 3\n", 3, 1, "unknown version field"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Read("f.toml", []byte(tc.src))
			if err == nil {
				t.Fatal("no error")
			}
			var pe *PosError
			var el ErrorList
			switch {
			case errors.As(err, &el):
				pe = el[0]
			case errors.As(err, &pe):
			default:
				t.Fatalf("error without position: %T %v", err, err)
			}
			if pe.Pos.Line != tc.line || (tc.col != 0 && pe.Pos.Col != tc.col) {
				t.Errorf("position %d:%d, want %d:%d (%v)", pe.Pos.Line, pe.Pos.Col, tc.line, tc.col, pe)
			}
			if !strings.Contains(pe.Msg, tc.msg) {
				t.Errorf("message %q does not contain %q", pe.Msg, tc.msg)
			}
			if !strings.HasPrefix(pe.Error(), "f.toml:") {
				t.Errorf("error does not name the file: %v", pe)
			}
		})
	}
}

func TestRecordDates(t *testing.T) {
	f := mustRead(t, "r.toml", "# Change record\n# 2026-11-21 add A\n# 2026/1/2: add B\n#2026.03.04 add C\n# 2026年7月1日 add D\n# not dated\n\n[fork.system]\n# a\nA = 1\n")
	var got []string
	for _, r := range f.Record {
		got = append(got, r.Date+"|"+r.Text)
	}
	want := "2026-11-21|add A,2026/1/2|add B,2026.03.04|add C,2026年7月1日|add D"
	if strings.Join(got, ",") != want {
		t.Errorf("record = %q", got)
	}
}
