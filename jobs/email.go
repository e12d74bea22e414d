package jobs

import (
	"bytes"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"strconv"
	"strings"
	texttemplate "text/template"

	"github.com/riverqueue/river"
)

//go:embed templates/*.tmpl
var templateFiles embed.FS

// emailTemplates renders the emails: for each name, templates/<name>.html.tmpl
// (html/template, so data is escaped) and templates/<name>.txt.tmpl.
type emailTemplates struct {
	html *htmltemplate.Template
	text *texttemplate.Template
}

func newEmailTemplates() (*emailTemplates, error) {
	funcs := map[string]any{"rupees": Rupees, "status": statusLabel}
	h, err := htmltemplate.New("").Funcs(funcs).ParseFS(templateFiles, "templates/*.html.tmpl")
	if err != nil {
		return nil, fmt.Errorf("parse html email templates: %w", err)
	}
	t, err := texttemplate.New("").Funcs(funcs).ParseFS(templateFiles, "templates/*.txt.tmpl")
	if err != nil {
		return nil, fmt.Errorf("parse text email templates: %w", err)
	}
	return &emailTemplates{html: h, text: t}, nil
}

// renderedEmail is an email's subject and bodies (a step's output, so with
// JSON names).
type renderedEmail struct {
	Subject string `json:"subject"`
	HTML    string `json:"html"`
	Text    string `json:"text"`
}

// render renders email name with data. The text template's first line is
// the subject ("Subject: ...").
func (e *emailTemplates) render(name string, data any) (renderedEmail, error) {
	var h, t bytes.Buffer
	if err := e.html.ExecuteTemplate(&h, name+".html.tmpl", data); err != nil {
		return renderedEmail{}, fmt.Errorf("render %s html: %w", name, err)
	}
	if err := e.text.ExecuteTemplate(&t, name+".txt.tmpl", data); err != nil {
		return renderedEmail{}, fmt.Errorf("render %s text: %w", name, err)
	}
	first, body, _ := strings.Cut(t.String(), "\n")
	subject, ok := strings.CutPrefix(first, "Subject: ")
	if !ok {
		return renderedEmail{}, fmt.Errorf("render %s: text template must start with a Subject: line", name)
	}
	return renderedEmail{Subject: strings.TrimSpace(subject), HTML: h.String(), Text: strings.TrimLeft(body, "\n")}, nil
}

// Rupees formats paise as rupees with Indian digit grouping:
// 124900 → "₹1,249.00", 10000000 → "₹1,00,000.00".
func Rupees(paise int64) string {
	sign := ""
	if paise < 0 {
		sign, paise = "-", -paise
	}
	whole := strconv.FormatInt(paise/100, 10)
	// The last three digits form one group; the rest go in pairs.
	if len(whole) > 3 {
		head, tail := whole[:len(whole)-3], whole[len(whole)-3:]
		var groups []string
		for len(head) > 2 {
			groups = append([]string{head[len(head)-2:]}, groups...)
			head = head[:len(head)-2]
		}
		groups = append([]string{head}, groups...)
		whole = strings.Join(groups, ",") + "," + tail
	}
	return fmt.Sprintf("%s₹%s.%02d", sign, whole, paise%100)
}

// statusLabel is an order status as customers read it.
func statusLabel(status string) string {
	switch status {
	case "out_for_delivery":
		return "Out for delivery"
	case "":
		return ""
	}
	return strings.ToUpper(status[:1]) + status[1:]
}

// render renders email name with the worker's templates. A template that
// fails to render cancels the job: a retry would fail the same way.
func (d *Deps) render(name string, data any) (renderedEmail, error) {
	e, err := d.tmpl.render(name, data)
	if err != nil {
		return renderedEmail{}, river.JobCancel(err)
	}
	return e, nil
}
