package node

import (
	"bytes"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/forkgate/forkgate/chain"
	"github.com/forkgate/forkgate/schedule"
)

// testOptions are the node options tests run with: the chain as built, on
// package state.
func testOptions() Options { return Options{} }

// newHome initialises a home in a temp dir.
func newHome(t testing.TB, o InitOptions) string {
	t.Helper()
	home := filepath.Join(t.TempDir(), "home")
	if err := Init(home, o); err != nil {
		t.Fatal(err)
	}
	return home
}

func openNode(t testing.TB, home string, opts Options) *Node {
	t.Helper()
	n, err := Open(home, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

// runTo produces blocks until height h.
func runTo(t testing.TB, n *Node, h int64) {
	t.Helper()
	if err := n.Run(t.Context(), RunOptions{Until: h}); err != nil {
		t.Fatal(err)
	}
}

// hashes reads the app hash of every stored block 1..h.
func hashes(t testing.TB, n *Node, h int64) []string {
	t.Helper()
	out := make([]string, 0, h)
	for i := int64(1); i <= h; i++ {
		b, err := n.Blocks().Get(i)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, hex.EncodeToString(b.AppHash))
	}
	return out
}

func sameHashes(t testing.TB, what string, a, b []string) {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("%s: %d hashes vs %d", what, len(a), len(b))
	}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("%s: height %d: %s vs %s", what, i+1, a[i], b[i])
		}
	}
}

func writeFile(t testing.TB, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func readAll(t testing.TB, r io.Reader) []byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, r); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func chainRegistry() *schedule.Registry { return chain.Registry() }

// lockedBuffer collects a child's output from two pipes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
