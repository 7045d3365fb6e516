package etl

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	json "github.com/goccy/go-json"

	"cumulus-etl/internal/scratch"
	"cumulus-etl/internal/tables"
)

// Completion tables tell the Cumulus Library which data is complete: etl__completion gets one row
// per output table per run (an append-only log), and etl__completion_encounters one row per
// encounter and export group, keeping the first export time an encounter was seen with.
const (
	completionTable           = "etl__completion"
	completionEncountersTable = "etl__completion_encounters"
)

// completionInfo identifies the export the input came from.
type completionInfo struct {
	group      string
	exportTime string
	exportURL  string
	etlTime    string
	version    string
}

// writeCompletion appends this run's rows to etl__completion, keeping every earlier row.
func writeCompletion(ctx context.Context, format tables.Format, mayPublish func() error, info completionInfo, tableNames []string) error {
	w, err := format.Create(ctx, completionTable, tables.Spec{Replace: true, Columns: []string{
		"table_name", "group_name", "export_time", "export_url", "etl_version", "etl_time"}})
	if err != nil {
		return err
	}
	defer w.Abort()
	if err := format.ReadRows(ctx, completionTable, w.WriteRow); err != nil {
		return fmt.Errorf("reading %s: %w", completionTable, err)
	}
	for _, name := range tableNames {
		row, err := json.Marshal(map[string]string{
			"table_name":  name,
			"group_name":  info.group,
			"export_time": info.exportTime,
			"export_url":  info.exportURL,
			"etl_version": info.version,
			"etl_time":    info.etlTime,
		})
		if err != nil {
			return err
		}
		if err := w.WriteRow(row); err != nil {
			return err
		}
	}
	return commitTable(w, completionTable, mayPublish)
}

// encounterCompletion collects the encounters of this run and merges them into
// etl__completion_encounters, where an encounter's first export time wins.
type encounterCompletion struct {
	info completionInfo
	ids  *os.File // this run's encounter ids, one per line
	buf  *bufio.Writer
	dir  string
}

func newEncounterCompletion(tmp *scratch.Dir, info completionInfo) (*encounterCompletion, error) {
	dir, err := tmp.MkdirTemp("completion-")
	if err != nil {
		return nil, err
	}
	f, err := os.Create(filepath.Join(dir, "encounter-ids"))
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return &encounterCompletion{info: info, ids: f, buf: bufio.NewWriter(f), dir: dir}, nil
}

// add records one encounter (by its de-identified id) of this run.
func (c *encounterCompletion) add(encounterID string) error {
	_, err := c.buf.WriteString(encounterID + "\n")
	return err
}

// write merges this run's encounters with the existing table. Existing rows are written after
// this run's rows, so where both have an encounter the existing (earlier) export time is kept.
func (c *encounterCompletion) write(ctx context.Context, format tables.Format, mayPublish func() error) error {
	w, err := format.Create(ctx, completionEncountersTable, tables.Spec{Replace: true,
		Columns: []string{"encounter_id", "group_name", "export_time"}})
	if err != nil {
		return err
	}
	defer w.Abort()
	table, err := newLastWins(w, c.dir, 16)
	if err != nil {
		return err
	}
	defer table.close()
	if err := c.writeNew(table); err != nil {
		return err
	}
	err = format.ReadRows(ctx, completionEncountersTable, func(row []byte) error {
		var r struct {
			EncounterID string `json:"encounter_id"`
			GroupName   string `json:"group_name"`
		}
		if err := json.Unmarshal(row, &r); err != nil {
			return err
		}
		return table.write(r.EncounterID+"\x00"+r.GroupName, row)
	})
	if err != nil {
		return fmt.Errorf("reading %s: %w", completionEncountersTable, err)
	}
	if _, err := table.finish(nil, nil); err != nil {
		return err
	}
	return commitTable(w, completionEncountersTable, mayPublish)
}

// writeNew writes a row for each encounter of this run.
func (c *encounterCompletion) writeNew(table *lastWins) error {
	if err := c.buf.Flush(); err != nil {
		return err
	}
	if _, err := c.ids.Seek(0, io.SeekStart); err != nil {
		return err
	}
	sc := bufio.NewScanner(c.ids)
	for sc.Scan() {
		id := sc.Text()
		row, err := json.Marshal(map[string]string{
			"encounter_id": id,
			"group_name":   c.info.group,
			"export_time":  c.info.exportTime,
		})
		if err != nil {
			return err
		}
		if err := table.write(id+"\x00"+c.info.group, row); err != nil {
			return err
		}
	}
	return sc.Err()
}

func (c *encounterCompletion) close() {
	c.ids.Close()
	os.RemoveAll(c.dir)
}
