package gen

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"text/template"

	"github.com/supervision-suite/supervision/internal/options"
	"github.com/supervision-suite/supervision/internal/safefile"
	"github.com/supervision-suite/supervision/templates"
)

// scriptData is what the shared script templates see.
type scriptData struct {
	Exec string // sv-exec's command line, sh-quoted
	Root string // the relocated root, "" for /
}

func (g *Generator) templateData() scriptData {
	return scriptData{Exec: options.JoinWords(g.Exec), Root: g.Layout.Root}
}

var funcs = template.FuncMap{"shq": options.Quote}

// render executes a template: the site's copy in .opt/templates when there
// is one, else the embedded one. The error names the file and line.
func (g *Generator) render(name string, data any) ([]byte, error) {
	src, origin, err := g.templateText(name)
	if err != nil {
		return nil, err
	}
	t, err := template.New(name).Option("missingkey=error").Funcs(funcs).Parse(string(src))
	if err != nil {
		return nil, fmt.Errorf("template %s: %s", origin, trimTemplateErr(err))
	}
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		return nil, fmt.Errorf("template %s: %s", origin, trimTemplateErr(err))
	}
	return b.Bytes(), nil
}

// templateText is the template name: the site's in .opt/templates, which
// must be a regular file (safefile), else the built-in one. It returns
// where the text came from too.
func (g *Generator) templateText(name string) ([]byte, string, error) {
	site := filepath.Join(g.Layout.OptDir, "templates", name)
	data, err := safefile.ReadFile(site, safefile.ConfigLimit)
	if err == nil {
		return data, site, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, "", safefile.Short(err)
	}
	data, err = fs.ReadFile(templates.FS, name)
	return data, "(built-in) " + name, err
}

// text/template errors start with "template: NAME:LINE: ..."; keep LINE.
func trimTemplateErr(err error) string {
	return strings.TrimPrefix(err.Error(), "template: ")
}
