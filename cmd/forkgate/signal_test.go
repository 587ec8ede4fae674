package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/forkgate/forkgate/signal/sim"
)

// runSignal executes the CLI like run() does and captures stdout.
func runSignal(t *testing.T, args ...string) (code int, stdout, errMsg string) {
	t.Helper()
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return exitOK, out.String(), ""
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code, out.String(), ee.msg
	}
	return exitUsage, out.String(), err.Error()
}

func writeScenario(t *testing.T, src string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "s.toml")
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSignalSimulateShippedScenarios(t *testing.T) {
	files, _ := filepath.Glob("../../examples/signal/*.toml")
	if len(files) < 8 {
		t.Fatalf("want at least 8 shipped scenarios, found %d", len(files))
	}
	for _, f := range files {
		code, out, msg := runSignal(t, "signal", "simulate", f)
		if code != exitOK || !strings.Contains(out, "ok: ") {
			t.Errorf("%s: exit %d %s\n%s", f, code, msg, out)
		}
	}
}

func TestSignalSimulateJSON(t *testing.T) {
	f := "../../examples/signal/tip555-set-grows-tron.toml"
	code, out, msg := runSignal(t, "signal", "simulate", "--format", "json", "--each", f)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, msg)
	}
	var rep sim.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("output is not the documented JSON: %v\n%s", err, out)
	}
	if rep.Schema != sim.ReportSchema || !rep.OK || rep.Mode != "tron" || len(rep.Steps) != 5 || rep.Steps[0].Status == nil {
		t.Fatalf("unexpected report: schema %q ok %v mode %q steps %d", rep.Schema, rep.OK, rep.Mode, len(rep.Steps))
	}
	if rep.Final.LatestVersion != 24 || rep.Final.Versions[1].Tally.Denominator != 5 {
		t.Fatalf("final status: %+v", rep.Final)
	}
	// Field names are part of the contract.
	for _, key := range []string{`"schema"`, `"failures"`, `"final"`, `"since_height"`, `"tally"`, `"expected_activation"`, `"last_version"`, `"slots"`} {
		if !strings.Contains(out, key) {
			t.Errorf("JSON lacks %s", key)
		}
	}
}

func TestSignalSimulateExitCodes(t *testing.T) {
	failing := writeScenario(t, `producers = ["A", "B"]
[[version]]
number = 1
rate = 100
[[step]]
block = "A:1"
expect = [{ version = 1, state = "active" }]
`)
	code, out, _ := runSignal(t, "signal", "simulate", failing)
	if code != exitFindings || !strings.Contains(out, "s.toml:5") || !strings.Contains(out, "want active, got started") {
		t.Fatalf("a failed expectation must exit 1 and name the line; exit %d\n%s", code, out)
	}

	malformed := writeScenario(t, "producers = [\"A\"]\n[[step]]\nblock = \"A\"\n")
	code, _, msg := runSignal(t, "signal", "simulate", malformed)
	if code != exitUsage || !strings.Contains(msg, "s.toml:3:") || !strings.Contains(msg, "producer:version") {
		t.Fatalf("a malformed file must exit 2 with file:line and a fix; exit %d %q", code, msg)
	}

	code, _, msg = runSignal(t, "signal", "simulate", filepath.Join(t.TempDir(), "missing.toml"))
	if code != exitUsage || !strings.Contains(msg, "cannot read") {
		t.Fatalf("a missing file must exit 2; exit %d %q", code, msg)
	}

	code, _, _ = runSignal(t, "signal", "simulate", "--format", "yaml", malformed)
	if code != exitUsage {
		t.Fatalf("a bad --format must exit 2, got %d", code)
	}
}

func TestSignalSimulateEachPrintsEveryStep(t *testing.T) {
	f := "../../examples/signal/tip555-downgrade-after-pass-default.toml"
	_, quiet, _ := runSignal(t, "signal", "simulate", f)
	_, each, _ := runSignal(t, "signal", "simulate", "--each", f)
	if strings.Contains(quiet, "step 1 (line") || strings.Count(each, "step ") < 3 {
		t.Fatalf("--each must add per-step states, the default must not:\n%s\n---\n%s", quiet, each)
	}
}
