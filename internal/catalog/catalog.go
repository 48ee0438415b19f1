// Package catalog serves the ready-made service definitions: the entries
// embedded in the binary, and a site's own in SvDir/.opt/catalog, which
// add to them or replace one of the same name.
package catalog

import (
	"errors"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/supervision-suite/supervision/internal/options"
	"github.com/supervision-suite/supervision/internal/safefile"
	"github.com/supervision-suite/supervision/templates"
)

// Catalog finds entries. It implements options.Catalog.
type Catalog struct {
	SiteDir  string // SvDir/.opt/catalog; may not exist
	embedded fs.FS
}

// New returns the catalog of a tree whose site entries live in siteDir.
func New(siteDir string) *Catalog {
	sub, err := fs.Sub(templates.FS, "catalog")
	if err != nil {
		panic(err) // the embed directive guarantees the directory
	}
	return &Catalog{SiteDir: siteDir, embedded: sub}
}

// Entry returns the text of the entry called name, if it has one that
// can be read.
func (c *Catalog) Entry(name string) ([]byte, bool) {
	data, err := c.Read(name)
	return data, err == nil
}

// Read returns the text of the entry called name: the site's, else the
// built-in one. No such entry is fs.ErrNotExist. A site entry that cannot
// be read (a FIFO, a file over safefile.ConfigLimit) is an error, not a
// reason to fall back on the built-in entry it replaces. It implements
// options.Catalog.
func (c *Catalog) Read(name string) ([]byte, error) {
	if err := options.CheckServiceName(name); err != nil || strings.Contains(name, "@") {
		return nil, fs.ErrNotExist
	}
	if c.SiteDir != "" {
		data, err := safefile.ReadFile(filepath.Join(c.SiteDir, name), safefile.ConfigLimit)
		if !errors.Is(err, fs.ErrNotExist) {
			return data, err
		}
	}
	// Built-in entries are in the binary: nothing there can hang.
	return fs.ReadFile(c.embedded, name)
}

// Info is what a listing shows of an entry.
type Info struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Command     string `json:"command"`
	Site        bool   `json:"site,omitempty"` // from the site's catalog dir
}

// List returns every entry, sorted by name.
func (c *Catalog) List() ([]Info, error) {
	seen := map[string]bool{}
	var out []Info
	add := func(name string, site bool) {
		if seen[name] || strings.HasPrefix(name, ".") {
			return
		}
		seen[name] = true
		data, _ := c.Entry(name)
		out = append(out, describe(name, data, site))
	}
	if c.SiteDir != "" {
		ents, err := os.ReadDir(c.SiteDir)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		for _, e := range ents {
			if !e.IsDir() {
				add(e.Name(), true)
			}
		}
	}
	ents, err := fs.ReadDir(c.embedded, ".")
	if err != nil {
		return nil, err
	}
	for _, e := range ents {
		add(path.Base(e.Name()), false)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// describe reads the description and command from an entry's literal
// assignments; an entry's text is OPTIONS syntax.
func describe(name string, data []byte, site bool) Info {
	info := Info{Name: name, Site: site}
	f, _ := options.Parse("catalog:"+name, data)
	if f == nil {
		return info
	}
	for _, a := range f.Assigns {
		lit, ok := a.Value.Literal()
		if !ok {
			continue
		}
		switch a.Name {
		case "SVC_DESCRIPTION":
			info.Description = lit
		case "SVC_CMD":
			info.Command = lit
		}
	}
	return info
}
