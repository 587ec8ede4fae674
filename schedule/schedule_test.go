package schedule

import (
	"fmt"
	"strings"
	"testing"
)

func testRegistry(t testing.TB) *Registry {
	t.Helper()
	r := NewRegistry()
	r.MustRegister(
		Fork{Scope: SystemScope, Name: "ForkBlockHash", Default: Genesis(), Note: "new header hash"},
		Fork{Scope: SystemScope, Name: "ForkMaxTxFeeV1", Default: Never(), Note: "fee cap from mver"},
		Fork{Scope: "token", Name: "ForkTokenCheck", Default: Genesis(), Note: "upper-case symbols"},
		Fork{Scope: "token", Name: "ForkSymbolDigits", Default: Never(), Note: "digits in symbols", Requires: []string{"token.ForkTokenCheck"}},
		Fork{Scope: "game", Name: "ForkPayoutV2", Default: OnVersion(2), Note: "98% payout"},
		Fork{Scope: SystemScope, Name: "ForkRootHash", Default: Never(), Domain: DomainParent, Note: "parent-height root hash"},
		Fork{Scope: SystemScope, Name: "ForkChainID", Default: Never(), Note: "strict chain id"},
	)
	return r
}

func set(scope, name string, a Activation) Setting {
	return Setting{Scope: scope, Name: name, Activation: a, Origin: "cfg:" + name}
}

func TestActivationSemantics(t *testing.T) {
	s, fs := Build(nil, Config{Settings: []Setting{
		set("system", "Never", Never()),
		set("system", "Genesis", Genesis()),
		set("system", "At100", AtHeight(100)),
		set("system", "AtTime", AtTime(5000)),
		{Scope: "system", Name: "Parent", Activation: AtHeight(70), Domain: DomainParent},
	}}, Options{})
	if len(fs) != 0 {
		t.Fatalf("unexpected findings: %v", fs)
	}
	tests := []struct {
		key  string
		b    Block
		want bool
	}{
		{"system.Never", Block{Height: 1 << 62, Time: 1 << 62, ParentHeight: 1 << 62}, false},
		{"system.Genesis", Block{Height: 0}, true},
		{"system.At100", Block{Height: 99}, false},
		{"system.At100", Block{Height: 100}, true},
		{"system.At100", Block{Height: 101}, true},
		{"system.AtTime", Block{Height: 1 << 40, Time: 4999}, false},
		{"system.AtTime", Block{Height: 1, Time: 5000}, true},
		{"system.Parent", Block{Height: 1000, ParentHeight: 69}, false},
		{"system.Parent", Block{Height: 1, ParentHeight: 70}, true},
		{"system.Unknown", Block{Height: 1 << 62}, false},
	}
	for _, tc := range tests {
		if got := s.IsActive(tc.key, tc.b); got != tc.want {
			t.Errorf("IsActive(%s, %+v) = %v, want %v", tc.key, tc.b, got, tc.want)
		}
		scope, name := SplitKey(tc.key)
		h, ok := s.Lookup(scope, name)
		if !ok {
			continue
		}
		if got := h.ActiveAt(tc.b); got != tc.want {
			t.Errorf("handle %s ActiveAt(%+v) = %v, want %v", tc.key, tc.b, got, tc.want)
		}
		r := s.Rules(tc.b)
		if got := r.Active(h); got != tc.want {
			t.Errorf("rules %s at %+v = %v, want %v", tc.key, tc.b, got, tc.want)
		}
	}
	// Active(height) is exact for height forks.
	h := s.Fork("system", "At100")
	if h.Active(99) || !h.Active(100) {
		t.Error("At100.Active wrong at the boundary")
	}
}

func TestFindingsFromBuild(t *testing.T) {
	reg := testRegistry(t)
	tests := []struct {
		name     string
		settings []Setting
		versions []VersionParams
		strict   bool
		want     []string // rule:fork of each finding, in order
	}{
		{
			name: "unknown fork",
			settings: []Setting{
				set("token", "ForkTokenChek", AtHeight(1)),
			},
			want: []string{"unknown-fork:token.ForkTokenChek"},
		},
		{
			name:     "duplicate",
			settings: []Setting{set("system", "ForkBlockHash", AtHeight(1)), set("system", "ForkBlockHash", AtHeight(2))},
			want:     []string{"duplicate:system.ForkBlockHash"},
		},
		{
			name: "requires later fork",
			settings: []Setting{
				set("token", "ForkTokenCheck", AtHeight(500)),
				set("token", "ForkSymbolDigits", AtHeight(100)),
			},
			want: []string{"order:token.ForkSymbolDigits"},
		},
		{
			name: "requires never fork",
			settings: []Setting{
				set("token", "ForkTokenCheck", Never()),
				set("token", "ForkSymbolDigits", AtHeight(100)),
			},
			want: []string{"order:token.ForkSymbolDigits"},
		},
		{
			name: "requires equal height is fine",
			settings: []Setting{
				set("token", "ForkTokenCheck", AtHeight(100)),
				set("token", "ForkSymbolDigits", AtHeight(100)),
			},
		},
		{
			name:     "undeclared version",
			settings: []Setting{set("game", "ForkPayoutV2", OnVersion(3))},
			want:     []string{"unknown-version:game.ForkPayoutV2"},
		},
		{
			name:     "bad version declaration",
			settings: []Setting{set("game", "ForkPayoutV2", OnVersion(2))},
			versions: []VersionParams{{Number: 2, Rate: 101}},
			want:     []string{"version-decl:"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, fs := Build(reg, Config{Settings: tc.settings, Versions: tc.versions}, Options{Strict: tc.strict})
			var got []string
			for _, f := range fs {
				if f.Rule == RuleMissingFork {
					continue
				}
				got = append(got, f.Rule+":"+f.Fork)
			}
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("findings = %v, want %v\n%v", got, tc.want, fs)
			}
		})
	}
}

func TestMissingForkIsNeverWithWarning(t *testing.T) {
	reg := testRegistry(t)
	cfg := Config{Settings: []Setting{set("system", "ForkBlockHash", AtHeight(1))}}
	for _, strict := range []bool{false, true} {
		s, fs := Build(reg, cfg, Options{Strict: strict})
		missing := 0
		for _, f := range fs {
			if f.Rule == RuleMissingFork {
				missing++
				want := SevWarning
				if strict {
					want = SevError
				}
				if f.Severity != want {
					t.Errorf("strict=%v: severity %v, want %v", strict, f.Severity, want)
				}
			}
		}
		if missing != reg.Len()-1 {
			t.Errorf("strict=%v: %d missing findings, want %d", strict, missing, reg.Len()-1)
		}
		// Omitted forks are never, not their code default and not a panic.
		if s.IsActive("token.ForkTokenCheck", Block{Height: 1 << 40}) {
			t.Error("an omitted fork must be never")
		}
	}
}

func TestRegistryValidation(t *testing.T) {
	tests := []struct {
		name string
		f    Fork
		want string
	}{
		{"dot in name", Fork{Scope: "system", Name: "A.B", Note: "n"}, "may not contain dots"},
		{"empty note", Fork{Scope: "system", Name: "A"}, "empty note"},
		{"negative default", Fork{Scope: "system", Name: "A", Note: "n", Default: Activation{Kind: KindHeight, Height: -1}}, "negative"},
		{"self requirement", Fork{Scope: "system", Name: "A", Note: "n", Requires: []string{"system.A"}}, "itself"},
		{"bare requirement", Fork{Scope: "system", Name: "A", Note: "n", Requires: []string{"B"}}, "scope.Name"},
		{"empty scope", Fork{Name: "A", Note: "n"}, "empty scope"},
	}
	for _, tc := range tests {
		err := NewRegistry().Register(tc.f)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want it to contain %q", tc.name, err, tc.want)
		}
	}
	r := NewRegistry()
	ok := Fork{Scope: "system", Name: "A", Note: "n"}
	if err := r.Register(ok); err != nil {
		t.Fatal(err)
	}
	if err := r.Register(ok); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Errorf("duplicate registration: %v", err)
	}
}

func TestVersionActivationOnlyMovesForward(t *testing.T) {
	reg := testRegistry(t)
	s, _ := Build(reg, Config{
		Settings: []Setting{set("game", "ForkPayoutV2", OnVersion(2))},
		Versions: []VersionParams{{Number: 2, Rate: 80}},
	}, Options{})
	h := s.Fork("game", "ForkPayoutV2")
	if h.Active(1 << 40) {
		t.Fatal("version fork active before its version")
	}
	s.SyncVersions(oracle{1: 10}) // another version does not activate it
	if h.Active(1 << 40) {
		t.Fatal("version 1 must not activate a version-2 fork")
	}
	s.SyncVersions(oracle{2: 500})
	if h.Active(499) || !h.Active(500) {
		t.Fatal("activation at 500 expected")
	}
	s.SyncVersions(oracle{2: 900}) // a later report never moves it back
	if !h.Active(500) {
		t.Fatal("activation moved backwards")
	}
	s.SyncVersions(oracle{}) // nor does a report without it
	if !h.Active(500) {
		t.Fatal("activation forgotten")
	}
}

type oracle map[uint32]int64

func (o oracle) ActivationHeight(v uint32) (int64, bool) { h, ok := o[v]; return h, ok }

func TestSyncVersions(t *testing.T) {
	s, _ := Build(nil, Config{
		Settings: []Setting{set("game", "P", OnVersion(2))},
		Versions: []VersionParams{{Number: 2, Rate: 80}},
	}, Options{})
	s.SyncVersions(oracle{2: 77})
	if h := s.Fork("game", "P"); h.Active(76) || !h.Active(77) {
		t.Fatal("SyncVersions did not apply the oracle's height")
	}
}

func TestParams(t *testing.T) {
	s, fs := Build(nil, Config{
		Settings: []Setting{
			set("system", "F1", AtHeight(100)),
			set("system", "F2", AtHeight(200)),
			set("system", "F3", Never()),
			set("system", "FV", OnVersion(2)),
		},
		Versions: []VersionParams{{Number: 2, Rate: 80}},
		Params: []ParamSetting{
			{Name: "mempool.maxTxFee", Value: IntValue(1000)},
			{Name: "mempool.maxTxFee", Fork: "system.F2", Value: IntValue(3000)},
			{Name: "mempool.maxTxFee", Fork: "system.F1", Value: IntValue(2000)},
			{Name: "mempool.maxTxFee", Fork: "system.F3", Value: IntValue(9999)},
			{Name: "mempool.maxTxFee", Fork: "system.FV", Value: IntValue(4000)},
			{Name: "game.only", Fork: "system.F1", Value: IntValue(7)},
		},
	}, Options{})
	if len(fs) != 0 {
		t.Fatalf("findings: %v", fs)
	}
	p, _ := s.Param("mempool.maxTxFee")
	only, _ := s.Param("game.only")
	check := func(h, want int64) {
		t.Helper()
		if got := p.Int(h, -1); got != want {
			t.Errorf("maxTxFee at %d = %d, want %d", h, got, want)
		}
	}
	check(0, 1000)
	check(99, 1000)
	check(100, 2000)
	check(199, 2000)
	check(200, 3000)
	check(1<<40, 3000)
	if got := only.Int(50, -1); got != -1 {
		t.Errorf("unset before its fork: %d", got)
	}
	// A version activation slots its override in by height.
	s.SyncVersions(oracle{2: 150})
	check(149, 2000)
	check(150, 4000)
	check(199, 4000)
	check(200, 3000)
}

func TestParamConflicts(t *testing.T) {
	_, fs := Build(nil, Config{
		Settings: []Setting{set("system", "A", AtHeight(100)), set("system", "B", AtHeight(100)), set("system", "T", AtTime(5))},
		Params: []ParamSetting{
			{Name: "m.k", Fork: "system.A", Value: IntValue(1)},
			{Name: "m.k", Fork: "system.B", Value: IntValue(2)},
			{Name: "m.k", Fork: "system.T", Value: IntValue(3)},
			{Name: "m.k", Fork: "system.Nope", Value: IntValue(4)},
		},
	}, Options{})
	var rules []string
	for _, f := range fs {
		rules = append(rules, f.Rule)
	}
	want := "param-conflict,param-conflict,param-fork"
	if strings.Join(rules, ",") != want {
		t.Errorf("rules = %v, want %s", rules, want)
	}
}

func TestCheckParent(t *testing.T) {
	parent, _ := Build(nil, Config{Settings: []Setting{set("system", "ForkRootHash", AtHeight(7200000)), set("system", "X", AtHeight(5))}}, Options{})
	mk := func(h int64, name string) *Schedule {
		s, _ := Build(nil, Config{Settings: []Setting{{Scope: "system", Name: name, Activation: AtHeight(h), Domain: DomainParent, Origin: "para:3:1"}}}, Options{})
		return s
	}
	if fs := CheckParent(mk(7200000, "ForkRootHash"), parent); len(fs) != 0 {
		t.Errorf("equal heights: %v", fs)
	}
	fs := CheckParent(mk(7100000, "ForkRootHash"), parent)
	if len(fs) != 1 || fs[0].Severity != SevError || !strings.Contains(fs[0].Message, "7200000") {
		t.Errorf("mismatch: %v", fs)
	}
	fs = CheckParent(mk(1, "Missing"), parent)
	if len(fs) != 1 || fs[0].Severity != SevWarning {
		t.Errorf("absent in parent: %v", fs)
	}
}

func TestRulesIntoDoesNotAllocate(t *testing.T) {
	s, _ := Build(testRegistry(t), Config{}, Options{})
	var r Rules
	s.RulesInto(Block{Height: 1}, &r)
	allocs := testing.AllocsPerRun(100, func() { s.RulesInto(Block{Height: 5}, &r) })
	if allocs != 0 {
		t.Errorf("RulesInto allocates %v times", allocs)
	}
	h := s.Fork("token", "ForkTokenCheck")
	allocs = testing.AllocsPerRun(100, func() { _ = h.Active(5) })
	if allocs != 0 {
		t.Errorf("Handle.Active allocates %v times", allocs)
	}
}

func TestForkIDPoints(t *testing.T) {
	s, _ := Build(nil, Config{
		Settings: []Setting{
			set("s", "Genesis", Genesis()),
			set("s", "At5", AtHeight(5)),
			set("s", "Never", Never()),
			set("s", "Time", AtTime(1_700_000_000)),
			set("s", "Version", OnVersion(2)),
			{Scope: "s", Name: "Parent", Activation: AtHeight(900), Domain: DomainParent},
		},
		Versions: []VersionParams{{Number: 2, Rate: 80}},
	}, Options{})
	heights, times := s.ForkIDPoints()
	// Genesis forks stay (forkid drops them); version, never and parent forks
	// are not points of this chain known in advance.
	if fmt.Sprint(heights) != "[5 0]" && fmt.Sprint(heights) != "[0 5]" {
		t.Errorf("heights %v", heights)
	}
	if fmt.Sprint(times) != "[1700000000]" {
		t.Errorf("times %v", times)
	}
}
