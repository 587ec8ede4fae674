package visor

import (
	"errors"
	"strings"
	"testing"
)

func TestPick(t *testing.T) {
	v1 := Candidate{Version: "0.1.0", Implemented: 1}
	v2 := Candidate{Version: "0.2.0", Implemented: 2}
	v2b := Candidate{Version: "0.2.3", Implemented: 2}
	v3 := Candidate{Version: "0.3.0", Implemented: 3}
	v3late := Candidate{Version: "1.0.0", Implemented: 3, MinHeight: 500} // dropped the old rules
	v2bad := Candidate{Version: "0.2.9", Implemented: 2, GateFailed: "replay mismatch at 7"}
	all := []Candidate{v1, v2, v2b, v3, v3late}
	tests := []struct {
		name    string
		cands   []Candidate
		current string
		need    Need
		want    string // version, or "error: <substring>"
	}{
		{"fresh data, old release current", all, "0.1.0", Need{1, 1}, "0.1.0"},
		{"current keeps running while it fits", all, "0.3.0", Need{10, 1}, "0.3.0"},
		{"old binary past v2: the lowest release implementing 2, newest of equals", all, "0.1.0", Need{12, 2}, "0.2.3"},
		{"snapshot restored past two upgrades: the v3 release at once", all, "0.1.0", Need{400, 3}, "0.3.0"},
		{"restored past a min_height: the newest release of the needed version", all, "0.1.0", Need{600, 3}, "1.0.0"},
		{"min_height release is current and fits", all, "1.0.0", Need{600, 3}, "1.0.0"},
		{"min_height release current before its height: refused, v3 picked", all, "1.0.0", Need{100, 3}, "0.3.0"},
		{"only a min_height release: before its height refused", []Candidate{v1, v3late}, "0.1.0", Need{100, 3}, "error: binary updated before its trigger"},
		{"missing release for v2", []Candidate{v1}, "0.1.0", Need{12, 2}, "error: implements protocol version 1, version 2 is active at height 12"},
		{"a release that failed its gate is never picked", []Candidate{v1, v2bad}, "0.1.0", Need{12, 2}, "error: failed its health gate: replay mismatch at 7"},
		{"a failed release beside a good one", []Candidate{v1, v2bad, v2}, "0.1.0", Need{12, 2}, "0.2.0"},
		{"no releases", nil, "", Need{1, 1}, "error: (no releases)"},
		{"new binary early with min_height 0 is fine", []Candidate{v2}, "0.2.0", Need{3, 1}, "0.2.0"},
		{"current gone from the list", []Candidate{v2}, "0.1.0", Need{3, 1}, "0.2.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Pick(tt.cands, tt.current, tt.need)
			if want, isErr := strings.CutPrefix(tt.want, "error: "); isErr {
				var nr *NoReleaseError
				if !errors.As(err, &nr) || !strings.Contains(err.Error(), want) {
					t.Fatalf("got %v %v, want an error with %q", got.Version, err, want)
				}
				return
			}
			if err != nil || got.Version != tt.want {
				t.Fatalf("got %q %v, want %q", got.Version, err, tt.want)
			}
		})
	}
}

func TestCompareVersions(t *testing.T) {
	order := []string{"0.1.0-rc1", "0.1.0", "0.2.0", "0.10.0", "1.0.0-alpha", "1.0.0-beta", "1.0.0", "v1.0.1"}
	for i := range order {
		for j := range order {
			got := CompareVersions(order[i], order[j])
			want := 0
			if i < j {
				want = -1
			} else if i > j {
				want = 1
			}
			if got != want {
				t.Errorf("CompareVersions(%s, %s) = %d, want %d", order[i], order[j], got, want)
			}
		}
	}
}
