package chain

import (
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"

	"github.com/forkgate/forkgate/codec"
)

// TxFormat versions the transaction encoding; it is the first byte signed.
const TxFormat = 1

// Tx is a signed transaction. Exec names the executor, Action its operation
// and Payload the action's own canonical encoding.
type Tx struct {
	ChainID string
	Exec    string
	Action  string
	Payload []byte
	Nonce   uint64 // must equal the sender's account nonce
	Fee     uint64 // paid in coins, at least the minimum fee in force
	PubKey  ed25519.PublicKey
	Sig     []byte
}

// SignBytes is what the sender signs: everything but the signature.
func (tx *Tx) SignBytes() []byte {
	var w codec.Writer
	w.U8(TxFormat)
	w.String(tx.ChainID)
	w.String(tx.Exec)
	w.String(tx.Action)
	w.Bytes(tx.Payload)
	w.U64(tx.Nonce)
	w.U64(tx.Fee)
	w.Bytes(tx.PubKey)
	return w.Out()
}

// Encode is the transaction's wire and storage form.
func (tx *Tx) Encode() []byte {
	var w codec.Writer
	w.Reset(tx.SignBytes())
	w.Bytes(tx.Sig)
	return w.Out()
}

// Hash identifies a transaction.
func (tx *Tx) Hash() [32]byte { return sha256.Sum256(tx.Encode()) }

// Sender is the address of the signing key.
func (tx *Tx) Sender() Address { return AddressOf(tx.PubKey) }

// Sign fills PubKey and Sig.
func (tx *Tx) Sign(key ed25519.PrivateKey) {
	tx.PubKey = key.Public().(ed25519.PublicKey)
	tx.Sig = ed25519.Sign(key, tx.SignBytes())
}

// DecodeTx reads an encoded transaction and checks its shape (not its
// signature: see Verify).
func DecodeTx(b []byte) (*Tx, error) {
	r := codec.NewReader(b)
	if f := r.U8(); r.Err() == nil && f != TxFormat {
		return nil, fmt.Errorf("decode tx: format %d, this build reads %d", f, TxFormat)
	}
	tx := &Tx{
		ChainID: r.String(),
		Exec:    r.String(),
		Action:  r.String(),
		Payload: r.Bytes(),
		Nonce:   r.U64(),
		Fee:     r.U64(),
		PubKey:  r.Bytes(),
		Sig:     r.Bytes(),
	}
	if err := r.Done("tx"); err != nil {
		return nil, err
	}
	if len(tx.PubKey) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("decode tx: public key has %d bytes, want %d", len(tx.PubKey), ed25519.PublicKeySize)
	}
	if len(tx.Sig) != ed25519.SignatureSize {
		return nil, fmt.Errorf("decode tx: signature has %d bytes, want %d", len(tx.Sig), ed25519.SignatureSize)
	}
	return tx, nil
}

// Verify checks the signature.
func (tx *Tx) Verify() error {
	if !ed25519.Verify(tx.PubKey, tx.SignBytes(), tx.Sig) {
		return fmt.Errorf("bad signature by %s", tx.Sender())
	}
	return nil
}
