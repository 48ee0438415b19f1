package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/supervision-suite/supervision/internal/catalog"
	"github.com/supervision-suite/supervision/internal/fsplan"
	"github.com/supervision-suite/supervision/internal/gen"
	"github.com/supervision-suite/supervision/internal/layout"
	"github.com/supervision-suite/supervision/internal/options"
)

const genLong = `sv-gen turns one OPTIONS file per service into a service directory that
runit, s6, daemontools and sv-scan all run: ./run and log/run link to shared
scripts in .opt, and supervise/ lives in the run dir so /etc may be read-only.

The tree lives under /etc/sv (definitions), /run/sv (scan dir, supervise
state) and /var/log/sv (logs). --root DIR, or SV_ROOT=DIR, moves all of it
under DIR, so a user without root can keep a whole tree of their own.

After editing an OPTIONS file, run 'sv-gen sync' to refresh what is
generated from it. Exit status: 0 ok, 100 invalid input, 111 system error.`

func newGenCmd() *cobra.Command {
	var root, sysroot string
	realRoot := false // set once the tree's root is known
	cmd := &cobra.Command{
		Use:   "gen",
		Short: "Create, check and maintain services from OPTIONS files",
		Long:  genLong,
	}
	cmd.PersistentFlags().StringVar(&root, "root", "", "relocate the whole tree under `DIR` (default $SV_ROOT, else /)")
	cmd.PersistentFlags().StringVar(&sysroot, "sysroot", "", "write the tree into the image at `DIR`, with paths as seen from inside it (as make's DESTDIR)")
	g := func() (*gen.Generator, error) {
		if sysroot != "" {
			return gen.NewSysroot(sysroot, root)
		}
		l, err := layout.FromEnv(root)
		if err != nil {
			return nil, err
		}
		realRoot = l.Root == ""
		exec, err := execCommand()
		if err != nil {
			return nil, err
		}
		return gen.New(l, exec), nil
	}
	cmd.AddCommand(
		genInitCmd(g), genAddCmd(g), genListCmd(g), genShowCmd(g), genCheckCmd(g),
		genSyncCmd(g), genEnableCmd(g), genDisableCmd(g), genRemoveCmd(g), genCatalogCmd(g),
	)
	// On the real root, a permission error comes with the way out.
	for _, c := range cmd.Commands() {
		if run := c.RunE; run != nil {
			c.RunE = func(c *cobra.Command, args []string) error {
				err := run(c, args)
				if err != nil && realRoot && errors.Is(err, fs.ErrPermission) {
					return fmt.Errorf("%w (without root, keep a tree of your own: --root DIR or SV_ROOT=DIR)", err)
				}
				return err
			}
		}
	}
	return cmd
}

type genFactory func() (*gen.Generator, error)

// execCommand is how generated scripts start sv-exec (gen.ExecCommand).
func execCommand() ([]string, error) { return gen.ExecCommand() }

func printChanges(w io.Writer, changes []fsplan.Change) {
	for _, c := range changes {
		fmt.Fprintln(w, c)
	}
}

// printWarnings prints each warning as path:line: warning: what, and the
// count of those not shown as path: N more warnings not shown.
func printWarnings(w io.Writer, warnings options.Errors) {
	for _, e := range warnings {
		if e.Omitted > 0 {
			fmt.Fprintln(w, e.Error())
			continue
		}
		fmt.Fprintln(w, (&options.Error{Path: e.Path, Line: e.Line, Msg: "warning: " + e.Msg}).Error())
	}
}

func plural(n int, what string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", what)
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// invalid reports every problem of an InvalidError on its own line, then
// what was not done.
func invalid(err error, what string) error {
	var ie *gen.InvalidError
	if !errors.As(err, &ie) {
		return err
	}
	lines := make([]string, 0, len(ie.Problems)+1)
	for _, p := range ie.Problems {
		lines = append(lines, p.Error())
	}
	lines = append(lines, fmt.Sprintf("%s: %s", what, plural(ie.Problems.Count(), "problem")))
	return &exitError{code: ExitPermanent, msg: strings.Join(lines, "\n")}
}

func serviceNames(g genFactory) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		gg, err := g()
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		list, _ := gg.List()
		var names []string
		for _, e := range list {
			names = append(names, e.Name+"\t"+e.Description)
		}
		return names, cobra.ShellCompDirectiveNoFileComp
	}
}

func genInitCmd(g genFactory) *cobra.Command {
	return &cobra.Command{
		Use:   "init",
		Short: "Lay out the tree: directories, shared scripts, site defaults",
		Long: `init creates the tree's directories and renders the shared scripts into
.opt (run, log-run, finish, check, control) and .opt/SVC_OPTIONS, the
site-wide defaults, unless it exists. add, sync and enable do this too.`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			gg, err := g()
			if err != nil {
				return err
			}
			changes, err := gg.Init()
			printChanges(cmd.OutOrStdout(), changes)
			if err == nil && len(changes) == 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "%s: nothing to change\n", cmd.CommandPath())
			}
			return err
		},
	}
}

func genAddCmd(g genFactory) *cobra.Command {
	var req gen.AddRequest
	cmd := &cobra.Command{
		Use:   "add NAME [-- COMMAND [ARGS...]]",
		Short: "Create a service from the catalog or from a command",
		Long: `add creates the service NAME. Without a command it builds on the catalog
entry of that name (sv-gen catalog lists them); NAME@INSTANCE makes an
instance, such as getty@tty2, sharing NAME's definition. With a command
after --, the service runs that command in the foreground.

--set KEY=VALUE writes a setting into OPTIONS (in double quotes, so
$KEY expands as in the file); for an instance it goes into
NAME/OPTIONS.INSTANCE. Nothing is written unless the result is valid.`,
		Example: `  sv-gen add sshd
  sv-gen add getty@ttyS0
  sv-gen add web --set SVC_USER=www-data -- /usr/bin/python3 -m http.server 8000
  sv-gen add cache --from memcached --set 'SVC_OPTS=$SVC_OPTS -m 256' --enable`,
		Args: minArgs(1, "a service NAME, then optionally -- COMMAND [ARGS...]"),
		ValidArgsFunction: func(cmd *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
			if len(args) > 0 {
				return nil, cobra.ShellCompDirectiveDefault
			}
			return catalogNames(g), cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if dash := cmd.ArgsLenAtDash(); dash > 1 || (dash < 0 && len(args) > 1) {
				return &usageError{errors.New("put the command after --, as in: sv-gen add NAME -- COMMAND ARGS")}
			}
			req.Name, req.Command = args[0], args[1:]
			gg, err := g()
			if err != nil {
				return err
			}
			res, err := gg.Add(req)
			if res != nil {
				printWarnings(cmd.ErrOrStderr(), res.Warnings)
				printChanges(cmd.OutOrStdout(), res.Changes)
			}
			return invalid(err, cmd.CommandPath()+" "+req.Name+": nothing written")
		},
	}
	cmd.Flags().StringVar(&req.From, "from", "", "build on this catalog `ENTRY` (default: the entry named like the service)")
	cmd.Flags().StringArrayVar(&req.Set, "set", nil, "write `KEY=VALUE` into OPTIONS (repeatable)")
	cmd.Flags().BoolVar(&req.Enable, "enable", false, "also enable it (link it into the scan dir)")
	return cmd
}

func catalogNames(g genFactory) []string {
	gg, err := g()
	if err != nil {
		return nil
	}
	list, _ := gg.Catalog.List()
	names := make([]string, 0, len(list))
	for _, e := range list {
		names = append(names, e.Name+"\t"+e.Description)
	}
	return names
}

func genListCmd(g genFactory) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the services and definitions of the tree",
		Long: `list shows every service: whether it is enabled (and linked into the scan
dir right now), the catalog entry it builds on, its log and its command.
A service whose OPTIONS do not load shows the first problem.`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			gg, err := g()
			if err != nil {
				return err
			}
			list, err := gg.List()
			if err != nil {
				return err
			}
			image := gg.Layout.Sysroot != "" // its scan dir is made at each boot
			return output(cmd, asJSON, list, func(w io.Writer) { writeList(w, list, image) })
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// output prints v as JSON with --json, else as the table text writes.
func output(cmd *cobra.Command, asJSON bool, v any, text func(io.Writer)) error {
	if asJSON {
		return writeJSON(cmd.OutOrStdout(), v)
	}
	text(cmd.OutOrStdout())
	return nil
}

// writeSettings prints settings as OPTIONS lines, each with its source.
func writeSettings(w io.Writer, settings []gen.Setting) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, s := range settings {
		export := ""
		if s.Exported {
			export = "export "
		}
		fmt.Fprintf(tw, "%s%s=%s\t# %s\n", export, s.Key, options.Quote(s.Value), s.Source)
	}
	tw.Flush()
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// writeList prints the list as a table; in an image, an enabled service
// is not linked, nor need be: the scanner links it at each boot.
func writeList(w io.Writer, list []gen.ListEntry, image bool) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tKIND\tENABLED\tCATALOG\tLOG\tCOMMAND")
	for _, e := range list {
		enabled := "no"
		switch {
		case e.Enabled && (e.Linked || image):
			enabled = "yes"
		case e.Enabled:
			enabled = "yes (not linked: sync)"
		case e.Linked:
			enabled = "linked"
		}
		cmdline := e.Command
		if e.Problem != "" {
			cmdline = "error: " + e.Problem
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", e.Name, e.Kind, enabled, dash(e.Catalog), dash(e.Log), cmdline)
	}
	tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func genShowCmd(g genFactory) *cobra.Command {
	var all, asJSON bool
	var profile string
	cmd := &cobra.Command{
		Use:   "show NAME",
		Short: "Show a service's effective options and where each comes from",
		Long: `show prints the options a service runs with after layering (built-in
defaults, .opt/SVC_OPTIONS, the catalog entry, OPTIONS, OPTIONS.<profile>,
OPTIONS.@<host>, OPTIONS.<instance>), each with the file and line that
set it. Keys left empty at their default are left out unless --all.
--profile shows what a profile gives, as SV_PROFILE would.`,
		Args:              exactArgs(1, "one service NAME"),
		ValidArgsFunction: serviceNames(g),
		RunE: func(cmd *cobra.Command, args []string) error {
			gg, err := g()
			if err != nil {
				return err
			}
			if profile != "" {
				gg.Profile = profile
			}
			_, settings, err := gg.Show(args[0], all)
			if err != nil {
				return invalid(err, cmd.CommandPath()+" "+args[0])
			}
			return output(cmd, asJSON, settings, func(w io.Writer) { writeSettings(w, settings) })
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "also show keys left empty at their default")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().StringVar(&profile, "profile", "", "apply OPTIONS.`PROFILE` (default $SV_PROFILE)")
	return cmd
}

func genCheckCmd(g genFactory) *cobra.Command {
	return &cobra.Command{
		Use:   "check [NAME...]",
		Short: "Validate services without writing anything",
		Long: `check reads every layer of each service (all of them without NAMEs) and
reports each problem on its own line as path:line: what is wrong. It also
checks what the host must provide: users and groups that exist (errors
when you wrote them, warnings when they come from the catalog), the
program (a warning: it may not be installed yet), SVC_ENV_FILE.`,
		ValidArgsFunction: serviceNames(g),
		RunE: func(cmd *cobra.Command, args []string) error {
			gg, err := g()
			if err != nil {
				return err
			}
			results, err := gg.Check(args)
			if err != nil {
				return err
			}
			nerr, nwarn := 0, 0
			for _, r := range results {
				for _, e := range r.Errors {
					fmt.Fprintln(cmd.ErrOrStderr(), e)
				}
				printWarnings(cmd.ErrOrStderr(), r.Warnings)
				nerr += r.Errors.Count() // those not shown too
				nwarn += r.Warnings.Count()
			}
			summary := fmt.Sprintf("%s: %s: %s, %s", cmd.CommandPath(), plural(len(results), "service"), plural(nerr, "error"), plural(nwarn, "warning"))
			if nerr > 0 {
				return &exitError{code: ExitPermanent, msg: summary}
			}
			fmt.Fprintln(cmd.OutOrStdout(), summary)
			return nil
		},
	}
}

func genSyncCmd(g genFactory) *cobra.Command {
	var createSupervise bool
	cmd := &cobra.Command{
		Use:   "sync [NAME...]",
		Short: "Refresh what is generated from OPTIONS",
		Long: `sync brings the shared scripts and each service (all without NAMEs) in
line with the OPTIONS files: links, finish/check/control scripts, the files
s6 reads, the supervise directories in the run dir, and the scan dir links
of enabled services (so a boot, which empties /run, needs only 'sv-gen
sync'). It leaves files you wrote alone, and changes nothing when all is
current. A service whose OPTIONS are invalid is reported and not touched.

Each service's supervise link points into /run/sv/supervise, and is left
dangling: runsv and sv-scan create the target, and s6-supervise requires
to. daemontools' supervise cannot: with daemontools, use --create-supervise.`,
		ValidArgsFunction: serviceNames(g),
		RunE: func(cmd *cobra.Command, args []string) error {
			gg, err := g()
			if err != nil {
				return err
			}
			gg.CreateSupervise = createSupervise
			res, err := gg.Sync(args)
			if res != nil {
				printWarnings(cmd.ErrOrStderr(), res.Warnings)
				printChanges(cmd.OutOrStdout(), res.Changes)
			}
			if err != nil {
				return err
			}
			if len(res.Problems) > 0 {
				return invalid(&gen.InvalidError{Problems: res.Problems}, cmd.CommandPath()+": services with problems were left as they were")
			}
			if len(res.Changes) == 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "%s: nothing to change\n", cmd.CommandPath())
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&createSupervise, "create-supervise", false, "also create each service's supervise directory (for daemontools)")
	return cmd
}

func genEnableCmd(g genFactory) *cobra.Command {
	var o openrcFlags
	cmd := &cobra.Command{
		Use:   "enable NAME...",
		Short: "Link services into the scan dir, where the scanner starts them",
		Long: `enable links each service into the scan dir and records it in .enabled, so
that the scanner's start (sv-scan, sv-rc scan), or 'sv-gen sync', links it
again after a reboot has emptied /run. A service whose OPTIONS are invalid
is not enabled.

With --openrc, enable instead makes /etc/init.d/sv.NAME, a link to the
supervision init script, for each NAME (every service without NAMEs): OpenRC
then starts and stops the service ('rc-update add sv.NAME default'), and it
is not linked into the scan dir until OpenRC starts it.`,
		ValidArgsFunction: serviceNames(g),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 && !o.openrc {
				return &usageError{fmt.Errorf("want one or more service NAMEs")}
			}
			gg, err := g()
			if err != nil {
				return err
			}
			var changes []fsplan.Change
			if o.openrc {
				changes, err = gg.EnableOpenRC(args, gg.Layout.Outside(o.initDir))
			} else {
				changes, err = gg.Enable(args)
			}
			printChanges(cmd.OutOrStdout(), changes)
			return invalid(err, cmd.CommandPath()+": nothing enabled")
		},
	}
	o.add(cmd)
	return cmd
}

// openrcFlags choose OpenRC's init scripts over the scan dir.
type openrcFlags struct {
	openrc  bool
	initDir string
}

func (o *openrcFlags) add(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&o.openrc, "openrc", false, "act on /etc/init.d/sv.NAME (OpenRC) instead of the scan dir")
	cmd.Flags().StringVar(&o.initDir, "init-dir", "/etc/init.d", "OpenRC's init script `DIR`")
}

func genDisableCmd(g genFactory) *cobra.Command {
	var o openrcFlags
	cmd := &cobra.Command{
		Use:               "disable NAME...",
		Short:             "Take services out of the scan dir; the scanner stops them",
		Long:              "With --openrc, disable removes /etc/init.d/sv.NAME instead (every one without NAMEs).",
		ValidArgsFunction: serviceNames(g),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 && !o.openrc {
				return &usageError{fmt.Errorf("want one or more service NAMEs")}
			}
			gg, err := g()
			if err != nil {
				return err
			}
			var changes []fsplan.Change
			if o.openrc {
				changes, err = gg.DisableOpenRC(args, gg.Layout.Outside(o.initDir))
			} else {
				changes, err = gg.Disable(args)
			}
			printChanges(cmd.OutOrStdout(), changes)
			if err == nil && len(changes) == 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "%s: nothing to change\n", cmd.CommandPath())
			}
			return err
		},
	}
	o.add(cmd)
	return cmd
}

func genRemoveCmd(g genFactory) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "remove NAME",
		Short: "Delete a service: its definition, links and runtime state",
		Long: `remove disables a service and deletes its directory and its supervise
state. It refuses while a supervisor still runs the service, while
instances share its definition, and, without --force, when the directory
holds files sv-gen did not write.`,
		Args:              exactArgs(1, "one service NAME"),
		ValidArgsFunction: serviceNames(g),
		RunE: func(cmd *cobra.Command, args []string) error {
			gg, err := g()
			if err != nil {
				return err
			}
			changes, err := gg.Remove(args[0], force)
			printChanges(cmd.OutOrStdout(), changes)
			return err
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "also delete files sv-gen did not write")
	return cmd
}

func genCatalogCmd(g genFactory) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "catalog [ENTRY]",
		Short: "List the ready-made services, or print one entry",
		Long: `catalog lists the entries 'sv-gen add NAME' can build on, or prints one.
A site adds its own, or replaces one, as files in .opt/catalog/.`,
		Args: cobra.MaximumNArgs(1),
		ValidArgsFunction: func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			return catalogNames(g), cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			gg, err := g()
			if err != nil {
				return err
			}
			if len(args) == 1 {
				data, ok := gg.Catalog.Entry(args[0])
				if !ok {
					return fmt.Errorf("no catalog entry %q", args[0])
				}
				_, err := cmd.OutOrStdout().Write(data)
				return err
			}
			list, err := gg.Catalog.List()
			if err != nil {
				return err
			}
			return output(cmd, asJSON, list, func(w io.Writer) { writeCatalog(w, list) })
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func writeCatalog(w io.Writer, list []catalog.Info) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ENTRY\tCOMMAND\tDESCRIPTION")
	for _, e := range list {
		desc := e.Description
		if e.Site {
			desc += " (site)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", e.Name, e.Command, desc)
	}
	tw.Flush()
}
