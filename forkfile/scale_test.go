package forkfile

import (
	"bytes"
	"fmt"
	"os"
	"testing"
	"time"
)

// synthConfig writes a valid config of about size bytes in Chain33's layout:
// a change record, fork sections whose items carry Chinese notes and trailing
// tags, height-versioned parameters with fork overrides and lists, and one
// long single-line list (a file may be one long line, and columns count
// characters).
func synthConfig(size int) []byte {
	var b bytes.Buffer
	b.WriteString("# 2026-11-21 新增 ForkA0 under [fork.sub.exec0]: 说明\nTitle = \"user.p.scale.\"\n")
	long := size / 10
	b.WriteString("[mver.consensus]\nbanks = [")
	for i := 0; b.Len() < long; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "\"地址%d\"", i)
	}
	b.WriteString("]\n")
	for i := 0; b.Len() < size; i++ {
		fmt.Fprintf(&b, "\n[fork.sub.exec%d]\n# 启用高度；-1 表示不启用\nEnable = 0\n", i)
		for j := 0; j < 8; j++ {
			fmt.Fprintf(&b, "# 修复第 %d 号问题：新链设置为 0，老链设置高度\nForkA%d_%d = %d  #fork6.%d\n", j, i, j, 1000*(j+1), j)
		}
		fmt.Fprintf(&b, "\n[mver.exec%d]\nminFee = 100000\nbanks = [\"1Addr%d\", \"2Addr%d\"]\n", i, i, i)
		fmt.Fprintf(&b, "[mver.exec%d.ForkA%d_3]\nminFee = 200000\n", i, i)
	}
	return b.Bytes()
}

// readTime is the fastest of three reads (lint included), to damp noise from
// other work on the machine.
func readTime(t testing.TB, src []byte) time.Duration {
	best := time.Duration(1 << 62)
	for range 3 {
		start := time.Now()
		f, err := Read("scale.toml", src)
		if err != nil {
			t.Fatal(err)
		}
		Lint(f, LintOptions{})
		best = min(best, time.Since(start))
	}
	return best
}

// TestReadIsLinear reads and lints a file and one 8 times its size: a linear
// reader takes about 8 times as long, a quadratic one about 64 times. The
// bound leaves room for a noisy shared machine and still fails the old
// reader, which rescanned the file from its start for every position.
func TestReadIsLinear(t *testing.T) {
	small, large := synthConfig(128<<10), synthConfig(1<<20)
	readTime(t, small) // warm up
	ts, tl := readTime(t, small), readTime(t, large)
	ratio := float64(tl) / float64(ts)
	t.Logf("128 KiB: %v, 1 MiB: %v, ratio %.1f (linear ~8, quadratic ~64)", ts, tl, ratio)
	if ratio > 24 {
		t.Fatalf("reading 8x the input took %.1fx as long (%v vs %v): the reader is superlinear", ratio, tl, ts)
	}
}

// TestPosMatchesNaive checks the line index against counting from the start.
func TestPosMatchesNaive(t *testing.T) {
	src := synthConfig(3000)
	src = append(src, []byte("\n# 末尾\n")...)
	d := &Doc{Src: src, lines: newLineIndex(src)}
	line, col := 1, 1
	for off := 0; off <= len(src); off++ {
		if src == nil || off == len(src) || (src[off]&0xC0 != 0x80) {
			if got := d.pos(off); got != (Pos{Line: line, Col: col}) {
				t.Fatalf("pos(%d) = %v, want %d:%d", off, got, line, col)
			}
		}
		if off == len(src) {
			break
		}
		switch c := src[off]; {
		case c == '\n':
			line, col = line+1, 1
		case c&0xC0 != 0x80:
			col++
		}
	}
}

// BenchmarkRead reads and lints configs of 1 and 10 MB; 50 MB runs only
// when FORKGATE_BENCH_50MB=1 (go test -bench Read -run ^$ ./forkfile/).
func BenchmarkRead(b *testing.B) {
	sizes := []int{1 << 20, 10 << 20}
	if os.Getenv("FORKGATE_BENCH_50MB") == "1" {
		sizes = append(sizes, 50<<20)
	}
	for _, size := range sizes {
		src := synthConfig(size)
		b.Run(fmt.Sprintf("%dMB", size>>20), func(b *testing.B) {
			b.SetBytes(int64(len(src)))
			for b.Loop() {
				f, err := Read("bench.toml", src)
				if err != nil {
					b.Fatal(err)
				}
				Lint(f, LintOptions{})
			}
		})
	}
}

// TestWriteScaleFiles writes the benchmark's 1, 10 and 50 MB configs to
// $FORKGATE_SCALE_DIR, to time the command line on them (docs/benchmarks.md).
func TestWriteScaleFiles(t *testing.T) {
	dir := os.Getenv("FORKGATE_SCALE_DIR")
	if dir == "" {
		t.Skip("set FORKGATE_SCALE_DIR to write the scale configs")
	}
	for _, mb := range []int{1, 10, 50} {
		if err := os.WriteFile(fmt.Sprintf("%s/scale-%dmb.toml", dir, mb), synthConfig(mb<<20), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
