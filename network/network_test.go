package network

import (
	"bufio"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// echo serves lines back on a loopback port until the test ends.
func echo(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					l, err := r.ReadString('\n')
					if err != nil {
						return
					}
					c.Write([]byte(l))
				}
			}()
		}
	}()
	return ln.Addr().String()
}

func roundTrip(c net.Conn) error {
	c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte("ping\n")); err != nil {
		return err
	}
	_, err := bufio.NewReader(c).ReadString('\n')
	return err
}

// TestRelayCutHeal: a cut node's live links are closed and new ones
// refused, other links are untouched; healed, it connects again.
func TestRelayCutHeal(t *testing.T) {
	target := echo(t)
	r := newRelay()
	defer r.close()
	listen := func(from, to int) string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		r.listen(ln, from, to, func() string { return target })
		return ln.Addr().String()
	}
	l01, l12 := listen(0, 1), listen(1, 2)
	dial := func(addr string) net.Conn {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	c01, c12 := dial(l01), dial(l12)
	if roundTrip(c01) != nil || roundTrip(c12) != nil {
		t.Fatal("links do not forward")
	}
	r.setCut(0, true)
	if roundTrip(c01) == nil {
		t.Fatal("node 0's live link survived the cut")
	}
	if roundTrip(c12) != nil {
		t.Fatal("the cut of node 0 closed the link 1->2")
	}
	if roundTrip(dial(l01)) == nil {
		t.Fatal("a new link of the cut node 0 was accepted")
	}
	r.setCut(0, false)
	if err := roundTrip(dial(l01)); err != nil {
		t.Fatalf("healed node 0 cannot connect: %v", err)
	}
}

func TestDisagreement(t *testing.T) {
	tests := []struct {
		sts  []NodeStatus
		want string
	}{
		{[]NodeStatus{{Name: "n0", Height: 5, StateHash: "aa"}, {Name: "n1", Height: 5, StateHash: "aa"}, {Name: "n2", Height: 4, StateHash: "bb"}}, ""},
		{[]NodeStatus{{Name: "n0", Height: 5, StateHash: "aa"}, {Name: "n1", Height: 5, StateHash: "cc"}}, "height 5: state hashes differ (n0: aa; n1: cc)"},
		{[]NodeStatus{{Name: "n0", Height: 0}, {Name: "n1", Error: "down"}}, ""},
	}
	for i, tc := range tests {
		if got := Disagreement(tc.sts); got != tc.want {
			t.Errorf("%d: %q, want %q", i, got, tc.want)
		}
	}
}

// TestInitLoad: Init writes homes a CometBFT engine can run and a network
// file Load reads back; Up's address rewrite touches only its table.
func TestInitLoad(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "net")
	exe, _ := os.Executable()
	f, err := Init(dir, Options{Validators: 3, Binaries: []string{exe}, TimeoutCommit: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	g, err := Load(dir)
	if err != nil || len(g.Nodes) != 3 || g.Nodes[2].Producer != "p3" || g.Nodes[0].NodeID != f.Nodes[0].NodeID || g.Power != 10 {
		t.Fatalf("load: %+v %v", g, err)
	}
	if _, err := Init(dir, Options{}); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("init over a network: %v", err)
	}
	home := filepath.Join(dir, "n1")
	if err := setCometAddrs(home, "127.0.0.1:1", "127.0.0.1:2", "id@127.0.0.1:3"); err != nil {
		t.Fatal(err)
	}
	cfg, _ := os.ReadFile(filepath.Join(home, "config.toml"))
	for _, want := range []string{`engine = "cometbft"`, `producers = ["p2"]`, `p2p = "127.0.0.1:1"`, `rpc = "127.0.0.1:2"`, `peers = "id@127.0.0.1:3"`, `timeout_commit = "50ms"`} {
		if !strings.Contains(string(cfg), want) {
			t.Errorf("config.toml lacks %s", want)
		}
	}
	os.WriteFile(filepath.Join(dir, FileName), []byte(`{"format":1,"nodes":[{"name":"n0","home":"../x","node_id":"a","binary":"b"}]}`), 0o644)
	if _, err := Load(dir); err == nil {
		t.Fatal("a home outside the directory was accepted")
	}
}

// Ports a network picks must not come from the kernel's ephemeral range,
// where ":0" listeners and outgoing connections could take them before the
// node binds, and must differ within one network.
func TestFreeAddrOutsideEphemeralRange(t *testing.T) {
	picked := map[string]bool{}
	for range 64 {
		addr, err := freeAddr(picked)
		if err != nil {
			t.Fatal(err)
		}
		_, port, _ := net.SplitHostPort(addr)
		if p, _ := strconv.Atoi(port); p < 20000 || p >= 32000 {
			t.Fatalf("port %d outside 20000–31999", p)
		}
	}
	if len(picked) != 64 {
		t.Fatalf("%d distinct addresses in 64 picks", len(picked))
	}
}

// Only the last start's output decides whether Up retries on other ports:
// node logs are appended across starts, and a clash an earlier attempt
// already retried must not make a later, different failure look like one.
func TestPortTakenReadsTheLastStart(t *testing.T) {
	dir := t.TempDir()
	nw := &Network{Dir: dir, File: &File{Nodes: []NodeSpec{{Name: "n0"}, {Name: "n1"}}}}
	if err := os.MkdirAll(filepath.Join(dir, "logs"), 0o755); err != nil {
		t.Fatal(err)
	}
	clash := "listen tcp 127.0.0.1:2000: bind: address already in use\n"
	for _, tc := range []struct {
		n0, n1, want string
	}{
		{"== t0 " + startMarker + " a\n" + clash, "== t0 " + startMarker + " a\nok\n", "n0"},
		{"== t0 " + startMarker + " a\n" + clash + "== t1 " + startMarker + " a\nconsensus failure\n", "", ""},
		{"", "== t0 " + startMarker + " a\nok\n== t1 " + startMarker + " a\n" + clash, "n1"},
		{"no marker\n" + clash, "", "n0"},
	} {
		for i, text := range []string{tc.n0, tc.n1} {
			if err := os.WriteFile(nw.LogPath(i), []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if got := nw.portTaken(); got != tc.want {
			t.Errorf("logs %q / %q: portTaken = %q, want %q", tc.n0, tc.n1, got, tc.want)
		}
	}
}
