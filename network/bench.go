package network

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// BenchOptions configure Bench.
type BenchOptions struct {
	// App is "forkgate" (the reference chain, [node] workload) or "kvstore"
	// (CometBFT's example app; its proposer adds as many key=value
	// transactions as forkgate's adds workload transactions).
	App         string
	Validators  int           // default 4
	TxsPerBlock int           // default 16
	Duration    time.Duration // measured window; default 30s
	// Partition is how long the last validator is cut off before the
	// catch-up measurement (default 10s; negative: none).
	Partition time.Duration
	Binary    Binary
	Log       io.Writer
}

// BenchResult is one measured run.
type BenchResult struct {
	App          string      `json:"app"`
	Validators   int         `json:"validators"`
	TxsPerBlock  int         `json:"txs_per_block"`
	Seconds      float64     `json:"seconds"`
	Blocks       int64       `json:"blocks"`
	Txs          int64       `json:"txs"` // workload transactions (forkgate's signal transactions not counted)
	BlocksPerSec float64     `json:"blocks_per_second"`
	TxsPerSec    float64     `json:"txs_per_second"`
	Nodes        []NodeUsage `json:"nodes"`
	// The last validator, cut off for CutSeconds, fell BlocksBehind behind
	// and caught up in CatchUpSeconds after the heal.
	CutSeconds     float64 `json:"cut_seconds,omitempty"`
	BlocksBehind   int64   `json:"blocks_behind,omitempty"`
	CatchUpSeconds float64 `json:"catch_up_seconds,omitempty"`
}

// NodeUsage is one node process's CPU (percent of one core over the
// measured window) and resident memory at its end.
type NodeUsage struct {
	Name       string  `json:"name"`
	CPUPercent float64 `json:"cpu_percent"`
	RSSMB      float64 `json:"rss_mb"`
}

// Bench measures a network of opts.Validators nodes on loopback: blocks/s,
// transactions/s, CPU and memory per node, and the catch-up of a validator
// after a partition. The network lives in a temporary directory.
func Bench(ctx context.Context, o BenchOptions) (*BenchResult, error) {
	if o.Validators == 0 {
		o.Validators = 4
	}
	if o.TxsPerBlock == 0 {
		o.TxsPerBlock = 16
	}
	if o.Duration == 0 {
		o.Duration = 30 * time.Second
	}
	if o.Partition == 0 {
		o.Partition = 10 * time.Second
	}
	if o.App == "" {
		o.App = "forkgate"
	}
	log := syncWriter(o.Log)
	runArgs := append([]string{}, o.Binary.RunArgs...)
	switch o.App {
	case "forkgate":
	case "kvstore":
		runArgs = append(runArgs, "--app", "kvstore")
	default:
		return nil, fmt.Errorf("app %q: use forkgate or kvstore", o.App)
	}
	tmp, err := os.MkdirTemp("", "forkgate-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	dir := filepath.Join(tmp, "net")
	if _, err := Init(dir, Options{Validators: o.Validators, Binaries: []string{o.Binary.Path}, Args: o.Binary.Args, Env: o.Binary.Env,
		RunArgs: runArgs, TxsPerBlock: o.TxsPerBlock}); err != nil {
		return nil, err
	}
	nw, err := Up(ctx, dir, UpOptions{WaitHeight: -1, Log: log})
	if err != nil {
		return nil, err
	}
	defer nw.Down()
	// Wait on CometBFT's RPC (the kvstore nodes have no forkgate status).
	if err := nw.waitRPCHeight(ctx, nil, 3, 60*time.Second); err != nil {
		return nil, err
	}
	r := &BenchResult{App: o.App, Validators: o.Validators, TxsPerBlock: o.TxsPerBlock}
	h0, err := nw.rpcHeight(ctx, 0)
	if err != nil {
		return nil, err
	}
	cpu0 := make([]float64, o.Validators)
	for i := range cpu0 {
		cpu0[i], _ = procCPU(nw.Pid(i))
	}
	t0 := time.Now()
	fmt.Fprintf(log, "bench %s: measuring %s from height %d\n", o.App, o.Duration, h0)
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(o.Duration):
	}
	h1, err := nw.rpcHeight(ctx, 0)
	if err != nil {
		return nil, err
	}
	r.Seconds = time.Since(t0).Seconds()
	for i := range cpu0 {
		c1, _ := procCPU(nw.Pid(i))
		rss, _ := procRSS(nw.Pid(i))
		r.Nodes = append(r.Nodes, NodeUsage{Name: nw.File.Nodes[i].Name, CPUPercent: 100 * (c1 - cpu0[i]) / r.Seconds, RSSMB: rss})
	}
	r.Blocks = h1 - h0
	for h := h0 + 1; h <= h1; h++ {
		n, err := nw.rpcBlockTxs(ctx, 0, h)
		if err != nil {
			return nil, err
		}
		if o.App == "forkgate" && n > 0 {
			n-- // the proposer's signal transaction
		}
		r.Txs += int64(n)
	}
	r.BlocksPerSec, r.TxsPerSec = float64(r.Blocks)/r.Seconds, float64(r.Txs)/r.Seconds
	fmt.Fprintf(log, "bench %s: %d blocks, %d txs in %.1fs\n", o.App, r.Blocks, r.Txs, r.Seconds)

	if o.Partition > 0 && o.Validators > 1 {
		last := o.Validators - 1
		name := nw.File.Nodes[last].Name
		if err := nw.Perturb(name, Cut, ""); err != nil {
			return nil, err
		}
		time.Sleep(o.Partition)
		r.CutSeconds = o.Partition.Seconds()
		if err := nw.Perturb(name, Heal, ""); err != nil {
			return nil, err
		}
		healed := time.Now()
		top, err := nw.rpcHeight(ctx, 0)
		if err != nil {
			return nil, err
		}
		at, _ := nw.rpcHeight(ctx, last)
		r.BlocksBehind = top - at
		if err := nw.waitRPCHeight(ctx, []int{last}, top, 90*time.Second); err != nil {
			return nil, err
		}
		r.CatchUpSeconds = time.Since(healed).Seconds()
		fmt.Fprintf(log, "bench %s: %s cut %.0fs, %d blocks behind, caught up in %.1fs\n", o.App, name, r.CutSeconds, r.BlocksBehind, r.CatchUpSeconds)
	}
	return r, nil
}

// rpcGet fetches a CometBFT RPC path of node i.
func (nw *Network) rpcGet(ctx context.Context, i int, path string, out any) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", "http://"+nw.rpc[i]+path, nil)
	if err != nil {
		return err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	return json.NewDecoder(io.LimitReader(res.Body, 64<<20)).Decode(out)
}

func (nw *Network) rpcHeight(ctx context.Context, i int) (int64, error) {
	var st struct {
		Result struct {
			SyncInfo struct {
				Height string `json:"latest_block_height"`
			} `json:"sync_info"`
		} `json:"result"`
	}
	if err := nw.rpcGet(ctx, i, "/status", &st); err != nil {
		return 0, err
	}
	return strconv.ParseInt(st.Result.SyncInfo.Height, 10, 64)
}

// rpcPower is node i's voting power in CometBFT's current validator set.
func (nw *Network) rpcPower(ctx context.Context, i int) (int64, error) {
	var st struct {
		Result struct {
			ValidatorInfo struct {
				Power string `json:"voting_power"`
			} `json:"validator_info"`
		} `json:"result"`
	}
	if err := nw.rpcGet(ctx, i, "/status", &st); err != nil {
		return 0, err
	}
	return strconv.ParseInt(st.Result.ValidatorInfo.Power, 10, 64)
}

func (nw *Network) rpcBlockTxs(ctx context.Context, i int, h int64) (int, error) {
	var b struct {
		Result struct {
			Block struct {
				Data struct {
					Txs []string `json:"txs"`
				} `json:"data"`
			} `json:"block"`
		} `json:"result"`
	}
	if err := nw.rpcGet(ctx, i, fmt.Sprintf("/block?height=%d", h), &b); err != nil {
		return 0, err
	}
	return len(b.Result.Block.Data.Txs), nil
}

func (nw *Network) waitRPCHeight(ctx context.Context, nodes []int, h int64, timeout time.Duration) error {
	if nodes == nil {
		for i := range nw.File.Nodes {
			nodes = append(nodes, i)
		}
	}
	deadline := time.Now().Add(timeout)
	for {
		ok := true
		for _, i := range nodes {
			if got, err := nw.rpcHeight(ctx, i); err != nil || got < h {
				ok = false
			}
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("height %d not reached within %s (logs in %s)", h, timeout, filepath.Join(nw.Dir, "logs"))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// procCPU is a process's user+system CPU time in seconds (Linux /proc).
func procCPU(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: too short", pid)
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100, nil // USER_HZ is 100 on Linux
}

// procRSS is a process's resident memory in MB.
func procRSS(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			kb, _ := strconv.ParseFloat(strings.Fields(line)[1], 64)
			return kb / 1024, nil
		}
	}
	return 0, fmt.Errorf("/proc/%d/status: no VmRSS", pid)
}
