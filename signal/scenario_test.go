package signal

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func exampleFiles(t testing.TB) []string {
	files, err := filepath.Glob("../examples/signal/*.toml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no shipped scenarios found: %v", err)
	}
	return files
}

// TestShippedScenarios runs every scenario in examples/signal: each must
// pass, and each TIP-555 case must exist in both modes.
func TestShippedScenarios(t *testing.T) {
	files := exampleFiles(t)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			sc, err := ParseScenario(f, data)
			if err != nil {
				t.Fatal(err)
			}
			rep, err := sc.Run(true)
			if err != nil {
				t.Fatal(err)
			}
			if !rep.OK || rep.Expectations == 0 {
				t.Fatalf("scenario failed or checks nothing: %+v", rep.Failures)
			}
		})
	}
	for _, c := range []string{"tip555-set-grows", "tip555-downgrade-after-pass", "tip555-new-sr-old-version", "tip555-historical-upgrade"} {
		for _, m := range []string{"default", "tron"} {
			if _, err := os.Stat("../examples/signal/" + c + "-" + m + ".toml"); err != nil {
				t.Errorf("missing shipped scenario for %s in %s mode", c, m)
			}
		}
	}
}

func TestScenarioErrorsNameTheLine(t *testing.T) {
	head := "mode = \"default\"\nproducers = [\"A\", \"B\"]\n[[version]]\nnumber = 1\nrate = 50\n"
	tests := []struct {
		name, src string
		line      int
		msg       string
	}{
		{"syntax", head + "[[step]]\nblock = \"A:1\n", 7, ""},
		{"unknown key", head + "[[step]]\nblok = \"A:1\"\n", 7, "unknown key"},
		{"wrong type", head + "[[step]]\nblock = 3\n", 7, ""},
		{"bad block", head + "[[step]]\nnote = \"x\"\nblock = \"A-1\"\n", 6, "producer:version"},
		{"unknown producer", head + "[[step]]\nblock = \"A:1\"\n[[step]]\nblock = \"Z:1\"\n", 8, "unknown producer"},
		{"two actions", head + "[[step]]\nblock = \"A:1\"\nmaintenance = [\"A\"]\n", 6, "one thing"},
		{"bad rate", "producers = [\"A\"]\n[[version]]\nnumber = 1\nrate = 0\n", 2, "rate"},
		{"bad state", head + "[[step]]\nexpect = [{ version = 1, state = \"on\" }]\n", 6, "unknown state"},
		{"undeclared version", head + "[[step]]\nexpect = [{ version = 9, state = \"active\" }]\n", 6, "not declared"},
		{"bad mode", "mode = \"bitcoin\"\nproducers = [\"A\"]\n", 1, "unknown mode"},
		{"tron without interval", "mode = \"tron\"\nproducers = [\"A\"]\n", 0, "maintenance_interval"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseScenario("s.toml", []byte(tt.src))
			var se *ScenarioError
			if !errors.As(err, &se) {
				t.Fatalf("want a *ScenarioError, got %v", err)
			}
			if se.Line != tt.line || !strings.Contains(se.Msg, tt.msg) {
				t.Fatalf("got %q (line %d), want line %d containing %q", err, se.Line, tt.line, tt.msg)
			}
			if tt.line > 0 && !strings.HasPrefix(err.Error(), "s.toml:") {
				t.Fatalf("message %q does not start with file:line", err)
			}
		})
	}
}

func TestScenarioFailingExpectation(t *testing.T) {
	src := `producers = ["A", "B"]
[[version]]
number = 1
rate = 100
[[step]]
block = "A:1"
expect = [{ version = 1, state = "active" }]
[[step]]
block = "B:1"
expect_error = "boom"
`
	sc, err := ParseScenario("f.toml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := sc.Run(false)
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK || len(rep.Failures) != 2 || rep.Failures[0].Line != 5 || rep.Failures[1].Line != 8 {
		t.Fatalf("want two failures at lines 5 and 8, got %+v", rep.Failures)
	}
	if rep.Steps != nil {
		t.Fatal("without each, steps are not reported")
	}
}

// FuzzParseScenario: the reader never panics, rejects with a
// *ScenarioError, and whatever it accepts runs without panicking.
func FuzzParseScenario(f *testing.F) {
	for _, file := range exampleFiles(f) {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("producers = [\"A\"]\n[[step]]\nblock = \"A:1\"\n"))
	f.Add([]byte("[[step]]\nmaintenance = []\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		sc, err := ParseScenario("fuzz.toml", data)
		if err != nil {
			var se *ScenarioError
			if !errors.As(err, &se) {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		if _, err := sc.Run(false); err != nil {
			var se *ScenarioError
			if !errors.As(err, &se) {
				t.Fatalf("run error of type %T: %v", err, err)
			}
		}
	})
}
