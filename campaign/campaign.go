// Package campaign keeps an upgrade campaign for one release: every project
// party, its chains and nodes, and where each party stands (the
// regulation's §4.3: make an appointment with each party about the upgrade
// time and reason, and collect their feedback).
//
// A party moves planned -> notified -> acknowledged -> upgraded ->
// verified. Notified means an appointment (time and reason) was sent;
// acknowledged means the party confirmed the height it will use, after the
// height passed lint and the compatibility check; upgraded and verified are
// never declared by anyone: they come from the post-checks (package fleet)
// run against the party's own nodes — upgraded when every node runs the
// release's binary, verified when every post-check passes. The transitions
// are pure functions of the campaign and the evidence (Transition), so they
// are tested as a table; the campaign file is versioned and written
// atomically, so a restart at any point keeps every state.
package campaign

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/forkgate/forkgate/atomicfile"
)

// FileFormat versions the campaign file.
const FileFormat = 1

// States of a party.
type State string

const (
	Planned      State = "planned"
	Notified     State = "notified"
	Acknowledged State = "acknowledged"
	Upgraded     State = "upgraded"
	Verified     State = "verified"
)

// order is the states' rank; a party only moves forward, except that a
// failed post-check takes an upgraded or verified party back to
// acknowledged (a node reinstalled with another binary is not upgraded any
// more).
var order = map[State]int{Planned: 0, Notified: 1, Acknowledged: 2, Upgraded: 3, Verified: 4}

// Campaign is the whole file.
type Campaign struct {
	Format  int      `json:"format"`
	Release string   `json:"release"`
	Parties []*Party `json:"parties"`
	// Events is the append-only log of every transition and feedback.
	Events []Event `json:"events"`
}

// Party is one project party.
type Party struct {
	Name string `json:"name"`
	// Contact is where appointments go: "file:DIR" (an outbox directory,
	// the default) or "webhook:URL" (a JSON POST).
	Contact string    `json:"contact"`
	Chains  []Chain   `json:"chains"`
	State   State     `json:"state"`
	Since   time.Time `json:"since"`
	// Appointment is what was sent at notification.
	Appointment *Appointment `json:"appointment,omitempty"`
	// Heights are the acknowledged heights, per chain title and fork key.
	Heights  []AckHeight `json:"heights,omitempty"`
	Feedback []Feedback  `json:"feedback,omitempty"`
	// Evidence is the last check's summary (why the party is where it is).
	Evidence string `json:"evidence,omitempty"`
}

// Chain is one chain a party runs: its upgrade document and its nodes'
// status APIs.
type Chain struct {
	Title string   `json:"title"`
	Doc   string   `json:"doc"`
	Nodes []string `json:"nodes"`
}

// Appointment is the upgrade time and reason sent to a party.
type Appointment struct {
	Time   time.Time `json:"time"`
	Reason string    `json:"reason"`
	Sent   time.Time `json:"sent"`
	Via    string    `json:"via"` // the outbox file or the webhook URL
}

// AckHeight is a height a party confirmed for a fork item on a chain.
type AckHeight struct {
	Chain  string `json:"chain"`
	Fork   string `json:"fork"`
	Height int64  `json:"height"`
}

// Feedback is what a party said, with its time.
type Feedback struct {
	Time time.Time `json:"time"`
	Text string    `json:"text"`
}

// Event is one entry of the log.
type Event struct {
	Time     time.Time `json:"time"`
	Party    string    `json:"party"`
	From     State     `json:"from,omitempty"`
	To       State     `json:"to,omitempty"`
	Evidence string    `json:"evidence,omitempty"`
}

// New starts a campaign for a release.
func New(release string) *Campaign {
	return &Campaign{Format: FileFormat, Release: release, Parties: []*Party{}, Events: []Event{}}
}

// Party finds a party by name.
func (c *Campaign) Party(name string) (*Party, error) {
	for _, p := range c.Parties {
		if p.Name == name {
			return p, nil
		}
	}
	return nil, fmt.Errorf("no party %q in the campaign for %s", name, c.Release)
}

// Add adds a planned party.
func (c *Campaign) Add(p Party, at time.Time) error {
	if p.Name == "" || len(p.Chains) == 0 {
		return fmt.Errorf("a party needs a name and at least one chain (its document and nodes)")
	}
	if _, err := c.Party(p.Name); err == nil {
		return fmt.Errorf("party %q is already in the campaign", p.Name)
	}
	if p.Contact == "" {
		p.Contact = "file:outbox"
	}
	p.State, p.Since = Planned, at.UTC()
	c.Parties = append(c.Parties, &p)
	c.Events = append(c.Events, Event{Time: at.UTC(), Party: p.Name, To: Planned})
	return nil
}

// move records a transition.
func (c *Campaign) move(p *Party, to State, at time.Time, evidence string) {
	if p.State == to {
		p.Evidence = evidence
		return
	}
	c.Events = append(c.Events, Event{Time: at.UTC(), Party: p.Name, From: p.State, To: to, Evidence: evidence})
	p.State, p.Since, p.Evidence = to, at.UTC(), evidence
}

// AddFeedback records what a party said.
func (c *Campaign) AddFeedback(name, text string, at time.Time) error {
	p, err := c.Party(name)
	if err != nil {
		return err
	}
	p.Feedback = append(p.Feedback, Feedback{Time: at.UTC(), Text: text})
	c.Events = append(c.Events, Event{Time: at.UTC(), Party: name, Evidence: "feedback: " + text})
	return nil
}

// maxFile bounds a campaign file read from disk.
const maxFile = 64 << 20

// Load reads a campaign file.
func Load(path string) (*Campaign, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxFile+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxFile {
		return nil, fmt.Errorf("%s: larger than %d bytes: not a campaign file", path, maxFile)
	}
	var c Campaign
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("%s: not a campaign file: %v", path, err)
	}
	switch {
	case c.Format < 1:
		return nil, fmt.Errorf("%s: format %d: not a campaign file", path, c.Format)
	case c.Format > FileFormat:
		return nil, fmt.Errorf("%s: format %d, this forkgate reads up to %d: use a newer forkgate", path, c.Format, FileFormat)
	}
	for _, p := range c.Parties {
		if _, ok := order[p.State]; !ok {
			return nil, fmt.Errorf("%s: party %q has unknown state %q", path, p.Name, p.State)
		}
	}
	return &c, nil
}

// Save writes the campaign atomically (temporary file, fsync, rename).
func (c *Campaign) Save(path string) error {
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(path, append(b, '\n'), 0o644)
}
