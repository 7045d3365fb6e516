package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"

	"cumulus-etl/internal/fhir"
	"cumulus-etl/internal/hydrate"
	"cumulus-etl/internal/progress"
)

// infoWriter prints through a display's Info, so text does not garble its bars.
type infoWriter struct{ r progress.Reporter }

func (w infoWriter) Write(b []byte) (int, error) {
	w.r.Info(strings.TrimSuffix(string(b), "\n"))
	return len(b), nil
}

// printHydrateReport prints one row per task (in one Write).
func printHydrateReport(w io.Writer, rep *hydrate.Report) {
	var b strings.Builder
	b.WriteString("\n")
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "task\tdownloaded\talready there\tskipped (type)\tskipped (status)\tno url\ttoo large\tfailed\tbytes\t")
	for _, t := range rep.Tasks {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t\n", t.Task, t.Inlined.Load(), t.AlreadyDone.Load(), t.SkippedType.Load(),
			t.SkippedStatus.Load(), t.NoURL.Load(), t.TooLarge.Load(), t.Failed.Load(), t.Bytes.Load())
	}
	tw.Flush()
	_, _ = io.WriteString(w, b.String())
}

// parseSize reads a byte count such as 8388608, 500K, 500KiB, 8M, 8MiB or 1G (units of 1024).
func parseSize(s string) (int64, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	t = strings.TrimSuffix(strings.TrimSuffix(t, "B"), "I")
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}} {
		if cut, ok := strings.CutSuffix(t, u.suffix); ok {
			t, mult = cut, u.mult
			break
		}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(t), 10, 64)
	if err != nil || n <= 0 || n > (1<<40)/mult {
		return 0, fmt.Errorf("%q is not a size such as 8MiB", s)
	}
	return n * mult, nil
}

// anonymousClients sends requests without credentials, through one FHIR client per origin (so
// retries, Retry-After and redirect rules still apply), for runs without --fhir-url.
type anonymousClients struct {
	ca string

	mu      sync.Mutex
	clients map[string]*fhir.Client
}

// Do sends req through the client of its origin; a relative URL is an error.
func (a *anonymousClients) Do(req *http.Request) (*http.Response, error) {
	if !req.URL.IsAbs() {
		return nil, hydrate.ErrRelativeURL
	}
	c, err := a.client(req.Context(), req.URL)
	if err != nil {
		return nil, err
	}
	return c.Do(req.WithContext(fhir.NoCredentials(req.Context())))
}

func (a *anonymousClients) client(ctx context.Context, u *url.URL) (*fhir.Client, error) {
	origin := u.Scheme + "://" + u.Host + "/"
	a.mu.Lock()
	defer a.mu.Unlock()
	if c := a.clients[origin]; c != nil {
		return c, nil
	}
	c, err := fhir.New(ctx, fhir.Options{BaseURL: origin, Auth: fhir.AuthConfig{CAFile: a.ca}, Version: Version,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return nil, err
	}
	if a.clients == nil {
		a.clients = map[string]*fhir.Client{}
	}
	a.clients[origin] = c
	return c, nil
}
