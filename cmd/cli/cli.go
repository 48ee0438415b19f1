// Package cli is the command tree of the `supervision` multicall binary:
// each tool (sv-gen, sv-exec, ...) is a subcommand, and runs as its own
// root when the binary is called by the tool's name. It only wires flags
// and arguments to the internal packages, and turns errors into one line
// and an exit code.
package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/supervision-suite/supervision/internal/initsys"
)

// Exit codes, as daemontools and s6 use them: 100 for a usage error or a
// permanent failure (invalid configuration), 111 for a temporary or system
// failure.
const (
	ExitOK        = 0
	ExitPermanent = 100
	ExitTemporary = 111
)

// exitError carries an exit code chosen by a command; its message, if any,
// has been printed already.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

// usageError marks a mistake in the command line.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }

// tools maps each tool's name to its subcommand.
var tools = map[string]string{
	"sv-gen":  "gen",
	"sv-exec": "exec",
	"sv-scan": "scan",
	"sv-log":  "log",
	"sv-ctl":  "ctl",
	"sv-rc":   "rc",
	"sv-init": "init",
}

// initAliases are the usual shutdown commands, as links to this binary:
// each is `sv-init ACTION`. They are not installed by default (they would
// shadow the system's own); a system booted by sv-init links them.
var initAliases = map[string]bool{"poweroff": true, "reboot": true, "halt": true}

// ToolNames lists the names the binary answers to, for installation and
// for the test driver.
func ToolNames() []string {
	names := []string{"supervision"}
	for t := range tools {
		names = append(names, t)
	}
	return names
}

// toolCmds makes each tool's command tree. A tool run by its own name
// builds only its own: every sv-rc start pays for what it builds.
var toolCmds = map[string]func() *cobra.Command{
	"gen": newGenCmd, "exec": newExecCmd, "scan": newScanCmd, "log": newLogCmd,
	"ctl": newCtlCmd, "rc": newRCCmd, "init": newInitCmd,
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "supervision",
		Short: "Process supervision for Linux: one OPTIONS file per service",
		Long: `supervision generates, supervises and controls services. Each tool is
also installed under its own name: sv-gen, sv-exec, sv-scan, sv-log, sv-ctl,
sv-rc, sv-init.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	for _, sub := range []string{"gen", "exec", "scan", "log", "ctl", "rc", "init"} {
		root.AddCommand(toolCmds[sub]())
	}
	root.AddCommand(&cobra.Command{
		Use:    "tools",
		Short:  "List the names this binary answers to (for installation)",
		Hidden: true,
		Args:   exactArgs(0, "no arguments"),
		Run: func(cmd *cobra.Command, args []string) {
			names := ToolNames()
			sort.Strings(names)
			for _, n := range names {
				if n != "supervision" { // the binary itself, not a link
					fmt.Fprintln(cmd.OutOrStdout(), n)
				}
			}
		},
	})
	return root
}

// Main runs the tool named by args[0] (or `supervision TOOL ...`) and
// returns the exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	name, rest := dispatch(filepath.Base(args[0]), args[1:], os.Getpid() == 1)
	switch {
	case name == "sv-init" && initsys.KernelBooted():
		return bootMain(rest, stderr)
	case name == "telinit":
		return report(nil, telinit(filepath.Base(args[0]), rest), stderr)
	}
	if ran, err := fastPath(name, rest, stdout); ran {
		return report(nil, err, stderr)
	}
	args = append([]string{name}, rest...)
	var cmd *cobra.Command
	if sub, ok := tools[name]; ok {
		cmd = toolCmds[sub]()
		cmd.Use = strings.Replace(cmd.Use, sub, name, 1)
		cmd.SilenceUsage, cmd.SilenceErrors = true, true
	} else {
		cmd = newRoot(stdout, stderr)
	}
	if !completionAsked(args[1:]) {
		cmd.CompletionOptions.DisableDefaultCmd = true
	}
	cmd.SetOut(stdout)
	cmd.SetErr(stderr)
	cmd.SetArgs(args[1:])
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return &usageError{err} })
	ran, err := cmd.ExecuteC()
	return report(ran, err, stderr)
}

// fastPath runs the tools that start at every start of a daemon without
// cobra, when their command line is plain (see fastExec); ran is false
// when cobra is to run the command line.
func fastPath(name string, args []string, stdout io.Writer) (ran bool, err error) {
	switch {
	case name == "sv-exec":
		return fastExec(args, stdout)
	case name == "supervision" && len(args) > 0 && args[0] == "exec":
		return fastExec(args[1:], stdout)
	}
	return false, nil
}

// dispatch says which tool a run of the binary is, from the name it was
// called by and its arguments, and what arguments that tool gets. PID 1
// is sv-init whatever its name (/sbin/init, an initramfs's /init,
// linuxrc): the kernel panics when init exits, and a help text is all
// the root command would do. Not PID 1, `init` and `telinit` change the
// running system's runlevel as runit's init does: 0 powers off, 6
// reboots.
func dispatch(name string, args []string, pid1 bool) (tool string, rest []string) {
	switch {
	case tools[name] != "":
		return name, args
	case initAliases[name] && !pid1:
		return "sv-init", append([]string{name}, args...)
	case name == "supervision" && !(pid1 && !isSubcommand(args)):
		return name, args
	case pid1:
		return "sv-init", args
	case name == "init" || name == "telinit":
		return "telinit", args
	}
	return "supervision", args
}

// isSubcommand reports whether args start with one of the root command's
// subcommands (or help).
func isSubcommand(args []string) bool {
	if len(args) == 0 {
		return false
	}
	for _, sub := range tools {
		if args[0] == sub {
			return true
		}
	}
	switch args[0] {
	case "tools", "help", "completion", "-h", "--help":
		return true
	}
	return false
}

// completionAsked reports whether a command line may need cobra's
// `completion` command: it asks for it, for shell completion, or for help
// (which lists it). Cobra otherwise builds that command, five of them with
// their help texts, at every run of every tool, and sv-rc runs at each
// rc-service call, sv-exec at each start of a daemon through ./run.
func completionAsked(args []string) bool {
	if len(args) == 0 {
		return true // the help of the bare command
	}
	for _, a := range args {
		switch a {
		case "completion", cobra.ShellCompRequestCmd, cobra.ShellCompNoDescRequestCmd, "help", "-h", "--help":
			return true
		}
	}
	return false
}

// report prints err as one line prefixed with the command's path and
// returns the exit code for it.
func report(ran *cobra.Command, err error, stderr io.Writer) int {
	if err == nil {
		return ExitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.msg != "" {
			fmt.Fprintln(stderr, ee.msg)
		}
		return ee.code
	}
	prefix := "supervision"
	if ran != nil {
		prefix = ran.CommandPath()
	}
	var ue *usageError
	if errors.As(err, &ue) || isCobraUsage(err) {
		fmt.Fprintf(stderr, "%s: %s (see %s --help)\n", prefix, oneLine(err.Error()), prefix)
		return ExitPermanent
	}
	fmt.Fprintf(stderr, "%s: %v\n", prefix, err)
	return exitCode(err)
}

// oneLine folds the block cobra appends to an unknown command
// ("\n\nDid you mean this?\n\tadd\n") into the line: an error is one line.
func oneLine(msg string) string {
	head, suggestions, ok := strings.Cut(msg, "\n\nDid you mean this?\n")
	if !ok {
		return msg
	}
	return head + " (did you mean " + strings.Join(strings.Fields(suggestions), " or ") + "?)"
}

// cobra reports unknown commands and bad argument counts as plain errors.
func isCobraUsage(err error) bool {
	msg := err.Error()
	return strings.HasPrefix(msg, "unknown command") || strings.HasPrefix(msg, "accepts ") ||
		strings.HasPrefix(msg, "requires at least") || strings.HasPrefix(msg, "unknown flag") ||
		strings.HasPrefix(msg, "invalid argument")
}

// Args validators that report usage errors with our wording.
func exactArgs(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return &usageError{fmt.Errorf("want %s", what)}
		}
		return nil
	}
}

func minArgs(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < n {
			return &usageError{fmt.Errorf("want %s", what)}
		}
		return nil
	}
}

// exitCode: failures of the system (a system call's errno) are temporary,
// 111; everything else asks the user to change something, 100.
func exitCode(err error) int {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return ExitTemporary
	}
	return ExitPermanent
}
