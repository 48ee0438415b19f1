package options

import (
	"fmt"
	"strings"

	"github.com/supervision-suite/supervision/internal/safefile"
)

// Reference returns docs/OPTIONS.md: the syntax, the layers and every key,
// generated from the key table so the two cannot drift apart (a test
// compares the file with this).
func Reference() string {
	var b strings.Builder
	b.WriteString(referenceIntro)
	group := ""
	for _, k := range Keys {
		if k.Group != group {
			group = k.Group
			fmt.Fprintf(&b, "\n## %s\n\n| key | type | default | meaning |\n| --- | --- | --- | --- |\n", group)
		}
		def := "(empty)"
		if k.Default != "" {
			def = "`" + k.Default + "`"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", k.Name, k.Kind().Name, def, cell(k.Doc))
	}
	b.WriteString("\n## Set by the suite\n\nThese can be used in values (`$SVC_INSTANCE`) but not assigned.\n\n| name | meaning |\n| --- | --- |\n")
	for _, k := range Builtins {
		fmt.Fprintf(&b, "| `%s` | %s |\n", k.Name, cell(k.Doc))
	}
	b.WriteString(referenceTypes)
	fmt.Fprintf(&b, referenceLimits, safefile.Size(safefile.ConfigLimit), safefile.Size(safefile.EnvLimit), safefile.Size(safefile.StateLimit), MaxFileErrors, MaxNameLen)
	return b.String()
}

func cell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

const referenceIntro = `# OPTIONS reference

<!-- Generated from internal/options/keys.go by 'make docs'; do not edit. -->

A service is one file, ` + "`/etc/sv/NAME/OPTIONS`" + `: assignments in POSIX sh
syntax, which the suite reads but never executes.

` + "```sh" + `
# sshd: OpenSSH server
SVC_CATALOG=sshd
SVC_OPTS="$SVC_OPTS -p 2222"    # extend what the catalog entry set
export LANG=C.UTF-8             # exported names go to the daemon's environment
` + "```" + `

## Syntax

- ` + "`NAME=VALUE`" + ` and ` + "`export NAME=VALUE`" + ` (or ` + "`export NAME`" + `), several on a line if
  you like; comments from ` + "`#`" + `; blank lines.
- Values use sh quoting: ` + "`'single'`" + `, ` + "`\"double\"`" + ` (where ` + "`\\`" + ` escapes ` + "`$ ` \" \\`" + ` and
  newline), and ` + "`\\`" + ` outside quotes. A value with spaces must be quoted: in sh,
  ` + "`A=one two`" + ` would run the command ` + "`two`" + `.
- ` + "`$NAME`" + ` and ` + "`${NAME}`" + ` expand to a value set earlier: in this file or a lower
  layer. ` + "`${NAME:-default}`" + `, ` + "`${NAME-default}`" + `, ` + "`${NAME:+alt}`" + ` and ` + "`${NAME+alt}`" + `
  work as in sh. An unset name is an error (write ` + "`${NAME:-}`" + ` for an optional one).
- Anything else is rejected with ` + "`file:line: what is wrong`" + `: commands, ` + "`$(...)`" + `,
  backticks, ` + "`$((...))`" + `, functions, ` + "`if`" + ` and other control flow, ` + "`;`" + `, pipes,
  redirections, sourcing, ` + "`~`" + `.
- Unknown upper-case names draw a warning (with the closest known key, for
  typos). Lower-case names are helper variables for use in later values;
  exported names of any case go to the daemon's environment.
- List values (` + "`SVC_OPTS`" + `, ` + "`SVC_ENV`" + `, ...) are split into words like sh words, after
  expansion: ` + "`SVC_OPTS=\"-g 'daemon off;'\"`" + ` gives two arguments, ` + "`-g`" + ` and ` + "`daemon off;`" + `.

## Layers

Each service's options are read in this order; a later assignment wins, and
` + "`$NAME`" + ` sees what the layers below set:

1. built-in defaults (the table below);
2. ` + "`/etc/sv/.opt/SVC_OPTIONS`" + `: the site's defaults for every service;
3. the catalog entry named by ` + "`SVC_CATALOG`" + ` (` + "`sv-gen catalog`" + ` lists them; a site
   adds or replaces entries in ` + "`/etc/sv/.opt/catalog/`" + `);
4. ` + "`/etc/sv/NAME/OPTIONS`" + `;
5. ` + "`/etc/sv/NAME/OPTIONS.<profile>`" + `, when ` + "`SV_PROFILE=<profile>`" + ` (from the
   environment, or set in a lower layer);
6. ` + "`/etc/sv/NAME/OPTIONS.@<host>`" + `, on the machine of that name (its hostname);
7. ` + "`/etc/sv/NAME/OPTIONS.<instance>`" + ` for an instance.

A profile's or a host's file is an overlay: it changes keys that exist, and
a name it does not know is an error (elsewhere, a warning).

An instance ` + "`NAME@INSTANCE`" + ` (` + "`getty@tty2`" + `) has a directory of its own,
` + "`/etc/sv/getty@tty2`" + `, but no OPTIONS there: it shares ` + "`/etc/sv/getty/OPTIONS`" + ` and
reads its own settings from ` + "`/etc/sv/getty/OPTIONS.tty2`" + `. ` + "`$SVC_INSTANCE`" + ` holds ` + "`tty2`" + `.

` + "`sv-gen show NAME`" + ` prints the effective value of every key and the file and line
it comes from; ` + "`sv-gen check`" + ` validates without running anything. After editing,
` + "`sv-gen sync`" + ` refreshes what is generated from OPTIONS (finish, check and
control scripts, and the files s6-supervise reads: notification-fd,
timeout-kill, down-signal, max-death-tally).
`

const referenceTypes = `
## Types

| type | accepts |
| --- | --- |
| duration | seconds (` + "`10`, `0.5`" + `) or with a unit (` + "`500ms`, `10s`, `2m`, `1h`" + `) |
| signal | a name with or without SIG (` + "`TERM`, `SIGTERM`, `term`" + `) or a number (` + "`15`" + `) |
| size | bytes, or with a ` + "`K`, `M`, `G`" + ` suffix (powers of 1024) |
| limit | a number, ` + "`unlimited`" + `, or ` + "`SOFT:HARD`" + `; byte limits take size suffixes |
| yes/no | ` + "`yes`, `no`, `true`, `false`, `on`, `off`, `1`, `0`" + ` |
| user, group | a name that exists on the machine, or a numeric id |
| words, command | sh words, split after expansion (see Syntax) |
| services | service names: ` + "`NAME`" + ` or ` + "`NAME@INSTANCE`" + `, or an OpenRC service |
| readiness | ` + "`none`, `fd:N` (3-1023), `notify`, `check:CMD`, `tcp:HOST:PORT`, `path:/FILE`" + ` |

Checks that depend on the machine (the user exists, the program is
installed) are errors in what you write and warnings in catalog entries,
whose package brings them. sv-exec fails at start, with exit 100, when they
do not hold.
`

// referenceLimits takes the limits from the code that applies them:
// safefile's sizes, MaxFileErrors, MaxNameLen.
const referenceLimits = `
## Limits

No file in a tree can hang or exhaust the tools that read it (sv-scan
among them, which supervises every other service meanwhile):

- Every file read from the tree (OPTIONS, ` + "`OPTIONS.<profile>`" + `, ` + "`OPTIONS.@<host>`" + `,
  ` + "`OPTIONS.<instance>`" + `, ` + "`.opt/SVC_OPTIONS`" + `, the entries of ` + "`.opt/catalog/`" + `, the
  templates of ` + "`.opt/templates/`" + `, the sync stamps) must be a regular file
  of at most %[1]s; an ` + "`SVC_ENV_FILE`" + `, of at most %[2]s (more than
  execve takes with the default stack limit). A FIFO, a device or a larger file is
  refused at once, in one line: ` + "`/etc/sv/NAME/OPTIONS: not a regular file (a FIFO)`" + `,
  ` + "`/etc/sv/NAME/OPTIONS: larger than %[1]s`" + `. A supervisor's state files
  (` + "`supervise/state.json`, `status`, `pid`" + `) are read up to %[3]s.
- A value cannot hold a NUL byte: no argument or environment string can.
- Of the problems of one file, the first %[4]d are reported, then one line
  ` + "`PATH: N more errors not shown`" + `.
- A service name has at most %[5]d characters, and so has an instance name.
`
