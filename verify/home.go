package verify

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/forkgate/forkgate/chain"
	"github.com/forkgate/forkgate/node"
	"github.com/forkgate/forkgate/state"
)

// WriteBlockFile writes blocks 1..to of the fixture as a node export file
// (docs/node.md, "Export file format"), which `node import` of any build
// reads.
func (f *Fixture) WriteBlockFile(path string, to int64) error {
	if to < 1 || to > f.Header.To {
		return fmt.Errorf("block file: height %d is outside the fixture (1..%d)", to, f.Header.To)
	}
	out, err := os.Create(path)
	if err != nil {
		return err
	}
	sum := sha256.New()
	bw := bufio.NewWriterSize(out, 1<<16)
	w := func(b []byte) {
		bw.Write(b)
		sum.Write(b)
	}
	hdr := node.BlockFileHeader{Format: node.BlockFileFormat, ChainID: f.Header.ChainID, GenesisHash: f.Header.GenesisHash, From: 1, To: to}
	hj, _ := json.Marshal(hdr)
	w(fmt.Appendf(nil, "forkgate-blocks %s\n", hj))
	var lb [4]byte
	for h := int64(1); h <= to; h++ {
		enc := f.Height(h).Block.Encode()
		binary.BigEndian.PutUint32(lb[:], uint32(len(enc)))
		w(lb[:])
		w(enc)
	}
	binary.BigEndian.PutUint32(lb[:], 0)
	bw.Write(lb[:])
	bw.Write(sum.Sum(nil))
	err = bw.Flush()
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}

// checkGenesis compares a home's genesis with the fixture's.
func (f *Fixture) checkGenesis(home string) (*chain.Genesis, error) {
	g, err := chain.LoadGenesis(node.Home(home).Genesis())
	if err != nil {
		return nil, err
	}
	if gh := g.Hash(); hex.EncodeToString(gh[:]) != f.Header.GenesisHash {
		return nil, &FixtureError{Path: f.Header.Chain, Msg: fmt.Sprintf("node init made genesis %x, but the fixture was recorded from genesis %s: the chain's [library] settings changed since recording; record the fixture again",
			gh, f.Header.GenesisHash)}
	}
	return g, nil
}

// BuildHome makes the data directory the recording node had at height h,
// from the fixture alone: a home initialised with the recorded config,
// blocks 1..h in the block store with the schedule snapshot a node stores,
// and the state rebuilt from the recorded write sets, every root checked.
// oldConfig is a file holding f.Config.
func (f *Fixture) BuildHome(home string, c *Chain, oldConfig string, h int64, progress func(int64)) error {
	if err := f.NewTemplate(home, c, oldConfig); err != nil {
		return err
	}
	return closeStore(f.fill(home, h, progress))
}

func closeStore(st *state.Store, err error) error {
	if err != nil {
		return err
	}
	return st.Close()
}

// NewTemplate makes a home at height 0 for BuildHomeFrom: initialised with
// the recorded config and checked against the fixture's genesis, with an
// empty data directory. On this kind of disk creating files is most of a
// small home's cost, so BuildHomeFrom copies only the two small files of a
// template and links its keys, and fill creates the stores once.
func (f *Fixture) NewTemplate(home string, c *Chain, oldConfig string) error {
	if err := node.Init(home, c.InitOptions(oldConfig)); err != nil {
		return err
	}
	_, err := f.checkGenesis(home)
	return err
}

// BuildHomeFrom copies a template (NewTemplate) to home and fills it up to
// height h, as BuildHome does. With blank (newBlankData), the home's stores
// start as copies of it.
func (f *Fixture) BuildHomeFrom(template, blank, home string, h int64, progress func(int64)) error {
	return closeStore(f.buildOldHome(template, blank, home, h, progress))
}

// buildOldHome is BuildHomeFrom returning the state store, still open.
func (f *Fixture) buildOldHome(template, blank, home string, h int64, progress func(int64)) (*state.Store, error) {
	if err := homeFrom(template, blank, home, filepath.Join(template, "config.toml")); err != nil {
		return nil, err
	}
	return f.fill(home, h, progress)
}

// newHome is a fresh home (height 0) of this chain with the given config:
// the template's genesis and keys, and empty stores.
func (cr *chainRun) newHome(home, config string) error {
	return homeFrom(cr.template, cr.blank, home, config)
}

// homeFrom makes home from a template: its genesis, a link to its keys, the
// config, and the blank stores (if any).
func homeFrom(template, blank, home, config string) error {
	if err := os.MkdirAll(node.Home(home).Data(), 0o700); err != nil {
		return err
	}
	if blank != "" {
		if err := copyTree(blank, node.Home(home).Data()); err != nil {
			return err
		}
	}
	if err := copyFile(config, filepath.Join(home, "config.toml")); err != nil {
		return err
	}
	if err := copyFile(filepath.Join(template, "genesis.json"), filepath.Join(home, "genesis.json")); err != nil {
		return err
	}
	keys, err := filepath.Abs(filepath.Join(template, "keys"))
	if err != nil {
		return err
	}
	return os.Symlink(keys, filepath.Join(home, "keys"))
}

// fill puts blocks 1..h and the state at h into home's stores, and returns
// the state store, open.
func (f *Fixture) fill(home string, h int64, progress func(int64)) (*state.Store, error) {
	g, err := f.GenesisValue()
	if err != nil {
		return nil, err
	}
	cfg, err := node.LoadConfig(node.Home(home).Config())
	if err != nil {
		return nil, err
	}
	bs, err := node.OpenScratchBlockStore(node.Home(home).Blocks(), g.Hash(), g.ChainID)
	if err != nil {
		return nil, err
	}
	// The schedule snapshot a node stores at its first start.
	if err := bs.PutSchedule(cfg.Schedule.Snapshot().Encode()); err != nil {
		bs.Close()
		return nil, err
	}
	if bs.Height() != 0 {
		bs.Close()
		return nil, fmt.Errorf("%s already holds blocks", home)
	}
	for x := int64(1); x <= h; x++ {
		if err := bs.Put(f.Height(x).Block); err != nil {
			bs.Close()
			return nil, err
		}
	}
	if err := bs.Close(); err != nil {
		return nil, err
	}
	st, err := f.RebuildStateProgress(node.Home(home).State(), h, progress)
	if err != nil {
		return nil, err
	}
	return st, nil
}

// newBlankData makes, once per chain, the empty stores every in-process home
// starts from: the block store bound to the chain and the state store,
// created and closed. Creating a Pebble store walks its format through every
// version, each step a new file and a directory sync; copying a closed empty
// store is a few small files, which on this kind of disk is most of what a
// scenario saves.
func newBlankData(dir string, g *chain.Genesis) error {
	bs, err := node.OpenScratchBlockStore(filepath.Join(dir, "blocks"), g.Hash(), g.ChainID)
	if err != nil {
		return err
	}
	if err := bs.Close(); err != nil {
		return err
	}
	st, err := state.Open(filepath.Join(dir, "state"), state.Options{NoSync: true, MemTableSize: node.ScratchMemTable})
	if err != nil {
		return err
	}
	return st.Close()
}

// copyTree copies a directory of regular files and directories (a closed
// store) into dst.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		to := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(to, 0o700)
		}
		return copyFile(p, to)
	})
}

// blockHashes reads the state hashes of blocks from..to from a home's
// block store (read-only); it returns fewer when the store ends earlier.
func blockHashes(home string, g *chain.Genesis, from, to int64) ([][]byte, []*node.Block, error) {
	bs, err := node.OpenBlockStore(node.Home(home).Blocks(), g.Hash(), g.ChainID, true)
	if err != nil {
		return nil, nil, err
	}
	defer bs.Close()
	var hs [][]byte
	var bl []*node.Block
	for x := from; x <= to && x <= bs.Height(); x++ {
		b, err := bs.Get(x)
		if err != nil {
			return nil, nil, err
		}
		hs = append(hs, b.AppHash)
		bl = append(bl, b)
	}
	return hs, bl, nil
}

func sameTxs(a, b *node.Block) (int, bool) {
	for i := 0; i < len(a.Txs) && i < len(b.Txs); i++ {
		if !bytes.Equal(a.Txs[i], b.Txs[i]) {
			return i, false
		}
	}
	if len(a.Txs) != len(b.Txs) {
		return min(len(a.Txs), len(b.Txs)), false
	}
	return 0, a.Time == b.Time && a.Proposer == b.Proposer
}
