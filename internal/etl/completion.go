package etl

import (
	"fmt"
	"os"

	json "github.com/goccy/go-json"

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
func writeCompletion(format tables.Format, info completionInfo, tableNames []string) error {
	w, err := format.Create(completionTable)
	if err != nil {
		return err
	}
	defer w.Abort()
	if err := format.ReadRows(completionTable, w.WriteRow); err != nil {
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
	return commitTable(w, completionTable)
}

// encounterCompletion collects the encounters of this run and merges them into
// etl__completion_encounters, where an encounter's first export time wins.
type encounterCompletion struct {
	info completionInfo
	dd   *dedupe
	dir  string
}

func newEncounterCompletion(tempDir string, info completionInfo) (*encounterCompletion, error) {
	dir, err := os.MkdirTemp(tempDir, "cumulus-etl-completion-")
	if err != nil {
		return nil, err
	}
	dd, err := newDedupe(dir, 16)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return &encounterCompletion{info: info, dd: dd, dir: dir}, nil
}

// add records one encounter (by its de-identified id) of this run.
func (c *encounterCompletion) add(encounterID string) error {
	row, err := json.Marshal(map[string]string{
		"encounter_id": encounterID,
		"group_name":   c.info.group,
		"export_time":  c.info.exportTime,
	})
	if err != nil {
		return err
	}
	return c.dd.add(encounterID+"\x00"+c.info.group, row)
}

// write merges the collected rows with the existing table. Existing rows are added after this
// run's rows, so where both have an encounter the existing (earlier) export time is kept.
func (c *encounterCompletion) write(format tables.Format) error {
	defer c.close()
	err := format.ReadRows(completionEncountersTable, func(row []byte) error {
		var r struct {
			EncounterID string `json:"encounter_id"`
			GroupName   string `json:"group_name"`
		}
		if err := json.Unmarshal(row, &r); err != nil {
			return err
		}
		return c.dd.add(r.EncounterID+"\x00"+r.GroupName, row)
	})
	if err != nil {
		return fmt.Errorf("reading %s: %w", completionEncountersTable, err)
	}
	w, err := format.Create(completionEncountersTable)
	if err != nil {
		return err
	}
	defer w.Abort()
	if _, err := c.dd.emit(nil, func(_ string, row []byte) error { return w.WriteRow(row) }); err != nil {
		return err
	}
	return commitTable(w, completionEncountersTable)
}

func (c *encounterCompletion) close() {
	c.dd.close()
	os.RemoveAll(c.dir)
}
