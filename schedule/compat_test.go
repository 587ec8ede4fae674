package schedule

import (
	"errors"
	"strings"
	"testing"
)

func snap(t *testing.T, settings []Setting, params []ParamSetting) Snapshot {
	t.Helper()
	s, fs := Build(nil, Config{Settings: settings, Params: params, Versions: []VersionParams{{Number: 2, Rate: 80}, {Number: 3, Rate: 80}}}, Options{})
	if fs.HasErrors() {
		t.Fatalf("build: %v", fs)
	}
	return s.Snapshot()
}

func TestCheckCompatible(t *testing.T) {
	base := []Setting{
		set("system", "A", AtHeight(100)),
		set("system", "B", AtHeight(1000)),
		set("token", "C", Never()),
		set("system", "T", AtTime(50_000)),
		set("game", "V", OnVersion(2)),
	}
	with := func(name string, a Activation) []Setting {
		out := append([]Setting(nil), base...)
		for i := range out {
			if out[i].Name == name {
				out[i].Activation = a
			}
		}
		return out
	}
	head := Head{Height: 500, Time: 60_000, Locator: Locator{
		HeightAtTime:  func(t int64) (int64, bool) { return t / 100, true },
		VersionHeight: func(v uint32) (int64, bool) { return 300, v == 2 },
	}}
	tests := []struct {
		name     string
		next     []Setting
		wantOK   bool
		rewindTo int64
	}{
		{"identical", base, true, 0},
		{"future fork moved later", with("B", AtHeight(2000)), true, 0},
		{"future fork moved earlier but above head", with("B", AtHeight(600)), true, 0},
		{"never fork scheduled in the future", with("C", AtHeight(900)), true, 0},
		{"past fork moved later", with("A", AtHeight(400)), false, 99},
		{"past fork moved earlier", with("A", AtHeight(50)), false, 49},
		{"past fork disabled", with("A", Never()), false, 99},
		{"future fork moved below head", with("B", AtHeight(200)), false, 199},
		{"future fork moved to head exactly", with("B", AtHeight(500)), false, 499},
		{"never fork scheduled in the past", with("C", AtHeight(10)), false, 9},
		{"passed time fork changed", with("T", AtTime(55_000)), false, 499},
		{"passed version fork re-targeted", with("V", OnVersion(3)), false, 299},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckCompatible(snap(t, base, nil), snap(t, tc.next, nil), head)
			if tc.wantOK {
				if err != nil {
					t.Fatalf("unexpected: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("expected an incompatibility")
			}
			if err.RewindTo != tc.rewindTo {
				t.Errorf("RewindTo = %d, want %d (%v)", err.RewindTo, tc.rewindTo, err)
			}
			if !strings.Contains(err.Error(), "Rewind to height") {
				t.Errorf("message does not name the rewind: %v", err)
			}
		})
	}
}

func TestCheckCompatibleLowestConflictWins(t *testing.T) {
	a := snap(t, []Setting{set("s", "A", AtHeight(100)), set("s", "B", AtHeight(300))}, nil)
	b := snap(t, []Setting{set("s", "A", AtHeight(150)), set("s", "B", AtHeight(20))}, nil)
	err := CheckCompatible(a, b, Head{Height: 400})
	if err == nil || err.RewindTo != 19 || len(err.Conflicts) != 2 {
		t.Fatalf("got %+v", err)
	}
}

func TestCheckCompatibleUnknownMappingMeansResync(t *testing.T) {
	a := snap(t, []Setting{set("s", "T", AtTime(10))}, nil)
	b := snap(t, []Setting{set("s", "T", AtTime(20))}, nil)
	err := CheckCompatible(a, b, Head{Height: 50, Time: 100})
	if err == nil || err.RewindTo != -1 {
		t.Fatalf("without a time→height map the only safe target is a resync, got %+v", err)
	}
}

func TestParamCompatibility(t *testing.T) {
	st := []Setting{set("s", "F", AtHeight(100)), set("s", "G", AtHeight(900))}
	p := func(base, atF, atG int64) []ParamSetting {
		return []ParamSetting{
			{Name: "m.fee", Value: IntValue(base)},
			{Name: "m.fee", Fork: "s.F", Value: IntValue(atF)},
			{Name: "m.fee", Fork: "s.G", Value: IntValue(atG)},
		}
	}
	head := Head{Height: 500}
	if err := CheckCompatible(snap(t, st, p(1, 2, 3)), snap(t, st, p(1, 2, 4)), head); err != nil {
		t.Errorf("changing a future value: %v", err)
	}
	if err := CheckCompatible(snap(t, st, p(1, 2, 3)), snap(t, st, p(1, 5, 3)), head); err == nil || err.RewindTo != 99 {
		t.Errorf("changing a value in force: %+v", err)
	}
	if err := CheckCompatible(snap(t, st, p(1, 2, 3)), snap(t, st, p(7, 2, 3)), head); err == nil || err.RewindTo != -1 {
		t.Errorf("changing the base value: %+v", err)
	}
}

func TestSnapshotRoundTripAndFormat(t *testing.T) {
	sn := snap(t, []Setting{set("s", "A", AtHeight(100)), {Scope: "s", Name: "P", Activation: AtHeight(7), Domain: DomainParent}}, []ParamSetting{{Name: "m.k", Value: IntValue(3)}})
	got, err := DecodeSnapshot(sn.Encode())
	if err != nil {
		t.Fatal(err)
	}
	if string(got.Encode()) != string(sn.Encode()) {
		t.Errorf("round trip changed the snapshot:\n%s\n%s", got.Encode(), sn.Encode())
	}
	if _, err := DecodeSnapshot([]byte(`{"format":99}`)); err == nil || !strings.Contains(err.Error(), "newer forkgate") {
		t.Errorf("unknown format: %v", err)
	}
	if _, err := DecodeSnapshot([]byte(`{`)); err == nil {
		t.Error("corrupt snapshot accepted")
	}
}

func TestReconcilePolicies(t *testing.T) {
	a := snap(t, []Setting{set("s", "A", AtHeight(100))}, nil)
	b := snap(t, []Setting{set("s", "A", AtHeight(200))}, nil)
	head := Head{Height: 300}
	_, err := Reconcile(a, b, head, PolicyRefuse)
	var ce *CompatError
	if !errors.As(err, &ce) || ce.RewindTo != 99 {
		t.Errorf("refuse: %v", err)
	}
	d, err := Reconcile(a, b, head, PolicyRewind)
	if err != nil || !d.Rewind || d.RewindTo != 99 {
		t.Errorf("rewind: %+v %v", d, err)
	}
	d, err = Reconcile(a, b, head, PolicyIgnore)
	if err != nil || d.Rewind || d.Ignored == nil {
		t.Errorf("ignore: %+v %v", d, err)
	}
	for _, name := range []string{"refuse", "rewind", "ignore"} {
		p, err := ParsePolicy(name)
		if err != nil || p.String() != name {
			t.Errorf("ParsePolicy(%s) = %v, %v", name, p, err)
		}
	}
	if _, err := ParsePolicy("yolo"); err == nil {
		t.Error("unknown policy accepted")
	}
}

func TestVersionDeclarationCompatibility(t *testing.T) {
	mk := func(vs ...VersionParams) Snapshot {
		s, fs := Build(nil, Config{Versions: vs}, Options{})
		if fs.HasErrors() {
			t.Fatal(fs)
		}
		return s.Snapshot()
	}
	v2 := VersionParams{Number: 2, Time: 1000, Rate: 80}
	head := Head{Height: 50, Time: 2000, Locator: Locator{HeightAtTime: func(ts int64) (int64, bool) { return ts / 100, true }}}
	tests := []struct {
		name   string
		next   []VersionParams
		rewind int64 // -2: compatible
	}{
		{"unchanged", []VersionParams{v2}, -2},
		{"release and note are not consensus", []VersionParams{{Number: 2, Time: 1000, Rate: 80, Release: "v9", Note: "x"}}, -2},
		{"rate changed after start", []VersionParams{{Number: 2, Time: 1000, Rate: 90}}, 9},
		{"time moved later", []VersionParams{{Number: 2, Time: 1900, Rate: 80}}, 9},
		{"removed", nil, 9},
		{"future version added", []VersionParams{v2, {Number: 3, Time: 5000, Rate: 80}}, -2},
		{"past version added", []VersionParams{v2, {Number: 3, Time: 1500, Rate: 80}}, 14},
	}
	for _, tc := range tests {
		err := CheckCompatible(mk(v2), mk(tc.next...), head)
		switch {
		case tc.rewind == -2 && err != nil:
			t.Errorf("%s: unexpected %v", tc.name, err)
		case tc.rewind != -2 && (err == nil || err.RewindTo != tc.rewind):
			t.Errorf("%s: want rewind %d, got %+v", tc.name, tc.rewind, err)
		}
	}
	// A format-1 snapshot stored no versions: nothing to compare against.
	old := mk(v2)
	old.Format, old.Versions = 1, nil
	if err := CheckCompatible(old, mk(VersionParams{Number: 2, Time: 1000, Rate: 99}), head); err != nil {
		t.Errorf("format 1: %v", err)
	}
}

func TestVersionForkWithoutOracleMeansResync(t *testing.T) {
	a := snap(t, []Setting{set("g", "V", OnVersion(2))}, nil)
	b := snap(t, []Setting{set("g", "V", Never())}, nil)
	err := CheckCompatible(a, b, Head{Height: 100})
	if err == nil || err.RewindTo != -1 {
		t.Fatalf("without the controller a version fork change must mean a resync, got %+v", err)
	}
}
