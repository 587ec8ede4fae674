package sim

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func exampleFiles(t testing.TB) []string {
	files, err := filepath.Glob("../../examples/signal/*.toml")
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
			sc, err := Parse(f, data)
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
			if _, err := os.Stat("../../examples/signal/" + c + "-" + m + ".toml"); err != nil {
				t.Errorf("missing shipped scenario for %s in %s mode", c, m)
			}
		}
	}
}

// TestScenarioErrorsNameTheLine: every unusable file is refused with an
// *Error that names file:line (the line of the key at fault where there is
// one), keeps the reason, and says what to do.
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
		{"bad block", head + "[[step]]\nnote = \"x\"\nblock = \"A-1\"\n", 8, "write \"producer:version\""},
		{"bad block version", head + "[[step]]\nblocks = [\"A:1\", \"B:x\"]\n", 7, "not a number"},
		{"unknown producer", head + "[[step]]\nblock = \"A:1\"\n[[step]]\nblock = \"Z:1\"\n", 9, "step 2: block \"Z:1\": unknown producer \"Z\": declare it"},
		{"two actions", head + "[[step]]\nblock = \"A:1\"\nmaintenance = [\"A\"]\n", 6, "one thing"},
		{"empty step", head + "[[step]]\nnote = \"x\"\n", 6, "empty step: give"},
		{"expect_error alone", head + "[[step]]\nexpect = [{ halted = false }]\nexpect_error = \"x\"\n", 8, "needs an action"},
		{"time on propose", head + "[[param]]\nname = \"p\"\n[[step]]\npropose = { producer = \"A\", param = \"p\" }\ntime = 5\n", 10, "move it to one"},
		{"time goes back", head + "[[step]]\nblocks = [\"A:1\", \"B:1\"]\ntime = 100\n[[step]]\ntime = 50\nblock = \"A:1\"\n", 10, "time 50 is before 103"},
		{"time back to a maintenance", head + "[[step]]\nmaintenance = [\"A\"]\ntime = 90\n[[step]]\ntime = 89\nblock = \"A:1\"\n", 10, "give a time of at least 90"},
		{"time out of range", head + "[[step]]\nblock = \"A:1\"\ntime = -1\n", 8, "out of range"},
		{"negative start time", "start_time = -3\nproducers = [\"A\"]\n", 1, "start_time -3 is out of range"},
		{"huge block interval", "block_interval = 9999999999999\nproducers = [\"A\"]\n", 1, "block_interval 9999999999999 is out of range"},
		{"bad rate", "producers = [\"A\"]\n[[version]]\nnumber = 1\nrate = 0\n", 4, "rate 0 must be a percentage"},
		{"negative time", "producers = [\"A\"]\n[[version]]\nnumber = 1\nrate = 50\ntime = -5\n", 5, "version 1: time -5 is negative"},
		{"timeout equals time", "producers = [\"A\"]\n[[version]]\nnumber = 1\nrate = 50\ntime = 9\ntimeout = 9\n", 6, "set a later timeout"},
		{"version twice", "producers = [\"A\"]\n[[version]]\nnumber = 2\nrate = 50\n[[version]]\nnumber = 2\nrate = 60\n", 5, "declared twice"},
		{"tron grace", "mode = \"tron\"\nmaintenance_interval = 6\nproducers = [\"A\"]\n[[version]]\nnumber = 5\nrate = 50\ngrace = 1\n", 7, "set it to 0 or use the default mode"},
		{"param of undeclared version", "producers = [\"A\"]\n[[param]]\nname = \"fee\"\nversion = 3\n", 2, "declare the version or set version = 0"},
		{"param twice", "producers = [\"A\"]\n[[param]]\nname = \"fee\"\n[[param]]\nname = \"fee\"\n", 4, "declared twice"},
		{"param without name", "producers = [\"A\"]\n[[param]]\nversion = 0\n", 2, "has no name"},
		{"bad approval", "approval = \"3/2\"\nproducers = [\"A\"]\n", 1, "use a fraction in (0, 1]"},
		{"approval not a fraction", "approval = \"half\"\nproducers = [\"A\"]\n", 1, "write it as \"2/3\""},
		{"empty producers", "producers = []\n", 1, "producers: the producer set is empty: pass at least one producer"},
		{"duplicate producer", "producers = [\"A\", \"A\"]\n", 1, "producers: producer \"A\" appears twice"},
		{"empty producer id", "producers = [\"A\", \"\"]\n", 1, "producer 2 of the set has an empty id"},
		{"maintenance set", head + "[[step]]\nnote = \"x\"\nmaintenance = [\"B\", \"B\"]\n", 8, "step 1: maintenance: producer \"B\" appears twice"},
		{"propose unknown param", head + "[[step]]\npropose = { producer = \"A\", param = \"nope\" }\n", 7, "add a [[param]] table"},
		{"approve unknown producer", head + "[[step]]\napprove = { producers = [\"Q\"], proposal = 1 }\n", 7, "unknown producer \"Q\""},
		{"bad state", head + "[[step]]\nexpect = [{ version = 1, state = \"on\" }]\n", 7, "unknown state"},
		{"undeclared version", head + "[[step]]\nexpect = [{ version = 9, state = \"active\" }]\n", 7, "not declared"},
		{"bad mode", "mode = \"bitcoin\"\nproducers = [\"A\"]\n", 1, "unknown mode"},
		{"tron without interval", "mode = \"tron\"\nproducers = [\"A\"]\n", 1, "tron mode needs maintenance_interval"},
		{"inline steps", "producers = [\"A\"]\nstep = [{ block = \"A:1\" }, { block = \"Z:1\" }]\n", 2, "step 2: block \"Z:1\": unknown producer"},
		{"keys in another case", "PRODUCERS = [\"A\"]\n[[Param]]\nVersion = 0\n", 2, "has no name"},
		{"no producers", "name = \"x\"\n", 0, "no producers: add producers = "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("s.toml", []byte(tt.src))
			var se *Error
			if !errors.As(err, &se) {
				t.Fatalf("want an *Error, got %v", err)
			}
			if se.Line != tt.line || !strings.Contains(se.Msg, tt.msg) {
				t.Fatalf("got %q (line %d), want line %d containing %q", err, se.Line, tt.line, tt.msg)
			}
			if strings.Contains(se.Msg, "invalid input") {
				t.Fatalf("%q hides its reason behind the error class", err)
			}
			if tt.line > 0 && !strings.HasPrefix(err.Error(), fmt.Sprintf("s.toml:%d:", tt.line)) {
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
	sc, err := Parse("f.toml", []byte(src))
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

// fuzzSeeds seed FuzzParse; they and the fuzzed inputs are kept
// within maxFuzzInput bytes. When a mutant finds new coverage, go test -fuzz
// minimizes it before fuzzing on: O(n²) calls of the fuzz function on an
// n-byte input, each a full TOML decode and run, for up to
// -fuzzminimizetime (60 s by default). Coverage counters that count loop
// iterations make many long inputs impossible to shrink, so those use the
// whole budget. Seeded with the 1.3-1.9 KB shipped scenarios, the first
// minimization outlasted a 30 s -fuzztime and the run reported 0 execs/sec
// after a dozen execs, which looked like a hung worker (golang/go#48820);
// mutants that grew to kilobytes stalled later runs the same way. Nothing
// here is slow on any one input. TestShippedScenarios runs the shipped
// scenarios; these seeds cover the same features in small form: both modes,
// grace, min height, timeout and failure, carried_by, set changes,
// outsiders, proposals and the halt.
var fuzzSeeds = []string{
	`producers = ["A", "B", "C", "D"]
[[version]]
number = 1
rate = 75
grace = 1
min_height = 6
[[step]]
blocks = ["A:1", "B:1", "C:1"]
expect = [{ version = 1, state = "locked_in", since = 4, count = 3, slots = "1110" }]
[[step]]
maintenance = ["A", "B", "C", "D"]
[[step]]
blocks = ["A:1", "B:1"]
expect = [{ version = 1, state = "active", since = 6 }]
`,
	`producers = ["A", "B"]
[[version]]
number = 2
rate = 75
time = 10
timeout = 20
[[version]]
number = 3
rate = 100
[[step]]
time = 10
block = "A:2"
expect = [{ version = 2, state = "started", count = 1, threshold = 2 }]
`,
	`producers = ["A", "B"]
[[version]]
number = 2
rate = 100
time = 10
timeout = 20
[[version]]
number = 3
rate = 100
[[step]]
time = 30
block = "A:2"
expect = [{ version = 2, state = "failed", since = 2 }]
[[step]]
blocks = ["A:3", "B:3"]
expect = [{ version = 2, state = "active", carried_by = 3 }]
`,
	`mode = "tron"
maintenance_interval = 6
start_time = 6
producers = ["A", "B", "C"]
[[version]]
number = 5
rate = 60
[[version]]
number = 6
rate = 60
time = 7
[[step]]
blocks = ["A:6", "B:6", "C:5"]
expect = [{ version = 6, state = "active", denominator = 3 }]
[[step]]
maintenance = ["A", "B", "C", "D"]
[[step]]
block = "D:6"
expect = [{ version = 5, count = 4 }, { latest_version = 6 }]
`,
	`producers = ["A", "B", "C"]
[[version]]
number = 1
rate = 50
[[param]]
name = "fee"
[[param]]
name = "cap"
version = 1
[[step]]
propose = { producer = "A", param = "cap" }
expect_error = "active"
[[step]]
propose = { producer = "A", param = "fee", value = 2 }
[[step]]
approve = { producers = ["A", "B"], proposal = 1 }
[[step]]
maintenance = ["A", "B", "C"]
expect = [{ param = "fee", value = 2 }]
`,
	`producers = ["A", "B"]
[[version]]
number = 1
rate = 100
[[step]]
blocks = ["A:1", "X:9"]
expect = [{ producer = "A", last_version = 1 }, { version = 1, state = "started", slots = "10" }]
[[step]]
maintenance = ["B", "X"]
time = 100
[[step]]
block = "X:7"
expect = [{ producer = "X", last_version = 7 }, { latest_version = 0 }]
`,
	`implemented = 1
producers = ["A", "B"]
[[version]]
number = 1
rate = 50
[[version]]
number = 2
rate = 50
release = "v2"
[[step]]
block = "A:2"
expect_error = "upgrade"
expect = [{ halted = true }, { newer = 2, newer_count = 1 }]
`,
	"producers = [\"A\"]\n[[step]]\nblock = \"A:1\"\n",
	"[[step]]\nmaintenance = []\n",
}

// maxFuzzInput bounds the inputs FuzzParse tries; see fuzzSeeds.
// Minimizing an input of this size takes a few seconds at most (the cost
// grows with the cube of the size).
const maxFuzzInput = 400

// TestFuzzSeeds keeps the seeds small and meaningful: each is within
// maxFuzzInput (a longer one would not even be tried), and each but the
// last two (error cases) parses, runs and meets its expectations.
func TestFuzzSeeds(t *testing.T) {
	for i, src := range fuzzSeeds {
		if len(src) > maxFuzzInput {
			t.Errorf("seed %d is %d bytes, over maxFuzzInput (%d): shorten it", i, len(src), maxFuzzInput)
		}
		if i >= len(fuzzSeeds)-2 {
			continue
		}
		sc, err := Parse("seed.toml", []byte(src))
		if err != nil {
			t.Errorf("seed %d: %v", i, err)
			continue
		}
		rep, err := sc.Run(false)
		if err != nil {
			t.Errorf("seed %d: %v", i, err)
		} else if !rep.OK || rep.Expectations == 0 {
			t.Errorf("seed %d: failures %+v, %d expectations", i, rep.Failures, rep.Expectations)
		}
	}
}

// FuzzParse: the reader never panics, rejects with an *Error that names
// its line (unless a key is missing), and whatever it accepts runs.
func FuzzParse(f *testing.F) {
	for _, src := range fuzzSeeds {
		f.Add([]byte(src))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > maxFuzzInput {
			return // see fuzzSeeds
		}
		sc, err := Parse("fuzz.toml", data)
		if err != nil {
			var se *Error
			if !errors.As(err, &se) {
				t.Fatalf("error of type %T: %v", err, err)
			}
			// Only a missing key has no line to name.
			if se.Line == 0 && !strings.HasPrefix(se.Msg, "no producers") {
				t.Fatalf("error without a line: %v", err)
			}
			return
		}
		if _, err := sc.Run(false); err != nil {
			t.Fatalf("a parsed scenario must run: %v", err)
		}
	})
}
