package upgradedoc

import (
	"fmt"
	"strings"

	"github.com/forkgate/forkgate/schedule"
)

// activations are the lowest and highest own and parent activation heights
// of the suggested items.
type activations struct {
	ownMin, ownMax       *int64
	parentMin, parentMax *int64
}

func activationsOf(items []Item) activations {
	var a activations
	lower := func(p **int64, h int64, less bool) {
		if *p == nil || (less && h < **p) || (!less && h > **p) {
			v := h
			*p = &v
		}
	}
	for _, it := range items {
		if it.Height == nil {
			continue
		}
		if it.Domain == schedule.DomainParent.String() {
			lower(&a.parentMin, *it.Height, true)
			lower(&a.parentMax, *it.Height, false)
		} else {
			lower(&a.ownMin, *it.Height, true)
			lower(&a.ownMax, *it.Height, false)
		}
	}
	return a
}

// binaryPath is where the steps leave the binary: the archive's top
// directory inside the fetched release directory.
func binaryPath(d *Document) string {
	return "forkgate-" + d.Release.Version + "/" + d.Release.BinaryPath
}

func checks(d *Document) Checks {
	r := d.Release
	bin := binaryPath(d)
	a := activationsOf(d.Suggested.Items)
	var forks, active []ExpectFork
	for _, it := range d.Suggested.Items {
		forks = append(forks, ExpectFork{Key: it.Key, Value: it.Value})
		ef := ExpectFork{Key: it.Key, Value: it.Value}
		if it.Height != nil && it.Domain == schedule.DomainOwn.String() {
			ef.ActiveFrom = it.Height
		}
		if it.Kind != schedule.KindNever.String() {
			active = append(active, ef)
		}
	}
	cs := []Check{
		{ID: CheckReleaseSignature, Phase: PhasePre, Source: SourceRelease,
			What:    "the release's checksums file carries a good signature by the release key",
			Expect:  Expect{PublicKey: r.PublicKey, KeyID: r.KeyID, ChecksumsSHA256: sha(r.ChecksumsText)},
			Command: fmt.Sprintf("minisign -Vm forkgate-%s/%s -P %s", r.Version, r.Checksums, r.PublicKey)},
		{ID: CheckBinarySHA256, Phase: PhasePre, Source: SourceBinary,
			What:    "the binary to install is the release's binary",
			Expect:  Expect{SHA256: r.BinarySHA256},
			Command: "sha256sum " + bin},
		{ID: CheckBinaryVersion, Phase: PhasePre, Source: SourceBinary,
			What:    "the binary reports the release's version, commit, protocol version and fork registry",
			Expect:  Expect{Version: r.Version, Commit: r.Commit, Implemented: r.Implemented, RegistryHash: r.RegistryHash, ScheduleHash: r.ScheduleHash},
			Command: bin + " version --format json"},
		{ID: CheckConfigForks, Phase: PhasePre, Source: SourceConfig,
			What:    "the node's config is this chain's and holds every suggested fork item with the suggested value",
			Expect:  Expect{Title: d.Chain.Title, Forks: forks},
			Command: "forkgate config show HOME/config.toml --format json"},
	}
	if a.ownMin != nil || a.parentMin != nil {
		what := "the node has not reached the first activation height yet, so the switch happens before it"
		cs = append(cs, Check{ID: CheckNodeBeforeForks, Phase: PhasePre, Source: SourceNode, What: what,
			Expect: Expect{HeightBelow: a.ownMin, ParentBelow: a.parentMin}, Command: "forkgate node status HOME --format json"})
	}
	cs = append(cs, Check{ID: CheckNodesAgreePre, Phase: PhasePre, Source: SourceNodes,
		What:    "every node of the chain reports the same state hash at the same height",
		Expect:  Expect{Agree: true, FromHeight: ptr(d.Chain.Head)},
		Command: "forkgate node status HOME --format json   # on each node: compare state_hash at equal heights"})

	from := d.Chain.Head + 1
	if a.ownMax != nil {
		from = *a.ownMax + 1
	}
	cs = append(cs,
		Check{ID: CheckNodeVersion, Phase: PhasePost, Source: SourceNode,
			What:    "the node runs the release: its status reports the release's version and protocol version",
			Expect:  Expect{Version: r.Version, Implemented: r.Implemented},
			Command: "forkgate node status HOME --format json   # app_version, implemented"},
		Check{ID: CheckNodeForksActive, Phase: PhasePost, Source: SourceNode,
			What:    "the node's schedule holds each suggested fork, active from its height once the chain passes it",
			Expect:  Expect{Forks: active},
			Command: "forkgate node status HOME --format json   # forks.all"},
		Check{ID: CheckNodeAdvancing, Phase: PhasePost, Source: SourceNode,
			What:    "the node keeps producing or following blocks past the last activation height",
			Expect:  Expect{HeightAtLeast: ptr(from)},
			Command: "forkgate node status HOME --format json   # height, twice a block interval apart"},
		Check{ID: CheckNodesAgreePost, Phase: PhasePost, Source: SourceNodes,
			What:    "every node reports the same state hash at every height from the first activation on",
			Expect:  Expect{Agree: true, FromHeight: firstOf(a.ownMin, d.Chain.Head)},
			Command: "forkgate node status HOME --format json   # on each node: compare state_hash at equal heights"},
	)
	return Checks{Format: ChecksFormat, Checks: cs}
}

func ptr(v int64) *int64 { return &v }

func firstOf(p *int64, def int64) *int64 {
	if p != nil {
		return ptr(*p)
	}
	return ptr(def)
}

func steps(d *Document) []Step {
	r := d.Release
	doc := DocName(d) + ".json"
	dir := "forkgate-" + r.Version
	when := "Install it at any time: this is a small release (no new fork, no changed fork-gated rule)."
	a := activationsOf(d.Suggested.Items)
	if r.Kind != "small" {
		switch {
		case a.ownMin != nil:
			when = fmt.Sprintf("Install it before the chain reaches height %d, the first activation height on this chain: a node without this release stops there (exit code 3, upgrade needed).", *a.ownMin)
		case a.parentMin != nil:
			when = fmt.Sprintf("Install it before the parent chain reaches height %d, the first activation this chain follows.", *a.parentMin)
		default:
			when = "Install it before the producers adopt the new protocol version: a node without this release stops when the version activates (exit code 3, upgrade needed)."
		}
	}
	if r.MinHeight > 0 {
		when += fmt.Sprintf(" This release must not run below height %d.", r.MinHeight)
	}
	var set []string
	for _, it := range d.Suggested.Items {
		set = append(set, fmt.Sprintf("forkgate config set HOME/config.toml %s %s --note %s", it.Key, shellQuote(it.Value), shellQuote(firstSentence(it.Note, it.Key))))
	}
	set = append(set,
		"forkgate config lint HOME/config.toml --registry REGISTRY.toml   # optional: the release's fork registry",
		fmt.Sprintf("forkgate config compat %s HOME/config.toml --head %d", shellQuote(d.Chain.Base), d.Chain.Head))
	configDetail := fmt.Sprintf("Set each fork item of section 3 in the node's config, with the value suggested for this chain (title %q). Each chain's heights differ: configure them independently, never by copying another chain's config. Or replace the config with the suggested configuration in full (suggested.config in %s).", d.Chain.Title, doc)
	if len(d.Suggested.Items) == 0 {
		configDetail = "This release adds and changes no fork item on this chain; the config's other changes are in section 2."
	}
	return []Step{
		{N: 1, Title: "Confirm the document is for this chain",
			Detail:   fmt.Sprintf("This document is for chain %q (%s chain), at head %d when it was written, upgrading to %s %s (%s release). %s", d.Chain.Title, d.Chain.Kind, d.Chain.Head, r.Name, r.Version, r.Kind, when),
			Commands: []string{"forkgate node status HOME --format json   # title and height"}},
		{N: 2, Title: "Download and verify the release",
			Detail: fmt.Sprintf("Fetch checks the signature with key %s, this platform's checksum and the binary's own version output; nothing is kept when a check fails. Save the public key as KEY.pub (it is in this document: release.public_key).", r.KeyID),
			Commands: []string{d.Download.Fetch, fmt.Sprintf("forkgate release verify %s --pubkey KEY.pub", dir),
				fmt.Sprintf("tar -xzf %s/%s -C %s   # the binary: %s", dir, r.Archive, dir, binaryPath(d))}},
		{N: 3, Title: "Check the binary against this document",
			Detail:   "The binary's sha256, the signature chain and the version the binary reports must equal this document's.",
			Commands: []string{fmt.Sprintf("forkgate ops check --doc %s --binary %s", doc, dir)}},
		{N: 4, Title: "Configure this chain's forks", Detail: configDetail, Commands: set},
		{N: 5, Title: "Check the node home against this document",
			Detail:   "Every fork item of section 3 must be in the node's config with the suggested value.",
			Commands: []string{fmt.Sprintf("forkgate ops check --doc %s --home HOME", doc)}},
		{N: 6, Title: "Run the pre-upgrade checks",
			Detail: "Each pre check of section 6, by hand or with the status checks; all must pass before the switch."},
		{N: 7, Title: "Switch the binary",
			Detail: when + " With the supervisor (forkgate visor, where your forkgate provides it), add the release and let the supervisor switch at the right height; it verifies the archive against its checksums and signature first. Without it: stop the node, install the binary, start the node on the same home.",
			Commands: []string{
				fmt.Sprintf("forkgate visor add HOME %s   # supervisor: verify and stage the release", shellQuote(d.Download.Archive)),
				"forkgate visor run HOME   # supervisor: runs the node and switches binaries at the upgrade height",
				fmt.Sprintf("install -m 0755 %s /usr/local/bin/forkgate && forkgate node run HOME   # without the supervisor, after stopping the node", binaryPath(d)),
			}},
		{N: 8, Title: "Run the post-upgrade checks",
			Detail: "Each post check of section 6 once the chain has passed the activation heights."},
		{N: 9, Title: "Report any inconsistency",
			Detail:   "If a check fails, stop and send the developers the failing check, the node's status and the ops check's output (the regulation's feedback to R&D).",
			Commands: []string{"forkgate node status HOME --format json", fmt.Sprintf("forkgate ops check --doc %s --home HOME --format json", doc)}},
	}
}

// firstSentence is a note's first sentence for a config set --note.
func firstSentence(note, key string) string {
	note = strings.TrimSpace(note)
	if note == "" {
		return "configure " + key + " as the upgrade document suggests"
	}
	if i := strings.Index(note, ". "); i > 0 {
		return note[:i+1]
	}
	return note
}
