package httpd

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"net/url"
	"strings"

	"github.com/supervision-suite/supervision/internal/tokens"
)

// Who may do what:
//
//   - On a unix socket, whoever may connect controls: the socket's mode
//     (0600, its owner only) is the access control.
//   - On TCP, a token's role, from "Authorization: Bearer SECRET" or
//     Basic authentication (NAME, SECRET). Without a tokens file (only on
//     loopback, see checkAddress) anyone connecting may read, and no one
//     control.
//   - Credentials given and wrong are a 401 however the server is set up,
//     and said in its log, as is a 403.
//   - Nothing is changed by a GET; a POST that a browser sends from
//     another site (its Origin, or Sec-Fetch-Site, says so) is refused,
//     so that a page elsewhere cannot use a browser's login here.

type ctxKey struct{}

// caller is who made a request, as the handlers see it.
type caller struct {
	role tokens.Role
	name string // the token's name, "unix" or "anonymous"
}

func callerOf(r *http.Request) caller {
	c, _ := r.Context().Value(ctxKey{}).(caller)
	return c
}

// authenticate finds the caller's role; an error is why it has none.
func (s *Server) authenticate(r *http.Request) (caller, string) {
	secret, name, given := credentials(r)
	switch {
	case s.unix && !given:
		return caller{tokens.Control, "unix"}, ""
	case !given && s.tokens == nil:
		return caller{tokens.Read, "anonymous"}, ""
	case !given:
		return caller{}, "no credentials"
	case s.tokens == nil:
		return caller{}, "credentials given, but the server has no tokens file"
	}
	t, ok := s.keys.check(name, secret)
	if !ok {
		return caller{}, "no such token"
	}
	return caller{t.Role, t.Name}, ""
}

// keyring is the tokens with their secrets' hashes: a secret given is
// hashed, then compared with every token's in constant time, so that the
// time taken says nothing of which matched, or how much of one.
type keyring []key

type key struct {
	tokens.Token
	sum [sha256.Size]byte
}

func newKeyring(set *tokens.Set) keyring {
	var k keyring
	for _, t := range set.Tokens {
		k = append(k, key{t, sha256.Sum256([]byte(t.Secret))})
	}
	return k
}

// check finds the token of a secret, and of a name when one is given
// (Basic authentication).
func (k keyring) check(name, secret string) (tokens.Token, bool) {
	sum := sha256.Sum256([]byte(secret))
	var found tokens.Token
	ok := false
	for _, t := range k {
		match := subtle.ConstantTimeCompare(sum[:], t.sum[:]) == 1
		if match && (name == "" || name == t.Name) && !ok {
			found, ok = t.Token, true
		}
	}
	return found, ok
}

// credentials are a Bearer token or Basic authentication's pair.
func credentials(r *http.Request) (secret, name string, given bool) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return "", "", false
	}
	if tok, ok := strings.CutPrefix(h, "Bearer "); ok {
		return strings.TrimSpace(tok), "", true
	}
	if user, pass, ok := r.BasicAuth(); ok {
		return pass, user, true
	}
	return "", "", true // a scheme we do not take: wrong credentials
}

// need wraps a handler that needs role: it answers 401 or 403 (and says
// so in the log) to a caller without it.
func (s *Server) need(role tokens.Role, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, why := s.authenticate(r)
		if why != "" {
			s.log.Printf("401 %s %s from %s: %s", r.Method, r.URL.Path, remote(r), why)
			w.Header().Set("WWW-Authenticate", `Basic realm="supervision", charset="UTF-8"`)
			s.fail(w, r, http.StatusUnauthorized, "authentication needed: "+why)
			return
		}
		if c.role < role {
			s.log.Printf("403 %s %s from %s: %s has the %s role, this needs %s", r.Method, r.URL.Path, remote(r), c.name, c.role, role)
			why := c.name + " has the " + c.role.String() + " role; this needs " + role.String()
			if c.name == "anonymous" {
				why = "control needs a token (the server has no tokens file)"
			}
			s.fail(w, r, http.StatusForbidden, why)
			return
		}
		if r.Method == http.MethodPost && crossSite(r) {
			s.log.Printf("403 %s %s from %s: sent by a page of another site (Origin %q)", r.Method, r.URL.Path, remote(r), r.Header.Get("Origin"))
			s.fail(w, r, http.StatusForbidden, "a request from a page of another site")
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, c)))
	}
}

// crossSite: a browser says where a request comes from; another origin's
// page must not act here with the credentials the browser holds.
func crossSite(r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		return true
	}
	origin := r.Header.Get("Origin")
	if origin == "" || origin == "null" && r.Header.Get("Sec-Fetch-Site") == "same-origin" {
		return false
	}
	u, err := url.Parse(origin)
	return err != nil || u.Host != r.Host
}

func remote(r *http.Request) string {
	if r.RemoteAddr == "" || r.RemoteAddr == "@" {
		return "the unix socket"
	}
	return r.RemoteAddr
}
