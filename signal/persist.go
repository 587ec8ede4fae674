package signal

import "fmt"

// Every persisted value starts with formatV1 and has one encoding, so two
// nodes that processed the same inputs hold byte-identical stores.

func (c *Controller) saveMeta() error {
	w := c.value()
	w.U8(uint8(c.cfg.Mode))
	w.U32(c.latest)
	w.U64(c.periods)
	w.U64(c.firstOpen)
	w.U64(c.nextID)
	c.kbuf = append(c.kbuf[:0], keyMeta...)
	return c.put(c.kbuf, w)
}

func (c *Controller) saveSet() error {
	w := c.value()
	w.U32(uint32(len(c.set)))
	for _, p := range c.set {
		w.String(p)
	}
	c.kbuf = append(c.kbuf[:0], keySet...)
	return c.put(c.kbuf, w)
}

func (c *Controller) saveSlot(i int) error {
	s := c.slots[i]
	w := c.value()
	w.U32(s.signal)
	w.U32(s.last)
	c.kbuf = appendKey32(c.kbuf, prefixSlot, uint32(i))
	return c.put(c.kbuf, w)
}

func (c *Controller) saveVersion(i int) error {
	v := &c.vers[i]
	w := c.value()
	w.U8(uint8(v.lc.State))
	w.I64(v.lc.Since)
	w.U32(v.lc.GraceLeft)
	w.I64(v.lockedAt)
	w.I64(v.activeTime)
	w.U32(v.carriedBy)
	w.Bool(v.bits != nil)
	if v.bits != nil {
		w.Bytes(v.bits)
	}
	c.kbuf = appendKey32(c.kbuf, prefixVersion, v.p.Number)
	return c.put(c.kbuf, w)
}

func (c *Controller) get(key string) ([]byte, error) {
	c.kbuf = append(c.kbuf[:0], key...)
	return c.store.Get(c.kbuf)
}

// load rebuilds the in-memory state from the store; derived values (slot
// index, live tallies, counts of ones) are recomputed, never stored.
func (c *Controller) load() error {
	b, err := c.get(keyMeta)
	if err != nil {
		return err
	}
	if b == nil {
		return nil // a fresh store: the first Maintenance writes everything
	}
	r := readValue(b)
	mode := Mode(r.U8())
	c.latest, c.periods, c.firstOpen, c.nextID = r.U32(), r.U64(), r.U64(), r.U64()
	if err := doneValue(keyMeta, r); err != nil {
		return err
	}
	if c.nextID < c.firstOpen || c.nextID-c.firstOpen > maxOpenProposals {
		return fmt.Errorf("state key %q: proposal ids %d..%d are out of range: the store is corrupt", keyMeta, c.firstOpen, c.nextID)
	}
	if mode != c.cfg.Mode {
		return fmt.Errorf("the store was written in %s mode but the config says %s: a chain cannot switch modes", mode, c.cfg.Mode)
	}
	if err := c.loadSet(); err != nil {
		return err
	}
	for i := range c.vers {
		if err := c.loadVersion(i); err != nil {
			return err
		}
	}
	for i, p := range c.cfg.Params {
		if err := c.loadParam(i, p.Name); err != nil {
			return err
		}
	}
	for id := c.firstOpen; id < c.nextID; id++ {
		if err := c.loadProposal(id); err != nil {
			return err
		}
	}
	return nil
}

func (c *Controller) loadSet() error {
	b, err := c.get(keySet)
	if err != nil || b == nil {
		return err
	}
	r := readValue(b)
	n := r.Count(MaxProducers, 4)
	set := make([]string, 0, n)
	for i := 0; i < n && r.Err() == nil; i++ {
		set = append(set, r.String())
	}
	if err := doneValue(keySet, r); err != nil {
		return err
	}
	c.set = set
	c.slots = make([]slot, len(set))
	for i, p := range set {
		c.index[p] = i
		c.kbuf = appendKey32(c.kbuf, prefixSlot, uint32(i))
		b, err := c.store.Get(c.kbuf)
		if err != nil {
			return err
		}
		if b == nil {
			return fmt.Errorf("slot %d of the producer set is missing from the store: the store is corrupt", i)
		}
		r := readValue(b)
		c.slots[i] = slot{signal: r.U32(), last: r.U32()}
		if err := doneValue(fmt.Sprintf("%s%d", prefixSlot, i), r); err != nil {
			return err
		}
	}
	return nil
}

func (c *Controller) loadVersion(i int) error {
	v := &c.vers[i]
	c.kbuf = appendKey32(c.kbuf, prefixVersion, v.p.Number)
	b, err := c.store.Get(c.kbuf)
	if err != nil {
		return err
	}
	if b != nil {
		r := readValue(b)
		v.lc = lifecycle{State: State(r.U8()), Since: r.I64(), GraceLeft: r.U32()}
		v.lockedAt, v.activeTime, v.carriedBy = r.I64(), r.I64(), r.U32()
		if r.Bool() {
			v.bits = r.Bytes()
			if v.bits == nil {
				v.bits = []byte{}
			}
		}
		if err := doneValue(fmt.Sprintf("%s%d", prefixVersion, v.p.Number), r); err != nil {
			return err
		}
		if v.lc.State > Failed {
			return fmt.Errorf("version %d has unknown state %d in the store: the store is corrupt or newer", v.p.Number, v.lc.State)
		}
		for _, x := range v.bits {
			v.ones += int(x & 1)
		}
	}
	for _, s := range c.slots {
		if s.signal >= v.p.Number {
			v.live++
		}
	}
	return nil
}
