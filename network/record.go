package network

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/forkgate/forkgate/atomicfile"
	"github.com/forkgate/forkgate/chain"
	"github.com/forkgate/forkgate/node"
	"github.com/forkgate/forkgate/verify"
)

// WriteChainDir makes chainDir a library chain directory for the network's
// chain (docs/verify.md): node name's config.toml as a solo node's (engine
// "solo", every producer, no [node.cometbft]) with a [library] table whose
// settings give the network's genesis and blocks = the given height. Then
// `forkgate record --from-home` (or RecordNode) records the network's own
// blocks as its fixture, and `forkgate verify` checks them like the
// library's.
func WriteChainDir(dir, name, chainDir string, blocks int64) (string, error) {
	f, err := Load(dir)
	if err != nil {
		return "", err
	}
	i, err := f.Index(name)
	if err != nil {
		return "", err
	}
	home := filepath.Join(dir, f.Nodes[i].Home)
	raw, err := os.ReadFile(filepath.Join(home, "config.toml"))
	if err != nil {
		return "", err
	}
	if k := strings.Index(string(raw), "\n"+cometMarker); k >= 0 {
		raw = raw[:k+1]
	}
	cfg, err := node.SetNodeKeys(raw, map[string]string{"engine": `"solo"`, "producers": "[]"})
	if err != nil {
		return "", fmt.Errorf("%s: %v", filepath.Join(home, "config.toml"), err)
	}
	g, err := chain.LoadGenesis(node.Home(home).Genesis())
	if err != nil {
		return "", err
	}
	lib := fmt.Sprintf("\n# Written by forkgate net record: the settings of the network in %s, so that node init\n# makes its genesis again; blocks 1..%d are %s's, recorded from its block store.\n"+
		"[library]\nchain_id = %q\nproducers = %d\naccounts = %d\nseed = %q\nmaintenance_interval = %d\ngenesis_time = %d\nproducer_slots = %d\nvalidator_delay = %d\nblocks = %d\n",
		dir, blocks, name, g.ChainID, len(g.Producers), node.DefaultAccounts, f.Seed, g.MaintenanceInterval, g.Time, g.ProducerSlots, g.ValidatorDelay, blocks)
	if err := os.MkdirAll(chainDir, 0o755); err != nil {
		return "", err
	}
	if err := atomicfile.Write(filepath.Join(chainDir, verify.ConfigFile), append(cfg, lib...), 0o644); err != nil {
		return "", err
	}
	return home, nil
}
