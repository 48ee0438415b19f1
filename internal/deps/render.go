package deps

import (
	"fmt"
	"io"
	"slices"
	"strings"
)

// WriteText prints a line per service of names: its dependencies by kind, what
// needs it, and the cycle it is on.
func (g *Graph) WriteText(w io.Writer, names []string) {
	cycles := g.InCycle()
	for _, n := range names {
		var parts []string
		for k := Need; k <= After; k++ {
			var on []string
			for _, e := range g.Deps(n) {
				if e.Kind == k {
					on = append(on, e.On)
				}
			}
			if len(on) > 0 {
				parts = append(parts, k.String()+" "+strings.Join(on, " "))
			}
		}
		if by := g.NeededBy(n); len(by) > 0 {
			slices.Sort(by)
			parts = append(parts, "needed by "+strings.Join(by, " "))
		}
		if c := cycles[n]; c != "" {
			parts = append(parts, "cycle "+c)
		}
		if len(parts) == 0 {
			parts = []string{"-"}
		}
		fmt.Fprintf(w, "%s: %s\n", n, strings.Join(parts, "; "))
	}
}

// edgeStyle draws a need solid, a want or use dashed, an order dotted.
var edgeStyle = map[Kind]string{Need: "solid", Want: "dashed", Use: "dashed", After: "dotted"}

// WriteDot prints the edges of names in Graphviz's language.
func (g *Graph) WriteDot(w io.Writer, names []string) {
	fmt.Fprintln(w, "digraph deps {")
	for _, n := range names {
		fmt.Fprintf(w, "  %q;\n", n)
		for _, e := range g.Deps(n) {
			fmt.Fprintf(w, "  %q -> %q [label=%q, style=%s];\n", n, e.On, e.Kind.String(), edgeStyle[e.Kind])
		}
	}
	fmt.Fprintln(w, "}")
}
