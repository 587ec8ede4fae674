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
		if got := s.IsActive(tc.key, tc.b, nil); got != tc.want {
			t.Errorf("IsActive(%s, %+v) = %v, want %v", tc.key, tc.b, got, tc.want)
		}
		scope, name := SplitKey(tc.key)
		h, ok := s.Lookup(scope, name)
		if !ok {
			continue
		}
		r := s.Rules(tc.b, nil)
		if got := r.Active(h); got != tc.want {
			t.Errorf("rules %s at %+v = %v, want %v", tc.key, tc.b, got, tc.want)
		}
	}
	// A time fork is never judged by a height: a block high above the time
	// (as a unix time) but earlier in time is not past it.
	r := s.Rules(Block{Height: 6000, Time: 4999}, nil)
	if r.Active(s.Fork("system", "AtTime")) {
		t.Error("time fork judged by height")
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
				if f.Severity == SevWarning && f.Origin == "" {
					continue // forks the config omits (missing-fork, unknown-version of a default)
				}
				got = append(got, f.Rule+":"+f.Fork)
			}
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("findings = %v, want %v\n%v", got, tc.want, fs)
			}
		})
	}
}

func TestMissingForkSeverity(t *testing.T) {
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
		// Omitted forks run with their registered default (genesis here).
		if !s.IsActive("token.ForkTokenCheck", Block{Height: 1 << 40}, nil) {
			t.Error("an omitted fork must run with its default")
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

func TestVersionForksFollowTheOracle(t *testing.T) {
	reg := testRegistry(t)
	s, _ := Build(reg, Config{
		Settings: []Setting{set("game", "ForkPayoutV2", OnVersion(2))},
		Versions: []VersionParams{{Number: 2, Rate: 80}},
	}, Options{})
	h := s.Fork("game", "ForkPayoutV2")
	active := func(height int64, o VersionOracle) bool {
		r := s.Rules(Block{Height: height}, o)
		return r.Active(h)
	}
	tests := []struct {
		name   string
		height int64
		o      VersionOracle
		want   bool
	}{
		{"no oracle", 1 << 40, nil, false},
		{"no version active", 1 << 40, VersionHeights{}, false},
		{"another version", 1 << 40, VersionHeights{1: 10}, false},
		{"below its activation", 499, VersionHeights{2: 500}, false},
		{"at its activation", 500, VersionHeights{2: 500}, true},
		{"above its activation", 501, VersionHeights{2: 500}, true},
	}
	for _, tc := range tests {
		if got := active(tc.height, tc.o); got != tc.want {
			t.Errorf("%s: active at %d = %v, want %v", tc.name, tc.height, got, tc.want)
		}
	}
	// The schedule itself never changes: asking with an oracle leaves no
	// trace for a later question without one (a rollback or a rewind).
	if active(1<<40, nil) {
		t.Error("an earlier oracle answer leaked into the schedule")
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
	check := func(h int64, o VersionOracle, want int64) {
		t.Helper()
		r := s.Rules(Block{Height: h}, o)
		if got := r.Int(p, -1); got != want {
			t.Errorf("maxTxFee at %d = %d, want %d", h, got, want)
		}
	}
	check(0, nil, 1000)
	check(99, nil, 1000)
	check(100, nil, 2000)
	check(199, nil, 2000)
	check(200, nil, 3000)
	check(1<<40, nil, 3000)
	r := s.Rules(Block{Height: 50}, nil)
	if got := r.Int(only, -1); got != -1 {
		t.Errorf("unset before its fork: %d", got)
	}
	// A version activation slots its override in by height.
	v := VersionHeights{2: 150}
	check(149, v, 2000)
	check(150, v, 4000)
	check(199, v, 4000)
	check(200, v, 3000)
	// ...and the schedule is unchanged for a question without it.
	check(150, nil, 2000)
}

func TestParamTypes(t *testing.T) {
	reg := testRegistry(t)
	if err := reg.RegisterParam(Param{Name: "coins.minFee", Type: TypeInt, Min: 1, Max: 1000, Default: IntValue(1), Note: "minimum fee"}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		param ParamSetting
		want  string // rule of the finding, "" for none
	}{
		{"integer", ParamSetting{Name: "coins.minFee", Value: IntValue(5)}, ""},
		{"string instead of integer", ParamSetting{Name: "coins.minFee", Value: Value{Type: TypeString, Text: `"1000"`}, Origin: "c:3:1"}, RuleBadValue},
		{"out of range", ParamSetting{Name: "coins.minFee", Value: IntValue(5000)}, RuleBadValue},
		{"typo in a declared module", ParamSetting{Name: "coins.minfee", Value: IntValue(5)}, RuleUnknownParam},
		{"module the registry does not declare", ParamSetting{Name: "mempool.maxTxFee", Value: IntValue(5)}, ""},
	}
	for _, tc := range tests {
		_, fs := Build(reg, Config{Params: []ParamSetting{tc.param}, Versions: []VersionParams{{Number: 2, Rate: 80}}}, Options{})
		var got string
		for _, f := range fs {
			if f.Rule != RuleMissingFork {
				got = f.Rule
				if f.Origin != tc.param.Origin {
					t.Errorf("%s: origin %q, want %q", tc.name, f.Origin, tc.param.Origin)
				}
			}
		}
		if got != tc.want {
			t.Errorf("%s: finding %q, want %q (%v)", tc.name, got, tc.want, fs)
		}
	}
	for _, bad := range []Param{
		{Name: "nomodule", Type: TypeInt, Note: "n"},
		{Name: "m.k", Type: TypeInt},
		{Name: "m.k", Note: "n"},
		{Name: "m.k", Type: TypeInt, Min: 5, Max: 1, Note: "n"},
		{Name: "m.k", Type: TypeInt, Min: 1, Max: 5, Default: IntValue(9), Note: "n"},
	} {
		if err := NewRegistry().RegisterParam(bad); err == nil {
			t.Errorf("RegisterParam(%+v) accepted", bad)
		}
	}
}

func TestMissingForkRunsWithItsDefault(t *testing.T) {
	s, fs := Build(testRegistry(t), Config{Versions: []VersionParams{{Number: 2, Rate: 80}}}, Options{})
	warned := map[string]bool{}
	for _, f := range fs {
		if f.Rule == RuleMissingFork {
			if f.Severity != SevWarning || !strings.Contains(f.Message, "default") {
				t.Errorf("missing-fork finding %v", f)
			}
			warned[f.Fork] = true
		}
	}
	for key, want := range map[string]Activation{
		"system.ForkBlockHash": Genesis(), "token.ForkTokenCheck": Genesis(), "game.ForkPayoutV2": OnVersion(2), "system.ForkChainID": Never(),
	} {
		if got, _ := s.Activation(key); got != want {
			t.Errorf("%s runs with %s, want its default %s", key, got, want)
		}
		if !warned[key] {
			t.Errorf("no warning for the missing fork %s", key)
		}
	}
}

func TestActivationHeight(t *testing.T) {
	loc := Locator{
		HeightAtTime:   func(t int64) (int64, bool) { return (t - 1000 + 4) / 5, t <= 2000 },
		HeightAtParent: func(p int64) (int64, bool) { return p - 700, p <= 900 },
		VersionHeight:  VersionHeights{2: 32}.ActivationHeight,
	}
	tests := []struct {
		a    Activation
		d    Domain
		want int64
		ok   bool
	}{
		{Never(), DomainOwn, 0, false},
		{Genesis(), DomainOwn, 0, true},
		{AtHeight(77), DomainOwn, 77, true},
		{AtTime(1100), DomainOwn, 20, true},
		{AtTime(5000), DomainOwn, 800, false},
		{AtHeight(750), DomainParent, 50, true},
		{AtHeight(5000), DomainParent, 4300, false},
		{OnVersion(2), DomainOwn, 32, true},
		{OnVersion(3), DomainOwn, 0, false},
	}
	for _, tc := range tests {
		got, ok := loc.ActivationHeight(tc.a, tc.d)
		if ok != tc.ok || (ok && got != tc.want) {
			t.Errorf("ActivationHeight(%s, %s) = %d, %v; want %d, %v", tc.a, tc.d, got, ok, tc.want, tc.ok)
		}
	}
	if _, ok := (Locator{}).ActivationHeight(AtTime(1), DomainOwn); ok {
		t.Error("a locator without a time mapping answered")
	}
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
	o := VersionHeights{2: 3}
	s.RulesInto(Block{Height: 1}, o, &r)
	allocs := testing.AllocsPerRun(100, func() { s.RulesInto(Block{Height: 5}, o, &r) })
	if allocs != 0 {
		t.Errorf("RulesInto allocates %v times", allocs)
	}
	h := s.Fork("token", "ForkTokenCheck")
	allocs = testing.AllocsPerRun(100, func() { _ = r.Active(h) })
	if allocs != 0 {
		t.Errorf("Rules.Active allocates %v times", allocs)
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
