package bulktest

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

func (s *Server) file(w http.ResponseWriter, r *http.Request, idx string) {
	i, err := strconv.Atoi(idx)
	if err != nil || i < 0 || i >= len(s.s.Files) {
		http.NotFound(w, r)
		return
	}
	s.count("file/" + idx)
	s.mu.Lock()
	stale := r.URL.Query().Get("gen") != strconv.Itoa(s.gen)
	fault := Normal
	if fs := s.s.FileFaults[i]; s.faultAt[i] < len(fs) {
		fault = fs[s.faultAt[i]]
		s.faultAt[i]++
	}
	if fault == Expired || fault == Forbidden || fault == HTMLPage {
		s.gen++ // the old links die; a manifest re-read gets new ones
	}
	s.mu.Unlock()
	switch {
	case stale:
		http.Error(w, "link expired", http.StatusGone)
		return
	case fault == Throttle:
		w.Header().Set("Retry-After", "1")
		http.Error(w, "slow down", http.StatusTooManyRequests)
		return
	case fault == Unavail:
		http.Error(w, "busy", http.StatusServiceUnavailable)
		return
	case fault == ServerError:
		http.Error(w, "oops", http.StatusInternalServerError)
		return
	case fault == Expired:
		http.Error(w, "gone", http.StatusGone)
		return
	case fault == Forbidden && s.s.SignedURLs:
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprintf(w, "<Error><Code>SignatureDoesNotMatch</Code><AWSAccessKeyId>%s</AWSAccessKeyId><SignatureProvided>%s</SignatureProvided></Error>",
			SignedAccessKey, r.URL.Query().Get("X-Amz-Signature"))
		return
	case fault == Forbidden:
		http.Error(w, "<Error>Request has expired</Error>", http.StatusForbidden)
		return
	case fault == HTMLPage:
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, "<html><body>Please log in</body></html>\n")
		return
	}
	s.serveBody(w, r, i, fault)
}

// serveBody sends file i whole, as a Range, gzipped, or cut short.
func (s *Server) serveBody(rw http.ResponseWriter, r *http.Request, i int, fault Fault) {
	var w http.ResponseWriter = rw
	if s.s.ChunkDelay > 0 {
		w = &slowWriter{ResponseWriter: rw, delay: s.s.ChunkDelay}
	}
	w.Header().Set("Content-Type", "application/fhir+ndjson")
	var rs io.ReadSeeker = bytes.NewReader(s.s.Files[i].Body)
	gz := s.s.GzipNoHeader || (s.s.Gzip && strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") && r.Header.Get("Range") == "")
	if gz {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		io.Copy(zw, rs)
		zw.Close()
		if !s.s.GzipNoHeader {
			w.Header().Set("Content-Encoding", "gzip")
		}
		rs = bytes.NewReader(buf.Bytes())
	}
	if r.Header.Get("Range") == "" || s.s.NoRanges {
		s.mu.Lock()
		s.full[i]++
		s.mu.Unlock()
	}
	if fault == Truncate || fault == Reset {
		size, _ := rs.Seek(0, io.SeekEnd)
		rs.Seek(0, io.SeekStart)
		w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
		w.Header().Set("Accept-Ranges", "bytes")
		w.WriteHeader(http.StatusOK)
		io.CopyN(w, rs, size/2)
		if fault == Reset {
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler)
		}
		return
	}
	if s.s.NoRanges || gz {
		r.Header.Del("Range")
		if !s.s.NoRanges {
			w.Header().Set("Accept-Ranges", "bytes")
		}
		io.Copy(w, rs)
		return
	}
	http.ServeContent(w, r, "", time.Time{}, rs)
}
