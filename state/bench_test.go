package state

import (
	"fmt"
	"math/rand/v2"
	"os"
	"testing"
	"time"
)

// BenchmarkCommitBlock measures the commitment's cost per block: one block =
// 1,000 changed keys (950 updates of existing keys, 50 deletes; deleted keys
// come back later as inserts) followed by Commit, which hashes the changed
// paths and writes data, tree nodes and metadata in one synced batch.
//
// Each state size is loaded once, outside the timer, and the LSM compacted,
// then measured twice:
//
//	warm      the process that built the state, whose trie holds every node
//	          in memory (a node that has been running for a while)
//	reopened  the same directory freshly opened, so tree nodes come from
//	          Pebble on first touch (a node just restarted)
//
// 10⁴ keys always runs. 10⁵ and 10⁶ need FORKGATE_BENCH_LARGE=1: loading
// 10⁶ keys takes a while on the 2-core CI machines. See
// docs/benchmarks-state.md for figures.
func BenchmarkCommitBlock(b *testing.B) {
	sizes := []struct {
		keys  int
		large bool
	}{{10_000, false}, {100_000, true}, {1_000_000, true}}
	for _, size := range sizes {
		b.Run(fmt.Sprintf("keys=%d", size.keys), func(b *testing.B) {
			if size.large && os.Getenv("FORKGATE_BENCH_LARGE") != "1" {
				b.Skip("set FORKGATE_BENCH_LARGE=1 to load this state size")
			}
			dir := b.TempDir()
			s, err := Open(dir, Options{})
			if err != nil {
				b.Fatal(err)
			}
			start := time.Now()
			height := loadKeys(b, s, size.keys)
			loaded := time.Since(start)
			// Loading leaves Pebble with a large compaction debt (at 10⁶ keys
			// ~600 MB in L0) that would otherwise be charged to the first
			// measured blocks. Settle it first, so every size starts from
			// the LSM of a node that has been running for a while.
			start = time.Now()
			if err := s.db.Compact([]byte{0}, []byte{0xff}, true); err != nil {
				b.Fatal(err)
			}
			b.Logf("loaded %d keys in %d blocks in %v, compacted in %v, %d MB on disk", size.keys, height,
				loaded.Round(time.Millisecond), time.Since(start).Round(time.Millisecond), s.db.Metrics().DiskSpaceUsage()>>20)

			r := rand.New(rand.NewPCG(uint64(size.keys), 1))
			b.Run("warm", func(b *testing.B) { height = benchBlocks(b, s, r, size.keys, height) })
			if err := s.Close(); err != nil {
				b.Fatal(err)
			}
			if s, err = Open(dir, Options{}); err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			b.Run("reopened", func(b *testing.B) { height = benchBlocks(b, s, r, size.keys, height) })
		})
	}
}

// loadKeys writes keys acct/0..n-1 in blocks of up to 100,000 and returns the
// last committed height.
func loadKeys(b *testing.B, s *Store, n int) int64 {
	const perBlock = 100_000
	var h int64
	for i := 0; i < n; {
		for end := min(i+perBlock, n); i < end; i++ {
			if err := s.Set(benchKey(i), benchValue(uint64(i))); err != nil {
				b.Fatal(err)
			}
		}
		h++
		if _, err := s.Apply(h); err != nil {
			b.Fatal(err)
		}
	}
	return h
}

func benchBlocks(b *testing.B, s *Store, r *rand.Rand, n int, height int64) int64 {
	const changed = 1000
	b.ReportAllocs()
	before := lsmWrites(s)
	for b.Loop() {
		for j := range changed {
			k := benchKey(r.IntN(n))
			var err error
			if j%20 == 0 {
				err = s.Delete(k)
			} else {
				err = s.Set(k, benchValue(r.Uint64()))
			}
			if err != nil {
				b.Fatal(err)
			}
		}
		height++
		if _, err := s.Apply(height); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/block")
	b.ReportMetric(float64(changed*b.N)/b.Elapsed().Seconds(), "keys/s")
	// Flush and compaction volume during the measured blocks: the part of
	// the cost Pebble pays in the background, which a short run only
	// partly sees.
	b.ReportMetric(float64(lsmWrites(s)-before)/float64(b.N)/(1<<20), "lsm-MB/block")
	return height
}

// lsmWrites is the bytes Pebble has flushed and compacted so far.
func lsmWrites(s *Store) uint64 {
	var n uint64
	m := s.db.Metrics()
	for _, l := range m.Levels {
		n += l.BytesFlushed + l.BytesCompacted
	}
	return n
}

func benchKey(i int) []byte { return fmt.Appendf(nil, "acct/%08d", i) }

// benchValue is a 32-byte value, like an account record.
func benchValue(x uint64) []byte {
	return fmt.Appendf(nil, "%032x", x)
}
