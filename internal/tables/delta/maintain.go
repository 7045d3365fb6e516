package delta

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Optimize compacts small files: when two or more live files hold fewer than half of RowsPerFile
// rows each, their rows are rewritten into as few files as fit, in one commit that changes no
// data (dataChange false), as Spark's OPTIMIZE does. It returns how many files it replaced.
func (t *Table) Optimize(ctx context.Context, opts WriteOptions) (int, error) {
	if t.snap == nil {
		return 0, nil
	}
	if err := t.CheckWritable(); err != nil {
		return 0, err
	}
	if opts.RowsPerFile <= 0 {
		opts.RowsPerFile = 100000
	}
	var small []*Add
	for _, a := range t.snap.Files() {
		if numRecords(a) < int64(opts.RowsPerFile)/2 {
			small = append(small, a)
		}
	}
	if len(small) < 2 {
		return 0, nil
	}
	fw := t.newFileWriter(ctx, opts)
	defer fw.abort()
	var actions []Action
	for _, a := range small {
		pf, done, err := t.openData(ctx, a, opts.TempDir)
		if err != nil {
			return 0, err
		}
		_, err = fw.copyFrom(pf, func(int64) bool { return true })
		done()
		if err != nil {
			return 0, err
		}
		rm := removeAction(a, opts.Now)
		rm.Remove.DataChange = false
		actions = append(actions, rm)
	}
	if err := fw.finish(); err != nil {
		return 0, err
	}
	for _, a := range fw.adds {
		a.Add.DataChange = false
		actions = append(actions, a)
	}
	info := fmt.Appendf(nil, `{"timestamp":%d,"operation":"OPTIMIZE","operationParameters":{"predicate":"[]"},"engineInfo":%q,"isBlindAppend":false}`,
		opts.Now.UnixMilli(), opts.EngineInfo)
	if err := t.log.Commit(ctx, t.snap, append([]Action{{CommitInfo: info}}, actions...), opts.Now); err != nil {
		return 0, err
	}
	fw.committed()
	return len(small), nil
}

// Vacuum deletes the table's data files that no version within the retention needs: files
// removed longer ago than retention (0: the table's delta.deletedFileRetentionDuration, a week by
// default), and files no version references (left by a crashed run) older than that. It touches
// only data files (*.parquet outside _delta_log), never anything else in the folder.
func (t *Table) Vacuum(ctx context.Context, now time.Time, retention time.Duration) (int, error) {
	if t.snap == nil {
		return 0, nil
	}
	if retention <= 0 {
		retention = t.snap.DeletedFileRetention()
	}
	cutoff := now.Add(-retention)
	var doomed []string
	prefix := t.dir + "/"
	err := t.st.List(ctx, t.dir, func(name string, _ int64, mod time.Time) error {
		rel := strings.TrimPrefix(name, prefix)
		if !IsDataFile(rel) {
			return nil
		}
		if _, live := t.snap.files[rel]; live {
			return nil
		}
		when := mod
		if r, ok := t.snap.tombstones[rel]; ok && r.DeletionTimestamp != nil {
			when = time.UnixMilli(*r.DeletionTimestamp)
		}
		if when.Before(cutoff) {
			doomed = append(doomed, name)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	for _, name := range doomed {
		if err := t.st.Delete(ctx, name); err != nil {
			return 0, fmt.Errorf("vacuum: %w", err)
		}
	}
	return len(doomed), nil
}

// IsDataFile reports whether name (relative to the table's folder) is a data file as Delta
// writers name them (part-*.parquet at the top): the only files vacuum may delete.
func IsDataFile(name string) bool {
	return strings.HasPrefix(name, "part-") && strings.HasSuffix(name, ".parquet") && !strings.Contains(name, "/")
}
