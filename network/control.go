package network

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// The control API of a network that `forkgate net up` left running: HTTP
// over a unix socket (only the user who started it can reach it), served by
// the background process that holds the node processes and the relay.

// SocketPath is the control socket of the network in dir (in the temporary
// directory: socket paths are limited to about 100 bytes).
func SocketPath(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		abs = dir
	}
	h := sha256.Sum256([]byte(abs))
	return filepath.Join(os.TempDir(), "forkgate-net-"+hex.EncodeToString(h[:6])+".sock")
}

// Serve answers the control API of nw until it is down.
func Serve(nw *Network) error {
	path := SocketPath(nw.Dir)
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return fmt.Errorf("a network is already up in %s (control socket %s): run forkgate net down %s first", nw.Dir, path, nw.Dir)
	}
	os.Remove(path)
	ln, err := net.Listen("unix", path)
	if err != nil {
		return err
	}
	defer os.Remove(path)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
		defer cancel()
		json.NewEncoder(w).Encode(nw.Status(ctx))
	})
	mux.HandleFunc("POST /perturb", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if err := nw.Perturb(q.Get("node"), q.Get("action"), q.Get("binary")); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("POST /down", func(w http.ResponseWriter, r *http.Request) {
		nw.Down()
		io.WriteString(w, "down\n")
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-nw.Done()
		time.Sleep(200 * time.Millisecond) // let the /down answer go out
		srv.Close()
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Client talks to the control API of a network that is up.
type Client struct {
	dir string
	hc  *http.Client
}

// ErrNotUp means no network answers on dir's control socket.
var ErrNotUp = errors.New("the network is not up")

// Dial connects to the network in dir.
func Dial(dir string) (*Client, error) {
	path := SocketPath(dir)
	c, err := net.DialTimeout("unix", path, time.Second)
	if err != nil {
		return nil, fmt.Errorf("%w (no control socket %s): run forkgate net up %s", ErrNotUp, path, dir)
	}
	c.Close()
	hc := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		}}}
	return &Client{dir: dir, hc: hc}, nil
}

func (c *Client) do(method, path string) ([]byte, error) {
	req, err := http.NewRequest(method, "http://net"+path, nil)
	if err != nil {
		return nil, err
	}
	res, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if res.StatusCode != http.StatusOK {
		return nil, errors.New(strings.TrimSpace(string(b)))
	}
	return b, nil
}

// Status is Network.Status of the remote network.
func (c *Client) Status() ([]NodeStatus, error) {
	b, err := c.do("GET", "/status")
	if err != nil {
		return nil, err
	}
	var out []NodeStatus
	return out, json.Unmarshal(b, &out)
}

// Perturb is Network.Perturb on the remote network.
func (c *Client) Perturb(name, action, binary string) error {
	q := "node=" + url.QueryEscape(name) + "&action=" + url.QueryEscape(action) + "&binary=" + url.QueryEscape(binary)
	_, err := c.do("POST", "/perturb?"+q)
	return err
}

// Down stops the remote network and waits until its socket is gone.
func (c *Client) Down() error {
	if _, err := c.do("POST", "/down"); err != nil {
		return err
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(SocketPath(c.dir)); errors.Is(err, os.ErrNotExist) {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return errors.New("the network's control process did not exit within 30s")
}

// OfflineStatus reports the nodes of a network that is not up, from their
// data.
func OfflineStatus(dir string) ([]NodeStatus, error) {
	f, err := Load(dir)
	if err != nil {
		return nil, err
	}
	out := make([]NodeStatus, len(f.Nodes))
	for i, spec := range f.Nodes {
		ns := NodeStatus{Name: spec.Name, Producer: spec.Producer, Binary: spec.Binary, State: "down"}
		fillStatus(context.Background(), &ns, filepath.Join(dir, spec.Home), false, false)
		out[i] = ns
	}
	return out, nil
}
