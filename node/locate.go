package node

import "github.com/forkgate/forkgate/schedule"

// locator maps activations to heights of this node's chain, for the status
// report and the compatibility check alike (schedule.Locator is the one
// function that answers "at which height does this fork activate here"):
//
//   - parent heights by the genesis' anchoring (block h sits at parent height
//     ParentStart + h), exact in the future too;
//   - times through the stored blocks' times up to the head, and past the
//     head through the solo producer's fixed block interval;
//   - versions through the signal controller of the committed state.
//
// Callers hold n.mu or have exclusive use of the node (Open).
func (n *Node) locator() schedule.Locator {
	g := n.l.genesis
	loc := schedule.Locator{VersionHeight: n.app.Signal().ActivationHeight}
	if g.ParentStart > 0 {
		loc.HeightAtParent = g.HeightAtParent
	}
	loc.HeightAtTime = func(t int64) (int64, bool) {
		top := n.app.Height()
		if n.blocks != nil {
			top = min(top, n.blocks.Height())
		}
		if t <= g.Time {
			return 0, true // active from genesis
		}
		topTime := g.Time
		if top > 0 {
			b, err := n.blocks.Get(top)
			if err != nil {
				return 0, false
			}
			topTime = b.Time
		}
		if t > topTime {
			// Not reached yet: the solo producer's next blocks come one
			// interval apart.
			iv := n.l.cfg.Node.BlockInterval
			return top + (t-topTime+iv-1)/iv, true
		}
		lo, hi := int64(1), top // first stored height with time >= t
		for lo < hi {
			m := lo + (hi-lo)/2
			b, err := n.blocks.Get(m)
			if err != nil {
				return 0, false
			}
			if b.Time >= t {
				hi = m
			} else {
				lo = m + 1
			}
		}
		return lo, true
	}
	return loc
}
