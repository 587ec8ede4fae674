package signal

import (
	"errors"
	"testing"

	"github.com/forkgate/forkgate/schedule"
)

// TestVersionRulesAgreeWithSchedule: a declaration that `config lint`
// (schedule.Build) accepts is one the node (New) accepts, and the other way
// round. {time 100, timeout 100} and {time -5} used to split them.
func TestVersionRulesAgreeWithSchedule(t *testing.T) {
	tests := []struct {
		name string
		p    schedule.VersionParams
		ok   bool
	}{
		{"plain", schedule.VersionParams{Number: 1, Rate: 80}, true},
		{"every field", schedule.VersionParams{Number: 7, Time: 100, Rate: 100, Grace: 3, Timeout: 101, MinHeight: 50}, true},
		{"timeout equals time", schedule.VersionParams{Number: 1, Rate: 80, Time: 100, Timeout: 100}, false},
		{"negative time", schedule.VersionParams{Number: 1, Rate: 80, Time: -5}, false},
		{"number 0", schedule.VersionParams{Number: 0, Rate: 80}, false},
		{"rate 0", schedule.VersionParams{Number: 1, Rate: 0}, false},
		{"rate 101", schedule.VersionParams{Number: 1, Rate: 101}, false},
		{"timeout before time", schedule.VersionParams{Number: 1, Rate: 80, Time: 100, Timeout: 99}, false},
		{"negative timeout", schedule.VersionParams{Number: 1, Rate: 80, Timeout: -1}, false},
		{"negative min height", schedule.VersionParams{Number: 1, Rate: 80, MinHeight: -1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, fs := schedule.Build(nil, schedule.Config{Versions: []schedule.VersionParams{tt.p}}, schedule.Options{})
			lint := !fs.HasErrors()
			_, err := New(NewMemStore(), Config{Versions: []schedule.VersionParams{tt.p}})
			node := err == nil
			if lint != tt.ok || node != tt.ok {
				t.Fatalf("%+v: config lint accepts = %v (%v), node accepts = %v (%v); want both %v", tt.p, lint, fs, node, err, tt.ok)
			}
		})
	}
}

// TestTronVersionRules: tron mode adds only its own rule on top of the
// shared validator: no grace, timeout or min height (java-tron has none).
func TestTronVersionRules(t *testing.T) {
	tests := []struct {
		p     schedule.VersionParams
		field string // refused in tron mode on this key; "" = accepted
	}{
		{schedule.VersionParams{Number: 20, Rate: 80, Time: 1596780000}, ""},
		{schedule.VersionParams{Number: 20, Rate: 80, Grace: 1}, "grace"},
		{schedule.VersionParams{Number: 20, Rate: 80, Time: 1, Timeout: 2}, "timeout"},
		{schedule.VersionParams{Number: 20, Rate: 80, MinHeight: 9}, "min_height"},
		{schedule.VersionParams{Number: 20, Rate: 0, Grace: 1}, "rate"}, // the shared rules first
	}
	for _, tt := range tests {
		err := ValidateVersion(ModeTron, tt.p)
		var ve *schedule.VersionError
		switch {
		case tt.field == "" && err != nil:
			t.Errorf("%+v refused in tron mode: %v", tt.p, err)
		case tt.field != "" && (!errors.As(err, &ve) || ve.Field != tt.field):
			t.Errorf("%+v: got %v, want a *schedule.VersionError on %s", tt.p, err, tt.field)
		}
		if tt.field != "rate" {
			if err := ValidateVersion(ModeDefault, tt.p); err != nil {
				t.Errorf("%+v refused in default mode: %v", tt.p, err)
			}
		}
	}
}

// TestConfigErrorNamesTheElement: Index is the position as given, before
// New sorts versions and params, so a reader can name the line.
func TestConfigErrorNamesTheElement(t *testing.T) {
	tests := []struct {
		cfg   Config
		field string
		index int
	}{
		{Config{Versions: []schedule.VersionParams{vp(9, 80), vp(3, 80), {Number: 1, Rate: 0}}}, "version", 2},
		{Config{Versions: []schedule.VersionParams{vp(9, 80), vp(3, 80), vp(9, 70)}}, "version", 2},
		{Config{Params: []ParamDecl{{Name: "b"}, {Name: "a"}, {Name: "b"}}}, "param", 2},
		{Config{Params: []ParamDecl{{Name: "b"}, {Name: "a", Version: 4}}}, "param", 1},
		{Config{Params: []ParamDecl{{Name: ""}}}, "param", 0},
		{Config{ApprovalNum: 1}, "approval", -1},
		{Config{Mode: ModeTron}, "maintenance_interval", -1},
		{Config{MaintenanceInterval: -1}, "maintenance_interval", -1},
		{Config{Mode: 7}, "mode", -1},
	}
	for i, tt := range tests {
		err := tt.cfg.Validate()
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Field != tt.field || ce.Index != tt.index {
			t.Errorf("config %d: got %#v (%v), want field %s index %d", i, ce, err, tt.field, tt.index)
		}
		if _, nerr := New(NewMemStore(), tt.cfg); nerr == nil || !errors.As(nerr, &ce) {
			t.Errorf("config %d: New must refuse with the same *ConfigError, got %v", i, nerr)
		}
	}
}
