package scancmd

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		dirs    []string
		verbose bool
		root    string
		err     string
	}{
		{args: nil},
		{args: []string{"/s"}, dirs: []string{"/s"}},
		{args: []string{"-v", "/s"}, dirs: []string{"/s"}, verbose: true},
		{args: []string{"/s", "--verbose"}, dirs: []string{"/s"}, verbose: true},
		{args: []string{"--root", "/r"}, root: "/r"},
		{args: []string{"--root=/r", "a", "b"}, root: "/r", dirs: []string{"a", "b"}},
		{args: []string{"--", "-v"}, dirs: []string{"-v"}},
		{args: []string{"--nope"}, err: "unknown flag: --nope"},
		{args: []string{"-x"}, err: "unknown flag: -x"},
	} {
		var o options
		dirs, err := parse(flags(&o), tc.args)
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("%q: error %v, want %q", tc.args, err, tc.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(dirs, tc.dirs) || o.cfg.Verbose != tc.verbose || o.root != tc.root {
			t.Errorf("%q: dirs %q verbose %v root %q err %v", tc.args, dirs, o.cfg.Verbose, o.root, err)
		}
	}
}

// Usage errors are one line, naming the tool, with exit code 100; help
// lists every flag.
func TestMainUsage(t *testing.T) {
	var out, errs bytes.Buffer
	if code := Main("sv-scan", []string{"--nope"}, &out, &errs); code != exitPermanent || errs.String() != "sv-scan: unknown flag: --nope (see sv-scan --help)\n" {
		t.Errorf("code %d, stderr %q", code, errs.String())
	}
	errs.Reset()
	if code := Main("sv-scan", []string{"a", "b"}, &out, &errs); code != exitPermanent || !strings.HasPrefix(errs.String(), "sv-scan: accepts at most 1 arg") {
		t.Errorf("code %d, stderr %q", code, errs.String())
	}
	if code := Main("sv-scan", []string{"--help"}, &out, &errs); code != exitOK {
		t.Errorf("--help: code %d", code)
	}
	for _, f := range []string{"--root DIR", "-v, --verbose", "--console", "--no-cgroups", "-h, --help"} {
		if !strings.Contains(out.String(), f) {
			t.Errorf("help lacks %s:\n%s", f, out.String())
		}
	}
}
