package nodestatus

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"time"
)

// Source computes the current status; the server calls it per request.
type Source func() (*Status, error)

// Server serves the status API.
type Server struct {
	srv  *http.Server
	addr string
	done chan struct{}
}

// Options add optional parts to the status API.
type Options struct {
	// Hashes serves GET /status/hashes (the state hash at past heights),
	// which fleet checks use to find the height where nodes split.
	Hashes HashSource
}

// Serve starts the status API on addr (e.g. 127.0.0.1:0): GET /status (and
// GET /) returns the Status JSON, GET /metrics the node's Prometheus
// metrics (a registry of its own, computed from the status at each scrape).
// warn, if set, is told when addr is not a loopback address, since anyone
// who reaches it can read the status.
func Serve(addr string, src Source, warn func(string)) (*Server, error) {
	return ServeWith(addr, src, Options{}, warn)
}

// ServeWith is Serve with optional parts.
func ServeWith(addr string, src Source, o Options, warn func(string)) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("status API: listen on %s: %v", addr, err)
	}
	if tcp, ok := ln.Addr().(*net.TCPAddr); ok && !tcp.IP.IsLoopback() && warn != nil {
		warn(fmt.Sprintf("the status API listens on %s, not a loopback address: anyone who can reach it can read the node's status", ln.Addr()))
	}
	mux := http.NewServeMux()
	handler := func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			http.Error(w, "use GET", http.StatusMethodNotAllowed)
			return
		}
		st, err := src()
		if err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.Encode(st)
	}
	mux.HandleFunc("/status", handler)
	mux.HandleFunc("/{$}", handler)
	mux.Handle("/metrics", MetricsHandler(src))
	mux.HandleFunc("/status/hashes", func(w http.ResponseWriter, r *http.Request) {
		if o.Hashes == nil {
			http.Error(w, "this node does not serve past state hashes", http.StatusNotFound)
			return
		}
		from, to, err := parseRange(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		hs, err := o.Hashes(from, to)
		if err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		if hs == nil {
			hs = []HeightHash{}
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(Hashes{Format: HashesFormat, From: from, To: to, Hashes: hs})
	})
	s := &Server{srv: &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}, addr: ln.Addr().String(), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		s.srv.Serve(ln)
	}()
	return s, nil
}

// Addr is the address the server listens on (host:port).
func (s *Server) Addr() string { return s.addr }

// Close stops the server, waiting up to two seconds for requests in flight.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	<-s.done
	return err
}
