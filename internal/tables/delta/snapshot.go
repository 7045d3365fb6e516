package delta

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Snapshot is a table's state at one version: the replay of its log up to that version.
type Snapshot struct {
	Version  int64
	Protocol Protocol
	Metadata Metadata
	// files are the live data files by key (fileKey); tombstones the removed ones not yet vacuumed.
	files      map[string]*Add
	tombstones map[string]*Remove
	txns       map[string]Txn
	others     map[string]bool // actions of kinds we do not write (cdc, domainMetadata, ...)
}

func newSnapshot() *Snapshot {
	return &Snapshot{Version: -1, files: map[string]*Add{}, tombstones: map[string]*Remove{},
		txns: map[string]Txn{}, others: map[string]bool{}}
}

// apply replays one action: the last action about a file wins.
func (s *Snapshot) apply(a Action) error {
	switch {
	case a.Protocol != nil:
		s.Protocol = *a.Protocol
	case a.Metadata != nil:
		s.Metadata = *a.Metadata
	case a.Add != nil:
		key, err := fileKey(a.Add.Path, a.Add.DeletionVector)
		if err != nil {
			return err
		}
		s.files[key] = a.Add
		delete(s.tombstones, key)
	case a.Remove != nil:
		key, err := fileKey(a.Remove.Path, a.Remove.DeletionVector)
		if err != nil {
			return err
		}
		delete(s.files, key)
		s.tombstones[key] = a.Remove
	case a.Txn != nil:
		s.txns[a.Txn.AppID] = *a.Txn
	case a.Other != "":
		s.others[a.Other] = true
	}
	return nil
}

// Files returns the live data files, sorted by path.
func (s *Snapshot) Files() []*Add {
	out := make([]*Add, 0, len(s.files))
	for _, a := range s.files {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// Tombstones returns the removed files still remembered, sorted by path.
func (s *Snapshot) Tombstones() []*Remove {
	out := make([]*Remove, 0, len(s.tombstones))
	for _, r := range s.tombstones {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// Txn returns the latest version of an application's transactions, or -1.
func (s *Snapshot) Txn(appID string) int64 {
	if t, ok := s.txns[appID]; ok {
		return t.Version
	}
	return -1
}

// ErrUnsupportedTable means the table uses Delta features this writer does not implement, so
// writing to it could corrupt it; nothing was written.
var ErrUnsupportedTable = errors.New("the Delta table uses features cumulus-etl cannot write")

// CheckWritable refuses a table that this package cannot write correctly: a protocol above reader
// 1 / writer 2 (deletion vectors, column mapping, row tracking, liquid clustering, ... need more),
// partition columns, append-only or invariants, or actions of other kinds.
func (s *Snapshot) CheckWritable() error {
	var why []string
	p := s.Protocol
	if p.MinReaderVersion > 1 || p.MinWriterVersion > 2 {
		w := fmt.Sprintf("protocol reader %d / writer %d (this writer does reader 1 / writer 2)", p.MinReaderVersion, p.MinWriterVersion)
		if feats := slices.Concat(p.ReaderFeatures, p.WriterFeatures); len(feats) > 0 {
			slices.Sort(feats)
			w += " with features " + strings.Join(slices.Compact(feats), ", ")
		}
		why = append(why, w)
	}
	if len(s.Metadata.PartitionColumns) > 0 {
		why = append(why, "partition columns "+strings.Join(s.Metadata.PartitionColumns, ", "))
	}
	if s.Metadata.Configuration["delta.appendOnly"] == "true" {
		why = append(why, "delta.appendOnly (upserts remove files)")
	}
	if strings.Contains(s.Metadata.SchemaString, "delta.invariants") {
		why = append(why, "column invariants")
	}
	for name := range s.others {
		why = append(why, name+" actions")
	}
	if s.Metadata.Format.Provider != "" && s.Metadata.Format.Provider != "parquet" {
		why = append(why, "data format "+s.Metadata.Format.Provider)
	}
	if len(why) == 0 {
		return nil
	}
	slices.Sort(why)
	return fmt.Errorf("%w: %s", ErrUnsupportedTable, strings.Join(why, "; "))
}
