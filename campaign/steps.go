package campaign

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/forkgate/forkgate/atomicfile"
	"github.com/forkgate/forkgate/fleet"
	"github.com/forkgate/forkgate/forkfile"
	"github.com/forkgate/forkgate/schedule"
	"github.com/forkgate/forkgate/upgradedoc"
)

// Notify sends a party its appointment (upgrade time and reason) and moves
// it from planned to notified. dir resolves a relative file: outbox.
// Notifying again (a reminder) sends again and keeps the state.
func (c *Campaign) Notify(ctx context.Context, name string, when time.Time, reason, dir string, at time.Time) error {
	p, err := c.Party(name)
	if err != nil {
		return err
	}
	if order[p.State] > order[Notified] {
		return fmt.Errorf("party %s is already %s: nothing to notify", name, p.State)
	}
	if strings.TrimSpace(reason) == "" {
		return fmt.Errorf("an appointment needs a reason (the regulation: the upgrade time and reason)")
	}
	ap := &Appointment{Time: when.UTC(), Reason: reason, Sent: at.UTC()}
	msg := message{Format: FileFormat, Release: c.Release, Party: p.Name, Time: ap.Time, Reason: reason, Chains: p.Chains}
	kind, target, _ := strings.Cut(p.Contact, ":")
	switch kind {
	case "file":
		if !filepath.IsAbs(target) {
			target = filepath.Join(dir, target)
		}
		if err := os.MkdirAll(target, 0o755); err != nil {
			return err
		}
		file := filepath.Join(target, fmt.Sprintf("%s-%s.md", p.Name, c.Release))
		if err := atomicfile.Write(file, []byte(msg.markdown()), 0o644); err != nil {
			return err
		}
		ap.Via = file
	case "webhook":
		b, _ := json.Marshal(msg)
		if err := post(ctx, target, b); err != nil {
			return fmt.Errorf("party %s: %v; the party stays %s, notify again", name, err, p.State)
		}
		ap.Via = target
	default:
		return fmt.Errorf("party %s: contact %q: use file:DIR or webhook:URL", name, p.Contact)
	}
	p.Appointment = ap
	c.move(p, Notified, at, fmt.Sprintf("appointment for %s sent to %s", ap.Time.Format(time.RFC3339), ap.Via))
	return nil
}

// message is what a party receives.
type message struct {
	Format  int       `json:"format"`
	Release string    `json:"release"`
	Party   string    `json:"party"`
	Time    time.Time `json:"time"`
	Reason  string    `json:"reason"`
	Chains  []Chain   `json:"chains"`
}

func (m message) markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Upgrade to %s: appointment for %s\n\nTime: %s\n\nReason: %s\n\n", m.Release, m.Party, m.Time.Format(time.RFC3339), m.Reason)
	for _, ch := range m.Chains {
		fmt.Fprintf(&b, "- chain %s: upgrade document %s\n", ch.Title, ch.Doc)
	}
	b.WriteString("\nReply with the height you will use for each fork item (forkgate campaign ack) and any feedback.\n")
	return b.String()
}

// post sends a webhook, retrying twice.
func post(ctx context.Context, url string, body []byte) error {
	var last error
	for i := 0; i < 3; i++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		cl := &http.Client{Timeout: 5 * time.Second}
		resp, err := cl.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode/100 == 2 {
				return nil
			}
			err = fmt.Errorf("webhook %s: %s", url, resp.Status)
		}
		last = err
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(i+1) * 200 * time.Millisecond):
		}
	}
	return last
}

// Acknowledge records the height a party confirms for a fork item of one
// of its chains, and moves it to acknowledged. The height is set in the
// document's suggested config, which must still pass lint and the
// compatibility check at head (the chain's height now): a height at or
// below the head would rewrite history and is refused.
func (c *Campaign) Acknowledge(name, chain, fork string, height, head int64, doc *upgradedoc.Document, at time.Time) error {
	p, err := c.Party(name)
	if err != nil {
		return err
	}
	if p.State != Notified && p.State != Acknowledged {
		return fmt.Errorf("party %s is %s: only a notified party acknowledges", name, p.State)
	}
	if err := checkHeight(doc, fork, height, head); err != nil {
		return fmt.Errorf("party %s, chain %s: %v", name, chain, err)
	}
	ack := AckHeight{Chain: chain, Fork: fork, Height: height}
	replaced := false
	for i, h := range p.Heights {
		if h.Chain == chain && h.Fork == fork {
			p.Heights[i], replaced = ack, true
		}
	}
	if !replaced {
		p.Heights = append(p.Heights, ack)
	}
	c.move(p, Acknowledged, at, fmt.Sprintf("confirmed %s at height %d on %s (lint and compat passed at head %d)", fork, height, chain, head))
	return nil
}

// checkHeight sets fork to height in the document's suggested config and
// runs lint and the compatibility check against the suggestion at head.
func checkHeight(doc *upgradedoc.Document, fork string, height, head int64) error {
	if doc.Suggested.Config == "" {
		return fmt.Errorf("the document has no suggested config to check the height against")
	}
	base, err := forkfile.Read("suggested config", []byte(doc.Suggested.Config))
	if err != nil {
		return err
	}
	src, err := forkfile.Set(base, forkfile.SetRequest{Key: fork, Value: fmt.Sprint(height),
		Note: "the height the party confirmed in the upgrade campaign", Date: time.Now().UTC().Format("2006-01-02")})
	if err != nil {
		return err
	}
	next, err := forkfile.Read("acknowledged config", src)
	if err != nil {
		return err
	}
	var errs []string
	for _, f := range forkfile.Lint(next, forkfile.LintOptions{Base: base}) {
		if f.Severity == schedule.SevError {
			errs = append(errs, f.String())
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("height %d for %s fails lint: %s", height, fork, strings.Join(errs, "; "))
	}
	bs, bfs := base.Schedule(nil, false)
	ns, nfs := next.Schedule(nil, false)
	if bfs.HasErrors() || nfs.HasErrors() {
		return fmt.Errorf("height %d for %s: the schedule has errors (forkgate config lint)", height, fork)
	}
	if ce := schedule.CheckCompatible(bs.Snapshot(), ns.Snapshot(), schedule.Head{Height: head}); ce != nil {
		return fmt.Errorf("height %d for %s is not compatible with the chain at height %d: %v; choose a height above the head", height, fork, head, ce)
	}
	return nil
}

// Evidence moves a party by the post-check reports of its chains (one per
// chain, in order): upgraded when every node of every chain runs the
// release's binary, verified when, in addition, every post-check passes.
// A wrong binary, an old release or an unreachable node keeps the party
// acknowledged (or takes it back there), naming the node.
func (c *Campaign) Evidence(name string, reports []*fleet.Report, at time.Time) error {
	p, err := c.Party(name)
	if err != nil {
		return err
	}
	if order[p.State] < order[Acknowledged] {
		return fmt.Errorf("party %s is %s: it must acknowledge before its nodes are checked", name, p.State)
	}
	if len(reports) != len(p.Chains) {
		return fmt.Errorf("party %s: %d report(s) for %d chain(s)", name, len(reports), len(p.Chains))
	}
	var blocking, failing []string
	nodes := 0
	for i, r := range reports {
		if r.Phase != upgradedoc.PhasePost || r.Release != c.Release {
			return fmt.Errorf("party %s, chain %s: the evidence is a %s check of release %s; give the post-check of %s", name, p.Chains[i].Title, r.Phase, r.Release, c.Release)
		}
		for _, n := range r.Nodes {
			nodes++
			if n.Upgrade != fleet.UpgradeUpgraded {
				why := n.Upgrade
				switch n.Upgrade {
				case fleet.UpgradeWrongBinary:
					why = fmt.Sprintf("wrong binary (sha256 %s)", n.BinarySHA256)
				case fleet.UpgradeUnknown:
					why = "unreachable"
				case fleet.UpgradePending, fleet.UpgradeOther:
					why = "runs " + n.AppVersion
				}
				blocking = append(blocking, fmt.Sprintf("%s/%s: %s", p.Chains[i].Title, n.Name, why))
			}
		}
		for _, f := range r.Findings() {
			failing = append(failing, p.Chains[i].Title+": "+f.Line())
		}
	}
	switch {
	case nodes == 0:
		return fmt.Errorf("party %s: the reports hold no node", name)
	case len(blocking) > 0:
		c.move(p, Acknowledged, at, "not upgraded: "+strings.Join(blocking, "; "))
	case len(failing) > 0:
		c.move(p, Upgraded, at, fmt.Sprintf("all %d node(s) run %s; post-check findings: %s", nodes, c.Release, strings.Join(failing, " | ")))
	default:
		if p.State == Acknowledged {
			c.move(p, Upgraded, at, fmt.Sprintf("all %d node(s) run %s's binary", nodes, c.Release))
		}
		c.move(p, Verified, at, fmt.Sprintf("every post-check passed on %d node(s)", nodes))
	}
	return nil
}

// Check runs the post-checks of each of a party's chains against its nodes
// and applies them as evidence.
func (c *Campaign) Check(ctx context.Context, name, dir string, timeout time.Duration, at time.Time) ([]*fleet.Report, error) {
	p, err := c.Party(name)
	if err != nil {
		return nil, err
	}
	var reps []*fleet.Report
	for _, ch := range p.Chains {
		docPath := ch.Doc
		if !filepath.IsAbs(docPath) {
			docPath = filepath.Join(dir, docPath)
		}
		doc, err := upgradedoc.Read(docPath)
		if err != nil {
			return nil, fmt.Errorf("party %s, chain %s: %v", name, ch.Title, err)
		}
		targets, err := fleet.ParseTargets(strings.Join(ch.Nodes, ","))
		if err != nil {
			return nil, fmt.Errorf("party %s, chain %s: %v", name, ch.Title, err)
		}
		snap := fleet.Collect(ctx, targets, timeout)
		rep, err := fleet.Check(ctx, snap, doc, ch.Doc, upgradedoc.PhasePost, fleet.Options{Timeout: timeout})
		if err != nil {
			return nil, err
		}
		reps = append(reps, rep)
	}
	return reps, c.Evidence(name, reps, at)
}
