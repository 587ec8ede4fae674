package verify

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/forkgate/forkgate/node"
)

// benchChain is the chain the benchmark verifies: the library's main chain,
// or FORKGATE_BENCH_CHAIN (a chain directory with a fixture, e.g. one
// recorded with --blocks 400).
func benchChain(b *testing.B) (*Chain, *Fixture) {
	dir := os.Getenv("FORKGATE_BENCH_CHAIN")
	if dir == "" {
		dir = filepath.Join(libraryDir, "main")
	}
	c, err := LoadChain(dir)
	if err != nil {
		b.Fatal(err)
	}
	f, err := ReadFixture(c.FixturePath())
	if err != nil {
		b.Fatal(err)
	}
	return c, f
}

// BenchmarkVerifyVsImport measures a plain `node import` of a fixture's
// blocks into a fresh home, and a full verify of the same chain (new
// upgrade, every default smooth upgrade, past the new forks), and reports
// each as blocks/s and tx/s of the fixture's blocks, plus the ratio of their
// times (docs/benchmarks.md):
//
//	go test ./verify/ -run '^$' -bench VerifyVsImport -benchtime 5x
func BenchmarkVerifyVsImport(b *testing.B) {
	c, f := benchChain(b)
	blocks, txs := float64(f.Header.To), float64(f.Header.Txs)
	file := filepath.Join(b.TempDir(), "blocks.fgb")
	if err := f.WriteBlockFile(file, f.Header.To); err != nil {
		b.Fatal(err)
	}
	par := 2
	if s := os.Getenv("FORKGATE_BENCH_PARALLEL"); s != "" {
		par, _ = strconv.Atoi(s)
	}
	// Times are kept per invocation: the testing package calls each
	// sub-benchmark more than once (N=1 first), and only the last call's
	// figures are reported.
	var importSec float64
	b.Run("import", func(b *testing.B) {
		var importTime time.Duration
		for i := 0; i < b.N; i++ {
			home := filepath.Join(b.TempDir(), "home")
			began := time.Now()
			if err := node.Init(home, c.InitOptions(c.ConfigPath)); err != nil {
				b.Fatal(err)
			}
			n, err := node.Open(home, node.Options{})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := n.Import(file, node.ImportOptions{}); err != nil {
				b.Fatal(err)
			}
			n.Close()
			importTime += time.Since(began)
		}
		sec := importTime.Seconds() / float64(b.N)
		importSec = sec
		b.ReportMetric(blocks/sec, "blocks/s")
		b.ReportMetric(txs/sec, "tx/s")
	})
	b.Run("verify", func(b *testing.B) {
		var verifyTime time.Duration
		for i := 0; i < b.N; i++ {
			began := time.Now()
			rep, err := Run(context.Background(), Options{Chains: []*Chain{c}, Parallel: par, WorkDir: b.TempDir()})
			if err != nil {
				b.Fatal(err)
			}
			if rep.Result != ResultOK {
				b.Fatalf("verify: %s", rep.Result)
			}
			verifyTime += time.Since(began)
		}
		sec := verifyTime.Seconds() / float64(b.N)
		b.ReportMetric(blocks/sec, "blocks/s")
		b.ReportMetric(txs/sec, "tx/s")
		if importSec > 0 {
			b.ReportMetric(sec/importSec, "x-import")
		}
	})
}
