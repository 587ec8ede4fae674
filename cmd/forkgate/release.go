package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"aead.dev/minisign"
	"github.com/forkgate/forkgate/release"
	"github.com/forkgate/forkgate/verify"
	"github.com/spf13/cobra"
)

func init() { register(newReleaseCmd) }

func newReleaseCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "release",
		Short: "Build, sign, publish, fetch and check reproducible releases",
		Long: `A release directory holds one platform's reproducible archive (the binary and
release.json), release.json beside it, forkgate_V_checksums.txt in sha256sum's
layout and its minisign signature. Trust flows one way: signature ->
checksums -> archive and manifest -> binary sha256, and the manifest must
equal the binary's own "version --format json". See docs/release.md.

Exit codes: 0 ok, 1 a check failed or a release was refused (tampered files,
other bytes under a published name, a state change in a small release),
2 unusable input.`,
	}
	c.AddCommand(newReleaseKeygenCmd(), newReleaseBuildCmd(), newReleasePublishCmd(), newReleaseFetchCmd(), newReleaseVerifyCmd())
	return c
}

// releaseErr maps the release package's failures to exit codes: integrity
// failures and refusals are findings (1), the rest unusable input (2).
func releaseErr(err error) error {
	var refused *release.RefusedError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, release.ErrMismatch), errors.Is(err, release.ErrSignature), errors.Is(err, release.ErrImmutable), errors.As(err, &refused):
		return &exitError{code: exitFindings, msg: err.Error()}
	}
	return usageErr("%v", err)
}

// password reads --password-file, else FORKGATE_KEY_PASSWORD.
func password(file string) (string, error) {
	if file == "" {
		return os.Getenv(release.PasswordEnv), nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", usageErr("--password-file: %v", err)
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

// trustedKey reads --pubkey (a .pub file or the RW... key itself).
func trustedKey(s string) (*minisign.PublicKey, error) {
	if s == "" {
		return nil, nil
	}
	k, err := release.ParsePublicKey(s)
	if err != nil {
		return nil, usageErr("--pubkey: %v", err)
	}
	return &k, nil
}

func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

// keygenReport is the JSON of `release keygen`.
type keygenReport struct {
	KeyID     string `json:"key_id"`
	PublicKey string `json:"public_key"`
	Public    string `json:"public_key_file"`
	Secret    string `json:"secret_key_file"`
	Encrypted bool   `json:"encrypted"`
}

func newReleaseKeygenCmd() *cobra.Command {
	var out, pwFile string
	c := &cobra.Command{
		Use:   "keygen --out PREFIX",
		Short: "Make a minisign key pair for signing releases (PREFIX.key, PREFIX.pub)",
		Long: `keygen writes PREFIX.key (the secret key, mode 0600) and PREFIX.pub (the public
key, minisign's format: "minisign -Vm FILE -p PREFIX.pub" checks signatures).
The secret key is encrypted with the password from --password-file or
FORKGATE_KEY_PASSWORD; without one it is stored unencrypted (as minisign -W)
and a warning says so. Existing files are never overwritten.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			format, err := outputFormat(cmd)
			if err != nil {
				return err
			}
			if out == "" {
				return usageErr("--out PREFIX is required (writes PREFIX.key and PREFIX.pub)")
			}
			pw, err := password(pwFile)
			if err != nil {
				return err
			}
			rep := keygenReport{Public: out + ".pub", Secret: out + ".key"}
			for _, p := range []string{rep.Public, rep.Secret} {
				if _, err := os.Stat(p); err == nil {
					return usageErr("%s already exists; keys are never overwritten: pick another --out", p)
				}
			}
			kp, err := release.GenerateKey(pw)
			if err != nil {
				return usageErr("%v", err)
			}
			if err := os.WriteFile(rep.Secret, kp.SecretTxt, 0o600); err != nil {
				return usageErr("%v", err)
			}
			if err := os.WriteFile(rep.Public, kp.PublicTxt, 0o644); err != nil {
				return usageErr("%v", err)
			}
			rep.KeyID, rep.PublicKey, rep.Encrypted = release.KeyID(kp.Public.ID()), kp.Public.String(), kp.Encrypted
			if !kp.Encrypted {
				fmt.Fprintf(cmd.ErrOrStderr(), "warning: %s is not encrypted; keep it offline, or give --password-file\n", rep.Secret)
			}
			if format == "json" {
				return writeJSON(cmd.OutOrStdout(), rep)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "key %s\n  secret: %s\n  public: %s (%s)\n", rep.KeyID, rep.Secret, rep.Public, rep.PublicKey)
			return nil
		},
	}
	c.Flags().StringVar(&out, "out", "", "file prefix for PREFIX.key and PREFIX.pub (required)")
	c.Flags().StringVar(&pwFile, "password-file", "", "file holding the password that encrypts the secret key")
	return c
}

// buildReport is the JSON of `release build`.
type buildReport struct {
	Dir       string             `json:"dir"`
	Archive   string             `json:"archive"`
	Checksums string             `json:"checksums"`
	Signature string             `json:"signature,omitempty"`
	Files     []release.Checksum `json:"files"`
	Manifest  *release.Manifest  `json:"manifest"`
}

func newReleaseBuildCmd() *cobra.Command {
	var o release.BuildOptions
	var signKey, pwFile, notes, previous, library string
	var implemented uint32
	var doVerify bool
	c := &cobra.Command{
		Use:   "build --version V --out DIR [--sign KEY]",
		Short: "Build a reproducible, checksummed and signed release of forkgate",
		Long: `build compiles forkgate from the source tree (--source, default .) with
  CGO_ENABLED=0 go build -trimpath -buildvcs=false \
    -ldflags "-s -w -buildid= -X .../buildinfo.Version=V -X .../buildinfo.commit=C"
and writes DIR: the archive (entries sorted, owner 0, fixed modes, mtimes
from SOURCE_DATE_EPOCH or the commit's time, gzip header without name or
time), release.json, forkgate_V_checksums.txt and, with --sign, its minisign
signature. Two builds of one commit give the same bytes anywhere with the
same Go release. The manifest's build section is the binary's own
"version --format json".

--implemented N caps the protocol versions the binary executes (an "old"
release from this tree). --previous MANIFEST|DIR classifies the release:
small (no new fork, no changed fork declaration, same protocol version;
rolls out at any time) or large (coordinated heights). --verify runs the
library verify (--verify-library, default SOURCE/testdata/chains) with the
new binary; a state change refuses the release (exit 1) with verify's
diagnosis. Without --previous a release counts as large.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			format, err := outputFormat(cmd)
			if err != nil {
				return err
			}
			if o.Version == "" || o.Out == "" {
				return usageErr("--version and --out are required")
			}
			o.Implemented = implemented
			if signKey != "" {
				pw, err := password(pwFile)
				if err != nil {
					return err
				}
				k, err := release.LoadSecretKey(signKey, pw)
				if err != nil {
					return usageErr("--sign: %v", err)
				}
				o.Sign = &k
			}
			if notes != "" {
				b, err := os.ReadFile(notes)
				if err != nil {
					return usageErr("--notes: %v", err)
				}
				o.Notes = strings.TrimSpace(string(b))
			}
			if previous != "" {
				if o.Previous, err = release.ReadManifest(previous); err != nil {
					return usageErr("--previous: %v", err)
				}
			}
			if doVerify {
				if library == "" {
					library = filepath.Join(o.Source, "testdata", "chains")
				}
				chains, err := verify.LoadLibrary(library)
				if err != nil {
					return usageErr("--verify-library: %v", err)
				}
				o.Verify = release.LibraryVerifier(chains)
			}
			o.Log = cmd.ErrOrStderr()
			ctx, stop := signalContext()
			defer stop()
			b, err := release.Build(ctx, o)
			if err != nil {
				return releaseErr(err)
			}
			rep := buildReport{Dir: b.Dir, Archive: b.Archive, Checksums: b.Checksums, Signature: b.Signature, Files: b.Sums, Manifest: b.Manifest}
			if format == "json" {
				return writeJSON(cmd.OutOrStdout(), rep)
			}
			printBuild(cmd.OutOrStdout(), rep)
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&o.Version, "version", "", "release version, e.g. 0.2.0 (required)")
	f.StringVar(&o.Out, "out", "", "release directory to create; must be new or empty (required)")
	f.StringVar(&o.Source, "source", ".", "forkgate source tree (the module root)")
	f.StringVar(&o.Commit, "commit", "", "commit to stamp (default: git rev-parse HEAD)")
	f.BoolVar(&o.AllowDirty, "allow-dirty", false, "build from a work tree with uncommitted changes")
	f.Uint32Var(&implemented, "implemented", 0, "cap the protocol versions the binary executes (an old release)")
	f.Int64Var(&o.MinHeight, "min-height", 0, "the earliest height the release may run at")
	f.StringVar(&notes, "notes", "", "release notes file (the upgrade documents' reason)")
	f.StringVar(&signKey, "sign", "", "minisign secret key to sign the checksums with")
	f.StringVar(&pwFile, "password-file", "", "password of the secret key (else FORKGATE_KEY_PASSWORD)")
	f.StringVar(&previous, "previous", "", "previous release's manifest or directory: classify small or large")
	f.BoolVar(&doVerify, "verify", false, "run the library verify with the new binary; a state change refuses the release")
	f.StringVar(&library, "verify-library", "", "library for --verify (default SOURCE/testdata/chains)")
	return c
}

func printBuild(w io.Writer, rep buildReport) {
	m := rep.Manifest
	fmt.Fprintf(w, "release %s %s (%s/%s, commit %s, %s)\n", m.Name, m.Version, m.Build.OS, m.Build.Arch, m.Build.Commit, m.Build.GoVersion)
	fmt.Fprintf(w, "  protocol:   implements up to version %d; min height %d\n", m.Build.Implemented, m.MinHeight)
	fmt.Fprintf(w, "  registry:   %d forks, hash %s\n", len(m.Build.Forks), m.Build.RegistryHash)
	fmt.Fprintf(w, "  binary:     %s sha256 %s\n", m.Binary.Path, m.Binary.SHA256)
	fmt.Fprintf(w, "  kind:       %s release\n", m.Classification.Kind)
	for _, r := range m.Classification.Reasons {
		fmt.Fprintf(w, "              - %s\n", r)
	}
	for _, s := range rep.Files {
		fmt.Fprintf(w, "  %s  %s\n", s.SHA256, s.Name)
	}
	if rep.Signature != "" {
		fmt.Fprintf(w, "  signed:     %s\n", rep.Signature)
	} else {
		fmt.Fprintln(w, "  unsigned:   give --sign KEY to sign the checksums")
	}
}

func newReleasePublishCmd() *cobra.Command {
	var store, pubkey string
	c := &cobra.Command{
		Use:   "publish DIR --store URL",
		Short: "Upload a release directory to an artifact store; published objects are immutable",
		Long: `publish checks DIR (its checksums; the signature too with --pubkey) and
uploads it under <version>/ in the store: file:///path (the default kind; a
plain path works too) or s3://bucket/prefix?endpoint=host:port&region=R
[&insecure=true][&lookup=path|dns] for S3-compatible stores (AWS S3,
Aliyun OSS, ...; credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY).
An object that exists with the same bytes is left alone; one with other
bytes refuses the publish (exit 1). Every object is read back and compared
after upload. The store is recorded in DIR/published.json for upgrade
documents.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			format, err := outputFormat(cmd)
			if err != nil {
				return err
			}
			if store == "" {
				return usageErr("--store URL is required (file:///srv/releases or s3://bucket/prefix?endpoint=...)")
			}
			key, err := trustedKey(pubkey)
			if err != nil {
				return err
			}
			s, err := release.OpenStore(store)
			if err != nil {
				return usageErr("%v", err)
			}
			ctx, stop := signalContext()
			defer stop()
			pub, err := release.Publish(ctx, args[0], s, release.OpenOptions{Key: key})
			if err != nil {
				return releaseErr(err)
			}
			if format == "json" {
				return writeJSON(cmd.OutOrStdout(), pub)
			}
			for _, o := range pub.Objects {
				state := "uploaded and read back"
				if !o.Created {
					state = "already there, same bytes"
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s  %s  (%s)\n", o.SHA256, o.Name, state)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "published %s to %s\n", pub.Version, pub.Stores[len(pub.Stores)-1].Release)
			return nil
		},
	}
	c.Flags().StringVar(&store, "store", "", "artifact store URL (required)")
	c.Flags().StringVar(&pubkey, "pubkey", "", "trusted public key: check the signature before publishing")
	return c
}

// openReport is the JSON of `release fetch` and `release verify`.
type openReport struct {
	Dir           string            `json:"dir"`
	Archive       string            `json:"archive"`
	ArchiveSHA256 string            `json:"archive_sha256"`
	Checksums     string            `json:"checksums,omitempty"`
	SignedBy      string            `json:"signed_by,omitempty"`
	BinaryChecked bool              `json:"binary_checked"`
	Manifest      *release.Manifest `json:"manifest"`
}

func reportOf(r *release.Release) openReport {
	return openReport{Dir: r.Dir, Archive: r.ArchivePath, ArchiveSHA256: r.ArchiveSHA256, Checksums: r.ChecksumsPath,
		SignedBy: r.SignedBy, BinaryChecked: r.BinaryChecked, Manifest: r.Manifest}
}

func printOpen(w io.Writer, verb string, rep openReport) {
	m := rep.Manifest
	fmt.Fprintf(w, "%s %s %s for %s/%s in %s\n", verb, m.Name, m.Version, m.Build.OS, m.Build.Arch, rep.Dir)
	fmt.Fprintf(w, "  archive:   %s sha256 %s (listed in %s)\n", filepath.Base(rep.Archive), rep.ArchiveSHA256, filepath.Base(rep.Checksums))
	if rep.SignedBy != "" {
		fmt.Fprintf(w, "  signature: good, key %s\n", rep.SignedBy)
	} else {
		fmt.Fprintln(w, "  signature: not checked (no --pubkey)")
	}
	fmt.Fprintf(w, "  binary:    sha256 %s\n", m.Binary.SHA256)
	if rep.BinaryChecked {
		fmt.Fprintf(w, "  version:   the binary reports %s, commit %s, protocol %d, as the manifest says\n", m.Build.Version, m.Build.Commit, m.Build.Implemented)
	}
}

func newReleaseFetchCmd() *cobra.Command {
	var pubkey, out string
	var noSig bool
	c := &cobra.Command{
		Use:   "fetch URL --pubkey KEY [--out DIR]",
		Short: "Download a release and verify it: signature, this platform's checksum, the binary's own version",
		Long: `fetch downloads a release from a store: URL names the release's directory
(file:///srv/releases/0.2.0, s3://bucket/prefix/0.2.0?endpoint=...) or its
checksums file (https://host/releases/0.2.0/forkgate_0.2.0_checksums.txt).
It checks the signature with --pubkey (mandatory: pass --no-signature to
accept an unsigned release knowingly), the checksum of this platform's
archive only (other platforms' lines are not fetched), the manifest inside
the archive, the binary's sha256, and that the binary's own
"version --format json" equals the manifest. Files land in --out (default
./<version>) only when every check passed. Exit 1 on a failed check.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			format, err := outputFormat(cmd)
			if err != nil {
				return err
			}
			if pubkey == "" && !noSig {
				return usageErr("--pubkey KEY is required: a release is trusted through its signature (pass --no-signature to skip it knowingly)")
			}
			key, err := trustedKey(pubkey)
			if err != nil {
				return err
			}
			if out == "" {
				u := strings.TrimSuffix(strings.SplitN(args[0], "?", 2)[0], "/")
				if strings.HasSuffix(u, "_checksums.txt") {
					u = u[:strings.LastIndex(u, "/")]
				}
				out = u[strings.LastIndex(u, "/")+1:]
			}
			ctx, stop := signalContext()
			defer stop()
			r, err := release.Fetch(ctx, args[0], release.FetchOptions{Key: key, Out: out})
			if err != nil {
				return releaseErr(err)
			}
			if format == "json" {
				return writeJSON(cmd.OutOrStdout(), reportOf(r))
			}
			printOpen(cmd.OutOrStdout(), "fetched", reportOf(r))
			return nil
		},
	}
	c.Flags().StringVar(&pubkey, "pubkey", "", "trusted public key (.pub file or RW... string)")
	c.Flags().StringVar(&out, "out", "", "directory for the release (default ./<version>)")
	c.Flags().BoolVar(&noSig, "no-signature", false, "accept a release without checking its signature")
	return c
}

func newReleaseVerifyCmd() *cobra.Command {
	var pubkey string
	c := &cobra.Command{
		Use:   "verify DIR|ARCHIVE [--pubkey KEY]",
		Short: "Check a release directory or archive: signature, checksums, manifest, the binary's own version",
		Long: `verify runs the checks the supervisor runs before it trusts a binary: the
signature over the checksums (mandatory with --pubkey), the archive's and
the manifest's checksums, the manifest inside the archive, the binary's
sha256, and the binary's own "version --format json" against the manifest
(when the release is for this machine and --pubkey was given: an
unauthenticated binary is never run). Exit 1 when a check fails.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			format, err := outputFormat(cmd)
			if err != nil {
				return err
			}
			key, err := trustedKey(pubkey)
			if err != nil {
				return err
			}
			ctx, stop := signalContext()
			defer stop()
			// The binary runs only once a trusted signature vouched for it.
			r, err := release.Open(ctx, args[0], release.OpenOptions{Key: key, RunBinary: key != nil})
			if err != nil {
				return releaseErr(err)
			}
			if format == "json" {
				return writeJSON(cmd.OutOrStdout(), reportOf(r))
			}
			printOpen(cmd.OutOrStdout(), "verified", reportOf(r))
			if key == nil {
				fmt.Fprintln(cmd.OutOrStdout(), "  version:   not run: give --pubkey so the binary runs only after its signature is checked")
			}
			return nil
		},
	}
	c.Flags().StringVar(&pubkey, "pubkey", "", "trusted public key (.pub file or RW... string)")
	return c
}
