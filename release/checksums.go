package release

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// Checksum is one line of a checksums file.
type Checksum struct {
	SHA256 string // 64 lower-case hex digits
	Name   string // a bare file name
}

// maxChecksums bounds a checksums file (a few lines per platform).
const maxChecksums = 64 << 10

// EncodeChecksums writes lines in the layout `sha256sum -c` reads:
// "<hex>  <name>", sorted by name.
func EncodeChecksums(sums []Checksum) []byte {
	s := append([]Checksum(nil), sums...)
	sort.Slice(s, func(i, j int) bool { return s[i].Name < s[j].Name })
	var b bytes.Buffer
	for _, c := range s {
		fmt.Fprintf(&b, "%s  %s\n", c.SHA256, c.Name)
	}
	return b.Bytes()
}

// ParseChecksums reads a checksums file. Every line must be "<hex>  <name>"
// (sha256sum's text mode; a '*' binary marker is accepted) with a bare file
// name, and no name may repeat.
func ParseChecksums(name string, b []byte) ([]Checksum, error) {
	if len(b) > maxChecksums {
		return nil, fmt.Errorf("%s: %d bytes is not a checksums file (limit %d)", name, len(b), maxChecksums)
	}
	var out []Checksum
	seen := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.TrimSpace(line) == "" {
			continue
		}
		sum, file, ok := strings.Cut(line, " ")
		file = strings.TrimPrefix(strings.TrimPrefix(file, " "), "*")
		if !ok || !isHex64(sum) || file == "" {
			return nil, fmt.Errorf("%s:%d: %q is not \"<sha256>  <name>\"", name, n, line)
		}
		if !isBareName(file) {
			return nil, fmt.Errorf("%s:%d: %q is not a plain file name", name, n, file)
		}
		if seen[file] {
			return nil, fmt.Errorf("%s:%d: %s is listed twice", name, n, file)
		}
		seen[file] = true
		out = append(out, Checksum{SHA256: strings.ToLower(sum), Name: file})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s lists no files", name)
	}
	return out, nil
}

// ChecksumOf finds a name's checksum in a parsed checksums file.
func ChecksumOf(sums []Checksum, name string) (string, bool) {
	for _, c := range sums {
		if c.Name == name {
			return c.SHA256, true
		}
	}
	return "", false
}

func isHex64(s string) bool {
	if len(s) != 64 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// isBareName accepts a file name without directories, so a checksums file
// can never make a reader touch a path outside its directory.
func isBareName(s string) bool {
	return s != "." && s != ".." && !strings.ContainsAny(s, "/\\\x00") && len(s) <= 255
}

// SHA256Bytes is the hex sha256 of b.
func SHA256Bytes(b []byte) string {
	d := sha256.Sum256(b)
	return hex.EncodeToString(d[:])
}

// SHA256File is the hex sha256 of a file's content.
func SHA256File(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, fmt.Errorf("reading %s: %v", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// errTooLarge marks a file or object above the size its reader allows.
var errTooLarge = errors.New("too large for a release file")

// readBounded reads a small file, refusing one above limit bytes.
func readBounded(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %v", path, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes: %w", path, limit, errTooLarge)
	}
	return b, nil
}
