// Package rules reads a site's rules file (SVDIR/.opt/rules): each line
// says "when this service, a member of this application, or any service
// has this event, do this action", as OpenContrail's node manager and
// supervisord's event listeners are used for. sv-scan acts on them
// (package hooks); sv-gen check checks them.
//
// A line is three fields: WHO EVENTS ACTION.
//
//	# WHO          EVENTS       ACTION
//	query-engine   fatal        stop:analytics-api
//	query-engine   ready        start:analytics-api
//	@analytics     crash,fatal  mail:ops@example.com
//	*              fatal        webhook:http://127.0.0.1:9000/sv
//
// WHO is a service's name, @APP (any member of the application), or *.
// EVENTS is one event or several, comma-separated (options.HookEvent).
// ACTION is the rest of the line: an action as the ON_* keys take.
package rules

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/supervision-suite/supervision/internal/options"
	"github.com/supervision-suite/supervision/internal/safefile"
)

// Rule is one line of the file.
type Rule struct {
	Who    string                      // NAME, @APP, or *
	Events [options.NumHookEvents]bool // the events it acts on
	Action options.Action
	Line   int
}

// Rules are the rules of one file, in its order.
type Rules struct {
	Path string
	List []Rule
}

// File is where the rules of the service definitions in svDir are.
func File(svDir string) string { return filepath.Join(svDir, ".opt", "rules") }

// maxFile bounds what is read of a rules file: a few thousand lines.
const maxFile = 1 << 20

// Load reads the rules file at path; none there is no rules, and no error.
// The rules of the lines that parse are returned with the errors of those
// that do not (options.Errors, one line each: path:line: why).
func Load(path string) (*Rules, error) {
	data, err := safefile.ReadFile(path, maxFile)
	if errors.Is(err, fs.ErrNotExist) {
		return &Rules{Path: path}, nil
	}
	if err != nil {
		return &Rules{Path: path}, fmt.Errorf("%s: %w", path, err)
	}
	return Parse(path, string(data))
}

// Parse reads the rules in text, from the file path (for messages). Its
// error, when some lines do not parse, is an options.Errors: one for each.
func Parse(path, text string) (*Rules, error) {
	r := &Rules{Path: path}
	var errs options.Errors
	for i, line := range strings.Split(text, "\n") {
		rule, ok, err := parseLine(line)
		if err != nil {
			errs = append(errs, &options.Error{Path: path, Line: i + 1, Msg: err.Error()})
			continue
		}
		if ok {
			rule.Line = i + 1
			r.List = append(r.List, rule)
		}
	}
	if len(errs) > 0 {
		return r, errs
	}
	return r, nil
}

// parseLine reads one line: ok is false for a blank line or a comment.
func parseLine(line string) (Rule, bool, error) {
	line = strings.TrimSpace(line)
	if line == "" || line[0] == '#' {
		return Rule{}, false, nil
	}
	who, rest := cutField(line)
	events, action := cutField(rest)
	if events == "" || action == "" {
		return Rule{}, false, errors.New("a rule is WHO EVENTS ACTION, as in: query-engine fatal stop:analytics-api")
	}
	var r Rule
	if err := checkWho(who); err != nil {
		return Rule{}, false, err
	}
	r.Who = who
	for _, name := range strings.Split(events, ",") {
		e, err := options.ParseHookEvent(name)
		if err != nil {
			return Rule{}, false, err
		}
		r.Events[e] = true
	}
	a, err := options.ParseAction(action)
	if err != nil {
		return Rule{}, false, err
	}
	r.Action = a
	return r, true, nil
}

// cutField splits off the first field of s, at blanks.
func cutField(s string) (field, rest string) {
	i := strings.IndexAny(s, " \t")
	if i < 0 {
		return s, ""
	}
	return s[:i], strings.TrimSpace(s[i:])
}

func checkWho(who string) error {
	if who == "*" {
		return nil
	}
	if app, ok := strings.CutPrefix(who, "@"); ok {
		if err := options.CheckServiceName(app); err != nil {
			return fmt.Errorf("@%s: not an application's name: %v", app, err)
		}
		return nil
	}
	return options.CheckServiceName(who)
}

// Match returns the rules for event of the service, member of app ("" for
// none), in the file's order.
func (r *Rules) Match(service, app string, event options.HookEvent) []Rule {
	if r == nil {
		return nil
	}
	var out []Rule
	for _, rule := range r.List {
		if rule.Events[event] && rule.matches(service, app) {
			out = append(out, rule)
		}
	}
	return out
}

func (rule Rule) matches(service, app string) bool {
	switch {
	case rule.Who == "*":
		return true
	case strings.HasPrefix(rule.Who, "@"):
		return app != "" && rule.Who[1:] == app
	}
	return rule.Who == service
}
