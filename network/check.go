package network

import (
	"bytes"
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/forkgate/forkgate/node"
)

// Disagreement names nodes that report the same height with different
// state hashes ("" when none do).
func Disagreement(sts []NodeStatus) string {
	byHeight := map[int64]map[string][]string{}
	for _, s := range sts {
		if s.StateHash == "" || s.Height == 0 {
			continue
		}
		if byHeight[s.Height] == nil {
			byHeight[s.Height] = map[string][]string{}
		}
		byHeight[s.Height][s.StateHash] = append(byHeight[s.Height][s.StateHash], s.Name)
	}
	var msgs []string
	for h, hashes := range byHeight {
		if len(hashes) < 2 {
			continue
		}
		var parts []string
		for hash, names := range hashes {
			parts = append(parts, fmt.Sprintf("%s: %s", strings.Join(names, ","), hash))
		}
		sort.Strings(parts)
		msgs = append(msgs, fmt.Sprintf("height %d: state hashes differ (%s)", h, strings.Join(parts, "; ")))
	}
	sort.Strings(msgs)
	return strings.Join(msgs, "\n")
}

// Agreement is the result of comparing the nodes' block stores.
type Agreement struct {
	Heights   int64            `json:"heights"` // heights held by every node (1..Heights)
	PerNode   map[string]int64 `json:"per_node"`
	Compared  int64            `json:"compared"` // (node, height) pairs compared
	FirstDiff int64            `json:"first_diff,omitempty"`
	Diffs     []string         `json:"diffs,omitempty"`
}

// Agree reports whether no two nodes disagree at any height.
func (a *Agreement) Agree() bool { return len(a.Diffs) == 0 }

// CompareStores reads every node's block store (the network must be down)
// and compares the state hash of every height any two nodes both hold.
func CompareStores(dir string) (*Agreement, error) {
	f, err := Load(dir)
	if err != nil {
		return nil, err
	}
	stores := make([]*node.BlockStore, len(f.Nodes))
	defer func() {
		for _, s := range stores {
			if s != nil {
				s.Close()
			}
		}
	}()
	a := &Agreement{PerNode: map[string]int64{}, Heights: -1}
	var top int64
	for i, spec := range f.Nodes {
		s, err := node.OpenHomeBlockStore(filepath.Join(dir, spec.Home))
		if err != nil {
			return nil, fmt.Errorf("%s: %v", spec.Name, err)
		}
		stores[i] = s
		h := s.Height()
		a.PerNode[spec.Name] = h
		top = max(top, h)
		if a.Heights < 0 || h < a.Heights {
			a.Heights = h
		}
	}
	for h := int64(1); h <= top; h++ {
		var ref []byte
		refName := ""
		for i, s := range stores {
			if s.Height() < h {
				continue
			}
			b, err := s.Get(h)
			if err != nil {
				return nil, fmt.Errorf("%s: %v", f.Nodes[i].Name, err)
			}
			a.Compared++
			if ref == nil {
				ref, refName = b.AppHash, f.Nodes[i].Name
				continue
			}
			if !bytes.Equal(ref, b.AppHash) {
				if a.FirstDiff == 0 {
					a.FirstDiff = h
				}
				if len(a.Diffs) < 20 {
					a.Diffs = append(a.Diffs, fmt.Sprintf("height %d: %s has %x, %s has %x", h, refName, ref, f.Nodes[i].Name, b.AppHash))
				}
			}
		}
	}
	return a, nil
}
