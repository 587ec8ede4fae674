// Package dashboard serves a fleet's live web page: server-rendered
// templates embedded in the binary, updated without a page reload through
// server-sent events (GET /events), with no build step and no external
// asset. Each update is the same template rendered again on the server;
// the page's script only swaps it in.
package dashboard

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/forkgate/forkgate/fleet"
)

//go:embed page.html
var files embed.FS

// CampaignRow is one party's line in the campaign table.
type CampaignRow struct {
	Party    string `json:"party"`
	Chains   string `json:"chains"`
	State    string `json:"state"`
	Since    string `json:"since"`
	Evidence string `json:"evidence"`
}

// Options configure the page.
type Options struct {
	Title string
	// Campaign, when set, gives the campaign table at each render.
	Campaign func() ([]CampaignRow, error)
}

// Server is the dashboard's HTTP handler.
type Server struct {
	w    *fleet.Watcher
	o    Options
	tmpl *template.Template
	mux  *http.ServeMux
}

// New builds the dashboard over a watcher; GET / is the page, GET /events
// the live updates, GET /report.json the last report, GET /metrics the
// fleet metrics when the watcher has them.
func New(w *fleet.Watcher, o Options) *Server {
	if o.Title == "" {
		o.Title = "forkgate fleet"
	}
	s := &Server{w: w, o: o, mux: http.NewServeMux()}
	s.tmpl = template.Must(template.New("page.html").Funcs(template.FuncMap{
		"short": func(h string) string {
			if len(h) > 12 {
				return h[:12]
			}
			return h
		},
		// px is a share of the signalling chart's 120 pixels.
		"px": func(n, d int) int {
			if d <= 0 {
				return 0
			}
			return min(120, n*120/d)
		},
		"join":   strings.Join,
		"chains": chainsOf,
		"time":   func(t time.Time) string { return t.UTC().Format("15:04:05") },
	}).ParseFS(files, "page.html"))
	s.mux.HandleFunc("GET /{$}", s.page)
	s.mux.HandleFunc("GET /events", s.events)
	s.mux.HandleFunc("GET /report.json", func(rw http.ResponseWriter, r *http.Request) {
		rw.Header().Set("Content-Type", "application/json")
		json.NewEncoder(rw).Encode(s.w.Last())
	})
	if w.Metrics != nil {
		if o.Campaign != nil {
			w.Metrics.Registry.MustRegister(partiesCollector{o.Campaign})
		}
		s.mux.Handle("GET /metrics", w.Metrics.Handler())
	}
	return s
}

func (s *Server) ServeHTTP(rw http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(rw, r) }

// view is what the templates render.
type view struct {
	Title    string
	Report   *fleet.Report
	Versions []uint32 // every version any node declares
	Campaign []CampaignRow
	Error    string
}

func (s *Server) view(rep *fleet.Report) view {
	v := view{Title: s.o.Title, Report: rep}
	if rep != nil {
		seen := map[uint32]bool{}
		for _, n := range rep.Nodes {
			for _, t := range n.Signal {
				if !seen[t.Version] {
					seen[t.Version] = true
					v.Versions = append(v.Versions, t.Version)
				}
			}
		}
	}
	if s.o.Campaign != nil {
		rows, err := s.o.Campaign()
		if err != nil {
			v.Error = "campaign: " + err.Error()
		}
		v.Campaign = rows
	}
	return v
}

// chainView is one chain's nodes.
type chainView struct {
	Title string
	Nodes []fleet.NodeReport
}

// chainsOf groups a report's nodes by chain title, in the order they come
// (unreachable nodes, which report none, form their own group).
func chainsOf(rep *fleet.Report) []chainView {
	var out []chainView
	idx := map[string]int{}
	for _, n := range rep.Nodes {
		title := n.Title
		if !n.Reachable && title == "" {
			title = "(not answering)"
		}
		i, ok := idx[title]
		if !ok {
			i = len(out)
			idx[title] = i
			out = append(out, chainView{Title: title})
		}
		out[i].Nodes = append(out[i].Nodes, n)
	}
	return out
}

func (s *Server) render(name string, rep *fleet.Report) ([]byte, error) {
	var b bytes.Buffer
	if err := s.tmpl.ExecuteTemplate(&b, name, s.view(rep)); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func (s *Server) page(rw http.ResponseWriter, r *http.Request) {
	b, err := s.render("page.html", s.w.Last())
	if err != nil {
		http.Error(rw, err.Error(), http.StatusInternalServerError)
		return
	}
	rw.Header().Set("Content-Type", "text/html; charset=utf-8")
	rw.Write(b)
}

// events streams each new report as the re-rendered fleet section.
func (s *Server) events(rw http.ResponseWriter, r *http.Request) {
	fl, ok := rw.(http.Flusher)
	if !ok {
		http.Error(rw, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	rw.Header().Set("Content-Type", "text/event-stream")
	rw.Header().Set("Cache-Control", "no-cache")
	updates, stop := s.w.Subscribe()
	defer stop()
	send := func(rep *fleet.Report) bool {
		b, err := s.render("fleet", rep)
		if err != nil {
			return false
		}
		data, _ := json.Marshal(map[string]string{"html": string(b)})
		if _, err := fmt.Fprintf(rw, "event: fleet\ndata: %s\n\n", data); err != nil {
			return false
		}
		fl.Flush()
		return true
	}
	if !send(s.w.Last()) {
		return
	}
	keepalive := time.NewTicker(15 * time.Second)
	defer keepalive.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case rep := <-updates:
			if !send(rep) {
				return
			}
		case <-keepalive.C:
			fmt.Fprint(rw, ": keepalive\n\n")
			fl.Flush()
		}
	}
}

// Serve runs the dashboard on addr until ctx ends, calling ready with the
// bound address.
func Serve(ctx context.Context, addr string, s *Server, ready func(string)) error {
	srv := &http.Server{Addr: addr, Handler: s, ReadHeaderTimeout: 5 * time.Second}
	ln, err := listen(addr)
	if err != nil {
		return err
	}
	if ready != nil {
		ready(ln.Addr().String())
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
		return nil
	case err := <-errc:
		return err
	}
}
