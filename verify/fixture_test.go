package verify

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/forkgate/forkgate/codec"
	"github.com/forkgate/forkgate/node"
)

// craftFixture gzips a fixture body after a header line, with a valid
// checksum, so the decoder gets past the checksum to the counts.
func craftFixture(t testing.TB, hdr FixtureHeader, body []byte) []byte {
	t.Helper()
	hj, err := json.Marshal(hdr)
	if err != nil {
		t.Fatal(err)
	}
	plain := append([]byte(fixtureMagic+string(hj)+"\n"), body...)
	sum := sha256.Sum256(plain)
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(plain)
	zw.Write(sum[:])
	zw.Close()
	return buf.Bytes()
}

// allocated runs fn and returns the bytes it allocated.
func allocated(fn func()) uint64 {
	var a, b runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&a)
	fn()
	runtime.ReadMemStats(&b)
	return b.TotalAlloc - a.TotalAlloc
}

// Counts and lengths read from a fixture are bounded before they size an
// allocation: each crafted file below is a few hundred bytes and claims
// billions of heights, outcomes, writes or bytes. Before the bounds, the
// first made `verify --old FILE` die with "runtime: out of memory".
func TestCraftedFixtureCountsAreRefused(t *testing.T) {
	blk := (&node.Block{Height: 1, AppHash: make([]byte, 32), Txs: [][]byte{{1}, {2}}}).Encode()
	body := func(fill func(w *codec.Writer)) []byte {
		var w codec.Writer
		w.Bytes(nil) // config
		w.Bytes(nil) // genesis
		fill(&w)
		return w.Out()
	}
	receipt := func(w *codec.Writer) { writeReceipt(w, Receipt{}) }
	height := func(w *codec.Writer) { // one height, up to its outcomes
		w.U32(0) // genesis state
		w.U32(1)
		w.Bytes(blk)
		w.Fixed(make([]byte, 32))
		w.U32(2)
		receipt(w)
		receipt(w)
	}
	hdr := FixtureHeader{Format: FixtureFormat, From: 1, To: 1}
	huge := FixtureHeader{Format: FixtureFormat, From: 1, To: 1<<32 - 1}
	for _, tc := range []struct {
		name string
		hdr  FixtureHeader
		body []byte
		want string
	}{
		{"heights in the header", huge, body(func(w *codec.Writer) { w.U32(0); w.U32(1<<32 - 1) }), "at most"},
		{"heights in the body", FixtureHeader{Format: FixtureFormat, From: 1, To: maxFixtureHeights}, body(func(w *codec.Writer) { w.U32(0); w.U32(maxFixtureHeights) }), "element count"},
		{"genesis state", hdr, body(func(w *codec.Writer) { w.U32(1<<32 - 1); w.Fixed(make([]byte, 16)) }), "element count"},
		{"receipts", hdr, body(func(w *codec.Writer) {
			w.U32(0)
			w.U32(1)
			w.Bytes(blk)
			w.Fixed(make([]byte, 32))
			w.U32(1<<32 - 1)
		}), "element count"},
		{"events", hdr, body(func(w *codec.Writer) {
			w.U32(0)
			w.U32(1)
			w.Bytes(blk)
			w.Fixed(make([]byte, 32))
			w.U32(2)
			w.U32(0)
			w.Bytes(nil)
			w.I64(0)
			w.I64(0)
			w.Bytes(nil)
			w.U32(1<<32 - 1)
			w.Fixed(make([]byte, 64))
		}), "element count"},
		{"outcomes", hdr, body(func(w *codec.Writer) { height(w); w.U32(1<<32 - 1); w.Fixed(make([]byte, 64)) }), "element count"},
		{"writes", hdr, body(func(w *codec.Writer) {
			height(w)
			w.U32(1)
			w.U32(1)
			w.Fixed(make([]byte, 32))
			w.U32(1<<32 - 1)
		}), "element count"},
		{"key length", hdr, body(func(w *codec.Writer) {
			height(w)
			w.U32(1)
			w.U32(1)
			w.Fixed(make([]byte, 32))
			w.U32(1)
			w.U32(1<<32 - 1)
			w.Fixed(make([]byte, 16))
		}), "length prefix"},
		{"config length", hdr, []byte{0xff, 0xff, 0xff, 0xf0}, "length prefix"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw := craftFixture(t, tc.hdr, tc.body)
			var err error
			if n := allocated(func() { _, err = DecodeFixture(raw) }); n > 8<<20 {
				t.Errorf("a %d-byte fixture made the decoder allocate %d MiB", len(raw), n>>20)
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%d-byte fixture: %v, want an error about %q", len(raw), err, tc.want)
			}
		})
	}
}

// A gzip bomb (a small file that decompresses to far more than a fixture
// may hold) is refused once the cap is reached, without decompressing the
// rest. Before the cap a 1 MB bomb took 2.7 GB before verify exited.
func TestFixtureGzipBombIsRefused(t *testing.T) {
	defer func(v int64) { maxFixtureBytes = v }(maxFixtureBytes)
	maxFixtureBytes = 4 << 20
	bomb := gzipBomb(t, 64<<20)
	var err error
	if n := allocated(func() { _, err = DecodeFixture(bomb) }); n > 8*uint64(maxFixtureBytes) {
		t.Errorf("a %d KB bomb made the decoder allocate %d MiB (cap %d MiB)", len(bomb)>>10, n>>20, maxFixtureBytes>>20)
	}
	if err == nil || !strings.Contains(err.Error(), "decompresses to more than 4 MiB") {
		t.Fatalf("bomb: %v", err)
	}
	// Not a fixture at all: refused after the first bytes.
	var zeros bytes.Buffer
	zw := gzip.NewWriter(&zeros)
	zw.Write(make([]byte, 8<<20))
	zw.Close()
	if _, err := DecodeFixture(zeros.Bytes()); err == nil || !strings.Contains(err.Error(), "not a forkgate fixture") {
		t.Fatalf("zeros: %v", err)
	}
}

// gzipBomb is a fixture header line followed by n zero bytes, gzipped.
func gzipBomb(t testing.TB, n int) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zw.Write([]byte(fixtureMagic + `{"format":1,"from":1,"to":1}` + "\n"))
	chunk := make([]byte, 1<<20)
	for i := 0; i < n; i += len(chunk) {
		zw.Write(chunk)
	}
	zw.Close()
	return buf.Bytes()
}

// smallFixtureBody is a real fixture cut to its first heights, decompressed
// and without its checksum: the fuzz seed.
func smallFixtureBody(t testing.TB, heights int) []byte {
	t.Helper()
	f, err := ReadFixture(filepath.Join(libraryDir, "all-zero", FixtureFile))
	if err != nil {
		t.Fatal(err)
	}
	f.Heights = f.Heights[:heights]
	f.Header.To = int64(heights)
	var buf bytes.Buffer
	if err := f.Encode(&buf); err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return raw[:len(raw)-sha256.Size]
}

// FuzzDecodeFixture feeds the fixture decoder (past the checksum, which a
// mutation would otherwise never pass) arbitrary bodies: it never panics,
// never allocates beyond what the input can justify, and whatever it
// accepts encodes and decodes back to the same fixture. CI runs it for 10 s
// (make fuzz-short); `make fuzz FUZZTIME=10m` runs it longer.
func FuzzDecodeFixture(f *testing.F) {
	f.Add(smallFixtureBody(f, 2))
	f.Add([]byte(fixtureMagic + `{"format":2,"from":1,"to":1}` + "\n\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\xff\xff\xff\xff"))
	f.Add([]byte(fixtureMagic + "{}\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		fx, err := parseFixture(body)
		if err != nil {
			return
		}
		var buf bytes.Buffer
		if err := fx.encodeBody(&buf); err != nil {
			t.Fatalf("an accepted fixture does not encode: %v", err)
		}
		back, err := parseFixture(buf.Bytes())
		if err != nil {
			t.Fatalf("an accepted fixture does not decode after encoding: %v", err)
		}
		var again bytes.Buffer
		back.encodeBody(&again)
		if !bytes.Equal(buf.Bytes(), again.Bytes()) || len(back.Heights) != len(fx.Heights) {
			t.Fatal("the round trip changed the fixture")
		}
	})
}

// The CLI refuses a crafted fixture and a gzip bomb with exit 2; see
// cmd/forkgate. Here: ReadFixture refuses a file larger than the cap
// before reading it.
func TestReadFixtureRefusesHugeFiles(t *testing.T) {
	defer func(v int64) { maxFixtureBytes = v }(maxFixtureBytes)
	maxFixtureBytes = 1 << 10
	p := filepath.Join(t.TempDir(), "big.gz")
	os.WriteFile(p, make([]byte, 4<<10), 0o644)
	if _, err := ReadFixture(p); err == nil || !strings.Contains(err.Error(), "more than a fixture may be") {
		t.Fatalf("%v", err)
	}
}

// Every field of a fixture is verified against re-execution or the rebuilt
// state, or refused: an altered fixture (re-encoded, so its checksum holds)
// makes verify exit 1 (the new build disagrees with it) or 2 (it does not
// agree with itself). Before, an altered write set past the last smooth
// upgrade or altered transaction outcomes passed with exit 0.
func TestAlteredFixturesAreCaught(t *testing.T) {
	c := libraryChain(t, "main")
	for _, tc := range []struct {
		name  string
		alter func(f *Fixture)
		exit  int
		want  string
	}{
		{"write set past the last smooth upgrade", func(f *Fixture) {
			f.Heights[len(f.Heights)-1].Writes[0].Value = []byte{1, 2, 3}
		}, 2, "recorded write set gives state hash"},
		{"a transaction's write digest", func(f *Fixture) { f.Heights[30].Txs[2].WriteDigest[0] ^= 1 }, 1, "results"},
		{"a receipt's code", func(f *Fixture) {
			hr := &f.Heights[20]
			hr.Receipts[3].Code = 99
			hr.Txs[2].Code = 99
			hr.ResultsHash = ResultsHash(hr.Receipts)
			f.Header.Txs, f.Header.Actions, f.Header.Rejected = f.Tally()
		}, 1, "results"},
		{"a receipt's events", func(f *Fixture) {
			hr := &f.Heights[10]
			hr.Receipts[1].Events = []abci.Event{{Type: "transfer"}}
		}, 1, "results"},
		{"the genesis state", func(f *Fixture) { f.GenesisState[0].Value = append([]byte{}, 1, 0, 0, 0) }, 1, "genesis"},
		{"the version activations", func(f *Fixture) { f.Header.Versions[0].Height++ }, 2, "version 2 activated at"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := ReadFixture(c.FixturePath())
			if err != nil {
				t.Fatal(err)
			}
			tc.alter(f)
			path := filepath.Join(t.TempDir(), "altered.gz")
			if err := f.WriteFile(path); err != nil {
				t.Fatal(err)
			}
			rep, err := Run(context.Background(), Options{Chains: []*Chain{c}, Old: path, Heights: []int64{12}, Parallel: 2, WorkDir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			rep.WriteText(&b)
			if rep.ExitCode != tc.exit || !strings.Contains(b.String(), tc.want) {
				t.Fatalf("exit %d, want %d with %q:\n%s", rep.ExitCode, tc.exit, tc.want, b.String())
			}
		})
	}
	// Counts in the header that the blocks contradict are refused on read.
	f, _ := ReadFixture(c.FixturePath())
	f.Header.Txs++
	var buf bytes.Buffer
	f.Encode(&buf)
	if _, err := DecodeFixture(buf.Bytes()); err == nil || !strings.Contains(err.Error(), "header counts") {
		t.Errorf("altered header counts: %v", err)
	}
}
