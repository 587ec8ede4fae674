package verify

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/forkgate/forkgate/chain"
)

// A diagnosis names state keys such as acct/0xAb… and shows values as fields
// (balance 1000, nonce 3) rather than bytes. The chain's executors, the App
// and the signal controller describe their own keys (chain.DescribeState);
// verify only dispatches and lays the result out.

// describe is the chain's description of a key and value.
func describe(key, value []byte) chain.StateDescription {
	return chain.DescribeState(nil, key, value)
}

// DescribeKey renders a state key: a known key with its address, symbol or
// number, anything else quoted with hex for non-printable bytes.
func DescribeKey(k []byte) string { return describe(k, nil).Key }

// DescribeValue renders a value stored under key ("<absent>" for nil; hex
// when this build cannot decode it).
func DescribeValue(key, value []byte) string {
	if value == nil {
		return "<absent>"
	}
	d := describe(key, value)
	if d.Fields == nil {
		return "hex " + shortHex(value, 64)
	}
	return fieldsText(d.Fields)
}

func fieldsText(fs []chain.Field) string {
	parts := make([]string, len(fs))
	for i, f := range fs {
		parts[i] = f.Name + " " + f.Value
	}
	return strings.Join(parts, ", ")
}

// encodingOnly reports whether a key's old and new values are different bytes
// for the same content: both decode to equal fields, or exactly one of them
// does not decode with this build's reader (an encoding it does not know).
func encodingOnly(key, old, new []byte) bool {
	if old == nil || new == nil {
		return false
	}
	do, dn := describe(key, old), describe(key, new)
	if do.Fields == nil || dn.Fields == nil {
		return (do.Fields == nil) != (dn.Fields == nil)
	}
	return fieldsText(do.Fields) == fieldsText(dn.Fields)
}

// DescribeChange renders a key's change from old to new, e.g.
// "acct/0xAb…: balance 1000 → 999, nonce 3 → 3". Small records show every
// field; larger ones only the fields that changed. Values that decode equal
// but differ in bytes are called an encoding change.
func DescribeChange(key, old, new []byte) string {
	k := DescribeKey(key)
	if old == nil || new == nil {
		return fmt.Sprintf("%s: %s → %s", k, DescribeValue(key, old), DescribeValue(key, new))
	}
	do, dn := describe(key, old), describe(key, new)
	switch {
	case do.Fields == nil && dn.Fields != nil:
		return fmt.Sprintf("%s: encoding change: the recorded bytes %s do not decode with this build's reader (%v); this build wrote %s",
			k, shortHex(old, 64), do.Err, fieldsText(dn.Fields))
	case do.Fields != nil && dn.Fields == nil:
		return fmt.Sprintf("%s: encoding change: the new bytes %s do not decode with this build's reader (%v); recorded %s",
			k, shortHex(new, 64), dn.Err, fieldsText(do.Fields))
	case do.Fields == nil || len(do.Fields) != len(dn.Fields):
		return fmt.Sprintf("%s: %s → %s", k, DescribeValue(key, old), DescribeValue(key, new))
	}
	var parts []string
	same := true
	for i := range do.Fields {
		if do.Fields[i].Value == dn.Fields[i].Value {
			if len(do.Fields) > 3 {
				continue
			}
		} else {
			same = false
		}
		parts = append(parts, fmt.Sprintf("%s %s → %s", do.Fields[i].Name, do.Fields[i].Value, dn.Fields[i].Value))
	}
	if same {
		return fmt.Sprintf("%s: encoding change: the values decode equal (%s) but the bytes differ (%s → %s)",
			k, fieldsText(do.Fields), shortHex(old, 64), shortHex(new, 64))
	}
	return k + ": " + strings.Join(parts, ", ")
}

func shortHex(b []byte, max int) string {
	s := hex.EncodeToString(b)
	if len(s) > max {
		return s[:max] + "…"
	}
	return s
}

// DescribeTx summarises a user transaction: exec.action, sender, and its
// payload's fields as its executor renders them, with nonce and fee.
func DescribeTx(raw []byte) (exec, action, sender, detail string) {
	tx, err := chain.DecodeTx(raw)
	if err != nil {
		return "?", "?", "?", "undecodable: " + err.Error()
	}
	detail = fmt.Sprintf("nonce %d, fee %d", tx.Nonce, tx.Fee)
	if p := chain.DescribeTx(nil, tx); p != "" {
		detail = p + ", " + detail
	}
	return tx.Exec, tx.Action, tx.Sender().String(), detail
}

// txHash is the transaction hash the chain reports (sha256 of the bytes).
func txHash(raw []byte) string {
	d := sha256.Sum256(raw)
	return hex.EncodeToString(d[:])
}
