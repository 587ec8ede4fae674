package fleet

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/forkgate/forkgate/nodestatus"
)

// Hasher reads the state hash a node committed at a height.
type Hasher interface {
	StateHash(ctx context.Context, n Node, height int64) (string, error)
}

// HTTPHasher reads past state hashes from the status API (GET
// /status/hashes) and caches them: a committed height's hash never changes.
type HTTPHasher struct {
	Timeout time.Duration
	mu      sync.Mutex
	cache   map[hashKey]string
}

type hashKey struct {
	url    string
	height int64
}

// StateHash implements Hasher. The head's hash comes from the status.
func (h *HTTPHasher) StateHash(ctx context.Context, n Node, height int64) (string, error) {
	if n.Status != nil && height == n.Status.Height && n.Status.StateHash != "" {
		return n.Status.StateHash, nil
	}
	k := hashKey{n.URL, height}
	h.mu.Lock()
	v, ok := h.cache[k]
	h.mu.Unlock()
	if ok {
		return v, nil
	}
	hs, err := nodestatus.FetchHashes(ctx, n.URL, height, height, h.Timeout)
	if err != nil {
		return "", err
	}
	if len(hs) != 1 || hs[0].Height != height {
		return "", fmt.Errorf("node %s does not hold height %d", n.Name, height)
	}
	h.mu.Lock()
	if h.cache == nil {
		h.cache = map[hashKey]string{}
	}
	h.cache[k] = hs[0].StateHash
	h.mu.Unlock()
	return hs[0].StateHash, nil
}

// Agreement says whether the reachable nodes hold the same state.
type Agreement struct {
	Agree bool `json:"agree"`
	// Groups are the nodes that agree with each other, the majority first.
	Groups [][]string `json:"groups"`
	// Splits name, for each minority group, the first height where its
	// state hash differs from the majority's.
	Splits []Split `json:"splits,omitempty"`
	// SplitHeight is the lowest split height (0: none).
	SplitHeight int64 `json:"split_height,omitempty"`
	// Errors are hashes that could not be read (the comparison is then
	// incomplete, which is a finding too).
	Errors []string `json:"errors,omitempty"`
}

// Split is where one group of nodes left the majority.
type Split struct {
	Height       int64    `json:"height"`
	Majority     []string `json:"majority"`
	Minority     []string `json:"minority"`
	MajorityHash string   `json:"majority_hash"` // at Height
	MinorityHash string   `json:"minority_hash"`
	// Agreed is the height below, where both still held the same hash
	// (0 when they differ from the first block).
	Agreed int64 `json:"agreed"`
}

// Agree compares the reachable nodes of a snapshot. Nodes are taken highest
// first; each joins the first group whose first node holds the same state
// hash at the lower of their two heights, or starts a new group. The
// largest group (ties: the one with the highest node) is the majority. For
// every other group, a binary search over [1, the lower head] between the
// two groups' first nodes finds the height where the hashes start to
// differ: the hash at Height differs and the one at Height-1 agrees. State
// hashes commit to the whole state, so two nodes that split stay split, and
// that boundary is the first divergent height.
//
// Nodes of different chains (another genesis hash, or chain title when a
// node reports no genesis) are never compared: each chain has its own
// groups, and a fleet of several chains agrees when each chain does.
func Agree(ctx context.Context, snap Snapshot, h Hasher) Agreement {
	var a Agreement
	byChain := map[string][]Node{}
	var chains []string
	for _, n := range snap.reachable() {
		k := n.Status.GenesisHash
		if k == "" {
			k = "title:" + n.Status.Title
		}
		if _, ok := byChain[k]; !ok {
			chains = append(chains, k)
		}
		byChain[k] = append(byChain[k], n)
	}
	a.Agree = true
	for _, k := range chains {
		agreeChain(ctx, byChain[k], h, &a)
	}
	a.Agree = a.Agree && len(a.Errors) == 0
	sort.SliceStable(a.Splits, func(i, j int) bool { return a.Splits[i].Height < a.Splits[j].Height })
	return a
}

// agreeChain groups one chain's nodes (highest first) and adds its groups
// and splits to a.
func agreeChain(ctx context.Context, nodes []Node, h Hasher, a *Agreement) {
	type group struct{ nodes []Node }
	var groups []*group
	hash := func(n Node, height int64) (string, bool) {
		v, err := h.StateHash(ctx, n, height)
		if err != nil {
			a.Errors = append(a.Errors, fmt.Sprintf("node %s, height %d: %v", n.Name, height, err))
			return "", false
		}
		return v, true
	}
	for _, n := range nodes {
		joined := false
		for _, g := range groups {
			rep := g.nodes[0]
			m := min(n.Status.Height, rep.Status.Height)
			if m < 1 {
				g.nodes = append(g.nodes, n) // nothing committed to compare yet
				joined = true
				break
			}
			x, ok1 := hash(rep, m)
			y, ok2 := hash(n, m)
			if !ok1 || !ok2 || x == y {
				// Unreadable hashes are reported as errors, not as a split.
				g.nodes = append(g.nodes, n)
				joined = true
				break
			}
		}
		if !joined {
			groups = append(groups, &group{nodes: []Node{n}})
		}
	}
	// The majority: most nodes; ties go to the group created first (it
	// holds the highest node).
	sort.SliceStable(groups, func(i, j int) bool { return len(groups[i].nodes) > len(groups[j].nodes) })
	names := func(ns []Node) []string {
		out := make([]string, len(ns))
		for i, n := range ns {
			out[i] = n.Name
		}
		sort.Strings(out)
		return out
	}
	for _, g := range groups {
		a.Groups = append(a.Groups, names(g.nodes))
	}
	if len(groups) <= 1 {
		return
	}
	a.Agree = false
	maj := groups[0].nodes[0]
	for _, g := range groups[1:] {
		rep := g.nodes[0]
		top := min(maj.Status.Height, rep.Status.Height)
		at, ok := firstDifference(top, func(height int64) (bool, bool) {
			x, ok1 := hash(maj, height)
			y, ok2 := hash(rep, height)
			return x != y, ok1 && ok2
		})
		if !ok {
			continue
		}
		s := Split{Height: at, Majority: names(groups[0].nodes), Minority: names(g.nodes), Agreed: at - 1}
		s.MajorityHash, _ = hash(maj, at)
		s.MinorityHash, _ = hash(rep, at)
		a.Splits = append(a.Splits, s)
		if a.SplitHeight == 0 || at < a.SplitHeight {
			a.SplitHeight = at
		}
	}
}

// firstDifference finds the lowest height in [1, top] where differ is
// true, given that it is true at top: a binary search that keeps
// differ(hi) true and differ(lo) false (lo = 0 stands for "before the
// first block"). ok is false when a hash could not be read.
func firstDifference(top int64, differ func(int64) (diff, ok bool)) (int64, bool) {
	lo, hi := int64(0), top
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		d, ok := differ(mid)
		if !ok {
			return 0, false
		}
		if d {
			hi = mid
		} else {
			lo = mid
		}
	}
	return hi, true
}
