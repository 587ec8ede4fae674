package signal

// Default mode: a slot's latest signal in the period supports every version
// at or below it. Tallies are derived from the slots, so lowering a signal
// withdraws support from every higher unpassed version, in every case.

func (c *Controller) defaultBlock(height, time int64, s int, ok bool, v uint32) error {
	if ok {
		sl := &c.slots[s]
		if sl.signal != v || sl.last != v {
			old := sl.signal
			for i := range c.vers {
				n := c.vers[i].p.Number
				was, now := old >= n, v >= n
				if was != now {
					if now {
						c.vers[i].live++
					} else {
						c.vers[i].live--
					}
				}
			}
			sl.signal, sl.last = v, v
			if err := c.saveSlot(s); err != nil {
				return err
			}
		}
	}
	c.evaluate(event{Height: height, Time: time})
	return nil
}

// evaluate moves every version through its lifecycle for one input, then
// applies the cascade: passing v passes every lower version, activating v
// activates every lower version.
func (c *Controller) evaluate(ev event) {
	n := len(c.set)
	for i := range c.vers {
		vr := &c.vers[i]
		if vr.lc.State == Active || vr.lc.State == Failed {
			continue // terminal: the common steady state costs one comparison
		}
		e := ev
		e.Met = !ev.Maintenance && meets(vr.live, vr.p.Rate, n)
		c.step(vr, e)
	}
	hiPassed, hiActive := -1, -1
	for i := range c.vers {
		if c.vers[i].lc.State.passed() {
			hiPassed = i
		}
		if c.vers[i].lc.State == Active {
			hiActive = i
		}
	}
	for i := 0; i < hiPassed; i++ {
		vr := &c.vers[i]
		if vr.lc.State.passed() {
			continue
		}
		vr.lc = lifecycle{State: LockedIn, Since: ev.Height + 1, GraceLeft: vr.p.Grace}
		vr.carriedBy = c.vers[hiPassed].p.Number
		c.lockIn(vr, ev)
		// Its own grace and min height may already allow activation.
		c.step(vr, event{Height: ev.Height, Time: ev.Time})
		if vr.lc.State == Active && i > hiActive {
			hiActive = i
		}
	}
	for i := 0; i < hiActive; i++ {
		vr := &c.vers[i]
		if vr.lc.State == Active {
			continue
		}
		if vr.carriedBy == 0 {
			vr.carriedBy = c.vers[hiActive].p.Number
		}
		vr.lc = lifecycle{State: Active, Since: ev.Height + 1}
		vr.activeTime = ev.Time
		vr.dirty = true
	}
}

// step advances one version and records what a transition implies.
func (c *Controller) step(vr *version, e event) {
	before := vr.lc
	vr.lc = advance(&vr.p, vr.lc, e)
	if vr.lc == before {
		return
	}
	vr.dirty = true
	if !before.State.passed() && vr.lc.State.passed() {
		c.lockIn(vr, e)
	}
	if before.State != Active && vr.lc.State == Active {
		vr.activeTime = e.Time
	}
}

// lockIn freezes the tally as it stood when the version passed: its
// denominator is the size of its own set (TIP-555), forever.
func (c *Controller) lockIn(vr *version, e event) {
	vr.lockedAt = e.Height + 1
	vr.bits = make([]byte, len(c.slots))
	vr.ones = 0
	for j := range c.slots {
		if c.slots[j].signal >= vr.p.Number {
			vr.bits[j] = 1
			vr.ones++
		}
	}
	vr.dirty = true
}
