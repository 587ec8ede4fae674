package upgradedoc

import (
	"fmt"
	"strings"
	"time"

	"github.com/forkgate/forkgate/forkfile"
	"github.com/forkgate/forkgate/schedule"
)

// suggest computes the fork items this chain must configure: every fork
// added or changed since the base, at a height in the chain's own domain,
// or in its parent's for a fork that follows the parent (taking the height
// suggested for the parent when the parent is known). A configured height
// that the chain has already passed moves to head + lead, or is an error
// without a lead. It returns the items and the suggested config: the new
// config with those values, edited in place (note kept, a dated record
// line for each changed value).
func suggest(nf, bf *forkfile.File, c ChainInput, parent *forkfile.File, lead int64, date string) ([]Item, *forkfile.File, error) {
	items := []Item{}
	out := nf
	for _, ch := range forkfile.Diff(bf, nf) {
		if ch.What != "fork" || ch.Kind == "removed" {
			continue
		}
		it, ok := findItem(nf, ch.Name)
		if !ok {
			continue
		}
		item := Item{Key: it.Key(), Section: it.Section(), Name: it.Name, Configured: forkfile.FormatActivation(it.Activation, it.Domain),
			Kind: it.Activation.Kind.String(), Domain: it.Domain.String(), Change: ch.Kind, Note: noteOf(it)}
		item.Value = item.Configured
		a := it.Activation
		switch a.Kind {
		case schedule.KindNever:
			item.Basis = "the chain's config leaves this fork off (-1); nothing activates"
		case schedule.KindVersion:
			item.Basis = fmt.Sprintf("activates when the producers adopt protocol version %d; there is no height to configure", a.Version)
		case schedule.KindTime:
			item.Basis = fmt.Sprintf("activates at the first block with time >= %d (%s UTC)", a.Time, time.Unix(a.Time, 0).UTC().Format("2006-01-02 15:04:05"))
		case schedule.KindHeight:
			h, basis, err := suggestHeight(it, c, parent, lead)
			if err != nil {
				return nil, nil, err
			}
			item.Height, item.Basis = &h, basis
			item.Value = forkfile.FormatActivation(schedule.AtHeight(h), it.Domain)
		}
		if item.Value != item.Configured {
			note := strings.Join(noteLines(it), "\n")
			if note == "" {
				note = "suggested for this chain: " + item.Basis
			}
			edited, err := forkfile.Set(out, forkfile.SetRequest{Key: it.Scope + "." + it.Name, Value: item.Value, Note: note, Date: date})
			if err != nil {
				return nil, nil, inputErr("%s: suggesting %s = %s: %v", c.Config, it.Key(), item.Value, err)
			}
			if out, err = forkfile.Read(nf.Doc.File, edited); err != nil {
				return nil, nil, fmt.Errorf("internal: the suggested config does not read back: %v", err)
			}
		}
		items = append(items, item)
	}
	return items, out, nil
}

func suggestHeight(it forkfile.Item, c ChainInput, parent *forkfile.File, lead int64) (int64, string, error) {
	h := it.Activation.Height
	if it.Domain != schedule.DomainParent {
		switch {
		case h > c.Head:
			return h, fmt.Sprintf("the configured height %d is above the chain head %d", h, c.Head), nil
		case lead > 0:
			return c.Head + lead, fmt.Sprintf("the configured height %d is at or below the chain head %d: head + %d", h, c.Head, lead), nil
		}
		return 0, "", &CheckError{Chain: c.Config, Msg: fmt.Sprintf("fork %s is configured at height %d, at or below the chain head %d, so it would rewrite history; schedule a later height in the config, or give --lead N to suggest head + N", it.Key(), h, c.Head)}
	}
	if c.ParentHead < 0 {
		return 0, "", inputErr("chain %s: fork %s follows the parent chain's height, so the parent's head is needed: give --parent-head P", c.Config, it.Key())
	}
	if parent != nil {
		if p, ok := findItem(parent, it.Key()); ok && p.Domain == schedule.DomainOwn && p.Activation.Kind == schedule.KindHeight {
			ph := p.Activation.Height
			if ph <= c.ParentHead {
				return 0, "", &CheckError{Chain: c.Config, Msg: fmt.Sprintf("fork %s follows the parent chain, which activates it at its height %d (%s), at or below the parent head %d: this chain can no longer follow it there; give the fork its own height", it.Key(), ph, parent.Doc.File, c.ParentHead)}
			}
			return ph, fmt.Sprintf("follows the parent chain's height %d (%s), above the parent head %d", ph, parent.Doc.File, c.ParentHead), nil
		}
	}
	switch {
	case h > c.ParentHead:
		return h, fmt.Sprintf("the configured parent height %d is above the parent head %d", h, c.ParentHead), nil
	case lead > 0:
		return c.ParentHead + lead, fmt.Sprintf("the configured parent height %d is at or below the parent head %d: parent head + %d", h, c.ParentHead, lead), nil
	}
	return 0, "", &CheckError{Chain: c.Config, Msg: fmt.Sprintf("fork %s is configured at parent height %d, at or below the parent head %d; schedule a later parent height, or give --lead N", it.Key(), h, c.ParentHead)}
}

func findItem(f *forkfile.File, key string) (forkfile.Item, bool) {
	for _, it := range f.Items {
		if it.Key() == key {
			return it, true
		}
	}
	return forkfile.Item{}, false
}

// noteLines are the comment lines above an item, without the '#'.
func noteLines(it forkfile.Item) []string {
	lines := make([]string, 0, len(it.Entry.Above))
	for _, l := range it.Entry.Above {
		lines = append(lines, strings.TrimSpace(strings.TrimLeft(strings.TrimSpace(l), "#")))
	}
	return lines
}

// noteOf is the note above an item on one line.
func noteOf(it forkfile.Item) string { return strings.Join(noteLines(it), " ") }
