package delta

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"time"

	"github.com/parquet-go/parquet-go"
)

// CheckpointInterval is how many commits apart V1 checkpoints are written (Spark's default).
const CheckpointInterval = 10

// ErrVersionTaken means another writer committed the version this one meant to write: nothing
// was overwritten, and this writer's data files are not part of the table.
var ErrVersionTaken = errors.New("another writer committed to the Delta table first")

// Commit writes actions as the snapshot's next version, created only if absent, then applies
// them to the snapshot. Every CheckpointInterval versions it also writes a checkpoint.
func (l *Log) Commit(ctx context.Context, s *Snapshot, actions []Action, now time.Time) error {
	version := s.Version + 1
	data, err := encodeCommit(actions)
	if err != nil {
		return err
	}
	name := path.Join(l.dir(), commitName(version))
	w, err := l.st.Create(ctx, name, true)
	if err != nil {
		return err
	}
	defer w.Abort()
	if _, err := w.Write(data); err != nil {
		return fmt.Errorf("writing %s: %w", l.st.Location(name), err)
	}
	if err := w.Commit(); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%w: %s exists (was the table written by two runs at once? rerun to write "+
				"this run's rows again)", ErrVersionTaken, l.st.Location(name))
		}
		return fmt.Errorf("committing %s: %w", l.st.Location(name), err)
	}
	for _, a := range actions {
		if err := s.apply(a); err != nil {
			return err
		}
	}
	s.Version = version
	if version > 0 && version%CheckpointInterval == 0 {
		return l.WriteCheckpoint(ctx, s, now)
	}
	return nil
}

// WriteCheckpoint writes the snapshot as a V1 checkpoint and points _last_checkpoint at it.
// Tombstones older than the table's deleted-file retention are left out, as Spark does.
func (l *Log) WriteCheckpoint(ctx context.Context, s *Snapshot, now time.Time) error {
	rows := checkpointRows(s, now.Add(-s.DeletedFileRetention()))
	name := path.Join(l.dir(), checkpointName(s.Version))
	w, err := l.st.Create(ctx, name, true)
	if err != nil {
		return err
	}
	defer w.Abort()
	pw := parquet.NewGenericWriter[cpRow](w, parquet.Compression(&parquet.Snappy))
	if _, err := pw.Write(rows); err != nil {
		return fmt.Errorf("writing %s: %w", l.st.Location(name), err)
	}
	if err := pw.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", l.st.Location(name), err)
	}
	if err := w.Commit(); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("writing %s: %w", l.st.Location(name), err)
	}
	last, _ := json.Marshal(lastCheckpoint{Version: s.Version, Size: int64(len(rows))})
	lw, err := l.st.Create(ctx, path.Join(l.dir(), "_last_checkpoint"), false)
	if err != nil {
		return err
	}
	defer lw.Abort()
	if _, err := lw.Write(last); err != nil {
		return err
	}
	return lw.Commit()
}

func checkpointRows(s *Snapshot, expired time.Time) []cpRow {
	p := s.Protocol
	rows := []cpRow{{Protocol: &cpProtocol{MinReaderVersion: int32(p.MinReaderVersion), MinWriterVersion: int32(p.MinWriterVersion),
		ReaderFeatures: p.ReaderFeatures, WriterFeatures: p.WriterFeatures}}}
	m := s.Metadata
	rows = append(rows, cpRow{MetaData: &cpMetadata{ID: m.ID, Name: m.Name, Description: m.Description,
		Format: cpFormat{Provider: m.Format.Provider, Options: nonNil(m.Format.Options)}, SchemaString: m.SchemaString,
		PartitionColumns: append([]string{}, m.PartitionColumns...), Configuration: nonNil(m.Configuration), CreatedTime: m.CreatedTime}})
	for _, t := range s.txns {
		rows = append(rows, cpRow{Txn: &cpTxn{AppID: t.AppID, Version: t.Version, LastUpdated: t.LastUpdated}})
	}
	for _, a := range s.Files() {
		add := &cpAdd{Path: a.Path, PartitionValues: map[string]string{}, Size: a.Size,
			ModificationTime: a.ModificationTime, DataChange: false, Tags: a.Tags}
		if a.Stats != "" {
			add.Stats = &a.Stats
		}
		rows = append(rows, cpRow{Add: add})
	}
	for _, r := range s.Tombstones() {
		if r.DeletionTimestamp != nil && time.UnixMilli(*r.DeletionTimestamp).Before(expired) {
			continue
		}
		rows = append(rows, cpRow{Remove: &cpRemove{Path: r.Path, DeletionTimestamp: r.DeletionTimestamp,
			DataChange: false, ExtendedFileMetadata: r.ExtendedFileMetadata, Size: r.Size}})
	}
	return rows
}

func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// DeletedFileRetention is how long removed files stay (delta.deletedFileRetentionDuration,
// default one week): vacuum deletes them after that, and checkpoints forget their tombstones.
func (s *Snapshot) DeletedFileRetention() time.Duration {
	if d, ok := parseInterval(s.Metadata.Configuration["delta.deletedFileRetentionDuration"]); ok {
		return d
	}
	return 7 * 24 * time.Hour
}
