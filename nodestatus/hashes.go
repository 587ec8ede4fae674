package nodestatus

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// HashesFormat versions the hashes JSON (GET /status/hashes).
const HashesFormat = 1

// MaxHashes bounds the heights one hashes request may ask for.
const MaxHashes = 1000

// HeightHash is the state hash a node committed at a height.
type HeightHash struct {
	Height    int64  `json:"height"`
	StateHash string `json:"state_hash"`
}

// Hashes is the answer of GET /status/hashes?from=A&to=B: the state hash at
// every height in [A, B] the node holds, in ascending order.
type Hashes struct {
	Format int          `json:"format"`
	From   int64        `json:"from"`
	To     int64        `json:"to"`
	Hashes []HeightHash `json:"hashes"`
}

// HashSource returns the state hashes of the heights in [from, to] the node
// holds (heights above its head are left out).
type HashSource func(from, to int64) ([]HeightHash, error)

// parseRange reads ?from=&to= (or ?height=H for one height) and bounds it.
func parseRange(r *http.Request) (from, to int64, err error) {
	q := r.URL.Query()
	if h := q.Get("height"); h != "" {
		from, err = strconv.ParseInt(h, 10, 64)
		return from, from, err
	}
	if from, err = strconv.ParseInt(q.Get("from"), 10, 64); err != nil {
		return 0, 0, fmt.Errorf("from: %v", err)
	}
	if to, err = strconv.ParseInt(q.Get("to"), 10, 64); err != nil {
		return 0, 0, fmt.Errorf("to: %v", err)
	}
	switch {
	case from < 1 || to < from:
		return 0, 0, fmt.Errorf("heights %d..%d: give 1 <= from <= to", from, to)
	case to-from >= MaxHashes:
		return 0, 0, fmt.Errorf("heights %d..%d: at most %d heights a request", from, to, MaxHashes)
	}
	return from, to, nil
}

// FetchHashes reads the state hashes of the heights in [from, to] from the
// node at addr. A node that does not hold a height leaves it out.
func FetchHashes(ctx context.Context, addr string, from, to int64, timeout time.Duration) ([]HeightHash, error) {
	body, err := get(ctx, fmt.Sprintf("%s/status/hashes?from=%d&to=%d", baseURL(addr), from, to), addr, timeout)
	if err != nil {
		return nil, fmt.Errorf("hashes %d..%d: %v", from, to, err)
	}
	var hs Hashes
	if err := json.Unmarshal(body, &hs); err != nil {
		return nil, fmt.Errorf("status API %s: not a forkgate hashes answer: %v", addr, err)
	}
	if hs.Format < 1 || hs.Format > HashesFormat {
		return nil, fmt.Errorf("status API %s: hashes format %d, this build reads up to %d: use a newer forkgate", addr, hs.Format, HashesFormat)
	}
	return hs.Hashes, nil
}

// baseURL turns "host:port", a URL or a URL ending in /status into the
// API's base URL.
func baseURL(addr string) string {
	url := addr
	if !strings.Contains(url, "://") {
		url = "http://" + url
	}
	url = strings.TrimSuffix(url, "/")
	return strings.TrimSuffix(url, "/status")
}
