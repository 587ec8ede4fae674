package state

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
)

// KeyDiff is one key whose value differs between two trees.
type KeyDiff struct {
	Key []byte
	A   []byte // value under rootA; nil if the key is absent there
	B   []byte // value under rootB; nil if the key is absent there
}

func (d KeyDiff) String() string {
	show := func(v []byte) string {
		if v == nil {
			return "<absent>"
		}
		return fmtKey(v)
	}
	return fmt.Sprintf("%s: %s -> %s", fmtKey(d.Key), show(d.A), show(d.B))
}

// Diff lists the keys whose values differ between the tree of rootA in store
// a and the tree of rootB in store b (a and b may be the same store, e.g. to
// compare two heights). It walks both trees from the roots and descends only
// into subtrees whose hashes differ, so its cost grows with the number of
// differences times the tree depth, not with the size of the state.
//
// limit > 0 stops the walk after that many differences (the first ones in
// tree order); limit <= 0 lists them all. The result is sorted by key.
func Diff(a *Store, rootA []byte, b *Store, rootB []byte, limit int) ([]KeyDiff, error) {
	for _, side := range []struct {
		s    *Store
		root []byte
		name string
	}{{a, rootA, "rootA"}, {b, rootB, "rootB"}} {
		if len(side.root) != hashSize {
			return nil, fmt.Errorf("state: Diff: %s is %d bytes, want %d (take roots from Root or RootAt)", side.name, len(side.root), hashSize)
		}
		side.s.mu.Lock()
		err := side.s.usable()
		side.s.mu.Unlock()
		if err != nil {
			return nil, fmt.Errorf("state: Diff: %w", err)
		}
	}
	// The walk reads only committed, content-addressed records (n/, k/,
	// v/), which are immutable once written, so it needs no store lock and
	// may run while the stores keep committing.
	d := &differ{a: a, b: b, limit: limit}
	x, err := d.load(a, rootA)
	if err == nil {
		var y treeNode
		if y, err = d.load(b, rootB); err == nil {
			err = d.walk(x, y, 0)
		}
	}
	if err != nil && !errors.Is(err, errLimitReached) {
		return nil, fmt.Errorf("state: Diff %x (%s) vs %x (%s): %w", rootA, a.dir, rootB, b.dir, err)
	}
	slices.SortFunc(d.out, func(p, q KeyDiff) int { return bytes.Compare(p.Key, q.Key) })
	return d.out, nil
}

var errLimitReached = errors.New("diff limit reached")

type nodeKind uint8

const (
	kindEmpty nodeKind = iota
	kindLeaf
	kindInner
	kindExt
)

// treeNode is one SMT node decoded from its stored form (pokt smt v0.14.1):
//
//	leaf       0x00 | path(32) | valueHash(32)
//	inner      0x01 | leftHash(32) | rightHash(32)
//	extension  0x02 | start | end | path(32) | childHash(32)
//
// An extension stands for a chain of inner nodes at depths start..end-1 whose
// other child is always empty, following the bits of path; it is stored under
// the hash of that expanded chain. Diff also makes "virtual" extensions (a
// stored one with its first bits consumed) whose hash it computes the same way.
type treeNode struct {
	kind        nodeKind
	hash        []byte
	path        []byte // leaf: the key's path; extension: the path it follows
	valueHash   []byte // leaf
	left, right []byte // inner: child hashes
	start, end  int    // extension: the bits [start, end) it spans
	child       []byte // extension: hash of the node at depth end
}

var emptyNode = treeNode{kind: kindEmpty, hash: emptyRoot}

type differ struct {
	a, b  *Store
	limit int
	out   []KeyDiff
	loads int // nodes read, so tests can check the walk stays narrow
}

// walk compares subtree x (from a) with subtree y (from b), both rooted at
// depth. Equal hashes mean equal subtrees, so most of the state is never
// visited. Otherwise both sides are split into their depth+1 children — a
// leaf or an extension can be split "virtually", by its path bit — until the
// difference is pinned to single leaves.
func (d *differ) walk(x, y treeNode, depth int) error {
	if bytes.Equal(x.hash, y.hash) {
		return nil
	}
	switch {
	case x.kind == kindLeaf && y.kind == kindEmpty,
		x.kind == kindEmpty && y.kind == kindLeaf:
		return d.emit(x, y)
	case x.kind == kindLeaf && y.kind == kindLeaf && bytes.Equal(x.path, y.path):
		return d.emit(x, y) // same key, different value
	}
	if depth >= 8*hashSize {
		return fmt.Errorf("trees differ below the maximum depth %d; a store is damaged", 8*hashSize)
	}
	xl, xr, err := d.split(d.a, x, depth)
	if err != nil {
		return err
	}
	yl, yr, err := d.split(d.b, y, depth)
	if err != nil {
		return err
	}
	if err := d.walk(xl, yl, depth+1); err != nil {
		return err
	}
	return d.walk(xr, yr, depth+1)
}

// split returns the left and right subtrees of n at depth+1.
func (d *differ) split(s *Store, n treeNode, depth int) (left, right treeNode, err error) {
	switch n.kind {
	case kindEmpty:
		return emptyNode, emptyNode, nil
	case kindLeaf:
		return sideOf(n, n.path, depth)
	case kindInner:
		if left, err = d.load(s, n.left); err != nil {
			return
		}
		right, err = d.load(s, n.right)
		return
	case kindExt:
		if n.start != depth {
			return emptyNode, emptyNode, fmt.Errorf("extension node %x starts at depth %d but was reached at depth %d; the store %s is damaged", n.hash, n.start, depth, s.dir)
		}
		var rest treeNode
		if n.start+1 == n.end {
			if rest, err = d.load(s, n.child); err != nil {
				return
			}
		} else {
			rest = n
			rest.start++
			rest.hash = extDigest(n.path, rest.start, rest.end, n.child)
		}
		return sideOf(rest, n.path, depth)
	}
	return emptyNode, emptyNode, fmt.Errorf("unknown node kind %d", n.kind)
}

// sideOf places n on the side given by bit depth of path, the other side empty.
func sideOf(n treeNode, path []byte, depth int) (left, right treeNode, err error) {
	if pathBit(path, depth) == 0 {
		return n, emptyNode, nil
	}
	return emptyNode, n, nil
}

// emit records the difference between leaf (or empty) x and leaf (or empty)
// y, which sit on the same path, turning hashes back into key and values.
func (d *differ) emit(x, y treeNode) error {
	var kd KeyDiff
	var err error
	if x.kind == kindLeaf {
		if kd.Key, kd.A, err = preimages(d.a, x); err != nil {
			return err
		}
	}
	if y.kind == kindLeaf {
		if kd.Key, kd.B, err = preimages(d.b, y); err != nil {
			return err
		}
	}
	d.out = append(d.out, kd)
	if d.limit > 0 && len(d.out) >= d.limit {
		return errLimitReached
	}
	return nil
}

func preimages(s *Store, leaf treeNode) (key, value []byte, err error) {
	key, ok, err := dbGet(s.db, prefixed(prefixKey, leaf.path))
	if err == nil && !ok {
		err = fmt.Errorf("no key recorded for path %x in %s; the store is damaged", leaf.path, s.dir)
	}
	if err != nil {
		return nil, nil, err
	}
	value, ok, err = dbGet(s.db, prefixed(prefixValue, leaf.valueHash))
	if err == nil && !ok {
		err = fmt.Errorf("no value recorded for key %s (value hash %x) in %s; the store is damaged", fmtKey(key), leaf.valueHash, s.dir)
	}
	if err != nil {
		return nil, nil, err
	}
	return key, value, nil
}

// load reads and decodes the node with the given hash, checking that its
// content hashes to it, so a damaged store cannot produce a wrong diff.
func (d *differ) load(s *Store, hash []byte) (treeNode, error) {
	if bytes.Equal(hash, emptyRoot) {
		return emptyNode, nil
	}
	d.loads++
	data, err := s.nodes.Get(hash)
	if err != nil {
		return treeNode{}, fmt.Errorf("in %s: %w", s.dir, err)
	}
	n := treeNode{hash: hash}
	switch {
	case len(data) == leafNodeSize && data[0] == 0:
		n.kind, n.path, n.valueHash = kindLeaf, data[1:1+hashSize], data[1+hashSize:]
	case len(data) == leafNodeSize && data[0] == 1:
		n.kind, n.left, n.right = kindInner, data[1:1+hashSize], data[1+hashSize:]
	case len(data) == 3+2*hashSize && data[0] == 2 && data[1] < data[2]:
		n.kind, n.start, n.end = kindExt, int(data[1]), int(data[2])
		n.path, n.child = data[3:3+hashSize], data[3+hashSize:]
	default:
		return treeNode{}, fmt.Errorf("node %x in %s has an unknown encoding; the store is damaged or was written by another format", hash, s.dir)
	}
	var got []byte
	if n.kind == kindExt {
		got = extDigest(n.path, n.start, n.end, n.child)
	} else {
		sum := sha256.Sum256(data)
		got = sum[:]
	}
	if !bytes.Equal(got, hash) {
		return treeNode{}, fmt.Errorf("node %x in %s hashes to %x; the store is damaged", hash, s.dir, got)
	}
	return n, nil
}

// extDigest is the hash of the chain of inner nodes an extension stands for:
// from the child at depth end up to depth start, each level hashes the
// running digest with an empty sibling, on the side given by path's bit.
func extDigest(path []byte, start, end int, child []byte) []byte {
	h := child
	var buf [1 + 2*hashSize]byte
	buf[0] = 1 // inner node prefix
	for i := end - 1; i >= start; i-- {
		if pathBit(path, i) == 0 {
			copy(buf[1:], h)
			copy(buf[1+hashSize:], emptyRoot)
		} else {
			copy(buf[1:], emptyRoot)
			copy(buf[1+hashSize:], h)
		}
		sum := sha256.Sum256(buf[:])
		h = sum[:]
	}
	return h
}

// pathBit is bit i of path, most significant bit first (smt's convention).
func pathBit(path []byte, i int) int {
	return int(path[i/8]>>(7-uint(i%8))) & 1
}
