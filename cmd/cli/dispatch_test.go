package cli

import (
	"reflect"
	"testing"

	"github.com/spf13/cobra"
)

// Whatever PID 1 is called, it is sv-init; not PID 1, a tool is the tool
// it is named after, and init and telinit change the running system's
// runlevel.
func TestDispatch(t *testing.T) {
	cases := []struct {
		name     string
		args     []string
		pid1     bool
		tool     string
		wantArgs []string
	}{
		{"sv-gen", []string{"list"}, false, "sv-gen", []string{"list"}},
		{"sv-scan", []string{"/etc/service"}, true, "sv-scan", []string{"/etc/service"}}, // a container's PID 1
		{"sv-init", []string{"single"}, true, "sv-init", []string{"single"}},
		{"init", nil, true, "sv-init", nil},
		{"init", []string{"single", "splash"}, true, "sv-init", []string{"single", "splash"}},
		{"linuxrc", nil, true, "sv-init", nil},
		{"anything", []string{"-s"}, true, "sv-init", []string{"-s"}},
		{"supervision", nil, true, "sv-init", nil},
		{"supervision", []string{"emergency"}, true, "sv-init", []string{"emergency"}},
		{"supervision", []string{"scan", "/srv"}, true, "supervision", []string{"scan", "/srv"}},
		{"supervision", []string{"gen", "list"}, false, "supervision", []string{"gen", "list"}},
		{"supervision", nil, false, "supervision", nil},
		{"poweroff", nil, false, "sv-init", []string{"poweroff"}},
		{"reboot", []string{"-f"}, false, "sv-init", []string{"reboot", "-f"}},
		{"poweroff", nil, true, "sv-init", nil},
		{"init", []string{"0"}, false, "telinit", []string{"0"}},
		{"telinit", []string{"6"}, false, "telinit", []string{"6"}},
		{"something", []string{"x"}, false, "supervision", []string{"x"}},
	}
	for _, c := range cases {
		tool, args := dispatch(c.name, c.args, c.pid1)
		if tool != c.tool || !reflect.DeepEqual(args, c.wantArgs) {
			t.Errorf("dispatch(%q, %q, pid1=%v) = %q %q; want %q %q", c.name, c.args, c.pid1, tool, args, c.tool, c.wantArgs)
		}
	}
}

// At boot, sv-init's own flags among the kernel's words are flags; the
// rest, unknown flags included (-s, -b), are the kernel's words.
func TestSplitFlags(t *testing.T) {
	var f initFlags
	cmd := &cobra.Command{Use: "sv-init"}
	f.register(cmd)
	flags, words := splitFlags([]string{"single", "--mode", "system", "-s", "--verbose", "--grace=3s", "-v", "splash", "--", "-b", "--stages"}, flagLookup(cmd))
	wantFlags := []string{"--mode", "system", "--verbose", "--grace=3s", "-v", "--stages"}
	wantWords := []string{"single", "-s", "splash", "--", "-b"}
	if !reflect.DeepEqual(flags, wantFlags) || !reflect.DeepEqual(words, wantWords) {
		t.Fatalf("flags %q, words %q; want %q, %q", flags, words, wantFlags, wantWords)
	}
	if err := cmd.Flags().Parse(flags[:len(flags)-1]); err != nil || f.mode != "system" || !f.cfg.Verbose || f.cfg.Grace.String() != "3s" {
		t.Fatalf("parsed: %v, %+v", err, f)
	}
}
