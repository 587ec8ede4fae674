package main

import (
	"os"
	"testing"
)

// envChild makes the test binary run the forkgate CLI itself (main's run)
// and exit with its code: tests that must watch a real process (exit codes
// from deep inside, kill -9, a full disk) start os.Args[0] with it.
const envChild = "FORKGATE_TEST_CLI_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(envChild) == "1" {
		os.Exit(run(os.Args[1:]))
	}
	os.Exit(m.Run())
}
