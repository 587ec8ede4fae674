// Package fleet checks many nodes of a chain at once against an upgrade
// document (the regulation's §4.3–4.4: status checks before and after the
// upgrade, find inconsistent state, report it back).
//
// Collect reads every node's status API concurrently, each within a
// timeout. Agree groups the nodes by the state hash they hold at common
// heights and, when they disagree, finds by binary search the first height
// where each minority split from the majority. Check runs the document's
// pre or post checks (plus the fleet's own: reachable, lagging, halted for
// the upgrade, schedule agreement, signalling on track) and gives one
// finding per problem, each with what to do. Metrics exports a snapshot as
// Prometheus gauges in a registry of its own.
package fleet

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/forkgate/forkgate/nodestatus"
)

// Target is one node to check: its status API, and optionally its home on
// this machine (for the checks that read files: staged binary, disk).
type Target struct {
	Name string `json:"name"`
	URL  string `json:"url"`
	Home string `json:"home,omitempty"`
}

// MaxTargets bounds a fleet read from flags or files.
const MaxTargets = 1000

// ParseTargets reads "URL,URL,..." or "name=URL,...". Nodes without a name
// are named n0, n1, ... in order.
func ParseTargets(list string) ([]Target, error) {
	var out []Target
	seen := map[string]bool{}
	for i, item := range strings.Split(list, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		name, addr, named := strings.Cut(item, "=")
		if !named {
			name, addr = fmt.Sprintf("n%d", i), item
		}
		u := addr
		if !strings.Contains(u, "://") {
			u = "http://" + u
		}
		pu, err := url.Parse(u)
		if err != nil || pu.Host == "" || (pu.Scheme != "http" && pu.Scheme != "https") {
			return nil, fmt.Errorf("node %q: %q is not a status API address (host:port or http://host:port)", name, addr)
		}
		if seen[name] {
			return nil, fmt.Errorf("node name %q is used twice", name)
		}
		seen[name] = true
		out = append(out, Target{Name: name, URL: u})
		if len(out) > MaxTargets {
			return nil, fmt.Errorf("more than %d nodes", MaxTargets)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no nodes given")
	}
	return out, nil
}

// Node is what one node reported.
type Node struct {
	Target
	Reachable bool               `json:"reachable"`
	Error     string             `json:"error,omitempty"`
	Status    *nodestatus.Status `json:"status,omitempty"`
	// Stopped is the home's upgrade-info.json when the status API did not
	// answer: the node exited for an upgrade (exit code 3).
	Stopped *nodestatus.UpgradeInfo `json:"stopped,omitempty"`
	// Disk is the home's data size and the free space beside it (homes on
	// this machine only).
	Disk *Disk `json:"disk,omitempty"`
}

// Disk is a home's space.
type Disk struct {
	Data int64 `json:"data_bytes"`
	Free int64 `json:"free_bytes"`
}

// diskOf measures HOME/data and the free space of its filesystem.
func diskOf(home string) *Disk {
	data := filepath.Join(home, "data")
	free, ok := freeBytes(data)
	if !ok {
		return nil
	}
	var size int64
	filepath.WalkDir(data, func(_ string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				size += fi.Size()
			}
		}
		return nil
	})
	return &Disk{Data: size, Free: free}
}

// readStopped reads HOME/data/upgrade-info.json (nil when absent or bad).
func readStopped(home string) *nodestatus.UpgradeInfo {
	b, err := os.ReadFile(filepath.Join(home, "data", "upgrade-info.json"))
	if err != nil || len(b) > nodestatus.MaxBody {
		return nil
	}
	var info nodestatus.UpgradeInfo
	if json.Unmarshal(b, &info) != nil || info.Format != nodestatus.UpgradeInfoFormat || info.Height < 1 {
		return nil
	}
	return &info
}

// Snapshot is the fleet at one moment.
type Snapshot struct {
	Time  time.Time `json:"time"`
	Nodes []Node    `json:"nodes"`
}

// Fetcher reads a node's status; nodestatus.Fetch by default.
type Fetcher func(ctx context.Context, addr string, timeout time.Duration) (*nodestatus.Status, error)

// Collect reads every target's status concurrently, each within timeout
// (0: 5 s). A node that does not answer is in the snapshot, unreachable,
// with the error.
func Collect(ctx context.Context, targets []Target, timeout time.Duration) Snapshot {
	return CollectWith(ctx, targets, timeout, nodestatus.Fetch)
}

// CollectWith is Collect with another status reader.
func CollectWith(ctx context.Context, targets []Target, timeout time.Duration, fetch Fetcher) Snapshot {
	snap := Snapshot{Time: time.Now().UTC(), Nodes: make([]Node, len(targets))}
	var wg sync.WaitGroup
	// At most 16 requests at once: a big fleet must not open a thousand
	// connections from an operator's laptop.
	sem := make(chan struct{}, 16)
	for i, t := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			n := Node{Target: t}
			var st *nodestatus.Status
			err := fmt.Errorf("no status API address: is the node running?")
			if t.URL != "" {
				st, err = fetch(ctx, t.URL, timeout)
			}
			if t.Home != "" {
				n.Disk = diskOf(t.Home)
			}
			if err != nil {
				n.Error = err.Error()
				if t.Home != "" {
					n.Stopped = readStopped(t.Home)
				}
			} else {
				n.Reachable, n.Status = true, st
			}
			snap.Nodes[i] = n
		}()
	}
	wg.Wait()
	return snap
}

// reachable returns the nodes that answered, highest first (ties by name).
func (s Snapshot) reachable() []Node {
	var out []Node
	for _, n := range s.Nodes {
		if n.Reachable {
			out = append(out, n)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Status.Height != out[j].Status.Height {
			return out[i].Status.Height > out[j].Status.Height
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// MaxHeight is the highest height any node reported.
func (s Snapshot) MaxHeight() int64 {
	var m int64
	for _, n := range s.Nodes {
		if n.Reachable && n.Status.Height > m {
			m = n.Status.Height
		}
	}
	return m
}
