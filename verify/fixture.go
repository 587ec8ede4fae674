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
	"maps"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/forkgate/forkgate/atomicfile"
	"github.com/forkgate/forkgate/chain"
	"github.com/forkgate/forkgate/codec"
	"github.com/forkgate/forkgate/node"
	"github.com/forkgate/forkgate/schedule"
)

// FixtureFormat versions the fixture file; Record writes it. Format 2 adds
// the genesis state and every transaction's receipt (CometBFT's result
// fields) with each block's results hash; a reader also reads format 1,
// whose results are then not compared, and refuses any other.
const FixtureFormat = 2

// fixtureFormatV1 is the first format: blocks, outcomes and write sets.
const fixtureFormatV1 = 1

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
	// Rejected counts the rejected user transactions per "exec.action:code"
	// (format 2), so a reader sees which reject paths were recorded.
	Rejected map[string]int64 `json:"rejected,omitempty"`
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
	// GenesisState is what InitChain wrote (format 2), sorted by key: a
	// divergence there is named as the genesis state, not block 1.
	GenesisState []chain.Write
	Heights      []HeightRecord
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
	// Receipts are the results of every transaction of the block, the
	// signal transaction first, and ResultsHash the hash CometBFT puts in
	// the next header (format 2; nil in format 1).
	Receipts    []Receipt
	ResultsHash []byte
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

// The body after the header line, in package codec's encoding (integers
// big-endian, bytes = u32 length ‖ data), format 2:
//
//	bytes config | bytes genesis |
//	u32 g × (bytes key, bytes value)                  the genesis state, sorted
//	u32 n |
//	n × ( bytes block | 32 results hash |
//	      u32 r × receipt                             every transaction, signal first
//	      u32 t × (u32 index, 32 write digest)        every user transaction
//	      u32 w × (bytes key, u8 set, [bytes value if set]) ) |
//	32 bytes sha256 of everything before it (header line included)
//
// Format 1 has no genesis state, results hash or receipts, and each outcome
// is (u32 index, u32 code, 32 digest). The whole file is gzip-compressed.

// Bounds a reader enforces before anything is allocated, and a writer
// before it writes a fixture that could not be read back.
const (
	// MaxFixtureBytes caps a fixture's decompressed size: a gzip stream
	// expands up to about a thousand times, so without a cap a small
	// crafted file exhausts memory. The library's fixtures are well under
	// 1 MiB; 300 blocks of 200 transactions take about 30 MiB.
	MaxFixtureBytes = 64 << 20
	// maxHeaderLine bounds the JSON header line.
	maxHeaderLine = 1 << 20
	// maxFixtureHeights bounds the heights a fixture may hold.
	maxFixtureHeights = 1 << 24
	// Minimum encoded sizes, which bound each count by the bytes left.
	minHeightSize    = 4 + 4 + 4  // empty block bytes, no outcomes, no writes
	minOutcomeSizeV1 = 4 + 4 + 32 // index, code, digest
	minOutcomeSize   = 4 + 32     // index, digest
	minWriteSize     = 4 + 1      // empty key, deleted
	minStateSize     = 4 + 4      // empty key and value
)

// maxFixtureBytes is MaxFixtureBytes; tests lower it.
var maxFixtureBytes int64 = MaxFixtureBytes

// Encode writes the fixture (gzip-compressed) to w, in FixtureFormat.
func (f *Fixture) Encode(w io.Writer) error {
	if len(f.Config) > codec.MaxField || len(f.Genesis) > codec.MaxField {
		return fmt.Errorf("fixture: the config (%d bytes) or the genesis (%d bytes) is larger than a fixture holds (%d bytes)", len(f.Config), len(f.Genesis), codec.MaxField)
	}
	zw, err := gzip.NewWriterLevel(w, gzip.BestCompression)
	if err != nil {
		return err
	}
	sum := sha256.New()
	if err := f.encodeBody(io.MultiWriter(zw, sum)); err != nil {
		return err
	}
	if _, err := zw.Write(sum.Sum(nil)); err != nil {
		return err
	}
	return zw.Close()
}

// encodeBody writes the header line and the body, uncompressed and without
// the checksum.
func (f *Fixture) encodeBody(w io.Writer) error {
	hdr := f.Header
	hdr.Format = FixtureFormat
	bw := bufio.NewWriterSize(w, 1<<16)
	hj, err := json.Marshal(hdr)
	if err != nil {
		return err
	}
	fmt.Fprintf(bw, "%s%s\n", fixtureMagic, hj)
	var e codec.Writer
	e.Bytes(f.Config)
	e.Bytes(f.Genesis)
	e.U32(uint32(len(f.GenesisState)))
	for _, kv := range f.GenesisState {
		e.Bytes(kv.Key)
		e.Bytes(kv.Value)
	}
	e.U32(uint32(len(f.Heights)))
	bw.Write(e.Out())
	written := int64(len(fixtureMagic) + len(hj) + 1 + len(e.Out()))
	var buf []byte
	for _, hr := range f.Heights {
		if len(hr.Receipts) != len(hr.Block.Txs) || len(hr.ResultsHash) != 32 {
			return fmt.Errorf("fixture: height %d has %d receipts for %d transactions and a %d-byte results hash", hr.Block.Height, len(hr.Receipts), len(hr.Block.Txs), len(hr.ResultsHash))
		}
		e.Reset(buf[:0])
		blk := hr.Block.Encode()
		if len(blk) > codec.MaxField {
			return fmt.Errorf("fixture: block %d encodes to %d bytes, more than a fixture holds (%d)", hr.Block.Height, len(blk), codec.MaxField)
		}
		e.Bytes(blk)
		e.Fixed(hr.ResultsHash)
		e.U32(uint32(len(hr.Receipts)))
		for _, rc := range hr.Receipts {
			writeReceipt(&e, rc)
		}
		e.U32(uint32(len(hr.Txs)))
		for _, t := range hr.Txs {
			e.U32(uint32(t.Index))
			e.Fixed(t.WriteDigest[:])
		}
		e.U32(uint32(len(hr.Writes)))
		for _, wr := range hr.Writes {
			e.Bytes(wr.Key)
			e.Bool(wr.Value != nil)
			if wr.Value != nil {
				e.Bytes(wr.Value)
			}
		}
		buf = e.Out()
		written += int64(len(buf))
		if _, err := bw.Write(buf); err != nil {
			return err
		}
	}
	if written+sha256.Size > maxFixtureBytes {
		return fmt.Errorf("fixture: %d bytes uncompressed, more than a reader accepts (%d MiB): record fewer blocks (--blocks)", written+sha256.Size, maxFixtureBytes>>20)
	}
	return bw.Flush()
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
	fail := func(msg string) error { return &FixtureError{Path: path, Msg: msg} }
	st, err := os.Stat(path)
	if err != nil {
		return nil, fail(fmt.Sprintf("cannot read the fixture: %v (record one with forkgate record CHAIN_DIR)", err))
	}
	if st.Size() > maxFixtureBytes {
		return nil, fail(fmt.Sprintf("the file is %d MiB, more than a fixture may be (%d MiB): it is not a forkgate fixture", st.Size()>>20, maxFixtureBytes>>20))
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fail(fmt.Sprintf("cannot read the fixture: %v (record one with forkgate record CHAIN_DIR)", err))
	}
	f, err := DecodeFixture(b)
	if err != nil {
		return nil, fail(err.Error())
	}
	return f, nil
}

// DecodeFixture decodes a fixture file's bytes. Every count and length read
// is bounded before it sizes an allocation, and the decompressed stream is
// capped at MaxFixtureBytes, so no input makes it run out of memory.
func DecodeFixture(b []byte) (*Fixture, error) {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("not a forkgate fixture (not gzip: %v)", err)
	}
	// The magic first: a file that is not a fixture is refused before
	// anything else is decompressed.
	br := bufio.NewReaderSize(io.LimitReader(zr, maxFixtureBytes+1), 1<<16)
	magic := make([]byte, len(fixtureMagic))
	if _, err := io.ReadFull(br, magic); err != nil || string(magic) != fixtureMagic {
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("damaged fixture (gzip: %v): record it again", err)
		}
		return nil, fmt.Errorf("not a forkgate fixture (the first line does not start with %q)", strings.TrimSpace(fixtureMagic))
	}
	var raw bytes.Buffer
	raw.Write(magic)
	if _, err := raw.ReadFrom(br); err != nil {
		return nil, fmt.Errorf("damaged fixture (gzip: %v): record it again", err)
	}
	if int64(raw.Len()) > maxFixtureBytes {
		return nil, fmt.Errorf("the fixture decompresses to more than %d MiB, more than a fixture may hold: a damaged file or a compression bomb; refused", maxFixtureBytes>>20)
	}
	return decodeBody(raw.Bytes())
}

// decodeBody decodes the decompressed fixture: header line, body, checksum.
func decodeBody(raw []byte) (*Fixture, error) {
	if len(raw) < 32 {
		return nil, errors.New("damaged fixture: too short")
	}
	body, want := raw[:len(raw)-32], raw[len(raw)-32:]
	if got := sha256.Sum256(body); !bytes.Equal(got[:], want) {
		return nil, fmt.Errorf("damaged fixture: checksum mismatch (records %x, content hashes to %x): record it again", want, got)
	}
	return parseFixture(body)
}

// parseFixture decodes a fixture's header line and body (checksum removed)
// and checks that its parts agree with each other: heights, outcomes and
// receipts per transaction, sorted write sets, the results hashes, the
// header's counts, the genesis and the config digest. What only
// re-execution can check (state hashes, outcomes, receipts, write sets
// against roots, versions) verify checks when it runs.
func parseFixture(body []byte) (*Fixture, error) {
	nl := bytes.IndexByte(body[:min(len(body), maxHeaderLine)], '\n')
	if nl < 0 || !bytes.HasPrefix(body, []byte(fixtureMagic)) {
		return nil, fmt.Errorf("not a forkgate fixture (no header line of at most %d bytes starting with %q)", maxHeaderLine, strings.TrimSpace(fixtureMagic))
	}
	f := &Fixture{}
	if err := json.Unmarshal(body[len(fixtureMagic):nl], &f.Header); err != nil {
		return nil, fmt.Errorf("fixture header: %v", err)
	}
	v1 := f.Header.Format == fixtureFormatV1
	if f.Header.Format != FixtureFormat && !v1 {
		return nil, fmt.Errorf("fixture format %d, this build reads %d and %d: use the forkgate release that reads it, or record the fixture again", f.Header.Format, fixtureFormatV1, FixtureFormat)
	}
	if f.Header.From != 1 || f.Header.To < 1 || f.Header.To > maxFixtureHeights {
		return nil, fmt.Errorf("fixture header says heights %d..%d; fixtures start at 1 and hold at most %d heights", f.Header.From, f.Header.To, maxFixtureHeights)
	}
	r := codec.NewReader(body[nl+1:])
	f.Config = r.Bytes()
	f.Genesis = r.Bytes()
	if !v1 {
		ng := r.Count(math.MaxUint32, minStateSize)
		f.GenesisState = make([]chain.Write, 0, ng)
		for j := 0; j < ng && r.Err() == nil; j++ {
			f.GenesisState = append(f.GenesisState, chain.Write{Key: r.Bytes(), Value: r.Bytes()})
		}
		if r.Err() == nil && !sortedWrites(f.GenesisState, false) {
			return nil, errors.New("damaged fixture: the genesis state is not sorted by key, repeats a key or holds an empty value")
		}
	}
	n := r.Count(maxFixtureHeights, minHeightSize)
	if r.Err() == nil && int64(n) != f.Header.To-f.Header.From+1 {
		return nil, fmt.Errorf("fixture header says heights %d..%d but the body holds %d", f.Header.From, f.Header.To, n)
	}
	f.Heights = make([]HeightRecord, 0, n)
	for i := 0; i < n && r.Err() == nil; i++ {
		h := f.Header.From + int64(i)
		hr, err := readHeight(r, h, v1)
		if err != nil {
			return nil, err
		}
		f.Heights = append(f.Heights, hr)
	}
	if err := r.Done("fixture body"); err != nil {
		return nil, fmt.Errorf("damaged fixture: %v", err)
	}
	g, err := f.GenesisValue()
	if err != nil {
		return nil, err
	}
	if gh := g.Hash(); hex.EncodeToString(gh[:]) != f.Header.GenesisHash || g.ChainID != f.Header.ChainID {
		return nil, errors.New("fixture header names another genesis than the one it holds: the fixture is damaged")
	}
	if d := sha256.Sum256(f.Config); hex.EncodeToString(d[:]) != f.Header.ConfigDigest {
		return nil, errors.New("fixture config digest does not match the config it holds: the fixture is damaged")
	}
	if err := f.checkCounts(); err != nil {
		return nil, err
	}
	return f, nil
}

// readHeight reads one height record; r's error, if any, is the caller's.
func readHeight(r *codec.Reader, h int64, v1 bool) (HeightRecord, error) {
	var hr HeightRecord
	damaged := func(format string, args ...any) (HeightRecord, error) {
		return hr, fmt.Errorf("fixture height %d: %s: the fixture is damaged", h, fmt.Sprintf(format, args...))
	}
	raw := r.Bytes()
	if r.Err() != nil {
		return hr, nil
	}
	blk, err := node.DecodeBlock(raw)
	if err != nil {
		return hr, fmt.Errorf("fixture height %d: %v", h, err)
	}
	if blk.Height != h || len(blk.AppHash) != 32 || len(blk.Txs) == 0 {
		return damaged("it holds block %d with a %d-byte app hash and %d transactions", blk.Height, len(blk.AppHash), len(blk.Txs))
	}
	hr.Block = blk
	users := len(blk.Txs) - 1
	if !v1 {
		hr.ResultsHash = make([]byte, 32)
		r.Fixed(hr.ResultsHash)
		nr := r.Count(uint32(len(blk.Txs)), minReceiptSize)
		if r.Err() == nil && nr != len(blk.Txs) {
			return damaged("%d receipts for %d transactions", nr, len(blk.Txs))
		}
		hr.Receipts = make([]Receipt, 0, nr)
		for j := 0; j < nr && r.Err() == nil; j++ {
			hr.Receipts = append(hr.Receipts, readReceipt(r))
		}
	}
	minOutcome := minOutcomeSize
	if v1 {
		minOutcome = minOutcomeSizeV1
	}
	nt := r.Count(uint32(users), minOutcome)
	if r.Err() == nil && nt != users {
		return damaged("%d outcomes for %d user transactions", nt, users)
	}
	hr.Txs = make([]TxOutcome, nt)
	for j := range hr.Txs {
		t := &hr.Txs[j]
		t.Index = int(r.U32())
		if v1 {
			t.Code = r.U32()
		}
		r.Fixed(t.WriteDigest[:])
		if r.Err() == nil && t.Index != j+1 {
			return damaged("outcome %d is for transaction %d", j+1, t.Index)
		}
	}
	nw := r.Count(math.MaxUint32, minWriteSize)
	hr.Writes = make([]chain.Write, 0, nw)
	for j := 0; j < nw && r.Err() == nil; j++ {
		w := chain.Write{Key: r.Bytes()}
		if r.Bool() {
			w.Value = r.Bytes()
			if w.Value == nil {
				w.Value = []byte{}
			}
		}
		hr.Writes = append(hr.Writes, w)
	}
	if r.Err() != nil {
		return hr, nil
	}
	if !sortedWrites(hr.Writes, true) {
		return damaged("the write set is not sorted by key or repeats a key")
	}
	if !v1 {
		for j := range hr.Txs {
			hr.Txs[j].Code = hr.Receipts[j+1].Code
		}
		if !bytes.Equal(ResultsHash(hr.Receipts), hr.ResultsHash) {
			return damaged("the results hash does not match the receipts")
		}
	}
	return hr, nil
}

// sortedWrites reports whether ws is sorted by key without repeats (and,
// unless deletes are allowed, holds only non-empty values).
func sortedWrites(ws []chain.Write, deletes bool) bool {
	for i, w := range ws {
		if i > 0 && bytes.Compare(ws[i-1].Key, w.Key) >= 0 {
			return false
		}
		if !deletes && len(w.Value) == 0 {
			return false
		}
	}
	return true
}

// Tally counts a fixture's user transactions: all of them, the successful
// ones per exec.action and the rejected ones per exec.action:code.
func (f *Fixture) Tally() (txs int64, actions, rejected map[string]int64) {
	actions, rejected = map[string]int64{}, map[string]int64{}
	for _, hr := range f.Heights {
		txs += int64(len(hr.Block.Txs) - 1)
		for i, t := range hr.Txs {
			tx, err := chain.DecodeTx(hr.Block.Txs[i+1])
			if err != nil {
				continue
			}
			k := tx.Exec + "." + tx.Action
			if t.Code == chain.CodeOK {
				actions[k]++
			} else {
				rejected[fmt.Sprintf("%s:%d", k, t.Code)]++
			}
		}
	}
	return txs, actions, rejected
}

// checkCounts checks the header's counts against the body.
func (f *Fixture) checkCounts() error {
	txs, actions, rejected := f.Tally()
	if txs != f.Header.Txs || !maps.Equal(actions, f.Header.Actions) && !(len(actions) == 0 && f.Header.Actions == nil) {
		return fmt.Errorf("fixture header counts %d transactions and %v, the blocks hold %d and %v: the fixture is damaged", f.Header.Txs, f.Header.Actions, txs, actions)
	}
	if f.Header.Format != fixtureFormatV1 && !maps.Equal(rejected, f.Header.Rejected) && !(len(rejected) == 0 && f.Header.Rejected == nil) {
		return fmt.Errorf("fixture header counts rejected transactions %v, the blocks hold %v: the fixture is damaged", f.Header.Rejected, rejected)
	}
	return nil
}
