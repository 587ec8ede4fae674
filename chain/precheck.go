package chain

import (
	"crypto/sha256"
	"runtime"
	"sync"
)

// A user transaction's stateless checks (decoding, the chain ID and its
// ed25519 signature, most of a replay's CPU time) depend on its bytes alone,
// so they run on every core, before and while blocks execute one by one:
// FinalizeBlock checks a block's transactions in parallel, and a node
// replaying blocks calls Precheck with the next blocks' transactions so that
// their signatures are verified while the current block executes and
// commits. The result of a check is the same function of the bytes wherever
// it runs (validTx), so execution, state and results are identical to a
// sequential check; only the time moves.

// maxPrechecked bounds the checks kept for blocks not yet executed.
const maxPrechecked = 1 << 16

// CheckCache remembers transactions' stateless checks across Apps that
// replay the same blocks (upgrade verification runs a chain's blocks in
// several homes at once; Options.Checks). A check is a function of the
// bytes alone, so a remembered result is the one the App would compute.
type CheckCache struct {
	mu sync.RWMutex
	m  map[[32]byte]checkResult
}

type checkResult struct {
	tx  *Tx
	err error
}

// maxCached bounds a CheckCache; past it, checks are not remembered.
const maxCached = 1 << 18

func (c *CheckCache) get(h [32]byte) (checkResult, bool) {
	if c == nil {
		return checkResult{}, false
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	r, ok := c.m[h]
	return r, ok
}

func (c *CheckCache) put(h [32]byte, r checkResult) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[[32]byte]checkResult{}
	}
	if len(c.m) < maxCached {
		c.m[h] = r
	}
}

// precheck is one transaction's stateless check, done or in progress.
type precheck struct {
	done chan struct{}
	tx   *Tx
	err  error
	uses int // FinalizeBlock calls that will take it (a transaction may repeat)
}

// prechecks holds the checks started ahead of FinalizeBlock, by hash.
type prechecks struct {
	mu sync.Mutex
	m  map[[32]byte]*precheck
}

// Precheck starts the stateless checks of user transactions that a later
// FinalizeBlock will execute (a block's transactions without the signal
// transaction), on other goroutines, and returns at once. FinalizeBlock
// takes the results, waiting for any not yet done. Calling it is optional:
// a transaction not prechecked is checked in FinalizeBlock.
func (a *App) Precheck(txs [][]byte) {
	a.pre.mu.Lock()
	if a.pre.m == nil {
		a.pre.m = map[[32]byte]*precheck{}
	}
	var todo []*precheck
	var raws [][]byte
	for _, raw := range txs {
		h := sha256.Sum256(raw)
		if p, ok := a.pre.m[h]; ok {
			p.uses++
			continue
		}
		if _, ok := a.checks.get(h); ok {
			continue
		}
		if len(a.pre.m) >= maxPrechecked {
			break // FinalizeBlock checks the rest itself
		}
		p := &precheck{done: make(chan struct{}), uses: 1}
		a.pre.m[h] = p
		todo, raws = append(todo, p), append(raws, raw)
	}
	a.pre.mu.Unlock()
	a.runChecks(todo, raws)
}

// runChecks checks raws[i] into todo[i] on up to GOMAXPROCS goroutines.
func (a *App) runChecks(todo []*precheck, raws [][]byte) {
	workers := min(runtime.GOMAXPROCS(0), len(todo))
	for w := 0; w < workers; w++ {
		go func() {
			for i := w; i < len(todo); i += workers {
				todo[i].tx, todo[i].err = a.validTx(raws[i])
				close(todo[i].done)
			}
		}()
	}
}

// checked returns the stateless check of each user transaction of a block:
// those prechecked are taken (waiting if needed), the others are checked
// now, in parallel.
func (a *App) checked(txs [][]byte) []*precheck {
	out := make([]*precheck, len(txs))
	hashes := make([][32]byte, len(txs))
	var todo []*precheck
	var raws [][]byte
	a.pre.mu.Lock()
	for i, raw := range txs {
		h := sha256.Sum256(raw)
		hashes[i] = h
		if r, ok := a.checks.get(h); ok {
			out[i] = &precheck{done: closed, tx: r.tx, err: r.err}
			continue
		}
		if p, ok := a.pre.m[h]; ok {
			out[i] = p
			if p.uses--; p.uses == 0 {
				delete(a.pre.m, h)
			}
			continue
		}
		p := &precheck{done: make(chan struct{})}
		out[i] = p
		todo, raws = append(todo, p), append(raws, raw)
	}
	a.pre.mu.Unlock()
	a.runChecks(todo, raws)
	for i, p := range out {
		<-p.done
		if p.done != closed {
			a.checks.put(hashes[i], checkResult{p.tx, p.err})
		}
	}
	return out
}

// closed is a done channel for checks taken from a CheckCache.
var closed = func() chan struct{} { c := make(chan struct{}); close(c); return c }()
