// Package templates holds the files sv-gen renders into a service tree and
// the catalog of ready-made services, embedded so the binary is all a
// machine needs. `make install` also copies them to share/supervision so
// they can be read, and overridden per site in /etc/sv/.opt/templates.
package templates

import "embed"

// FS holds the templates (run, log-run, finish, check, control, SVC_OPTIONS,
// OPTIONS) and catalog/NAME entries.
//
//go:embed run log-run finish check control SVC_OPTIONS OPTIONS catalog
var FS embed.FS

// Shared are the scripts rendered into SvDir/.opt, each service linking to
// them. SVC_OPTIONS is rendered there too, but only when absent: it is the
// site's own file once written.
var Shared = []string{"run", "log-run", "finish", "check", "control"}
