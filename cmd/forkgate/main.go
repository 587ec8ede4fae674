// Command forkgate makes blockchain network upgrades safe: fork schedules,
// version-signal activation, a reference chain, upgrade verification and
// release operations. See README.md.
package main

import (
	"errors"
	"fmt"
	"os"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

// run executes the CLI and maps errors to the documented exit codes:
// 0 ok, 1 findings or mismatch, 2 unusable input.
func run(args []string) int {
	root := newRootCmd()
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.msg != "" {
			fmt.Fprintln(os.Stderr, "forkgate:", ee.msg)
		}
		return ee.code
	}
	fmt.Fprintln(os.Stderr, "forkgate:", err)
	return exitUsage
}
