package release

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"aead.dev/minisign"
)

// Signatures are minisign's (ed25519 over a BLAKE2b-512 prehash, the "ED"
// algorithm of minisign ≥ 0.10), made with aead.dev/minisign, so that
// `minisign -Vm forkgate_V_checksums.txt -p KEY.pub` checks them without
// forkgate.

// PasswordEnv holds the secret key's password when no file gives it.
const PasswordEnv = "FORKGATE_KEY_PASSWORD"

// KeyPair is a generated key: the public key's text (minisign's .pub file)
// and the secret key's text (minisign's .key file, encrypted when a
// password was given).
type KeyPair struct {
	Public    minisign.PublicKey
	PublicTxt []byte
	SecretTxt []byte
	Encrypted bool
}

// GenerateKey makes a key pair; an empty password leaves the secret key
// unencrypted (minisign -W).
func GenerateKey(password string) (*KeyPair, error) {
	pub, priv, err := minisign.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	kp := &KeyPair{Public: pub}
	if kp.PublicTxt, err = pub.MarshalText(); err != nil {
		return nil, err
	}
	kp.PublicTxt = append(kp.PublicTxt, '\n')
	if password != "" {
		kp.SecretTxt, err = minisign.EncryptKey(password, priv)
		kp.Encrypted = true
	} else {
		kp.SecretTxt, err = priv.MarshalText()
	}
	if err != nil {
		return nil, err
	}
	kp.SecretTxt = append(kp.SecretTxt, '\n')
	return kp, nil
}

// LoadSecretKey reads a minisign secret key file, decrypting it with the
// password when it is encrypted.
func LoadSecretKey(path, password string) (minisign.PrivateKey, error) {
	b, err := readBounded(path, 4<<10)
	if err != nil {
		return minisign.PrivateKey{}, err
	}
	return ParseSecretKey(path, b, password)
}

// ParseSecretKey reads a minisign secret key's text; name is for messages.
func ParseSecretKey(name string, b []byte, password string) (minisign.PrivateKey, error) {
	if minisign.IsEncrypted(b) {
		if password == "" {
			return minisign.PrivateKey{}, fmt.Errorf("secret key %s is password-protected: give --password-file or set %s", name, PasswordEnv)
		}
		k, err := minisign.DecryptKey(password, b)
		if err != nil {
			return minisign.PrivateKey{}, fmt.Errorf("secret key %s: %v (wrong password?)", name, err)
		}
		return k, nil
	}
	var k minisign.PrivateKey
	if err := k.UnmarshalText(bytes.TrimSpace(b)); err != nil {
		return minisign.PrivateKey{}, fmt.Errorf("secret key %s: %v; make one with forkgate release keygen", name, err)
	}
	return k, nil
}

// ParsePublicKey reads a public key given as a file (minisign's .pub) or as
// the base64 key itself ("RWQ...", minisign -P).
func ParsePublicKey(s string) (minisign.PublicKey, error) {
	var k minisign.PublicKey
	text := []byte(strings.TrimSpace(s))
	if st, err := os.Stat(s); err == nil && !st.IsDir() {
		if text, err = readBounded(s, 4<<10); err != nil {
			return k, err
		}
	} else if !strings.HasPrefix(s, "RW") {
		return k, fmt.Errorf("public key %q is neither a file nor a minisign key (RW...)", s)
	}
	if err := k.UnmarshalText(bytes.TrimSpace(text)); err != nil {
		return k, fmt.Errorf("public key %s: %v", s, err)
	}
	return k, nil
}

// KeyID is a key's ID as minisign prints it.
func KeyID(id uint64) string { return strings.ToUpper(strconv.FormatUint(id, 16)) }

// sign makes a detached signature of msg. The trusted comment is signed too
// and contains no clock, so a release signed twice with the same key has the
// same bytes.
func sign(key minisign.PrivateKey, msg []byte, trusted string) []byte {
	r := minisign.NewReader(bytes.NewReader(msg))
	if _, err := io.Copy(io.Discard, r); err != nil {
		panic(err) // reading from memory
	}
	return r.SignWithComments(key, trusted, "signature from forkgate release key "+KeyID(key.ID()))
}

// ErrSignature is the class of every signature failure.
var ErrSignature = errors.New("signature check failed")

// VerifySignature checks sig over msg with the trusted key; the error says
// which key signed when it is another one.
func VerifySignature(key minisign.PublicKey, msg, sig []byte, what string) (trusted string, err error) {
	var s minisign.Signature
	if err := s.UnmarshalText(sig); err != nil {
		return "", fmt.Errorf("%w: %s is not a minisign signature: %v", ErrSignature, what, err)
	}
	if s.KeyID != key.ID() {
		return "", fmt.Errorf("%w: %s is signed by key %s, not by the trusted key %s", ErrSignature, what, KeyID(s.KeyID), KeyID(key.ID()))
	}
	if !minisign.Verify(key, msg, sig) {
		return "", fmt.Errorf("%w: %s does not match its signature with key %s: the file or the signature was altered", ErrSignature, what, KeyID(key.ID()))
	}
	return s.TrustedComment, nil
}
