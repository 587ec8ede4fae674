package node

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/forkgate/forkgate/atomicfile"

	"github.com/forkgate/forkgate/chain"
)

// KeyFormat versions HOME/keys/*.json.
const KeyFormat = 1

// Key roles.
const (
	RoleProducer = "producer"
	RoleAccount  = "account"
)

// Key is one ed25519 key of a home: a block producer's (which also signs
// its signal transactions) or a funded account's (used by the transaction
// source).
type Key struct {
	Format  int    `json:"format"`
	Name    string `json:"name"`
	Role    string `json:"role"`
	Address string `json:"address"`
	PubKey  string `json:"pub_key"` // hex
	Seed    string `json:"seed"`    // hex, 32 bytes: the private key
	priv    ed25519.PrivateKey
}

// Private is the signing key.
func (k *Key) Private() ed25519.PrivateKey { return k.priv }

// Addr is the key's chain address.
func (k *Key) Addr() chain.Address { return chain.AddressOf(k.priv.Public().(ed25519.PublicKey)) }

// DeriveKey derives a key deterministically from a seed phrase and a name,
// so that `node init --seed S` makes the same chain every time. These keys
// are for test networks: anyone who knows the seed has them.
func DeriveKey(seed, role, name string) *Key {
	sum := sha256.Sum256([]byte("forkgate/node-key/v1\x00" + seed + "\x00" + role + "\x00" + name))
	priv := ed25519.NewKeyFromSeed(sum[:])
	pub := priv.Public().(ed25519.PublicKey)
	return &Key{Format: KeyFormat, Name: name, Role: role, Address: chain.AddressOf(pub).String(),
		PubKey: hex.EncodeToString(pub), Seed: hex.EncodeToString(sum[:]), priv: priv}
}

func writeKey(dir string, k *Key) error {
	b, err := json.MarshalIndent(k, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(dir, k.Name+".json"), append(b, '\n'), 0o600)
}

// maxKeyFile bounds a key file: a key is a few hundred bytes of JSON.
const maxKeyFile = 64 << 10

// ParseKey reads one key file's JSON and checks it: format, a seed of the
// right size, a public key that matches it, a known role.
func ParseKey(path string, b []byte) (*Key, error) {
	var k Key
	if err := json.Unmarshal(b, &k); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	if k.Format != KeyFormat {
		return nil, fmt.Errorf("%s: key format %d, this build reads %d", path, k.Format, KeyFormat)
	}
	if k.Name == "" || strings.ContainsAny(k.Name, "/\\\x00") {
		return nil, fmt.Errorf("%s: name %q must be a plain non-empty name", path, k.Name)
	}
	seed, err := hex.DecodeString(k.Seed)
	if err != nil || len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("%s: seed must be %d hex-encoded bytes", path, ed25519.SeedSize)
	}
	k.priv = ed25519.NewKeyFromSeed(seed)
	if got := hex.EncodeToString(k.priv.Public().(ed25519.PublicKey)); got != k.PubKey {
		return nil, fmt.Errorf("%s: pub_key does not match the seed (want %s); the file is damaged", path, got)
	}
	if k.Role != RoleProducer && k.Role != RoleAccount {
		return nil, fmt.Errorf("%s: role %q must be %s or %s", path, k.Role, RoleProducer, RoleAccount)
	}
	return &k, nil
}

// LoadKeys reads every key of HOME/keys, sorted by name.
func LoadKeys(dir string) ([]*Key, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read keys: %v", err)
	}
	var keys []*Key
	for _, e := range ents {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		path := filepath.Join(dir, e.Name())
		if info, err := e.Info(); err == nil && info.Size() > maxKeyFile {
			return nil, fmt.Errorf("%s: %d bytes is not a key file (at most %d): remove it from %s", path, info.Size(), maxKeyFile, dir)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		k, err := ParseKey(path, b)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].Name < keys[j].Name })
	return keys, nil
}
