package httpapi

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/mohallamart/backend/apperr"
	"github.com/mohallamart/backend/runs"
)

//go:embed console/*.html
var consoleFiles embed.FS

// consolePages renders the operator's console: the pages under /admin/
// (docs/console.md). Each page is the layout and one content template; a
// page of actions adds its own file and a link in the layout's nav (the
// "nav-actions" block).
type consolePages struct {
	events, event, runs, run, functions *template.Template
	actions, action                     *template.Template
}

func newConsolePages() (*consolePages, error) {
	funcs := template.FuncMap{
		"when": func(t any) string {
			switch t := t.(type) {
			case time.Time:
				return t.UTC().Format("2006-01-02 15:04:05.000")
			case *time.Time:
				if t != nil {
					return t.UTC().Format("2006-01-02 15:04:05.000")
				}
			}
			return "—"
		},
		"ms": func(ms any) string {
			switch v := ms.(type) {
			case *int64:
				if v == nil {
					return "—"
				}
				return fmtMs(float64(*v))
			case float64:
				return fmtMs(v)
			}
			return "—"
		},
		"pretty": func(raw []byte) string {
			var b bytes.Buffer
			if json.Indent(&b, raw, "", "  ") != nil {
				return string(raw)
			}
			return b.String()
		},
		"span": func(from, to *time.Time) string {
			if from == nil || to == nil {
				return "—"
			}
			return fmtMs(float64(to.Sub(*from).Microseconds()) / 1000)
		},
		"pct": func(f float64) string { return strconv.FormatFloat(100*f, 'f', 1, 64) + "%" },
	}
	parse := func(name string) (*template.Template, error) {
		t, err := template.New(name).Funcs(funcs).ParseFS(consoleFiles, "console/layout.html", "console/"+name)
		if err != nil {
			return nil, fmt.Errorf("parse console page %s: %w", name, err)
		}
		return t, nil
	}
	p := &consolePages{}
	for _, x := range []struct {
		name string
		t    **template.Template
	}{{"events.html", &p.events}, {"event.html", &p.event}, {"runs.html", &p.runs}, {"run.html", &p.run}, {"functions.html", &p.functions}, {"actions.html", &p.actions}, {"action.html", &p.action}} {
		t, err := parse(x.name)
		if err != nil {
			return nil, err
		}
		*x.t = t
	}
	return p, nil
}

// fmtMs says a duration in milliseconds briefly: 12 ms, 1.4 s, 3.0 min.
func fmtMs(ms float64) string {
	switch {
	case ms < 10:
		return strconv.FormatFloat(ms, 'f', 1, 64) + " ms"
	case ms < 1000:
		return strconv.FormatFloat(math.Round(ms), 'f', 0, 64) + " ms"
	case ms < 60_000:
		return strconv.FormatFloat(ms/1000, 'f', 1, 64) + " s"
	case ms < 3_600_000:
		return strconv.FormatFloat(ms/60_000, 'f', 1, 64) + " min"
	}
	return strconv.FormatFloat(ms/3_600_000, 'f', 1, 64) + " h"
}

// wantsHTML reports whether a request is a browser's page load (its Accept
// names text/html), which the routes that are both an API and a console
// page (GET /admin/runs, GET /admin/runs/{id}) answer with the page.
func wantsHTML(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "text/html")
}

// consolePage writes a console page with status; the layout gets the
// page's data as .Page and the River UI link when River UI is served.
func (s *server) consolePage(w http.ResponseWriter, r *http.Request, t *template.Template, status int, title string, page any) {
	var buf bytes.Buffer
	data := map[string]any{"Title": title, "Page": page, "RiverUI": s.RiverUI != nil}
	if err := t.ExecuteTemplate(&buf, "layout", data); err != nil {
		s.writeError(w, r, fmt.Errorf("render %s: %w", t.Name(), err))
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", mailboxCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
	h.Set("Vary", "Accept")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

// consoleError shows an Invalid or NotFound error as a console page (400,
// 404) and any other as the API's error answer.
func (s *server) consoleError(w http.ResponseWriter, r *http.Request, t *template.Template, title string, page map[string]any, err error) {
	var ae *apperr.Error
	if !errors.As(err, &ae) || (ae.Code != apperr.Invalid && ae.Code != apperr.NotFound) {
		s.writeError(w, r, err)
		return
	}
	status := http.StatusBadRequest
	if ae.Code == apperr.NotFound {
		status = http.StatusNotFound
	}
	page["Error"], page["Details"] = ae.Message, ae.Details
	s.consolePage(w, r, t, status, title, page)
}

// consoleEvents answers GET /admin/: the events, newest first, with their
// runs; ?name=, ?since=, ?until= and ?entity= narrow them.
func (s *server) consoleEvents(w http.ResponseWriter, r *http.Request, p *consolePages) {
	page := map[string]any{"Filter": runs.EventFilter{Name: r.URL.Query().Get("name"), Entity: r.URL.Query().Get("entity")},
		"Since": r.URL.Query().Get("since"), "Until": r.URL.Query().Get("until")}
	f, err := runs.ParseEventFilter(r.URL.Query())
	if err != nil {
		s.consoleError(w, r, p.events, "Events", page, err)
		return
	}
	evs, err := s.Runs.Events(r.Context(), f)
	if err != nil {
		s.consoleError(w, r, p.events, "Events", page, err)
		return
	}
	page["Filter"], page["Events"] = f, evs
	s.consolePage(w, r, p.events, http.StatusOK, "Events", page)
}

// consoleEvent answers GET /admin/events/{id}: one event and its runs.
func (s *server) consoleEvent(w http.ResponseWriter, r *http.Request, p *consolePages) {
	id := r.PathValue("id")
	page := map[string]any{"ID": id}
	evs, err := s.Runs.Events(r.Context(), runs.EventFilter{IDs: []string{id}})
	if err == nil && len(evs) == 0 {
		err = apperr.Errorf(apperr.NotFound, "No event %s.", id)
	}
	if err != nil {
		s.consoleError(w, r, p.event, "Event "+id, page, err)
		return
	}
	list, err := s.Runs.List(r.Context(), runs.Filter{EventID: id, Limit: runs.MaxLimit})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	page["Event"], page["Runs"] = evs[0], list.Runs
	s.consolePage(w, r, p.event, http.StatusOK, "Event "+evs[0].Name, page)
}

// listRuns answers GET /admin/runs: a page of runs as JSON
// ({"runs": [...], "next": cursor}), or the console's runs page for a
// browser.
func (s *server) listRuns(w http.ResponseWriter, r *http.Request, p *consolePages) {
	html := wantsHTML(r)
	page := map[string]any{"Q": r.URL.Query(), "Statuses": runs.Statuses(), "Functions": s.Runs.Functions()}
	f, err := s.Runs.ParseFilter(r.URL.Query())
	var list *runs.Page
	if err == nil {
		list, err = s.Runs.List(r.Context(), f)
	}
	if err != nil {
		if html {
			s.consoleError(w, r, p.runs, "Runs", page, err)
		} else {
			s.writeError(w, r, err)
		}
		return
	}
	if !html {
		w.Header().Set("Vary", "Accept")
		writeJSON(w, http.StatusOK, list)
		return
	}
	page["Runs"], page["Next"] = list.Runs, ""
	if list.Next != "" {
		next := r.URL.Query()
		next.Set("cursor", list.Next)
		page["Next"] = "?" + next.Encode()
	}
	s.consolePage(w, r, p.runs, http.StatusOK, "Runs", page)
}

// getRun answers GET /admin/runs/{id}: one run as JSON, or its console
// page for a browser.
func (s *server) getRun(w http.ResponseWriter, r *http.Request, p *consolePages) {
	html := wantsHTML(r)
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	var run *runs.Run
	if err != nil || id <= 0 {
		err = apperr.Errorf(apperr.NotFound, "No run %s.", r.PathValue("id"))
	} else {
		run, err = s.Runs.Get(r.Context(), id)
		if errors.Is(err, runs.ErrNotFound) {
			err = apperr.Errorf(apperr.NotFound, "No run %d.", id)
		}
	}
	if err != nil {
		if html {
			s.consoleError(w, r, p.run, "Run", map[string]any{}, err)
		} else {
			s.writeError(w, r, err)
		}
		return
	}
	if !html {
		w.Header().Set("Vary", "Accept")
		writeJSON(w, http.StatusOK, run)
		return
	}
	s.consolePage(w, r, p.run, http.StatusOK, run.Function+" run "+strconv.FormatInt(run.ID, 10),
		map[string]any{"Run": run, "Timeline": timelineOf(run, time.Now())})
}

// consoleFunctions answers GET /admin/functions: every declared function's
// triggers and options, with its runs over the last hour and day.
func (s *server) consoleFunctions(w http.ResponseWriter, r *http.Request, p *consolePages) {
	fns, err := s.Runs.FunctionStats(r.Context(), time.Now())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.consolePage(w, r, p.functions, http.StatusOK, "Functions", map[string]any{"Functions": fns})
}

// timelineBar is one step of a run's timeline: where its bar starts and
// how wide it is, in percent of the run's span.
type timelineBar struct {
	Step        runs.Step
	Left, Width float64
	Duration    string
}

// timeline is a run's steps drawn to scale from the run's start to its end
// (or now, or the last step's end, whichever is later).
type timeline struct {
	Bars       []timelineBar
	Start, End time.Time
	Span       string
}

// timelineOf lays out run's steps on one scale.
func timelineOf(run *runs.Run, now time.Time) timeline {
	var start, end time.Time
	widen := func(t *time.Time) {
		if t == nil {
			return
		}
		if start.IsZero() || t.Before(start) {
			start = *t
		}
		if t.After(end) {
			end = *t
		}
	}
	widen(run.StartedAt)
	widen(run.EndedAt)
	for _, st := range run.Steps {
		widen(st.StartedAt)
		widen(st.EndedAt)
	}
	if run.EndedAt == nil && run.StartedAt != nil && now.After(end) && run.Status != runs.StatusSleeping {
		end = now
	}
	tl := timeline{Start: start, End: end}
	span := end.Sub(start)
	tl.Span = fmtMs(float64(span.Microseconds()) / 1000)
	for _, st := range run.Steps {
		b := timelineBar{Step: st, Duration: "—"}
		if d := st.DurationMs(); d != nil {
			b.Duration = fmtMs(float64(st.EndedAt.Sub(*st.StartedAt).Microseconds()) / 1000)
		}
		from, to := st.StartedAt, st.EndedAt
		if from == nil {
			from = to
		}
		if to == nil {
			to = &end
		}
		if from != nil && span > 0 {
			b.Left = 100 * float64(from.Sub(start)) / float64(span)
			b.Width = 100 * float64(to.Sub(*from)) / float64(span)
		}
		b.Left = math.Max(0, math.Min(b.Left, 99.5))
		b.Width = math.Max(0.5, math.Min(b.Width, 100-b.Left))
		tl.Bars = append(tl.Bars, b)
	}
	return tl
}
