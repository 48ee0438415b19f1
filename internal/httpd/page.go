package httpd

import (
	"bytes"
	"embed"
	"html/template"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/supervision-suite/supervision/internal/app"
	"github.com/supervision-suite/supervision/internal/svctl"
	"github.com/supervision-suite/supervision/internal/tokens"
)

// The status page: one HTML page rendered by the server, complete without
// JavaScript (its buttons are forms); page.js then keeps it live from the
// events stream, fetching the rows that changed as the server renders
// them (/page/row/NAME, /page/apps), so that a row is drawn by one
// template only. Everything is served from the binary, and the
// Content-Security-Policy allows nothing else: no inline script or
// style, no other origin.

//go:embed page
var pageFiles embed.FS

var pageTmpl = template.Must(template.New("page.html").Funcs(template.FuncMap{
	"uptime":         svctl.HumanDuration,
	"exit":           svctl.DescribeExit,
	"actionNames":    func() []string { return []string{"up", "down", "restart"} },
	"appActionNames": func() []string { return []string{"start", "stop", "restart"} },
}).ParseFS(pageFiles, "page/page.html"))

// csp is the page's Content-Security-Policy: its own script, style and
// requests, and nothing else.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// pageData is what the template shows.
type pageData struct {
	Node      string
	Control   bool
	LastEvent uint64
	Services  []serviceRow
	Apps      []appRow
	Log       string // the service whose log is shown
	LogLines  string
	LogError  string
}

// serviceRow is one service as the page shows it.
type serviceRow struct {
	svctl.Info
	Control bool
}

// Class is the row's colour: failing red, ready green, on its way
// yellow, down as wanted grey.
func (r serviceRow) Class() string {
	switch {
	case r.Failing():
		return "failing"
	case r.IsReady() || r.State == "done":
		return "ready"
	case r.Up() || r.State == "backoff" || r.State == "waiting" || r.State == "stopping":
		return "busy"
	}
	return "down"
}

func (r serviceRow) PidText() string {
	if r.Pid == 0 {
		return "-"
	}
	return strconv.Itoa(r.Pid)
}

func (r serviceRow) ReadyText() string {
	if r.Ready == nil || !r.Up() {
		return "-"
	}
	return map[bool]string{true: "yes", false: "no"}[*r.Ready]
}

func (r serviceRow) RestartsText() string {
	if r.Restarts == nil {
		return "-"
	}
	return strconv.Itoa(*r.Restarts)
}

func (r serviceRow) SinceText() string { return r.Since.UTC().Format(time.RFC3339Nano) }

// Note is what else the row says: why it waits, failed, or is unhealthy.
func (r serviceRow) Note() string {
	var parts []string
	for _, s := range []string{r.Describe(), r.Waiting, r.Fatal, r.Error} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, "; ")
}

// appRow is one application as the page shows it, coloured as Supvisors'
// dashboard: running green, a minor failure orange, a major one red.
type appRow struct {
	app.Status
	Control bool
}

func (a appRow) Class() string {
	switch {
	case a.Major:
		return "major"
	case a.Minor:
		return "minor"
	}
	return strings.ToLower(string(a.State))
}

func (a appRow) Failure() string {
	var parts []string
	for _, f := range a.Reasons {
		parts = append(parts, f.Member+": "+f.Why)
	}
	return strings.Join(parts, "; ")
}

func (a appRow) MemberList() string { return strings.Join(a.Members, " ") }

// security headers of every page and fragment.
func pageHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cache-Control", "no-store")
}

func (s *Server) pageData(r *http.Request) (pageData, error) {
	control := callerOf(r).role >= tokens.Control
	d := pageData{Node: s.cfg.Node, Control: control, LastEvent: s.hub.last()}
	svcs, infos, errs, err := s.model.all()
	if err != nil {
		return d, err
	}
	for _, info := range known(svcs, infos, errs) {
		d.Services = append(d.Services, serviceRow{info, control})
	}
	for _, a := range svctl.AppsOf(svcs, infos, errs, func() map[string]app.Membership { return nil }, nil) {
		d.Apps = append(d.Apps, appRow{a, control})
	}
	if name := r.URL.Query().Get("log"); name != "" {
		d.Log = name
		d.LogLines, d.LogError = s.logText(name, 50)
	}
	return d, nil
}

// logText is the last n lines of a service's log, or why there are none.
func (s *Server) logText(name string, n int) (string, string) {
	svcs, err := s.model.list()
	if err != nil {
		return "", err.Error()
	}
	for _, svc := range svcs {
		if svc.Name != name {
			continue
		}
		dir, err := svctl.LogDir(svc)
		if err != nil {
			return "", err.Error()
		}
		var b bytes.Buffer
		if err := svctl.Tail(dir, n, &b); err != nil {
			return "", err.Error()
		}
		return b.String(), ""
	}
	return "", name + ": no such service"
}

// page answers GET /: the whole page, rendered here.
func (s *Server) page(w http.ResponseWriter, r *http.Request) {
	d, err := s.pageData(r)
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, err.Error())
		return
	}
	s.render(w, r, "page.html", d)
}

// row answers GET /page/row/NAME: one service's row, for page.js.
func (s *Server) row(w http.ResponseWriter, r *http.Request) {
	svc, ok := s.lookup(w, r)
	if !ok {
		return
	}
	info := s.model.one(svc)
	s.render(w, r, "service", serviceRow{info, callerOf(r).role >= tokens.Control})
}

// appRows answers GET /page/apps: the applications' rows, for page.js.
func (s *Server) appRows(w http.ResponseWriter, r *http.Request) {
	d, err := s.pageData(r)
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, err.Error())
		return
	}
	s.render(w, r, "apps", d)
}

func (s *Server) render(w http.ResponseWriter, r *http.Request, name string, data any) {
	var b bytes.Buffer
	if err := pageTmpl.ExecuteTemplate(&b, name, data); err != nil {
		s.fail(w, r, http.StatusInternalServerError, "the page: "+err.Error())
		return
	}
	pageHeaders(w)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write(b.Bytes())
}

// asset answers the page's script and style.
func (s *Server) asset(w http.ResponseWriter, r *http.Request) {
	name := path.Base(r.URL.Path)
	data, err := pageFiles.ReadFile("page/" + name)
	if err != nil {
		s.notFound(w, r)
		return
	}
	pageHeaders(w)
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("Content-Type", map[string]string{".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}[path.Ext(name)])
	w.Write(data)
}
