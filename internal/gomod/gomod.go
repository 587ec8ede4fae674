// Package gomod fetches published Go modules into the module cache for
// tests that read real files from them (Chain33's configs and source). It
// runs `go mod download -json MODULE@VERSION`, the go command's own way; the
// product never downloads anything at run time.
package gomod

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// ErrUnreachable means the module proxy could not be reached: the only
// reason a test may skip.
var ErrUnreachable = errors.New("module proxy unreachable")

// Download returns the module's directory in the module cache.
func Download(module, version string) (string, error) {
	dir, err := os.MkdirTemp("", "gomod")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	cmd := exec.Command("go", "mod", "download", "-json", module+"@"+version)
	cmd.Dir = dir // outside any module: go.mod files are never touched
	cmd.Env = append(os.Environ(), "GOFLAGS=")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	var info struct {
		Dir   string
		Error string
	}
	_ = json.Unmarshal(stdout.Bytes(), &info)
	if info.Dir != "" && runErr == nil {
		return info.Dir, nil
	}
	msg := strings.TrimSpace(info.Error + " " + stderr.String())
	if runErr != nil && msg == "" {
		msg = runErr.Error()
	}
	for _, s := range []string{"dial tcp", "no such host", "connection refused", "i/o timeout", "TLS handshake", "network is unreachable", "GOPROXY=off", "GOFLAGS=-mod=vendor", "server misbehaving"} {
		if strings.Contains(msg, s) {
			return "", fmt.Errorf("%w: %s@%s: %s", ErrUnreachable, module, version, msg)
		}
	}
	return "", fmt.Errorf("go mod download %s@%s: %s", module, version, msg)
}

// Dir is Download for tests: it skips with a clear message only when the
// proxy cannot be reached, and fails on any other error.
func Dir(t testing.TB, module, version string) string {
	t.Helper()
	dir, err := Download(module, version)
	if errors.Is(err, ErrUnreachable) {
		t.Skipf("skipping: %v (these tests read real files from the published module; they need the Go module proxy or a warm module cache)", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return dir
}
