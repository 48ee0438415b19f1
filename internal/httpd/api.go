package httpd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/supervision-suite/supervision/internal/app"
	"github.com/supervision-suite/supervision/internal/options"
	"github.com/supervision-suite/supervision/internal/svctl"
	"github.com/supervision-suite/supervision/internal/tokens"
)

// Version is the API's: its paths begin with /v1. A field added keeps it;
// one removed or changed makes /v2.
const Version = 1

// Handler is every route of the server.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	read, control := tokens.Read, tokens.Control
	for _, r := range []struct {
		pattern string
		role    tokens.Role
		h       http.HandlerFunc
	}{
		{"GET /v1", read, s.index},
		{"GET /v1/services", read, s.services},
		{"GET /v1/services/{name}", read, s.service},
		{"GET /v1/services/{name}/log", read, s.serviceLog},
		{"POST /v1/services/{name}/{action}", control, s.serviceAction},
		{"GET /v1/apps", read, s.apps},
		{"GET /v1/apps/{name}", read, s.app},
		{"POST /v1/apps/{name}/{action}", control, s.appAction},
		{"GET /v1/events", read, s.events},
		{"GET /metrics", read, s.metrics},
		{"GET /{$}", read, s.page},
		{"GET /page/row/{name}", read, s.row},
		{"GET /page/apps", read, s.appRows},
		{"GET /page.js", read, s.asset},
		{"GET /page.css", read, s.asset},
		{"POST /RPC2", read, s.rpc}, // each method checks its own role
		{"GET /logtail/{name}/{stream}", read, s.logtail},
		{"/", read, s.notFound},
	} {
		mux.HandleFunc(r.pattern, s.need(r.role, r.h))
	}
	return mux
}

// apiError is every error's body.
type apiError struct {
	Error  string `json:"error"`
	Status int    `json:"status"`
}

// fail answers an error: JSON, or a line of text to a browser's form.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, status int, msg string) {
	if fromForm(r) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(status)
		fmt.Fprintln(w, msg)
		return
	}
	writeJSON(w, status, apiError{msg, status})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		status, data = http.StatusInternalServerError, []byte(`{"error":"cannot encode the answer","status":500}`)
	}
	writeBody(w, status, "application/json", append(data, '\n'))
}

// writeBody answers data whole: its length said, never cached.
func writeBody(w http.ResponseWriter, status int, contentType string, data []byte) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.WriteHeader(status)
	w.Write(data)
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	s.fail(w, r, http.StatusNotFound, fmt.Sprintf("%s %s: no such endpoint (see docs/API.md)", r.Method, r.URL.Path))
}

// index says what the server is and what the caller may do.
func (s *Server) index(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"api": Version, "node": s.cfg.Node, "scandir": s.cfg.ScanDir,
		"role": callerOf(r).role.String(), "last_event": s.hub.last(),
	})
}

func (s *Server) services(w http.ResponseWriter, r *http.Request) {
	svcs, infos, errs, err := s.model.all()
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, known(svcs, infos, errs))
}

// known turns a service whose state cannot be read into one that says
// why, as sv-ctl status --json does.
func known(svcs []svctl.Service, infos []svctl.Info, errs []error) []svctl.Info {
	for i, svc := range svcs {
		if errs[i] != nil {
			infos[i] = svctl.Unknown(svc, errs[i])
		}
	}
	return infos
}

// lookup is the service of the request's {name}, in the scan dir only:
// a path or a definition not linked is not the server's to show.
func (s *Server) lookup(w http.ResponseWriter, r *http.Request) (svctl.Service, bool) {
	name := r.PathValue("name")
	if err := options.CheckServiceName(name); err != nil {
		s.fail(w, r, http.StatusBadRequest, err.Error())
		return svctl.Service{}, false
	}
	svcs, err := s.model.list()
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, err.Error())
		return svctl.Service{}, false
	}
	for _, svc := range svcs {
		if svc.Name == name {
			return svc, true
		}
	}
	s.fail(w, r, http.StatusNotFound, name+": no such service in "+s.cfg.ScanDir)
	return svctl.Service{}, false
}

func (s *Server) service(w http.ResponseWriter, r *http.Request) {
	svc, ok := s.lookup(w, r)
	if !ok {
		return
	}
	info := s.model.one(svc)
	writeJSON(w, http.StatusOK, info)
}

// actions are what POST /v1/services/NAME/ACTION does: the control
// letters of runsv(8), and what it waits for with wait=true.
var actions = map[string]struct{ letters, wait string }{
	"up":      {"u", svctl.WaitReady},
	"down":    {"d", svctl.WaitDown},
	"once":    {"o", svctl.WaitUp},
	"restart": {"tcu", "restarted"},
	"reload":  {"h", ""},
	"exit":    {"x", ""},
	"signal":  {"", ""},
}

// actionRequest is an action's parameters: a JSON body, a form, or the
// query string.
type actionRequest struct {
	Signal  string `json:"signal"`
	Wait    bool   `json:"wait"`
	Timeout string `json:"timeout"`
	timeout time.Duration
}

// maxWait bounds a wait=true: an answer is not held longer.
const maxWait = 5 * time.Minute

func (s *Server) actionRequest(w http.ResponseWriter, r *http.Request) (actionRequest, bool) {
	var req actionRequest
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "application/json":
		dec := json.NewDecoder(r.Body)
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			s.fail(w, r, badBodyStatus(err), "the body: "+err.Error())
			return req, false
		}
	default:
		if err := r.ParseForm(); err != nil {
			s.fail(w, r, badBodyStatus(err), "the form: "+err.Error())
			return req, false
		}
		req.Signal, req.Timeout = r.Form.Get("signal"), r.Form.Get("timeout")
		req.Wait = r.Form.Get("wait") == "true" || r.Form.Get("wait") == "1"
	}
	req.timeout = 30 * time.Second
	if req.Timeout != "" {
		d, err := time.ParseDuration(req.Timeout)
		if err != nil || d <= 0 || d > maxWait {
			s.fail(w, r, http.StatusBadRequest, fmt.Sprintf("timeout %q: want a duration up to %s", req.Timeout, maxWait))
			return req, false
		}
		req.timeout = d
	}
	return req, true
}

func badBodyStatus(err error) int {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return http.StatusRequestEntityTooLarge
	}
	return http.StatusBadRequest
}

func (s *Server) serviceAction(w http.ResponseWriter, r *http.Request) {
	svc, ok := s.lookup(w, r)
	if !ok {
		return
	}
	act, ok := actions[r.PathValue("action")]
	if !ok {
		s.fail(w, r, http.StatusNotFound, r.PathValue("action")+": no such action (up, down, once, restart, reload, exit, signal)")
		return
	}
	req, ok := s.actionRequest(w, r)
	if !ok {
		return
	}
	before := s.model.one(svc)
	if err := s.act(svc, r.PathValue("action"), act.letters, req); err != nil {
		status := http.StatusConflict // not supervised, not running
		var bad *badRequest
		if errors.As(err, &bad) {
			status = http.StatusBadRequest
		}
		s.fail(w, r, status, err.Error())
		return
	}
	s.log.Printf("%s: %s by %s", svc.Name, r.PathValue("action"), callerOf(r).name)
	if req.Wait && act.wait != "" {
		ctx, cancel := context.WithTimeout(r.Context(), req.timeout)
		defer cancel()
		cond := svctl.After(before, act.wait)
		if act.wait == "restarted" {
			cond = svctl.Restarted(before.Pid)
		}
		if _, err := svctl.WaitFor(ctx, svc, act.wait, cond); err != nil {
			s.fail(w, r, waitStatus(err), err.Error())
			return
		}
	}
	s.done(w, r, svc)
}

// act sends the service what the action is.
func (s *Server) act(svc svctl.Service, action, letters string, req actionRequest) error {
	if action != "signal" {
		return svctl.Send(svc, letters)
	}
	if req.Signal == "" {
		return &badRequest{"signal: say which (signal=HUP)"}
	}
	sig, err := options.ParseSignal(req.Signal)
	if err != nil {
		return &badRequest{"signal: " + err.Error()}
	}
	return svctl.Signal(svc, sig)
}

// badRequest is an error of the request's own (400).
type badRequest struct{ msg string }

func (e *badRequest) Error() string { return e.msg }

// waitStatus is the status of a wait that failed: the service given up
// (409), or not there in time (504).
func waitStatus(err error) int {
	if errors.Is(err, svctl.ErrFatal) || errors.As(err, new(notSent)) {
		return http.StatusConflict
	}
	return http.StatusGatewayTimeout
}

// done answers an action: the service's state now, or, to the page's
// form (a browser without JavaScript), back to the page.
func (s *Server) done(w http.ResponseWriter, r *http.Request, svc svctl.Service) {
	if fromForm(r) {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	info := s.model.one(svc)
	writeJSON(w, http.StatusOK, info)
}

// fromForm: a browser's form submission, which wants a page back.
func fromForm(r *http.Request) bool {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return r.Method == http.MethodPost && ct == "application/x-www-form-urlencoded" && strings.Contains(r.Header.Get("Accept"), "text/html")
}

func (s *Server) apps(w http.ResponseWriter, r *http.Request) {
	apps, err := s.appStatuses(nil)
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, apps)
}

// appStatuses are the applications' states from the services' (each
// says its application in its state.json: no OPTIONS are read).
func (s *Server) appStatuses(names []string) ([]app.Status, error) {
	svcs, infos, errs, err := s.model.all()
	if err != nil {
		return nil, err
	}
	return svctl.AppsOf(svcs, infos, errs, func() map[string]app.Membership { return nil }, names), nil
}

func (s *Server) app(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	apps, err := s.appStatuses([]string{name})
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, err.Error())
		return
	}
	if apps[0].State == "" {
		s.fail(w, r, http.StatusNotFound, name+": no service of it in "+s.cfg.ScanDir)
		return
	}
	writeJSON(w, http.StatusOK, apps[0])
}

// members are the application's services in the scan dir, by name.
func (s *Server) members(name string) ([]svctl.Service, []svctl.Info) {
	svcs, infos, errs, err := s.model.all()
	if err != nil {
		return nil, nil
	}
	var ms []svctl.Service
	var is []svctl.Info
	for i, svc := range svcs {
		if errs[i] == nil && infos[i].App == name {
			ms, is = append(ms, svc), append(is, infos[i])
		}
	}
	return ms, is
}

func (s *Server) appAction(w http.ResponseWriter, r *http.Request) {
	name, action := r.PathValue("name"), r.PathValue("action")
	if action != "start" && action != "stop" && action != "restart" {
		s.fail(w, r, http.StatusNotFound, action+": no such action (start, stop, restart)")
		return
	}
	req, ok := s.actionRequest(w, r)
	if !ok {
		return
	}
	members, before := s.members(name)
	if len(members) == 0 {
		s.fail(w, r, http.StatusNotFound, name+": no service of it in "+s.cfg.ScanDir)
		return
	}
	s.log.Printf("@%s: %s by %s", name, action, callerOf(r).name)
	ctx, cancel := context.WithTimeout(r.Context(), req.timeout)
	defer cancel()
	if err := appDo(ctx, action, members, before, req.Wait); err != nil {
		s.fail(w, r, waitStatus(err), err.Error())
		return
	}
	if fromForm(r) {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	apps, _ := s.appStatuses([]string{name})
	writeJSON(w, http.StatusOK, apps[0])
}

// appDo sends the members of an application up or down: sv-scan orders
// them by their dependencies. A restart waits for every member down
// before it sends up.
func appDo(ctx context.Context, action string, members []svctl.Service, before []svctl.Info, wait bool) error {
	if action == "stop" || action == "restart" {
		if err := sendAll(members, "d"); err != nil {
			return err
		}
		if wait || action == "restart" {
			if err := waitAll(ctx, members, nil, svctl.WaitDown); err != nil {
				return err
			}
		}
	}
	if action == "stop" {
		return nil
	}
	if action == "restart" {
		for i, m := range members {
			before[i], _ = svctl.Status(m)
		}
	}
	if err := sendAll(members, "u"); err != nil {
		return err
	}
	if !wait {
		return nil
	}
	return waitAll(ctx, members, before, svctl.WaitReady)
}

func sendAll(members []svctl.Service, letters string) error {
	for _, m := range members {
		if err := svctl.Send(m, letters); err != nil {
			return notSent{err}
		}
	}
	return nil
}

// notSent is an action that could not be sent (no supervisor listens): a
// conflict, not a wait that timed out.
type notSent struct{ error }

func (e notSent) Unwrap() error { return e.error }

func waitAll(ctx context.Context, members []svctl.Service, before []svctl.Info, cond string) error {
	for i, m := range members {
		var err error
		if before != nil {
			_, err = svctl.WaitFor(ctx, m, cond, svctl.Started(before[i]))
		} else {
			_, err = svctl.Wait(ctx, m, cond)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// queryInt reads a non-negative integer parameter, def when absent.
func queryInt(r *http.Request, name string, def, most int) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > most {
		return 0, fmt.Errorf("%s=%q: want a number from 0 to %d", name, v, most)
	}
	return n, nil
}
