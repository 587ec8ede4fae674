package dashboard

import (
	"context"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/forkgate/forkgate/devnet"
	"github.com/forkgate/forkgate/fleet"
)

// browserPath finds Debian's Chromium (make browser installs it).
func browserPath() string {
	if p := os.Getenv("FORKGATE_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-headless-shell", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	for _, p := range []string{"/usr/bin/chromium", "/usr/lib/chromium/chromium-headless-shell"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// TestDashboardInChromium loads the dashboard of a running chain (a devnet
// whose producers switch to signalling version 2 at different heights) in
// headless Chromium and checks, without reloading the page, that the
// node's height and version 2's tally change on it.
func TestDashboardInChromium(t *testing.T) {
	bin := browserPath()
	if bin == "" {
		t.Skip("no Chromium installed: run `make browser` (apt-get install chromium) to run the dashboard's browser test")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	// The chain: a devnet producing a block every 100 ms.
	addrc := make(chan string, 1)
	netCtx, stopNet := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		_, err := devnet.Run(netCtx, devnet.Options{Producers: 4, Blocks: 2000, Pace: 100 * time.Millisecond, TxsPerBlock: 2,
			UpgradeVersion: 2, ProducerUpgrades: map[string]int64{"p1": 40, "p2": 70, "p3": 100, "p4": 130},
			OnServe: func(a string) { addrc <- a }})
		done <- err
	}()
	t.Cleanup(func() { stopNet(); <-done })
	var addr string
	select {
	case addr = <-addrc:
	case err := <-done:
		t.Fatalf("the devnet stopped: %v", err)
	case <-ctx.Done():
		t.Fatal("the devnet did not serve its status API")
	}

	w := &fleet.Watcher{Targets: []fleet.Target{{Name: "n0", URL: "http://" + addr}}, Interval: 300 * time.Millisecond,
		Metrics: fleet.NewMetrics(), Options: fleet.Options{Timeout: 2 * time.Second}}
	go w.Run(netCtx, nil)
	ts := httptest.NewServer(New(w, Options{Title: "devnet"}))
	defer ts.Close()

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(bin), chromedp.NoSandbox, chromedp.DisableGPU)
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	defer acancel()
	bctx, bcancel := chromedp.NewContext(actx)
	defer bcancel()
	if err := chromedp.Do(bctx, chromedp.Navigate(ts.URL), chromedp.WaitVisible("#height-n0")); err != nil {
		t.Fatalf("load the dashboard: %v", err)
	}
	read := func() (height, tally string) {
		t.Helper()
		// Read through the DOM each time: every update swaps the nodes in.
		h, err := chromedp.Run(bctx, chromedp.Evaluate[string](`document.getElementById("height-n0").textContent`))
		if err != nil {
			t.Fatalf("height: %v", err)
		}
		// The tally may not be on the page before the first check.
		v, err := chromedp.Run(bctx, chromedp.Evaluate[string](`(document.getElementById("tally-n0-v2")||{}).textContent||""`))
		if err != nil {
			t.Fatalf("tally: %v", err)
		}
		return strings.TrimSpace(h), v
	}
	// Mark the document: a reload would lose the mark.
	if _, err := chromedp.Run(bctx, chromedp.Evaluate[int](`window.forkgateMark = 1`)); err != nil {
		t.Fatal(err)
	}
	deadline, _ := ctx.Deadline()
	h0, t0 := read()
	heights, tallies := map[string]bool{h0: true}, map[string]bool{t0: true}
	for len(heights) < 3 || len(tallies) < 2 {
		if time.Until(deadline) < 5*time.Second {
			t.Fatalf("the page did not change enough: heights %v, tallies %v", heights, tallies)
		}
		time.Sleep(300 * time.Millisecond)
		h, v := read()
		if !heights[h] || !tallies[v] {
			t.Logf("page: height %s, version 2 tally %q", h, v)
		}
		heights[h], tallies[v] = true, true
	}
	mark, err := chromedp.Run(bctx, chromedp.Evaluate[int](`window.forkgateMark || 0`))
	if err != nil || mark != 1 {
		t.Fatalf("the page reloaded (mark %d, %v): updates must come live", mark, err)
	}
	conn, _ := chromedp.Run(bctx, chromedp.Evaluate[string](`document.getElementById("conn").textContent`))
	if conn != "connected" {
		t.Errorf("live updates: %q", conn)
	}
	t.Logf("heights seen %v, version 2 tallies seen %v", keys(heights), keys(tallies))
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
