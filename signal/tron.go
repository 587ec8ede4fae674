package signal

// Tron mode reproduces java-tron's ForkController after TIP-555 (v4.7.2+):
// one stats array per declared version (1 = that slot produced a block
// carrying exactly this version this period), pass = time gate rounded up to
// the maintenance interval and count*100 >= rate*len(stats), the
// latestVersion guard, the lazy cascade and the reset after the new SR list.
// Differences that cannot change an outcome are listed in docs/signal.md.

// tronPass is java-tron's pass(v) for declared version i at head time t.
// Old versions (rate 100, time 0) reduce to check(): every slot is 1.
func (c *Controller) tronPass(i int, t int64) bool {
	vr := &c.vers[i]
	if t < vr.gate || len(vr.bits) == 0 {
		return false
	}
	return vr.ones*100 >= int(vr.p.Rate)*len(vr.bits)
}

func (c *Controller) setBit(vr *version, s int, b byte) {
	if vr.bits[s] != b {
		vr.bits[s] = b
		if b == 1 {
			vr.ones++
		} else {
			vr.ones--
		}
		vr.dirty = true
	}
}

// tronBlock is java-tron's update(block), which runs after the block's
// execution, so pass() sees this block's time.
func (c *Controller) tronBlock(height, time int64, s int, ok bool, v uint32) error {
	if ok {
		if c.slots[s].last != v {
			c.slots[s].last = v
			if err := c.saveSlot(s); err != nil {
				return err
			}
		}
		if v >= tronMinSignal && c.latest < v {
			if err := c.tronUpdate(time, s, v); err != nil {
				return err
			}
		}
	}
	c.tronMaterialise(height, time)
	return nil
}

func (c *Controller) tronUpdate(t int64, s int, v uint32) error {
	n := len(c.set)
	// downgrade(): clear this slot in every higher unpassed version.
	for i := len(c.vers) - 1; i >= 0 && c.vers[i].p.Number > v; i-- {
		vr := &c.vers[i]
		// After TIP-555 every unpassed array has the current set's length
		// (reset recreates it), so s is in range; the guard only documents
		// that no index can go out of bounds.
		if vr.bits != nil && s < len(vr.bits) && !c.tronPass(i, t) {
			c.setBit(vr, s, 0)
		}
	}
	i := c.find(v)
	if i < 0 {
		// java-tron would store an array for a version outside its enum; its
		// pass() is always false and nothing reads it, so it is not kept.
		return nil
	}
	vr := &c.vers[i]
	if c.tronPass(i, t) {
		// upgrade(): fill every lower unpassed version with ones. The
		// passing block does not set its own bit (java-tron returns first).
		for j := 0; j < i; j++ {
			if c.tronPass(j, t) {
				continue
			}
			lo := &c.vers[j]
			if len(lo.bits) == 0 {
				lo.bits = make([]byte, n)
			}
			for k := range lo.bits {
				lo.bits[k] = 1
			}
			lo.ones = len(lo.bits)
			lo.dirty = true
		}
		c.latest = v
		return c.saveMeta()
	}
	if vr.bits == nil || len(vr.bits) != n {
		vr.bits, vr.ones = make([]byte, n), 0
		vr.dirty = true
	}
	c.setBit(vr, s, 1)
	return nil
}

// tronMaterialise records what pass() now answers. pass() is a pure read in
// java-tron; during the next block's execution it sees this block's time, so
// a version that passes here is active from height+1. Once true it stays
// true: a passed array is never modified again.
func (c *Controller) tronMaterialise(height, time int64) {
	for i := range c.vers {
		vr := &c.vers[i]
		if vr.lc.State == Active {
			continue
		}
		if vr.lc.State == Defined && time >= vr.gate {
			vr.lc = lifecycle{State: Started, Since: height + 1}
			vr.dirty = true
		}
		if c.tronPass(i, time) {
			vr.lc = lifecycle{State: Active, Since: height + 1}
			vr.activeTime = time
			vr.dirty = true
		}
	}
}

// tronReset is java-tron's reset(), run after the new SR list is saved:
// every unpassed version with an array gets a zero array of the new size.
// pass() there sees the parent's time, i.e. exactly what tronMaterialise
// recorded after the previous block.
func (c *Controller) tronReset() {
	for i := range c.vers {
		vr := &c.vers[i]
		if vr.bits == nil || vr.lc.State == Active {
			continue
		}
		vr.bits, vr.ones = make([]byte, len(c.set)), 0
		vr.dirty = true
	}
}
