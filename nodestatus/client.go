package nodestatus

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// MaxBody bounds a status response: a status of a chain with thousands of
// producers and forks is a few hundred kilobytes; anything larger is not a
// forkgate node.
const MaxBody = 8 << 20

// Fetch reads the status of the node at addr ("host:port" or a URL), within
// timeout (0: 5 seconds).
func Fetch(ctx context.Context, addr string, timeout time.Duration) (*Status, error) {
	body, err := get(ctx, baseURL(addr)+"/status", addr, timeout)
	if err != nil {
		return nil, err
	}
	var st Status
	if err := json.Unmarshal(body, &st); err != nil {
		return nil, fmt.Errorf("status API %s: not a forkgate status: %v", addr, err)
	}
	if st.Format < 1 || st.Format > StatusFormat {
		return nil, fmt.Errorf("status API %s: status format %d, this build reads up to %d: use a newer forkgate", addr, st.Format, StatusFormat)
	}
	return &st, nil
}

// get reads a bounded answer of the status API within timeout (0: 5 s); a
// status other than 200 is an error with the body's message.
func get(ctx context.Context, url, addr string, timeout time.Duration) ([]byte, error) {
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("status API %s: %v", addr, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("status API %s: %v", addr, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxBody+1))
	if err != nil {
		return nil, fmt.Errorf("status API %s: %v", addr, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status API %s: %s: %s", addr, resp.Status, strings.TrimSpace(string(body)))
	}
	if len(body) > MaxBody {
		return nil, fmt.Errorf("status API %s: the response exceeds %d bytes: is this a forkgate node?", addr, MaxBody)
	}
	return body, nil
}
