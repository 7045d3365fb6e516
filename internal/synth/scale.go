package synth

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"

	"cumulus-etl/internal/synth/internal/fileout"
)

// ScaleOptions controls Scale. The zero value writes one file per type per copy, using all CPUs.
type ScaleOptions struct {
	// OneFilePerType writes all copies of a type into a single <Type>.000.ndjson[.gz] instead of
	// one set of files per copy.
	OneFilePerType bool
	// Workers is how many output files are written at once; 0 means twice runtime.GOMAXPROCS, so
	// one file's fsync overlaps another's compression.
	Workers int
	// GzipLevel is the compression level of .gz outputs, 1 (fastest) to 9 (smallest); 0 means the
	// gzip default (6). Gzip dominates Scale's CPU time, so 1 roughly doubles throughput.
	GzipLevel int
}

// ScaleStats reports what Scale wrote.
type ScaleStats struct {
	Files     int   // output files written, including copied log and error files
	Resources int64 // ndjson lines written
	Bytes     int64 // uncompressed bytes written
}

// scaleSource is one ndjson file of the input export.
type scaleSource struct {
	dir, name, typ, ext string // ext is ".ndjson" or ".ndjson.gz"
}

// scaleJob writes one output file from a sequence of (source, copy) pairs.
type scaleJob struct {
	out     string
	level   int
	sources []scaleSource
	copies  []int // copy index per source; -1 copies verbatim
	urlRef  bool
}

// ndjsonName splits an input file name into the group it belongs to (the resource type, or
// whatever precedes the first dot, e.g. "1" for Epic's numbered files) and its extension.
var ndjsonName = regexp.MustCompile(`^([^.]+)(\..*)?(\.ndjson(?:\.gz)?)$`)

// Scale copies the bulk export folder src into dst copies times, prefixing every resource id and
// every relative reference id with "c<N>-" (N = 1..copies) so the copies are distinct resources
// whose references stay consistent. Output files keep their input compression (".gz" in, ".gz"
// out). deleted/ Bundles are scaled the same way (their entry.request.url too); log.ndjson and
// error/ files are copied once, unchanged. Files are streamed line by line and written atomically.
// dst must be empty or missing, so no stale files from an earlier run mix with the new ones.
func Scale(src, dst string, copies int, opts ScaleOptions) (ScaleStats, error) {
	if copies < 1 {
		return ScaleStats{}, fmt.Errorf("scale: copies must be at least 1, got %d", copies)
	}
	if entries, err := os.ReadDir(dst); err == nil && len(entries) > 0 {
		return ScaleStats{}, fmt.Errorf("scale: output folder %s is not empty; remove it or choose another", dst)
	}
	jobs, err := planScale(src, dst, copies, opts)
	if err != nil {
		return ScaleStats{}, err
	}
	workers := opts.Workers
	if workers <= 0 {
		workers = 2 * runtime.GOMAXPROCS(0)
	}
	level := opts.GzipLevel
	if level == 0 {
		level = gzip.DefaultCompression
	}
	for i := range jobs {
		jobs[i].level = level
	}
	return runScaleJobs(jobs, workers)
}

// planScale lists the input files and decides which output file each copy of each goes to.
func planScale(src, dst string, copies int, opts ScaleOptions) ([]scaleJob, error) {
	var jobs []scaleJob
	for _, sub := range []string{"", "deleted", "error"} {
		sources, err := listNDJSON(filepath.Join(src, sub))
		if err != nil {
			return nil, err
		}
		for _, group := range groupByType(sources) {
			if sub == "error" || group[0].typ == "log" {
				for _, s := range group {
					jobs = append(jobs, scaleJob{out: filepath.Join(dst, sub, s.name), sources: []scaleSource{s}, copies: []int{-1}})
				}
				continue
			}
			jobs = append(jobs, planType(filepath.Join(dst, sub), group, copies, opts.OneFilePerType, sub == "deleted")...)
		}
	}
	if len(jobs) == 0 {
		return nil, fmt.Errorf("scale: no .ndjson or .ndjson.gz files in %s", src)
	}
	return jobs, nil
}

// planType plans the output files of one resource type.
func planType(dir string, group []scaleSource, copies int, oneFile, urlRef bool) []scaleJob {
	typ := group[0].typ
	if oneFile {
		job := scaleJob{out: filepath.Join(dir, typ+".000"+group[0].ext), urlRef: urlRef}
		for c := 1; c <= copies; c++ {
			for _, s := range group {
				job.sources = append(job.sources, s)
				job.copies = append(job.copies, c)
			}
		}
		return []scaleJob{job}
	}
	var jobs []scaleJob
	for c := 1; c <= copies; c++ {
		for j, s := range group {
			n := (c-1)*len(group) + j
			jobs = append(jobs, scaleJob{out: filepath.Join(dir, fmt.Sprintf("%s.%03d%s", typ, n, s.ext)),
				sources: []scaleSource{s}, copies: []int{c}, urlRef: urlRef})
		}
	}
	return jobs
}

// listNDJSON returns the ndjson files directly in dir, sorted by name; a missing dir has none.
func listNDJSON(dir string) ([]scaleSource, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("scale: listing %s: %w", dir, err)
	}
	var out []scaleSource
	for _, e := range entries {
		m := ndjsonName.FindStringSubmatch(e.Name())
		if e.Type().IsRegular() && m != nil {
			out = append(out, scaleSource{dir: dir, name: e.Name(), typ: m[1], ext: m[3]})
		}
	}
	return out, nil
}

// groupByType splits sources (sorted by name) into runs of the same type.
func groupByType(sources []scaleSource) [][]scaleSource {
	var groups [][]scaleSource
	for _, s := range sources {
		if n := len(groups); n > 0 && groups[n-1][0].typ == s.typ {
			groups[n-1] = append(groups[n-1], s)
		} else {
			groups = append(groups, []scaleSource{s})
		}
	}
	return groups
}

// runScaleJobs runs jobs on workers goroutines and sums their stats; the first error wins and
// stops jobs not yet started.
func runScaleJobs(jobs []scaleJob, workers int) (ScaleStats, error) {
	var (
		mu    sync.Mutex
		total ScaleStats
		errs  []error
		wg    sync.WaitGroup
		next  = make(chan scaleJob)
	)
	for range min(workers, len(jobs)) {
		wg.Go(func() {
			for job := range next {
				lines, bytes, err := job.run()
				mu.Lock()
				total.Files++
				total.Resources += lines
				total.Bytes += bytes
				if err != nil {
					errs = append(errs, err)
				}
				mu.Unlock()
			}
		})
	}
	for _, job := range jobs {
		mu.Lock()
		failed := len(errs) > 0
		mu.Unlock()
		if failed {
			break
		}
		next <- job
	}
	close(next)
	wg.Wait()
	if len(errs) > 0 {
		return total, errs[0]
	}
	return total, nil
}

// run writes the job's output file and returns the lines and uncompressed bytes written.
func (j scaleJob) run() (int64, int64, error) {
	out, err := fileout.CreateLevel(j.out, j.level)
	if err != nil {
		return 0, 0, err
	}
	var lines int64
	for i, s := range j.sources {
		n, err := copyScaled(out, s, j.copies[i], j.urlRef)
		lines += n
		if err != nil {
			out.Abort()
			return lines, out.Written(), err
		}
	}
	return lines, out.Written(), out.Commit()
}

// copyScaled streams one source file into out, rewriting ids for copy c (c < 0: unchanged).
func copyScaled(out io.Writer, s scaleSource, c int, urlRef bool) (int64, error) {
	path := filepath.Join(s.dir, s.name)
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("scale: %w", err)
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(s.name, ".gz") {
		zr, err := gzip.NewReader(f)
		if err != nil {
			return 0, fmt.Errorf("scale: reading %s: %w", path, err)
		}
		defer zr.Close()
		r = zr
	}
	br := bufio.NewReaderSize(r, 1<<20)
	w := idRewriter{prefix: fmt.Appendf(nil, "c%d-", c), urlIsRef: urlRef}
	var line, buf []byte
	var n int64
	for lineNo := 1; ; lineNo++ {
		line, err = readLine(br, line[:0])
		if err != nil && err != io.EOF {
			return n, fmt.Errorf("scale: reading %s line %d: %w", path, lineNo, err)
		}
		if len(line) > 0 {
			if c < 0 {
				buf = append(buf[:0], line...)
			} else if buf, err = scaleLine(w, buf[:0], line); err != nil {
				return n, fmt.Errorf("scale: %s line %d: %w", path, lineNo, err)
			}
			if _, err := out.Write(append(buf, '\n')); err != nil {
				return n, err
			}
			n++
		}
		if err == io.EOF {
			return n, nil
		}
	}
}

// scaleLine rewrites one non-blank line, which must hold a JSON object.
func scaleLine(w idRewriter, dst, line []byte) ([]byte, error) {
	if t := bytes.TrimSpace(line); t[0] != '{' || t[len(t)-1] != '}' {
		return nil, errors.New("not a JSON object (truncated line?)")
	}
	return w.rewrite(dst, line)
}

// readLine appends the next line of r (without its line ending) to buf. Lines of any length are
// read; a final line without a newline is returned with io.EOF. Blank lines come back empty.
func readLine(r *bufio.Reader, buf []byte) ([]byte, error) {
	for {
		chunk, err := r.ReadSlice('\n')
		buf = append(buf, chunk...)
		if err == bufio.ErrBufferFull {
			continue
		}
		if len(bytes.TrimSpace(buf)) == 0 {
			return buf[:0], err
		}
		return bytes.TrimSuffix(bytes.TrimSuffix(buf, []byte("\n")), []byte("\r")), err
	}
}
