package verify

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/forkgate/forkgate/atomicfile"
	"github.com/forkgate/forkgate/schedule"

	"github.com/forkgate/forkgate/chain"
	"github.com/forkgate/forkgate/node"
)

// FixtureFormat versions the fixture file. A reader refuses other formats.
const FixtureFormat = 1

// fixtureMagic starts the (uncompressed) header line.
const fixtureMagic = "forkgate-fixture "

// FixtureHeader is the fixture's first line, as JSON.
type FixtureHeader struct {
	Format       int    `json:"format"`
	Chain        string `json:"chain"` // library name (the chain directory's name)
	ChainID      string `json:"chain_id"`
	GenesisHash  string `json:"genesis_hash"`  // hex sha256 of the genesis' canonical JSON
	Release      string `json:"release"`       // buildinfo.Version of the recording build
	RecordedBy   string `json:"recorded_by"`   // the recording program and Go release
	ConfigDigest string `json:"config_digest"` // hex sha256 of the recorded config.toml
	From         int64  `json:"from"`          // always 1: fixtures start at genesis
	To           int64  `json:"to"`
	Txs          int64  `json:"txs"` // user transactions in the blocks
	// Actions counts the successful user transactions per exec.action, so a
	// library test can tell that a profile exercises every executor.
	Actions map[string]int64 `json:"actions"`
	// Versions lists the protocol versions that activated while recording.
	Versions []VersionActivation `json:"versions,omitempty"`
}

// VersionActivation is the height from which a signalled version is active.
type VersionActivation struct {
	Version uint32 `json:"version"`
	Height  int64  `json:"height"`
}

// Fixture is a recorded chain: everything needed to replay it with another
// build and to rebuild the recording node's state at any height.
type Fixture struct {
	Header  FixtureHeader
	Config  []byte // config.toml as recorded (the old release's config)
	Genesis []byte // genesis.json as written by node init
	Heights []HeightRecord
}

// HeightRecord is one recorded height.
type HeightRecord struct {
	Block *node.Block // canonical block; Block.AppHash is the state hash
	// Txs are the user transactions' outcomes, in block order (index 1 is
	// the first transaction after the signal transaction).
	Txs []TxOutcome
	// Writes is the block's net change to the state (genesis included at
	// height 1), sorted by key; a nil Value is a deletion. Applying it to
	// the state at height-1 gives the state whose root is Block.AppHash.
	Writes []chain.Write
}

// TxOutcome is one user transaction's recorded result.
type TxOutcome struct {
	Index       int
	Code        uint32
	WriteDigest [32]byte // WriteDigest of the writes it made
}

// WriteDigest identifies a transaction's write set: sha256 over, for each
// write in key order, u32 len(key) ‖ key ‖ u8 (1 set, 0 delete) ‖ u32
// len(value) ‖ value.
func WriteDigest(ws []chain.Write) [32]byte {
	h := sha256.New()
	var lb [4]byte
	for _, w := range ws {
		binary.BigEndian.PutUint32(lb[:], uint32(len(w.Key)))
		h.Write(lb[:])
		h.Write(w.Key)
		if w.Value == nil {
			h.Write([]byte{0})
		} else {
			h.Write([]byte{1})
		}
		binary.BigEndian.PutUint32(lb[:], uint32(len(w.Value)))
		h.Write(lb[:])
		h.Write(w.Value)
	}
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// Height returns the record of height h.
func (f *Fixture) Height(h int64) *HeightRecord {
	if h < f.Header.From || h > f.Header.To {
		return nil
	}
	return &f.Heights[h-f.Header.From]
}

// Locator maps the config's activations to heights of the recorded chain:
// times through the recorded block times, parent heights through the
// genesis' anchoring, versions through the recorded activations.
func (f *Fixture) Locator(g *chain.Genesis) schedule.Locator {
	versions := schedule.VersionHeights{}
	for _, v := range f.Header.Versions {
		versions[v.Version] = v.Height
	}
	loc := schedule.Locator{VersionHeight: versions.ActivationHeight}
	if g.ParentStart > 0 {
		loc.HeightAtParent = g.HeightAtParent
	}
	loc.HeightAtTime = func(t int64) (int64, bool) {
		if t <= g.Time {
			return 0, true
		}
		n := len(f.Heights)
		i := sort.Search(n, func(i int) bool { return f.Heights[i].Block.Time >= t })
		if i == n {
			return 0, false // beyond the recording
		}
		return f.Header.From + int64(i), true
	}
	return loc
}

// Root is the recorded state hash at h (the empty tree's root at 0).
func (f *Fixture) Root(h int64) []byte {
	if h == 0 {
		return make([]byte, 32)
	}
	return f.Height(h).Block.AppHash
}

// GenesisValue decodes the recorded genesis.
func (f *Fixture) GenesisValue() (*chain.Genesis, error) {
	var g chain.Genesis
	if err := json.Unmarshal(f.Genesis, &g); err != nil {
		return nil, fmt.Errorf("fixture genesis: %v", err)
	}
	if err := g.Validate(); err != nil {
		return nil, fmt.Errorf("fixture genesis: %v", err)
	}
	return &g, nil
}

// The body after the header line, all integers big-endian:
//
//	bytes config | bytes genesis | u32 n |
//	n × ( bytes block | u32 t × (u32 index, u32 code, 32 digest) |
//	      u32 w × (bytes key, u8 set, [bytes value if set]) ) |
//	32 bytes sha256 of everything before it (header line included)
//
// bytes = u32 length ‖ data. The whole file is gzip-compressed.

// Encode writes the fixture (gzip-compressed) to w.
func (f *Fixture) Encode(w io.Writer) error {
	zw, err := gzip.NewWriterLevel(w, gzip.BestCompression)
	if err != nil {
		return err
	}
	sum := sha256.New()
	bw := bufio.NewWriterSize(io.MultiWriter(zw, sum), 1<<16)
	hj, err := json.Marshal(f.Header)
	if err != nil {
		return err
	}
	fmt.Fprintf(bw, "%s%s\n", fixtureMagic, hj)
	var e enc
	e.bytes(f.Config)
	e.bytes(f.Genesis)
	e.u32(uint32(len(f.Heights)))
	bw.Write(e.b)
	for _, hr := range f.Heights {
		e.b = e.b[:0]
		e.bytes(hr.Block.Encode())
		e.u32(uint32(len(hr.Txs)))
		for _, t := range hr.Txs {
			e.u32(uint32(t.Index))
			e.u32(t.Code)
			e.b = append(e.b, t.WriteDigest[:]...)
		}
		e.u32(uint32(len(hr.Writes)))
		for _, wr := range hr.Writes {
			e.bytes(wr.Key)
			if wr.Value == nil {
				e.b = append(e.b, 0)
			} else {
				e.b = append(e.b, 1)
				e.bytes(wr.Value)
			}
		}
		if _, err := bw.Write(e.b); err != nil {
			return err
		}
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if _, err := zw.Write(sum.Sum(nil)); err != nil {
		return err
	}
	return zw.Close()
}

// WriteFile writes the fixture to path atomically and durably.
func (f *Fixture) WriteFile(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := f.Encode(&buf); err != nil {
		return err
	}
	return atomicfile.Write(path, buf.Bytes(), 0o644)
}

// FixtureError is an unusable fixture (exit code 2).
type FixtureError struct {
	Path string
	Msg  string
}

func (e *FixtureError) Error() string { return e.Path + ": " + e.Msg }

// ReadFixture reads and checks a fixture file: header, structure,
// checksum, consecutive heights, and every block's app hash present.
func ReadFixture(path string) (*Fixture, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, &FixtureError{Path: path, Msg: fmt.Sprintf("cannot read the fixture: %v (record one with forkgate record CHAIN_DIR)", err)}
	}
	f, err := DecodeFixture(b)
	if err != nil {
		return nil, &FixtureError{Path: path, Msg: err.Error()}
	}
	return f, nil
}

// DecodeFixture decodes a fixture file's bytes.
func DecodeFixture(b []byte) (*Fixture, error) {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("not a forkgate fixture (not gzip: %v)", err)
	}
	raw, err := io.ReadAll(io.LimitReader(zr, 1<<30))
	if err != nil {
		return nil, fmt.Errorf("damaged fixture (gzip: %v): record it again", err)
	}
	if len(raw) < 32 {
		return nil, errors.New("damaged fixture: too short")
	}
	body, want := raw[:len(raw)-32], raw[len(raw)-32:]
	if got := sha256.Sum256(body); !bytes.Equal(got[:], want) {
		return nil, fmt.Errorf("damaged fixture: checksum mismatch (records %x, content hashes to %x): record it again", want, got)
	}
	nl := bytes.IndexByte(body, '\n')
	if nl < 0 || !bytes.HasPrefix(body, []byte(fixtureMagic)) {
		return nil, fmt.Errorf("not a forkgate fixture (the first line does not start with %q)", strings.TrimSpace(fixtureMagic))
	}
	f := &Fixture{}
	if err := json.Unmarshal(body[len(fixtureMagic):nl], &f.Header); err != nil {
		return nil, fmt.Errorf("fixture header: %v", err)
	}
	if f.Header.Format != FixtureFormat {
		return nil, fmt.Errorf("fixture format %d, this build reads %d: use the forkgate release that reads it, or record the fixture again", f.Header.Format, FixtureFormat)
	}
	if f.Header.From != 1 || f.Header.To < 1 {
		return nil, fmt.Errorf("fixture header says heights %d..%d; fixtures start at 1", f.Header.From, f.Header.To)
	}
	d := dec{b: body[nl+1:]}
	f.Config = d.bytes()
	f.Genesis = d.bytes()
	n := d.u32()
	if d.err == nil && int64(n) != f.Header.To-f.Header.From+1 {
		return nil, fmt.Errorf("fixture header says heights %d..%d but the body holds %d", f.Header.From, f.Header.To, n)
	}
	f.Heights = make([]HeightRecord, 0, n)
	for i := uint32(0); i < n && d.err == nil; i++ {
		h := f.Header.From + int64(i)
		var hr HeightRecord
		raw := d.bytes()
		if d.err != nil {
			break
		}
		blk, err := node.DecodeBlock(raw)
		if err != nil {
			return nil, fmt.Errorf("fixture height %d: %v", h, err)
		}
		if blk.Height != h || len(blk.AppHash) != 32 {
			return nil, fmt.Errorf("fixture height %d holds block %d with a %d-byte app hash: the fixture is damaged", h, blk.Height, len(blk.AppHash))
		}
		hr.Block = blk
		nt := d.u32()
		if d.err == nil && int(nt) != len(blk.Txs)-1 && !(nt == 0 && len(blk.Txs) == 0) {
			return nil, fmt.Errorf("fixture height %d: %d outcomes for %d user transactions", h, nt, len(blk.Txs)-1)
		}
		for j := uint32(0); j < nt && d.err == nil; j++ {
			t := TxOutcome{Index: int(d.u32()), Code: d.u32()}
			copy(t.WriteDigest[:], d.take(32))
			hr.Txs = append(hr.Txs, t)
		}
		nw := d.u32()
		for j := uint32(0); j < nw && d.err == nil; j++ {
			w := chain.Write{Key: d.bytes()}
			if d.u8() == 1 {
				w.Value = d.bytes()
				if w.Value == nil {
					w.Value = []byte{}
				}
			}
			hr.Writes = append(hr.Writes, w)
		}
		f.Heights = append(f.Heights, hr)
	}
	if d.err != nil {
		return nil, fmt.Errorf("damaged fixture: %v", d.err)
	}
	if len(d.b) != 0 {
		return nil, errors.New("damaged fixture: trailing bytes")
	}
	if _, err := f.GenesisValue(); err != nil {
		return nil, err
	}
	g, _ := f.GenesisValue()
	if gh := g.Hash(); hex.EncodeToString(gh[:]) != f.Header.GenesisHash || g.ChainID != f.Header.ChainID {
		return nil, errors.New("fixture header names another genesis than the one it holds: the fixture is damaged")
	}
	if d := sha256.Sum256(f.Config); hex.EncodeToString(d[:]) != f.Header.ConfigDigest {
		return nil, errors.New("fixture config digest does not match the config it holds: the fixture is damaged")
	}
	return f, nil
}

type enc struct{ b []byte }

func (e *enc) u32(v uint32) { e.b = binary.BigEndian.AppendUint32(e.b, v) }
func (e *enc) bytes(v []byte) {
	e.u32(uint32(len(v)))
	e.b = append(e.b, v...)
}

type dec struct {
	b   []byte
	err error
}

func (d *dec) take(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || n > len(d.b) {
		d.err = errors.New("the encoding ends early")
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

func (d *dec) u8() uint8 {
	if v := d.take(1); v != nil {
		return v[0]
	}
	return 0
}

func (d *dec) u32() uint32 {
	if v := d.take(4); v != nil {
		return binary.BigEndian.Uint32(v)
	}
	return 0
}

func (d *dec) bytes() []byte {
	n := d.u32()
	v := d.take(int(n))
	if v == nil {
		return nil
	}
	return bytes.Clone(v)
}
