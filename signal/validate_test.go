package signal

import (
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
