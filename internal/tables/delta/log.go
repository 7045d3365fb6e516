package delta

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Log is the _delta_log folder of one table.
type Log struct {
	st   Storage
	root string // the table's folder in st
}

// NewLog returns the log of the table in folder root of st.
func NewLog(st Storage, root string) *Log { return &Log{st: st, root: root} }

func (l *Log) dir() string { return path.Join(l.root, "_delta_log") }

func commitName(version int64) string { return fmt.Sprintf("%020d.json", version) }

func checkpointName(version int64) string { return fmt.Sprintf("%020d.checkpoint.parquet", version) }

// listing is what the log folder holds: commit versions and complete V1 checkpoints.
type listing struct {
	commits     map[int64]bool
	checkpoints []int64 // single-file V1 checkpoints, ascending
	latest      int64   // highest commit version, or -1
}

func (l *Log) list(ctx context.Context) (*listing, error) {
	ls := &listing{commits: map[int64]bool{}, latest: -1}
	prefix := l.dir() + "/"
	err := l.st.List(ctx, l.dir(), func(name string, _ int64, _ time.Time) error {
		base := strings.TrimPrefix(name, prefix)
		if strings.Contains(base, "/") || len(base) < 20 {
			return nil
		}
		v, err := strconv.ParseInt(base[:20], 10, 64)
		if err != nil {
			return nil
		}
		switch base[20:] {
		case ".json":
			ls.commits[v] = true
			ls.latest = max(ls.latest, v)
		case ".checkpoint.parquet":
			ls.checkpoints = append(ls.checkpoints, v)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", l.st.Location(l.dir()), err)
	}
	sort.Slice(ls.checkpoints, func(i, j int) bool { return ls.checkpoints[i] < ls.checkpoints[j] })
	return ls, nil
}

// ErrNoTable means the folder has no Delta log.
var ErrNoTable = errors.New("not a Delta table (no _delta_log commits)")

// Snapshot replays the log to its latest version: the newest checkpoint, then the commits after
// it. The listing is what counts: _last_checkpoint is only a hint to Spark-era readers, and a
// commit missing between the checkpoint and the latest version is an error.
func (l *Log) Snapshot(ctx context.Context) (*Snapshot, error) {
	ls, err := l.list(ctx)
	if err != nil {
		return nil, err
	}
	if ls.latest < 0 && len(ls.checkpoints) == 0 {
		return nil, fmt.Errorf("%s: %w", l.st.Location(l.root), ErrNoTable)
	}
	s := newSnapshot()
	from := int64(0)
	if n := len(ls.checkpoints); n > 0 {
		cp := ls.checkpoints[n-1]
		if err := l.applyCheckpoint(ctx, s, cp); err != nil {
			return nil, err
		}
		s.Version, from = cp, cp+1
	}
	for v := from; v <= ls.latest; v++ {
		if !ls.commits[v] {
			return nil, fmt.Errorf("%s: commit %d is missing (the log has versions up to %d)",
				l.st.Location(l.dir()), v, ls.latest)
		}
		if err := l.applyCommit(ctx, s, v); err != nil {
			return nil, err
		}
		s.Version = v
	}
	if s.Protocol.MinReaderVersion == 0 || s.Metadata.ID == "" {
		return nil, fmt.Errorf("%s: the log has no protocol or metaData action", l.st.Location(l.dir()))
	}
	return s, nil
}

func (l *Log) applyCheckpoint(ctx context.Context, s *Snapshot, version int64) error {
	name := path.Join(l.dir(), checkpointName(version))
	data, err := l.readAll(ctx, name)
	if err != nil {
		return err
	}
	actions, err := readCheckpoint(data)
	if err != nil {
		return fmt.Errorf("reading checkpoint %s: %w", l.st.Location(name), err)
	}
	for _, a := range actions {
		if err := s.apply(a); err != nil {
			return fmt.Errorf("%s: %w", l.st.Location(name), err)
		}
	}
	return nil
}

func (l *Log) applyCommit(ctx context.Context, s *Snapshot, version int64) error {
	name := path.Join(l.dir(), commitName(version))
	return l.readCommit(ctx, name, func(a Action) error { return s.apply(a) })
}

// readCommit calls fn for each action of a commit file, in order.
func (l *Log) readCommit(ctx context.Context, name string, fn func(Action) error) error {
	r, err := l.st.Open(ctx, name)
	if err != nil {
		return err
	}
	defer r.Close()
	br := bufio.NewReader(r)
	for lineNo := 1; ; lineNo++ {
		line, err := br.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			a, perr := ParseAction(line)
			if perr != nil {
				return fmt.Errorf("%s:%d: %w", l.st.Location(name), lineNo, perr)
			}
			if ferr := fn(a); ferr != nil {
				return fmt.Errorf("%s:%d: %w", l.st.Location(name), lineNo, ferr)
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading %s: %w", l.st.Location(name), err)
		}
	}
}

func (l *Log) readAll(ctx context.Context, name string) ([]byte, error) {
	r, err := l.st.Open(ctx, name)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", l.st.Location(name), err)
	}
	return data, nil
}

// Exists reports whether the folder holds a Delta log.
func (l *Log) Exists(ctx context.Context) (bool, error) {
	ls, err := l.list(ctx)
	if err != nil {
		return false, err
	}
	return ls.latest >= 0 || len(ls.checkpoints) > 0, nil
}

// lastCheckpoint is the _last_checkpoint file.
type lastCheckpoint struct {
	Version int64 `json:"version"`
	Size    int64 `json:"size"`
}
