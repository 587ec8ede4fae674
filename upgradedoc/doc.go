// Package upgradedoc writes and reads upgrade documents: one per chain, with
// every section the Chain33 upgrade regulation (§4.2.4) asks for, filled
// from the release, the chain's configs and its head:
//
//  1. the reason (release notes or --reason, and the change-record lines
//     added since the base config);
//  2. the new configuration parameters and forks (config diff, with each
//     fork's note);
//  3. a suggested configuration for that chain, its fork heights computed
//     in the chain's own height domain or its parent's, checked by lint and
//     by the compatibility check against the chain head;
//  4. the download path with checksum and signature;
//  5. the detailed steps;
//  6. the status checks before and after the upgrade, as a versioned,
//     machine-readable list (Checks) that `forkgate ops check` and the
//     status checks run, each with the command an operator can run by hand.
//
// A document is JSON (the contract, docs/cli-json.md) and Markdown (for
// people). A missing input is an error naming it, never an empty section.
package upgradedoc

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/forkgate/forkgate/forkfile"
	"github.com/forkgate/forkgate/schedule"
)

// Format versions the document's JSON; ChecksFormat its check list. Fields
// are only ever added; readers refuse a higher format.
const (
	Format       = 1
	ChecksFormat = 1
)

// Document is one chain's upgrade document.
type Document struct {
	Format    int               `json:"format"`
	Chain     Chain             `json:"chain"`
	Release   Release           `json:"release"`
	Reason    Reason            `json:"reason"`
	Changes   []forkfile.Change `json:"changes"`
	Suggested Suggested         `json:"suggested"`
	Download  Download          `json:"download"`
	Steps     []Step            `json:"steps"`
	Checks    Checks            `json:"checks"`
}

// Chain says which chain the document is for and where it stands.
type Chain struct {
	Title        string `json:"title"`
	Kind         string `json:"kind"` // main | parallel
	Config       string `json:"config"`
	ConfigSHA256 string `json:"config_sha256"`
	Base         string `json:"base"`
	BaseSHA256   string `json:"base_sha256"`
	// Head is the chain's height the suggestion was checked against;
	// ParentHead the parent chain's height then (parallel chains).
	Head       int64  `json:"head"`
	ParentHead *int64 `json:"parent_head,omitempty"`
	// Parent is the parent chain's config that parent-height forks follow.
	Parent        string `json:"parent,omitempty"`
	FollowsParent bool   `json:"follows_parent"`
}

// Release identifies the release and how to check it.
type Release struct {
	Name         string   `json:"name"`
	Version      string   `json:"version"`
	Commit       string   `json:"commit"`
	GoVersion    string   `json:"go_version"`
	Platform     string   `json:"platform"` // os/arch
	Implemented  uint32   `json:"implemented"`
	MinHeight    int64    `json:"min_height"`
	RegistryHash string   `json:"registry_hash"`
	ScheduleHash string   `json:"schedule_hash"`
	Kind         string   `json:"kind"` // small | large
	KindReasons  []string `json:"kind_reasons"`
	Previous     string   `json:"previous,omitempty"`
	// The chain of trust: the signature (with PublicKey) covers the
	// checksums text, which lists the archive's and the manifest's sha256;
	// the manifest names the binary's sha256.
	Archive        string `json:"archive"`
	ArchiveSHA256  string `json:"archive_sha256"`
	ManifestSHA256 string `json:"manifest_sha256"`
	ManifestText   string `json:"manifest_text"` // release.json, whole
	BinaryPath     string `json:"binary_path"`   // inside the archive
	BinarySHA256   string `json:"binary_sha256"`
	Checksums      string `json:"checksums"`      // file name
	ChecksumsText  string `json:"checksums_text"` // its whole content
	Signature      string `json:"signature"`      // file name
	SignatureText  string `json:"signature_text"` // its whole content
	PublicKey      string `json:"public_key"`     // minisign base64 (RW...)
	KeyID          string `json:"key_id"`
}

// Reason is why the upgrade happens.
type Reason struct {
	Notes  string       `json:"notes"`
	Source string       `json:"source"` // "--reason FILE" or "release notes"
	Record []RecordLine `json:"record"` // change-record lines added since the base
}

// RecordLine is one dated line of the chain config's change record.
type RecordLine struct {
	Date   string `json:"date"`
	Text   string `json:"text"`
	Origin string `json:"origin"`
}

// Suggested is the configuration suggested for this chain.
type Suggested struct {
	Items  []Item `json:"items"`
	Config string `json:"config"` // the whole suggested config file
	Lint   Lint   `json:"lint"`
	Compat Compat `json:"compat"`
}

// Item is one fork item to configure.
type Item struct {
	Key     string `json:"key"`     // scope.Name
	Section string `json:"section"` // [fork.system] or [fork.sub.<scope>]
	Name    string `json:"name"`
	Value   string `json:"value"`  // as written in a config: 44, { parent = 24 }, { version = 2 }
	Kind    string `json:"kind"`   // height, time, version, never
	Domain  string `json:"domain"` // own or parent
	// Height is the activation height in Domain, for height activations.
	Height     *int64 `json:"height,omitempty"`
	Configured string `json:"configured"` // the value in the chain's new config
	Basis      string `json:"basis"`      // why this value
	Change     string `json:"change"`     // added or changed (since the base)
	Note       string `json:"note"`       // the note above the item in the config
}

// Lint is the lint result of the suggested config.
type Lint struct {
	Errors   int                `json:"errors"`
	Warnings int                `json:"warnings"`
	Findings []schedule.Finding `json:"findings"`
}

// Compat is the compatibility check of the suggested config against the
// base at the chain head.
type Compat struct {
	Head       int64               `json:"head"`
	ParentHead *int64              `json:"parent_head,omitempty"`
	Compatible bool                `json:"compatible"`
	Conflicts  []schedule.Conflict `json:"conflicts,omitempty"`
}

// Download says where the release is and how to fetch it.
type Download struct {
	// Release URLs name the release's directory in each store.
	Releases []string `json:"releases"`
	Archive  string   `json:"archive"` // URL of this platform's archive in the first store
	SHA256   string   `json:"sha256"`
	// Fetch is the command that downloads and verifies it.
	Fetch string `json:"fetch"`
}

// Step is one upgrade step.
type Step struct {
	N        int      `json:"n"`
	Title    string   `json:"title"`
	Detail   string   `json:"detail"`
	Commands []string `json:"commands,omitempty"`
}

// Checks is the versioned list of pre- and post-upgrade checks.
type Checks struct {
	Format int     `json:"format"`
	Checks []Check `json:"checks"`
}

// Phases of a check.
const (
	PhasePre  = "pre"
	PhasePost = "post"
)

// Sources: what a check reads.
const (
	SourceRelease = "release" // the release's files (ops check --binary DIR|ARCHIVE)
	SourceBinary  = "binary"  // the release's binary (ops check --binary)
	SourceConfig  = "config"  // the node home's config.toml (ops check --home)
	SourceNode    = "node"    // one node's status (forkgate node status)
	SourceNodes   = "nodes"   // every node of the chain (status check)
)

// Check ids, stable across formats.
const (
	CheckBinarySHA256     = "pre.binary.sha256"
	CheckReleaseSignature = "pre.release.signature"
	CheckBinaryVersion    = "pre.binary.version"
	CheckConfigForks      = "pre.config.forks"
	CheckNodeBeforeForks  = "pre.node.before-activation"
	CheckNodesAgreePre    = "pre.nodes.agree"
	CheckNodeVersion      = "post.node.version"
	CheckNodeForksActive  = "post.node.forks-active"
	CheckNodeAdvancing    = "post.node.advancing"
	CheckNodesAgreePost   = "post.nodes.agree"
)

// Check is one status check: what it checks, the expected values, and the
// command to run it by hand.
type Check struct {
	ID      string `json:"id"`
	Phase   string `json:"phase"`  // pre | post
	Source  string `json:"source"` // binary | config | node | nodes
	What    string `json:"what"`
	Expect  Expect `json:"expect"`
	Command string `json:"command"`
}

// Expect holds a check's expected values; each check id uses the fields
// docs/cli-json.md lists for it.
type Expect struct {
	SHA256          string       `json:"sha256,omitempty"`
	PublicKey       string       `json:"public_key,omitempty"`
	KeyID           string       `json:"key_id,omitempty"`
	ChecksumsSHA256 string       `json:"checksums_sha256,omitempty"`
	Version         string       `json:"version,omitempty"`
	Commit          string       `json:"commit,omitempty"`
	Implemented     uint32       `json:"implemented,omitempty"`
	RegistryHash    string       `json:"registry_hash,omitempty"`
	ScheduleHash    string       `json:"schedule_hash,omitempty"`
	Title           string       `json:"title,omitempty"`
	Forks           []ExpectFork `json:"forks,omitempty"`
	HeightBelow     *int64       `json:"height_below,omitempty"`
	ParentBelow     *int64       `json:"parent_height_below,omitempty"`
	HeightAtLeast   *int64       `json:"height_at_least,omitempty"`
	FromHeight      *int64       `json:"from_height,omitempty"`
	Agree           bool         `json:"agree,omitempty"`
}

// ExpectFork is a fork item as a config must hold it, and, for post checks,
// the height from which it must be active (own heights; null when it
// activates with a version or on the parent's height).
type ExpectFork struct {
	Key        string `json:"key"`
	Value      string `json:"value"`
	ActiveFrom *int64 `json:"active_from,omitempty"`
}

// Encode is the document's JSON (indented, newline-ended).
func (d *Document) Encode() []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	if err := enc.Encode(d); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// maxDoc bounds a document read from disk.
const maxDoc = 8 << 20

// Read reads a document's JSON and checks its format.
func Read(path string) (*Document, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxDoc+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxDoc {
		return nil, fmt.Errorf("%s is larger than %d bytes: not an upgrade document", path, maxDoc)
	}
	return Decode(path, b)
}

// Decode reads a document's JSON bytes.
func Decode(name string, b []byte) (*Document, error) {
	var d Document
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, fmt.Errorf("%s: not an upgrade document: %v", name, err)
	}
	switch {
	case d.Format < 1:
		return nil, fmt.Errorf("%s: format %d: not a forkgate upgrade document", name, d.Format)
	case d.Format > Format || d.Checks.Format > ChecksFormat:
		return nil, fmt.Errorf("%s: format %d (checks %d): this forkgate reads up to %d (%d); use a newer forkgate", name, d.Format, d.Checks.Format, Format, ChecksFormat)
	case d.Release.Version == "" || d.Release.BinarySHA256 == "" || d.Chain.Title == "":
		return nil, fmt.Errorf("%s: the document names no release or chain", name)
	}
	return &d, nil
}

// ChecksIn returns the checks of a phase, in document order.
func (d *Document) ChecksIn(phase string) []Check {
	var out []Check
	for _, c := range d.Checks.Checks {
		if c.Phase == phase {
			out = append(out, c)
		}
	}
	return out
}

// Check returns the check with an id.
func (d *Document) Check(id string) (Check, bool) {
	for _, c := range d.Checks.Checks {
		if c.ID == id {
			return c, true
		}
	}
	return Check{}, false
}
