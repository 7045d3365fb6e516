package etl

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"cumulus-etl/internal/deid"
	"cumulus-etl/internal/input"
)

// The pipeline reads a task's files in one goroutine, de-identifies chunks of lines in parallel
// workers, and hands the results back in input order, so "the last copy of an id wins" means the
// last one in the input and output is the same from run to run.
//
// Memory: at most maxInFlight chunks exist at once; a chunk holds up to chunkBytes of input (or a
// single line, if one line is larger) plus its de-identified rows.
const (
	chunkLines = 512
	chunkBytes = 4 << 20
)

// rowStatus says what became of one input line.
type rowStatus int

const (
	rowKept     rowStatus = iota
	rowRejected           // bad input or a resource the scrubber refused: counted as a failure
	rowSkipped            // dropped on purpose (unknown modifierExtension): counted, not a failure
)

type rowResult struct {
	status rowStatus
	id     string // de-identified id, for kept rows
	row    []byte // de-identified JSON, for kept rows
	err    error  // why, for rejected and skipped rows
	file   string
	line   int
	size   int    // bytes of the input line, newline included, for progress
	raw    []byte // the input line, for rejected rows when they are kept for --errors-to
}

type chunk struct {
	seq   int
	file  string
	arena []byte
	lines []lineSpan
}

type lineSpan struct {
	number     int
	start, end int
}

type chunkResult struct {
	seq   int
	rows  []rowResult
	arena []byte // the chunk's input, reused for a later chunk once its rows are handled
}

// processor de-identifies the lines of one resource type.
type processor struct {
	resource string
	scrubber *deid.Scrubber
	keepRaw  bool
}

func (p *processor) processChunk(c *chunk) chunkResult {
	out := chunkResult{seq: c.seq, rows: make([]rowResult, 0, len(c.lines)), arena: c.arena}
	for _, span := range c.lines {
		line := c.arena[span.start:span.end]
		r := p.processLine(line)
		r.file, r.line, r.size = c.file, span.number, span.end-span.start+1
		if r.status == rowRejected && p.keepRaw {
			r.raw = append([]byte(nil), line...)
		}
		out.rows = append(out.rows, r)
	}
	return out
}

func (p *processor) processLine(line []byte) rowResult {
	row, id, outcome, err := scrubLine(p.scrubber, line, p.resource)
	if err != nil {
		return rowResult{status: rowRejected, err: err}
	}
	if outcome != deid.Kept {
		return rowResult{status: rowSkipped, err: fmt.Errorf("skipped: %v", outcome)}
	}
	return rowResult{status: rowKept, id: id, row: row}
}

// runPipeline processes every file and calls handle with each line's result, in input order.
// A file that cannot be read is reported through fileErr and the other files still run.
func runPipeline(ctx context.Context, files []input.File, p *processor, workers int,
	handle func(rowResult) error, fileErr func(error)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	maxInFlight := 2*workers + 2
	slots := make(chan struct{}, maxInFlight)
	free := make(chan []byte, maxInFlight) // chunk arenas to reuse: no new 4 MiB buffer per chunk
	jobs := make(chan *chunk)
	results := make(chan chunkResult, maxInFlight)

	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range jobs {
				results <- p.processChunk(c)
			}
		}()
	}
	readErr := make(chan error, 1)
	go func() {
		readErr <- readChunks(ctx, files, slots, free, jobs, fileErr)
		close(jobs)
		wg.Wait()
		close(results)
	}()

	pending := map[int]chunkResult{}
	next := 0
	var handleErr error
	for res := range results {
		pending[res.seq] = res
		for {
			ready, ok := pending[next]
			if !ok {
				break
			}
			delete(pending, next)
			next++
			<-slots
			if handleErr != nil {
				continue
			}
			for _, r := range ready.rows {
				if err := handle(r); err != nil {
					handleErr = err
					cancel()
					break
				}
			}
			if cap(ready.arena) <= 2*chunkBytes { // not a huge line's own buffer
				select {
				case free <- ready.arena[:0]: // handle copied what it keeps
				default:
				}
			}
		}
	}
	if err := <-readErr; err != nil && handleErr == nil && !errors.Is(err, context.Canceled) {
		return err
	}
	if handleErr != nil {
		return handleErr
	}
	return ctx.Err()
}

// readChunks cuts the files into chunks. Each chunk takes a slot, which the consumer frees once
// the chunk's rows are handled: that is what bounds memory.
func readChunks(ctx context.Context, files []input.File, slots chan struct{}, free <-chan []byte, jobs chan<- *chunk, fileErr func(error)) error {
	newChunk := func(file string) *chunk {
		select {
		case arena := <-free:
			return &chunk{file: file, arena: arena}
		default:
			return &chunk{file: file}
		}
	}
	seq := 0
	for _, f := range files {
		r, err := f.Open(ctx)
		if err != nil {
			fileErr(err)
			continue
		}
		c := newChunk(f.Path)
		send := func() error {
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				return ctx.Err()
			}
			c.seq = seq
			seq++
			select {
			case jobs <- c:
			case <-ctx.Done():
				return ctx.Err()
			}
			c = newChunk(f.Path)
			return nil
		}
		for r.Next() {
			if len(r.Line()) >= chunkBytes {
				// A huge line travels alone, in the reader's own memory: no second copy of it.
				if len(c.lines) > 0 {
					if err := send(); err != nil {
						r.Close()
						return err
					}
				}
				line := r.TakeLine()
				c.arena, c.lines = line, []lineSpan{{number: r.LineNumber(), end: len(line)}}
				if err := send(); err != nil {
					r.Close()
					return err
				}
				continue
			}
			line := r.Line()
			start := len(c.arena)
			c.arena = append(c.arena, line...)
			c.lines = append(c.lines, lineSpan{number: r.LineNumber(), start: start, end: len(c.arena)})
			if len(c.lines) >= chunkLines || len(c.arena) >= chunkBytes {
				if err := send(); err != nil {
					r.Close()
					return err
				}
			}
		}
		if len(c.lines) > 0 {
			if err := send(); err != nil {
				r.Close()
				return err
			}
		}
		if err := r.Err(); err != nil {
			fileErr(err)
		}
		r.Close()
	}
	return nil
}
