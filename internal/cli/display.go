package cli

import (
	"bytes"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"

	"cumulus-etl/internal/progress"
)

// newDisplay shows progress on stderr: live bars when it is the terminal, plain lines otherwise
// (cron, CI, pipes), warnings only with quiet.
func newDisplay(stderr io.Writer, quiet bool) progress.Display {
	mode := progress.Lines
	switch {
	case quiet:
		mode = progress.Quiet
	case isTerminal(stderr):
		mode = progress.Bars
	}
	return progress.New(progress.Options{Out: stderr, Mode: mode})
}

// isTerminal reports whether w is a file of this process that is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// etlDisplay shows the ETL's live progress per task on stderr (issue 10 item 17), and returns
// the writers the ETL's own lines should go to: with live bars they print through the display,
// above the bars (stdout only when it is the terminal too); otherwise stdout and stderr as given.
func etlDisplay(stdout, stderr io.Writer) (d progress.Display, out, errOut io.Writer) {
	d = newDisplay(stderr, false)
	if !isTerminal(stderr) {
		return d, stdout, stderr
	}
	out, errOut = stdout, &lineWriter{emit: d.Info}
	if isTerminal(stdout) {
		out = &lineWriter{emit: d.Info}
	}
	return d, out, errOut
}

// warningLogger sends warnings (the FHIR client's retries, odd server answers) to r as plain
// "message key=value ..." warnings, so they print above live bars instead of through them.
func warningLogger(r progress.Reporter) *slog.Logger {
	return slog.New(slog.NewTextHandler(&lineWriter{emit: r.Warn}, &slog.HandlerOptions{
		Level: slog.LevelWarn,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && (a.Key == slog.TimeKey || a.Key == slog.LevelKey) {
				return slog.Attr{}
			}
			return a
		},
	}))
}

// lineWriter calls emit with each complete line written to it.
type lineWriter struct {
	mu   sync.Mutex
	buf  []byte
	emit func(string)
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		w.emit(plainMessage(string(w.buf[:i])))
		w.buf = w.buf[i+1:]
	}
}

// plainMessage turns a slog text line `msg="some text" k=v` into `some text: k=v`.
func plainMessage(line string) string {
	rest, ok := strings.CutPrefix(line, "msg=")
	if !ok {
		return line
	}
	msg, attrs := rest, ""
	if q, err := strconv.QuotedPrefix(rest); err == nil {
		msg, _ = strconv.Unquote(q)
		attrs = strings.TrimSpace(rest[len(q):])
	} else if m, a, found := strings.Cut(rest, " "); found {
		msg, attrs = m, a
	}
	if attrs == "" {
		return msg
	}
	return msg + ": " + attrs
}
