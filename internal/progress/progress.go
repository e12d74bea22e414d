// Package progress shows how far a long command (a replay, a bulk retry)
// has got: a bar redrawn in place on a terminal, or a line at every tenth
// of the work elsewhere (a log file, a pipe), so that logs stay readable.
package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
)

// barWidth is the bar's length in characters.
const barWidth = 30

// Reporter writes progress reports to one writer.
type Reporter struct {
	w        io.Writer
	label    string
	terminal bool
	// shown is the last tenth a line was written for (non-terminal).
	shown int
	drawn bool
}

// New returns a Reporter writing to w, labelling the counts with label
// ("events", "jobs"). A bar when terminal, lines otherwise.
func New(w io.Writer, label string, terminal bool) *Reporter {
	return &Reporter{w: w, label: label, terminal: terminal, shown: -1}
}

// IsTerminal reports whether w is a character device (a terminal).
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// Report shows that done of total are done. Write errors are ignored:
// progress is informational.
func (r *Reporter) Report(done, total int) {
	if total <= 0 {
		return
	}
	if r.terminal {
		filled := barWidth * done / total
		fmt.Fprintf(r.w, "\r[%s%s] %d/%d %s", strings.Repeat("#", filled), strings.Repeat(".", barWidth-filled), done, total, r.label)
		r.drawn = true
		return
	}
	tenth := 10 * done / total
	if tenth == r.shown {
		return
	}
	r.shown = tenth
	fmt.Fprintf(r.w, "%d/%d %s (%d%%)\n", done, total, r.label, 100*done/total)
}

// Finish ends the bar's line, if one was drawn.
func (r *Reporter) Finish() {
	if r.drawn {
		fmt.Fprintln(r.w)
		r.drawn = false
	}
}
