package node

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"strings"
	"time"
)

// BlockFileFormat versions export files.
const BlockFileFormat = 1

// blockFileMagic starts the header line of an export file.
const blockFileMagic = "forkgate-blocks "

// BlockFileHeader is the first line of an export file, after the magic, as
// JSON.
type BlockFileHeader struct {
	Format      int    `json:"format"`
	ChainID     string `json:"chain_id"`
	GenesisHash string `json:"genesis_hash"` // hex
	From        int64  `json:"from"`
	To          int64  `json:"to"`
}

// An export file is:
//
//	"forkgate-blocks " + JSON header + "\n"
//	for each block From..To: u32 big-endian length, canonical block encoding
//	u32 0 (end marker), then sha256 of every byte before the end marker
//
// The checksum catches truncation and corruption before any block runs; a
// block altered with a recomputed checksum is caught by its state hash.

// Export writes blocks from..to (to 0: the last stored) to w.
func (n *Node) Export(w io.Writer, from, to int64) (BlockFileHeader, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	top := int64(0)
	if n.blocks != nil {
		top = n.blocks.Height()
	}
	if from < 1 {
		from = 1
	}
	if to == 0 || to > top {
		to = top
	}
	hdr := BlockFileHeader{Format: BlockFileFormat, ChainID: n.l.genesis.ChainID, GenesisHash: hexs(n.l.gHash[:]), From: from, To: to}
	if top == 0 {
		return hdr, errors.New("export: the node has no blocks yet: run it first")
	}
	if from > to {
		return hdr, fmt.Errorf("export: --from %d is above the last block to export (%d)", from, to)
	}
	sum := sha256.New()
	bw := bufio.NewWriterSize(io.MultiWriter(w, sum), 1<<16)
	hj, _ := json.Marshal(hdr)
	if _, err := fmt.Fprintf(bw, "%s%s\n", blockFileMagic, hj); err != nil {
		return hdr, err
	}
	var lb [4]byte
	for h := from; h <= to; h++ {
		b, err := n.blocks.Get(h)
		if err != nil {
			return hdr, err
		}
		enc := b.Encode()
		binary.BigEndian.PutUint32(lb[:], uint32(len(enc)))
		bw.Write(lb[:])
		if _, err := bw.Write(enc); err != nil {
			return hdr, err
		}
	}
	if err := bw.Flush(); err != nil {
		return hdr, err
	}
	binary.BigEndian.PutUint32(lb[:], 0)
	if _, err := w.Write(lb[:]); err != nil {
		return hdr, err
	}
	_, err := w.Write(sum.Sum(nil))
	return hdr, err
}

// blockReader reads an export file's blocks and checks its checksum.
type blockReader struct {
	name string
	r    *bufio.Reader
	sum  hash.Hash
	hdr  BlockFileHeader
	next int64
	done bool
}

const maxBlockBytes = 64 << 20

func newBlockReader(name string, r io.Reader) (*blockReader, error) {
	br := &blockReader{name: name, r: bufio.NewReaderSize(r, 1<<16), sum: sha256.New()}
	line, err := br.r.ReadString('\n')
	if err != nil {
		return nil, fmt.Errorf("%s: no header line: not a forkgate block file (%v)", name, err)
	}
	br.sum.Write([]byte(line))
	body, ok := strings.CutPrefix(strings.TrimSuffix(line, "\n"), blockFileMagic)
	if !ok {
		return nil, fmt.Errorf("%s: not a forkgate block file (the first line does not start with %q)", name, strings.TrimSpace(blockFileMagic))
	}
	if err := json.Unmarshal([]byte(body), &br.hdr); err != nil {
		return nil, fmt.Errorf("%s: header: %v", name, err)
	}
	if br.hdr.Format != BlockFileFormat {
		return nil, fmt.Errorf("%s: block file format %d, this build reads %d: use a newer forkgate", name, br.hdr.Format, BlockFileFormat)
	}
	if br.hdr.From < 1 || br.hdr.To < br.hdr.From {
		return nil, fmt.Errorf("%s: header says blocks %d..%d: the file is damaged", name, br.hdr.From, br.hdr.To)
	}
	br.next = br.hdr.From
	return br, nil
}

// Next returns the next block, or io.EOF after the last one once the
// checksum matched.
func (br *blockReader) Next() (*Block, error) {
	if br.done {
		return nil, io.EOF
	}
	var lb [4]byte
	if _, err := io.ReadFull(br.r, lb[:]); err != nil {
		return nil, fmt.Errorf("%s: truncated before block %d (%v): re-export it", br.name, br.next, err)
	}
	size := binary.BigEndian.Uint32(lb[:])
	if size == 0 {
		want := br.sum.Sum(nil)
		var got [32]byte
		if _, err := io.ReadFull(br.r, got[:]); err != nil {
			return nil, fmt.Errorf("%s: truncated checksum (%v): re-export it", br.name, err)
		}
		if !bytes.Equal(got[:], want) {
			return nil, fmt.Errorf("%s: checksum mismatch: the file records %x, its content hashes to %x: the file is damaged, re-export it", br.name, got, want)
		}
		if br.next != br.hdr.To+1 {
			return nil, fmt.Errorf("%s: the header promises blocks %d..%d but the file ends after block %d", br.name, br.hdr.From, br.hdr.To, br.next-1)
		}
		if _, err := br.r.ReadByte(); err != io.EOF {
			return nil, fmt.Errorf("%s: trailing bytes after the checksum: the file is damaged", br.name)
		}
		br.done = true
		return nil, io.EOF
	}
	if size > maxBlockBytes {
		return nil, fmt.Errorf("%s: block %d claims %d bytes: the file is damaged", br.name, br.next, size)
	}
	// Read what the file holds rather than allocating the size it claims:
	// a damaged length then costs what the file is, not 64 MiB per block.
	raw, err := io.ReadAll(io.LimitReader(br.r, int64(size)))
	if err != nil || len(raw) != int(size) {
		return nil, fmt.Errorf("%s: truncated in block %d (%d of %d bytes): re-export it", br.name, br.next, len(raw), size)
	}
	br.sum.Write(lb[:])
	br.sum.Write(raw)
	b, err := DecodeBlock(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: block %d: %v", br.name, br.next, err)
	}
	if b.Height != br.next {
		return nil, fmt.Errorf("%s: expected block %d, found block %d: the file is damaged", br.name, br.next, b.Height)
	}
	br.next++
	return b, nil
}

// VerifyBlockFile reads a whole export file and checks its structure and
// checksum without executing anything.
func VerifyBlockFile(path string) (BlockFileHeader, error) {
	f, err := os.Open(path)
	if err != nil {
		return BlockFileHeader{}, err
	}
	defer f.Close()
	br, err := newBlockReader(path, f)
	if err != nil {
		return BlockFileHeader{}, err
	}
	for {
		if _, err := br.Next(); err == io.EOF {
			return br.hdr, nil
		} else if err != nil {
			return br.hdr, err
		}
	}
}

// ImportOptions tune Import.
type ImportOptions struct {
	Progress      io.Writer // a line every ProgressEvery blocks; nil: none
	ProgressEvery int64     // default 1000
}

// ImportResult summarises an import.
type ImportResult struct {
	Header   BlockFileHeader
	Checked  int64 // blocks already stored, compared by hash
	Applied  int64 // blocks executed
	Txs      int64 // user transactions executed
	Height   int64
	AppHash  []byte
	Duration time.Duration
}

// Import replays an export file: blocks the node already has are compared by
// state hash, the rest are executed (FinalizeBlock and Commit, without
// PrepareProposal) and each resulting state hash must equal the exported
// one. It stops at the first mismatch with a *MismatchError. The whole file
// is checked (structure and checksum) before the first block runs.
func (n *Node) Import(path string, o ImportOptions) (ImportResult, error) {
	began := time.Now()
	var res ImportResult
	if n.readOnly {
		return res, errors.New("import: the node was opened read-only")
	}
	hdr, err := VerifyBlockFile(path)
	res.Header = hdr
	if err != nil {
		return res, err
	}
	if hdr.ChainID != n.l.genesis.ChainID || hdr.GenesisHash != hexs(n.l.gHash[:]) {
		return res, fmt.Errorf("%s: blocks of chain %q (genesis %s), but this home is chain %q (genesis %s): import into a home made with the same genesis.json",
			path, hdr.ChainID, hdr.GenesisHash, n.l.genesis.ChainID, hex.EncodeToString(n.l.gHash[:]))
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.broken != nil {
		return res, n.broken
	}
	top := n.app.Height()
	if hdr.From > top+1 {
		return res, fmt.Errorf("%s starts at block %d, but this node is at height %d: import blocks %d..%d first", path, hdr.From, top, top+1, hdr.From-1)
	}
	f, err := os.Open(path)
	if err != nil {
		return res, err
	}
	defer f.Close()
	br, err := newBlockReader(path, f)
	if err != nil {
		return res, err
	}
	every := o.ProgressEvery
	if every <= 0 {
		every = 1000
	}
	last := time.Now()
	lastH := top
	for {
		b, err := br.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return res, err
		}
		if b.Height <= top {
			have, err := n.blocks.Get(b.Height)
			if err != nil {
				return res, err
			}
			if !bytes.Equal(have.AppHash, b.AppHash) {
				return res, &MismatchError{Height: b.Height, Source: path, Expected: b.AppHash, Got: have.AppHash, Stored: true}
			}
			res.Checked++
			continue
		}
		if _, err := n.apply(b, true, path); err != nil {
			return res, err
		}
		res.Applied++
		res.Txs += int64(len(b.Txs) - 1)
		if o.Progress != nil && b.Height%every == 0 {
			now := time.Now()
			rate := float64(b.Height-lastH) / now.Sub(last).Seconds()
			fmt.Fprintf(o.Progress, "import: block %d of %d (%d%%), %.0f blocks/s\n", b.Height, hdr.To, 100*(b.Height-hdr.From+1)/(hdr.To-hdr.From+1), rate)
			last, lastH = now, b.Height
		}
	}
	res.Height = n.app.Height()
	res.AppHash = n.state.Root()
	res.Duration = time.Since(began)
	return res, nil
}
