package schedule

import (
	"errors"
	"strings"
	"testing"
)

// TestVersionParamsValidate covers every rule of the one version validator,
// and checks that Build (config lint) reports exactly what it refuses.
func TestVersionParamsValidate(t *testing.T) {
	tests := []struct {
		name  string
		p     VersionParams
		field string // "" = valid
		msg   string
	}{
		{"minimal", VersionParams{Number: 1, Rate: 1}, "", ""},
		{"rate 100, every field", VersionParams{Number: 9, Time: 100, Rate: 100, Grace: 5, Timeout: 101, MinHeight: 10, Release: "v2"}, "", ""},
		{"time without timeout", VersionParams{Number: 1, Rate: 80, Time: 100}, "", ""},
		{"timeout from genesis", VersionParams{Number: 1, Rate: 80, Timeout: 1}, "", ""},
		{"number 0", VersionParams{Number: 0, Rate: 80}, "number", "number versions from 1"},
		{"rate 0", VersionParams{Number: 1, Rate: 0}, "rate", "from 1 to 100"},
		{"rate 101", VersionParams{Number: 1, Rate: 101}, "rate", "from 1 to 100"},
		{"negative time", VersionParams{Number: 1, Rate: 80, Time: -5}, "time", "negative"},
		{"negative timeout", VersionParams{Number: 1, Rate: 80, Timeout: -1}, "timeout", "negative"},
		{"timeout equals time", VersionParams{Number: 1, Rate: 80, Time: 100, Timeout: 100}, "timeout", "not after its time 100"},
		{"timeout before time", VersionParams{Number: 1, Rate: 80, Time: 100, Timeout: 50}, "timeout", "not after its time 100"},
		{"negative min height", VersionParams{Number: 1, Rate: 80, MinHeight: -1}, "min_height", "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.p.Validate()
			_, fs := Build(nil, Config{Versions: []VersionParams{tt.p}}, Options{})
			if tt.field == "" {
				if err != nil || fs.HasErrors() {
					t.Fatalf("valid declaration refused: %v / %v", err, fs)
				}
				return
			}
			var ve *VersionError
			if !errors.As(err, &ve) || ve.Field != tt.field || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("got %v, want a *VersionError on %s containing %q", err, tt.field, tt.msg)
			}
			if len(fs) != 1 || fs[0].Rule != RuleVersionDecl || fs[0].Message != err.Error() {
				t.Fatalf("config lint must report the validator's error once, got %v", fs)
			}
		})
	}
}

func TestVersionDeclaredTwice(t *testing.T) {
	vs := []VersionParams{{Number: 2, Rate: 80}, {Number: 2, Rate: 90}}
	_, fs := Build(nil, Config{Versions: vs}, Options{})
	if len(fs) != 1 || fs[0].Rule != RuleDuplicate {
		t.Fatalf("want one duplicate finding, got %v", fs)
	}
}
