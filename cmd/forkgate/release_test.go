package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The release path through the CLI, with one real build: keygen, build,
// verify, publish, fetch (and a tampered store copy refused), an upgrade
// document, and the ops check naming a missing fork item and a wrong
// height before it passes.
func TestReleaseCLIFlow(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a release")
	}
	dir := t.TempDir()
	key := filepath.Join(dir, "release")
	var kg keygenReport
	if err := json.Unmarshal([]byte(mustCLI(t, "release", "keygen", "--out", key, "--format", "json")), &kg); err != nil || kg.KeyID == "" || kg.Encrypted {
		t.Fatalf("keygen: %v %+v", err, kg)
	}
	if _, _, code := runCLI(t, "release", "keygen", "--out", key); code != 2 {
		t.Errorf("keygen over existing keys: exit %d", code)
	}

	rel := filepath.Join(dir, "rel")
	var br buildReport
	out := mustCLI(t, "release", "build", "--source", "../..", "--version", "0.2.0", "--out", rel, "--sign", key+".key",
		"--allow-dirty", "--format", "json")
	if err := json.Unmarshal([]byte(out), &br); err != nil || br.Manifest.Build.Version != "0.2.0" || br.Signature == "" || len(br.Files) != 2 {
		t.Fatalf("build: %v\n%s", err, out)
	}
	if _, _, code := runCLI(t, "release", "build", "--source", "../..", "--version", "0.2.0", "--out", rel); code != 2 {
		t.Errorf("build into a non-empty directory: exit %d", code)
	}
	if text := mustCLI(t, "release", "verify", rel, "--pubkey", key+".pub"); !strings.Contains(text, "signature: good") || !strings.Contains(text, "as the manifest says") {
		t.Errorf("verify:\n%s", text)
	}

	store := filepath.Join(dir, "store")
	mustCLI(t, "release", "publish", rel, "--store", "file://"+store, "--pubkey", key+".pub")
	var fr openReport
	out = mustCLI(t, "release", "fetch", "file://"+store+"/0.2.0", "--pubkey", key+".pub", "--out", filepath.Join(dir, "fetched"), "--format", "json")
	if err := json.Unmarshal([]byte(out), &fr); err != nil || !fr.BinaryChecked || fr.SignedBy != kg.KeyID {
		t.Fatalf("fetch: %v\n%s", err, out)
	}
	if _, _, code := runCLI(t, "release", "fetch", "file://"+store+"/0.2.0", "--out", filepath.Join(dir, "nokey")); code != 2 {
		t.Errorf("fetch without --pubkey: exit %d", code)
	}
	archive := filepath.Join(store, "0.2.0", filepath.Base(br.Archive))
	os.Chmod(archive, 0o644)
	b, _ := os.ReadFile(archive)
	b[len(b)/2] ^= 1
	os.WriteFile(archive, b, 0o644)
	if _, errOut, code := runCLI(t, "release", "fetch", "file://"+store+"/0.2.0", "--pubkey", key+".pub", "--out", filepath.Join(dir, "bad")); code != 1 || !strings.Contains(errOut, "altered") {
		t.Errorf("fetch of a tampered archive: exit %d\n%s", code, errOut)
	}

	// The document: the release has no notes, so --reason is required.
	docs := filepath.Join(dir, "docs")
	args := []string{"upgrade", "doc", "--release", rel, "--pubkey", key + ".pub", "--store", "file://" + store,
		"--chain", "../../testdata/chains/main/config.toml", "--base", "../../upgradedoc/testdata/base/main.toml", "--head", "30", "--out", docs}
	if _, errOut, code := runCLI(t, args...); code != 2 || !strings.Contains(errOut, "--reason") {
		t.Errorf("doc without a reason: exit %d\n%s", code, errOut)
	}
	reason := filepath.Join(dir, "reason.md")
	os.WriteFile(reason, []byte("Schedule the candidate bond v2.\n"), 0o644)
	var dr docReport
	if err := json.Unmarshal([]byte(mustCLI(t, append(args, "--reason", reason, "--format", "json")...)), &dr); err != nil || len(dr.Documents) != 1 || dr.Documents[0].Items != 1 {
		t.Fatalf("doc: %v %+v", err, dr)
	}
	doc := dr.Documents[0].JSON

	// A home on the base config lacks the fork; a wrong height is named;
	// the suggested height passes.
	home := filepath.Join(dir, "home")
	mustCLI(t, "node", "init", home, "--config", "../../upgradedoc/testdata/base/main.toml")
	out, _, code := runCLI(t, "ops", "check", "--doc", doc, "--home", home, "--binary", filepath.Join(dir, "fetched"))
	if code != 1 || !strings.Contains(out, "DIFFERS pre.config.forks: fork producers.ForkMinBondV2: got missing from") {
		t.Errorf("ops check, fork missing: exit %d\n%s", code, out)
	}
	cfg := filepath.Join(home, "config.toml")
	mustCLI(t, "config", "set", cfg, "producers.ForkMinBondV2", "48", "--note", "bond v2")
	out, _, code = runCLI(t, "ops", "check", "--doc", doc, "--home", home)
	if code != 1 || !strings.Contains(out, "got 48 at "+cfg) || !strings.Contains(out, "expects 44") {
		t.Errorf("ops check, wrong height: exit %d\n%s", code, out)
	}
	mustCLI(t, "config", "set", cfg, "producers.ForkMinBondV2", "44", "--note", "bond v2")
	var rep struct {
		OK      bool `json:"ok"`
		Results []struct {
			ID, Result string
		} `json:"results"`
	}
	out = mustCLI(t, "ops", "check", "--doc", doc, "--home", home, "--binary", rel, "--format", "json")
	if err := json.Unmarshal([]byte(out), &rep); err != nil || !rep.OK || len(rep.Results) != 4 {
		t.Errorf("ops check, all match: %v\n%s", err, out)
	}
	if _, _, code := runCLI(t, "ops", "check", "--doc", filepath.Join(dir, "none.json"), "--home", home); code != 2 {
		t.Errorf("ops check of a missing document: exit %d", code)
	}
}
