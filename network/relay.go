package network

import (
	"io"
	"net"
	"sync"
	"time"
)

// relay forwards every directed peer link i→j of a network through a
// loopback port of its own, so a node can be cut off from all its peers
// and healed without privileges: a cut node's live connections are closed
// and new ones refused. CometBFT authenticates peers by their node keys
// (SecretConnection), so the relayed address changes nothing else.
type relay struct {
	mu    sync.Mutex
	cut   map[int]bool
	links map[*link]struct{}
	ls    []net.Listener
	wg    sync.WaitGroup
}

type link struct {
	from, to int
	a, b     net.Conn
}

func newRelay() *relay {
	return &relay{cut: map[int]bool{}, links: map[*link]struct{}{}}
}

// listen starts forwarding ln (the link from→to) to target.
func (r *relay) listen(ln net.Listener, from, to int, target func() string) {
	r.mu.Lock()
	r.ls = append(r.ls, ln)
	r.mu.Unlock()
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go r.forward(c, from, to, target())
		}
	}()
}

func (r *relay) forward(a net.Conn, from, to int, target string) {
	r.mu.Lock()
	blocked := r.cut[from] || r.cut[to]
	r.mu.Unlock()
	if blocked {
		a.Close()
		return
	}
	b, err := net.DialTimeout("tcp", target, 2*time.Second)
	if err != nil {
		a.Close()
		return
	}
	l := &link{from: from, to: to, a: a, b: b}
	r.mu.Lock()
	if r.cut[from] || r.cut[to] { // cut while dialling
		r.mu.Unlock()
		a.Close()
		b.Close()
		return
	}
	r.links[l] = struct{}{}
	r.mu.Unlock()
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		io.Copy(dst, src)
		done <- struct{}{}
	}
	go pipe(a, b)
	go pipe(b, a)
	<-done
	a.Close()
	b.Close()
	<-done
	r.mu.Lock()
	delete(r.links, l)
	r.mu.Unlock()
}

// setCut cuts node k off (closing its live links) or heals it.
func (r *relay) setCut(k int, cut bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !cut {
		delete(r.cut, k)
		return
	}
	r.cut[k] = true
	for l := range r.links {
		if l.from == k || l.to == k {
			l.a.Close()
			l.b.Close()
		}
	}
}

func (r *relay) isCut(k int) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cut[k]
}

func (r *relay) close() {
	r.mu.Lock()
	for _, ln := range r.ls {
		ln.Close()
	}
	for l := range r.links {
		l.a.Close()
		l.b.Close()
	}
	r.mu.Unlock()
	r.wg.Wait()
}
