package cli

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/supervision-suite/supervision/internal/deps"
	"github.com/supervision-suite/supervision/internal/gen"
	"github.com/supervision-suite/supervision/internal/layout"
	"github.com/supervision-suite/supervision/internal/svctl"
)

// graph is the dependency graph of the tree's services, from their
// OPTIONS.
func (o *ctlOpts) graph() (*deps.Graph, error) {
	l, err := layout.FromEnv(o.root)
	if err != nil {
		return nil, err
	}
	g, _, err := gen.New(l, nil).Graph()
	return g, err
}

// withDeps adds to svcs what the action brings along (svctl.WithDeps),
// and says so on w.
func (o *ctlOpts) withDeps(w io.Writer, prog, use string, svcs []svctl.Service) ([]svctl.Service, error) {
	g, err := o.graph()
	if err != nil {
		return nil, err
	}
	r, err := o.resolver()
	if err != nil {
		return nil, err
	}
	all, notes := svctl.WithDeps(g, r, use, svcs)
	for _, n := range notes {
		fmt.Fprintf(w, "%s: %s\n", prog, n)
	}
	return all, nil
}

func ctlDepsCmd(o *ctlOpts) *cobra.Command {
	var dot bool
	cmd := &cobra.Command{
		Use:   "deps [NAME...]",
		Short: "Show the dependencies between services",
		Long: `sv-ctl deps shows what each service depends on (need, want, use, after;
SVC_BEFORE of another service is an "after" of that one), as the OPTIONS
of the tree say, and what needs it. With --dot, the graph in Graphviz's
language (dot -Tsvg). Services on a cycle are marked; sv-scan keeps them
blocked.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.server != "" {
				return &usageError{errors.New("deps reads the tree's OPTIONS: not over --server")}
			}
			g, err := o.graph()
			if err != nil {
				return err
			}
			names := args
			if len(names) == 0 {
				names = g.Names()
			}
			if dot {
				g.WriteDot(cmd.OutOrStdout(), names)
			} else {
				g.WriteText(cmd.OutOrStdout(), names)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&dot, "dot", false, "print the graph for Graphviz")
	return cmd
}
