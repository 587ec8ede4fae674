package node

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func exportTo(t *testing.T, n *Node, path string, from, to int64) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.Export(f, from, to); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestExportImportEquality(t *testing.T) {
	const h = 40
	src := openNode(t, newHome(t, InitOptions{}), testOptions())
	runTo(t, src, h)
	want := hashes(t, src, h)
	file := filepath.Join(t.TempDir(), "blocks.fgb")
	exportTo(t, src, file, 0, 0)

	dst := openNode(t, newHome(t, InitOptions{}), testOptions())
	var progress bytes.Buffer
	res, err := dst.Import(file, ImportOptions{Progress: &progress, ProgressEvery: 10})
	if err != nil {
		t.Fatal(err)
	}
	if res.Applied != h || res.Height != h {
		t.Fatalf("import: %+v", res)
	}
	sameHashes(t, "import", want, hashes(t, dst, h))
	if !strings.Contains(progress.String(), "import: block 40 of 40 (100%)") {
		t.Fatalf("progress: %q", progress.String())
	}
	// Re-importing checks the blocks it has; an export of the copy is
	// byte-identical.
	res, err = dst.Import(file, ImportOptions{})
	if err != nil || res.Checked != h || res.Applied != 0 {
		t.Fatalf("re-import: %+v %v", res, err)
	}
	var a, b bytes.Buffer
	src.Export(&a, 0, 0)
	dst.Export(&b, 0, 0)
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("exports of the source and the imported copy differ")
	}
	// The imported node continues like the source.
	runTo(t, src, h+5)
	runTo(t, dst, h+5)
	sameHashes(t, "continue", hashes(t, src, h+5), hashes(t, dst, h+5))

	// Partial export then the rest.
	part := filepath.Join(t.TempDir(), "part.fgb")
	exportTo(t, src, part, 1, 20)
	rest := filepath.Join(t.TempDir(), "rest.fgb")
	exportTo(t, src, rest, 21, 0)
	dst2 := openNode(t, newHome(t, InitOptions{}), testOptions())
	if _, err := dst2.Import(rest, ImportOptions{}); err == nil || !strings.Contains(err.Error(), "import blocks 1..20 first") {
		t.Fatalf("gap: %v", err)
	}
	for _, f := range []string{part, rest} {
		if _, err := dst2.Import(f, ImportOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	sameHashes(t, "two files", hashes(t, src, h+5), hashes(t, dst2, h+5))

	// Another chain's file is refused.
	other := openNode(t, newHome(t, InitOptions{Seed: "other"}), testOptions())
	if _, err := other.Import(file, ImportOptions{}); err == nil || !strings.Contains(err.Error(), "same genesis.json") {
		t.Fatalf("other chain: %v", err)
	}
}

// rewriteBlockFile changes one block of an export file with edit and
// recomputes the checksum, as a faulty exporter (or an attacker) would.
func rewriteBlockFile(t *testing.T, path string, height int64, edit func(*Block)) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	nl := bytes.IndexByte(raw, '\n') + 1
	out := append([]byte(nil), raw[:nl]...)
	p := nl
	for {
		size := binary.BigEndian.Uint32(raw[p:])
		if size == 0 {
			break
		}
		b, err := DecodeBlock(raw[p+4 : p+4+int(size)])
		if err != nil {
			t.Fatal(err)
		}
		if b.Height == height {
			edit(b)
		}
		enc := b.Encode()
		out = binary.BigEndian.AppendUint32(out, uint32(len(enc)))
		out = append(out, enc...)
		p += 4 + int(size)
	}
	sum := sha256.Sum256(out)
	out = binary.BigEndian.AppendUint32(out, 0)
	out = append(out, sum[:]...)
	writeFile(t, path, out)
}

func TestImportTamperedFails(t *testing.T) {
	src := openNode(t, newHome(t, InitOptions{}), testOptions())
	runTo(t, src, 20)
	dir := t.TempDir()
	file := filepath.Join(dir, "blocks.fgb")
	exportTo(t, src, file, 0, 0)
	good, _ := os.ReadFile(file)

	// A transaction removed from block 12: the state differs there.
	rewriteBlockFile(t, file, 12, func(b *Block) { b.Txs = b.Txs[:len(b.Txs)-2] })
	dst := openNode(t, newHome(t, InitOptions{}), testOptions())
	_, err := dst.Import(file, ImportOptions{})
	var me *MismatchError
	if !errors.As(err, &me) || me.Height != 12 {
		t.Fatalf("want a mismatch at 12, got %v", err)
	}
	for _, s := range []string{"block 12", "state hash mismatch", file} {
		if !strings.Contains(err.Error(), s) {
			t.Fatalf("error %q lacks %q", err, s)
		}
	}
	if dst.Height() != 11 || dst.Blocks().Height() != 11 {
		t.Fatalf("blocks before the mismatch: state %d, store %d", dst.Height(), dst.Blocks().Height())
	}
	t.Logf("tampered tx: %v", err)

	// A recorded hash altered.
	writeFile(t, file, good)
	rewriteBlockFile(t, file, 7, func(b *Block) { b.AppHash[0] ^= 1 })
	dst2 := openNode(t, newHome(t, InitOptions{}), testOptions())
	_, err = dst2.Import(file, ImportOptions{})
	if !errors.As(err, &me) || me.Height != 7 || me.Expected[0] == me.Got[0] {
		t.Fatalf("want a mismatch at 7, got %v", err)
	}

	// A flipped byte without a new checksum: refused before any block runs.
	bad := append([]byte(nil), good...)
	bad[len(bad)/2] ^= 0x40
	writeFile(t, file, bad)
	dst3 := openNode(t, newHome(t, InitOptions{}), testOptions())
	if _, err := dst3.Import(file, ImportOptions{}); err == nil {
		t.Fatal("corrupt file imported")
	} else if dst3.Height() != 0 {
		t.Fatalf("a corrupt file ran blocks (height %d): %v", dst3.Height(), err)
	}
	// A node whose own blocks differ (another fee rule from height 5)
	// reports the first stored block that disagrees.
	writeFile(t, file, good)
	div := newHome(t, InitOptions{})
	cfg, _ := os.ReadFile(Home(div).Config())
	writeFile(t, Home(div).Config(), bytes.Replace(cfg, []byte("ForkFeeToProducer = 20"), []byte("ForkFeeToProducer = 5"), 1))
	dn := openNode(t, div, testOptions())
	runTo(t, dn, 10)
	_, err = dn.Import(file, ImportOptions{})
	if !errors.As(err, &me) || me.Height != 5 || !me.Stored || !strings.Contains(err.Error(), "already holds block 5") {
		t.Fatalf("diverged node: %v", err)
	}

	// Truncated.
	writeFile(t, file, good[:len(good)-40])
	if _, err := dst3.Import(file, ImportOptions{}); err == nil || !strings.Contains(err.Error(), "re-export") {
		t.Fatalf("truncated: %v", err)
	}
}

// TestImportRefusesBadTimes: a block whose time is 0, before the genesis, or
// before its parent's is refused before it runs or is stored, with the
// height and both times in the message.
func TestImportRefusesBadTimes(t *testing.T) {
	src := openNode(t, newHome(t, InitOptions{}), testOptions())
	runTo(t, src, 12)
	file := filepath.Join(t.TempDir(), "blocks.fgb")
	exportTo(t, src, file, 0, 0)
	good, _ := os.ReadFile(file)
	tests := []struct {
		name   string
		height int64
		time   func(prev int64) int64
		at     int64 // the node's height afterwards
		want   string
	}{
		{"time zero", 1, func(int64) int64 { return 0 }, 0, "before the genesis time"},
		{"before the parent", 8, func(prev int64) int64 { return prev - 1 }, 7, "is before block 7's time"},
		{"backwards", 9, func(prev int64) int64 { return prev - 100 }, 8, "is before block 8's time"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			writeFile(t, file, good)
			prev := DefaultGenesisTime + (tc.height-1)*5
			rewriteBlockFile(t, file, tc.height, func(b *Block) { b.Time = tc.time(prev) })
			dst := openNode(t, newHome(t, InitOptions{}), testOptions())
			_, err := dst.Import(file, ImportOptions{})
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), fmt.Sprintf("block %d", tc.height)) {
				t.Fatalf("import: %v, want an error with %q", err, tc.want)
			}
			if dst.Height() != tc.at || dst.Blocks().Height() != tc.at {
				t.Fatalf("state %d, block store %d: want both at %d (the bad block neither run nor stored)", dst.Height(), dst.Blocks().Height(), tc.at)
			}
		})
	}
}
