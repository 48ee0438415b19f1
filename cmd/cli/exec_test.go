package cli

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// sv-exec's own reading of its command line (parseExec, which spares
// every daemon start the cobra commands) takes a command line only if
// cobra reads it the same way: the same subcommand, flags and arguments.
func TestParseExecAsCobra(t *testing.T) {
	lines := []string{
		"run", "run --root /r", "run --root=/r", "run --dir d --root r", "run --print",
		"run --root r --print --dir=/x", "run --root r --root s", "run --root=", "run --root= --dir=", "run --root --dir",
		"run --", "run -- --print", "log", "log --dir x", "log --root /r", "check", "check --dir /d",
		"control t", "control --root r t", "control h --dir d", "control -", "control -- -t",
		"finish", "finish -- 0 15", "finish 0 15", "finish -- -1 9", "finish --root r -- -1 9", "finish --dir d 1",
		// cobra's alone:
		"", "help", "run x", "run --help", "run -h", "--root r run", "control", "control t h",
		"finish -1", "log --print", "run --print=true", "run --unknown", "run --root", "run -", "nosuch",
		"run -r x", "check extra",
	}
	for _, line := range lines {
		args := strings.Fields(line)
		sub, o, pos, ok := parseExec(args)
		got := ""
		if ok {
			got = describeExec(sub, o.root, o.dir, o.print, pos)
		}
		want, err := cobraExec(args)
		switch {
		case ok && err != nil:
			t.Errorf("%q: parseExec reads %s; cobra fails: %v", line, got, err)
		case ok && got != want:
			t.Errorf("%q: parseExec reads %s; cobra %s", line, got, want)
		}
	}
}

func describeExec(sub, root, dir string, print bool, args []string) string {
	return fmt.Sprintf("%s root=%q dir=%q print=%v args=%q", sub, root, dir, print, args)
}

// cobraExec parses args with sv-exec's cobra commands, each subcommand's
// run replaced by a record of what it was given.
func cobraExec(args []string) (string, error) {
	cmd := newExecCmd()
	var got string
	for _, c := range cmd.Commands() {
		c.RunE = func(c *cobra.Command, args []string) error {
			root, _ := c.Flags().GetString("root")
			dir, _ := c.Flags().GetString("dir")
			print, _ := c.Flags().GetBool("print")
			got = describeExec(c.Name(), root, dir, print, args)
			return nil
		}
	}
	cmd.SetOut(io.Discard)
	cmd.SetErr(io.Discard)
	cmd.SetArgs(args)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	cmd.CompletionOptions.DisableDefaultCmd = true
	if _, err := cmd.ExecuteC(); err != nil {
		return "", err
	}
	if got == "" {
		return "", errors.New("no subcommand ran")
	}
	return got, nil
}
