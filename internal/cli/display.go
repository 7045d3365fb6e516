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

// isTerminal reports whether w is this process's stderr and a character device.
func isTerminal(w io.Writer) bool {
	if w != io.Writer(os.Stderr) {
		return false
	}
	fi, err := os.Stderr.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
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
