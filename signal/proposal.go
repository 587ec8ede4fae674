package signal

import (
	"errors"
	"fmt"
)

// Proposals are TRON's business-logic upgrades: signalling shows the
// software is ready, then a producer proposes a parameter change, producers
// approve it, and it takes effect at the next maintenance.

var (
	ErrNotProducer      = errors.New("not a producer of the current set")
	ErrUnknownParam     = errors.New("unknown parameter")
	ErrVersionNotActive = errors.New("the parameter's version is not active")
	ErrTooManyProposals = errors.New("too many open proposals")
	ErrUnknownProposal  = errors.New("no such open proposal")
	ErrAlreadyApproved  = errors.New("already approved")
)

type proposal struct {
	id        uint64
	proposer  string
	param     string
	value     int64
	height    int64
	approvals []byte // one byte per slot of the period's set
}

func (c *Controller) paramIndex(name string) int {
	for i, p := range c.cfg.Params {
		if p.Name == name {
			return i
		}
	}
	return -1
}

// Param returns a parameter's current value.
func (c *Controller) Param(name string) (int64, bool) {
	if i := c.paramIndex(name); i >= 0 {
		return c.params[i], true
	}
	return 0, false
}

// Propose opens a proposal by producer (a member of the current set) to set
// param to value, at height. It is rejected when the parameter belongs to a
// version that is not active at height. Approvals are explicit: the proposer
// approves like anyone else.
func (c *Controller) Propose(height int64, producer, param string, value int64) (uint64, error) {
	if err := c.usable(height); err != nil {
		return 0, err
	}
	if _, ok := c.index[producer]; !ok {
		return 0, fmt.Errorf("propose %s: %q is %w", param, producer, ErrNotProducer)
	}
	pi := c.paramIndex(param)
	if pi < 0 {
		return 0, fmt.Errorf("propose %q: %w: declare it in the config's params", param, ErrUnknownParam)
	}
	if v := c.cfg.Params[pi].Version; v != 0 {
		since, ok := c.ActivationHeight(v)
		if !ok || since > height {
			return 0, fmt.Errorf("propose %s: %w: it belongs to version %d, which is not active at height %d; wait until the version activates", param, ErrVersionNotActive, v, height)
		}
	}
	if len(c.props) >= maxOpenProposals {
		return 0, fmt.Errorf("propose %s: %w: %d proposals are open, the limit; wait for the next maintenance to decide them", param, ErrTooManyProposals, len(c.props))
	}
	p := &proposal{id: c.nextID, proposer: producer, param: param, value: value, height: height, approvals: make([]byte, len(c.set))}
	c.nextID++
	c.props = append(c.props, p)
	if err := c.saveProposal(p); err != nil {
		return 0, c.fail(err)
	}
	if err := c.saveMeta(); err != nil {
		return 0, c.fail(err)
	}
	return p.id, nil
}

// Approve records producer's approval of open proposal id. It carries no
// height: approvals arrive inside blocks the chain already accepted, and the
// chain refuses blocks at or above a halt.
func (c *Controller) Approve(producer string, id uint64) error {
	if err := c.usable(0); err != nil {
		return err
	}
	s, ok := c.index[producer]
	if !ok {
		return fmt.Errorf("approve proposal %d: %q is %w", id, producer, ErrNotProducer)
	}
	for _, p := range c.props {
		if p.id != id {
			continue
		}
		if p.approvals[s] == 1 {
			return fmt.Errorf("approve proposal %d: %q has %w it", id, producer, ErrAlreadyApproved)
		}
		p.approvals[s] = 1
		if err := c.saveProposal(p); err != nil {
			return c.fail(err)
		}
		return nil
	}
	return fmt.Errorf("approve proposal %d: %w (proposals are decided at the maintenance after they are made)", id, ErrUnknownProposal)
}

// decideProposals runs at maintenance against the outgoing set, in id order:
// approved changes take effect now, the rest expire. approvals*den >=
// num*setSize, in integers.
func (c *Controller) decideProposals() error {
	n := len(c.set)
	for _, p := range c.props {
		count := 0
		for _, a := range p.approvals {
			count += int(a)
		}
		if n > 0 && uint64(count)*uint64(c.cfg.ApprovalDen) >= uint64(c.cfg.ApprovalNum)*uint64(n) {
			i := c.paramIndex(p.param)
			c.params[i] = p.value
			if err := c.saveParam(i); err != nil {
				return err
			}
		}
		c.kbuf = appendKey64(c.kbuf, prefixProposal, p.id)
		if err := c.store.Delete(c.kbuf); err != nil {
			return err
		}
	}
	c.props = nil
	c.firstOpen = c.nextID
	return nil
}

// maxOpenProposals bounds the open proposals a stored state may claim, so a
// corrupt counter is refused instead of driving a long load loop.
const maxOpenProposals = 1 << 20

func (c *Controller) saveProposal(p *proposal) error {
	w := c.value()
	w.String(p.proposer)
	w.String(p.param)
	w.I64(p.value)
	w.I64(p.height)
	w.Bytes(p.approvals)
	c.kbuf = appendKey64(c.kbuf, prefixProposal, p.id)
	return c.put(c.kbuf, w)
}

func (c *Controller) loadProposal(id uint64) error {
	c.kbuf = appendKey64(c.kbuf, prefixProposal, id)
	b, err := c.store.Get(c.kbuf)
	if err != nil {
		return err
	}
	if b == nil {
		return fmt.Errorf("open proposal %d is missing from the store: the store is corrupt", id)
	}
	r := readValue(b)
	p := &proposal{id: id, proposer: r.String(), param: r.String(), value: r.I64(), height: r.I64(), approvals: r.Bytes()}
	if err := doneValue(fmt.Sprintf("%s%d", prefixProposal, id), r); err != nil {
		return err
	}
	if len(p.approvals) != len(c.set) || c.paramIndex(p.param) < 0 {
		return fmt.Errorf("open proposal %d does not match the producer set or the declared params: the store is corrupt or the config changed", id)
	}
	c.props = append(c.props, p)
	return nil
}

func (c *Controller) saveParam(i int) error {
	w := c.value()
	w.I64(c.params[i])
	c.kbuf = append(append(c.kbuf[:0], prefixParam...), c.cfg.Params[i].Name...)
	return c.put(c.kbuf, w)
}

func (c *Controller) loadParam(i int, name string) error {
	b, err := c.get(prefixParam + name)
	if err != nil || b == nil {
		return err
	}
	r := readValue(b)
	c.params[i] = r.I64()
	return doneValue(prefixParam+name, r)
}
