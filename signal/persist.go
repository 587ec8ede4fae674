package signal

import "fmt"

// Every persisted value starts with formatV1 and has one encoding, so two
// nodes that processed the same inputs hold byte-identical stores.

func (c *Controller) put(key []byte, e enc) error {
	c.vbuf = e
	return c.store.Set(key, e)
}

func (c *Controller) saveMeta() error {
	e := enc(c.vbuf[:0]).u8(formatV1).u8(uint8(c.cfg.Mode)).u32(c.latest).
		u64(c.periods).u64(c.firstOpen).u64(c.nextID)
	c.kbuf = append(c.kbuf[:0], keyMeta...)
	return c.put(c.kbuf, e)
}

func (c *Controller) saveSet() error {
	e := enc(c.vbuf[:0]).u8(formatV1).u32(uint32(len(c.set)))
	for _, p := range c.set {
		e = e.str(p)
	}
	c.kbuf = append(c.kbuf[:0], keySet...)
	return c.put(c.kbuf, e)
}

func (c *Controller) saveSlot(i int) error {
	s := c.slots[i]
	e := enc(c.vbuf[:0]).u8(formatV1).u32(s.signal).u32(s.last)
	c.kbuf = appendKey32(c.kbuf, prefixSlot, uint32(i))
	return c.put(c.kbuf, e)
}

func (c *Controller) saveVersion(i int) error {
	v := &c.vers[i]
	e := enc(c.vbuf[:0]).u8(formatV1).u8(uint8(v.lc.State)).i64(v.lc.Since).u32(v.lc.GraceLeft).
		i64(v.lockedAt).i64(v.activeTime).u32(v.carriedBy)
	if v.bits == nil {
		e = e.u8(0)
	} else {
		e = e.u8(1).bytes(v.bits)
	}
	c.kbuf = appendKey32(c.kbuf, prefixVersion, v.p.Number)
	return c.put(c.kbuf, e)
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
	d := newDec(keyMeta, b)
	mode := Mode(d.u8())
	c.latest, c.periods, c.firstOpen, c.nextID = d.u32(), d.u64(), d.u64(), d.u64()
	if err := d.done(); err != nil {
		return err
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
	d := newDec(keySet, b)
	n := d.u32()
	if n > MaxProducers {
		return fmt.Errorf("state key %q holds %d producers, above the limit %d: the store is corrupt", keySet, n, MaxProducers)
	}
	set := make([]string, 0, n)
	for i := uint32(0); i < n && d.err == nil; i++ {
		set = append(set, d.str())
	}
	if err := d.done(); err != nil {
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
		d := newDec(fmt.Sprintf("%s%d", prefixSlot, i), b)
		c.slots[i] = slot{signal: d.u32(), last: d.u32()}
		if err := d.done(); err != nil {
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
		d := newDec(fmt.Sprintf("%s%d", prefixVersion, v.p.Number), b)
		v.lc = lifecycle{State: State(d.u8()), Since: d.i64(), GraceLeft: d.u32()}
		v.lockedAt, v.activeTime, v.carriedBy = d.i64(), d.i64(), d.u32()
		if d.u8() == 1 {
			v.bits = d.bytes()
			if v.bits == nil {
				v.bits = []byte{}
			}
		}
		if err := d.done(); err != nil {
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
