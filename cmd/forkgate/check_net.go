package main

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/forkgate/forkgate/fleet"
	"github.com/forkgate/forkgate/network"
)

// netTargets lists the nodes of a forkgate net directory: each node's
// status API from the address its running node writes
// (HOME/data/http.addr), and its home, where a node that exited for an
// upgrade leaves upgrade-info.json.
func netTargets(dir string) ([]fleet.Target, error) {
	f, err := network.Load(dir)
	if err != nil {
		return nil, err
	}
	var out []fleet.Target
	for _, n := range f.Nodes {
		home := filepath.Join(dir, n.Home)
		t := fleet.Target{Name: n.Name, Home: home}
		if b, err := os.ReadFile(filepath.Join(home, "data", "http.addr")); err == nil {
			t.URL = "http://" + strings.TrimSpace(string(b))
		}
		out = append(out, t)
	}
	return out, nil
}
