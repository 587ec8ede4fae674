package storage

import (
	"bytes"
	"strings"
	"testing"
)

func TestFatalExitsTwoWithAMessageNamingTheStore(t *testing.T) {
	var out bytes.Buffer
	code := -1
	oldOut, oldExit := Out, Exit
	Out, Exit = &out, func(c int) { code = c }
	defer func() { Out, Exit = oldOut, oldExit }()
	func() {
		defer func() { recover() }()
		Logger("/srv/home/data/state").Fatalf("pebble: fatal commit error: %v", "write /srv/home/data/state/000004.log: no space left on device")
	}()
	if code != ExitCode {
		t.Fatalf("exit code %d, want %d", code, ExitCode)
	}
	for _, want := range []string{"/srv/home/data/state", "no space left on device", "free space", "restart"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("message lacks %q:\n%s", want, out.String())
		}
	}
}
