package node

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParseKey: any bytes give a checked key or an error naming the file.
func FuzzParseKey(f *testing.F) {
	k := DeriveKey("fuzz", RoleProducer, "p1")
	good, _ := json.Marshal(k)
	f.Add(good)
	f.Add([]byte(`{"format":1,"name":"p1","role":"producer","seed":"00","pub_key":"00"}`))
	f.Add([]byte(`{"format":1,"name":"../x","role":"producer"}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, b []byte) {
		k, err := ParseKey("keys/p1.json", b)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "keys/p1.json") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if k.Private() == nil || k.Addr() != DeriveKeyFromSeed(t, k).Addr() {
			t.Fatal("an accepted key does not derive its own address")
		}
	})
}

// DeriveKeyFromSeed re-reads an accepted key through its own JSON.
func DeriveKeyFromSeed(t *testing.T, k *Key) *Key {
	b, _ := json.Marshal(k)
	again, err := ParseKey("again", b)
	if err != nil {
		t.Fatalf("an accepted key does not round-trip: %v", err)
	}
	return again
}

// FuzzBlockFile: the export reader, on any bytes, returns blocks or an
// error naming the file; it never panics, and never allocates more than the
// input holds (a claimed length is read, not preallocated).
func FuzzBlockFile(f *testing.F) {
	dir := f.TempDir()
	home := filepath.Join(dir, "home")
	// Small seeds: the fuzzer stalls minimising large ones (golang/go#48820).
	if err := Init(home, InitOptions{NodeKeys: map[string]string{"txs_per_block": "1"}}); err != nil {
		f.Fatal(err)
	}
	n, err := Open(home, testOptions())
	if err != nil {
		f.Fatal(err)
	}
	if err := n.Run(f.Context(), RunOptions{Until: 2}); err != nil {
		f.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := n.Export(&buf, 0, 0); err != nil {
		f.Fatal(err)
	}
	n.Close()
	good := buf.Bytes()
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add([]byte(blockFileMagic + `{"format":1,"from":1,"to":1}` + "\n\xff\xff\xff\xff"))
	f.Add([]byte(blockFileMagic + `{"format":1,"from":1,"to":9223372036854775807}` + "\n\x00\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		br, err := newBlockReader("f.fgb", bytes.NewReader(b))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f.fgb") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		for i := 0; ; i++ {
			blk, err := br.Next()
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				if !strings.HasPrefix(err.Error(), "f.fgb") {
					t.Fatalf("error does not name the file: %v", err)
				}
				return
			}
			if i > len(b) {
				t.Fatalf("more blocks (%d) than input bytes", i)
			}
			if again, err := DecodeBlock(blk.Encode()); err != nil || again.Height != blk.Height {
				t.Fatalf("a decoded block does not round-trip: %v", err)
			}
		}
	})
}
