package etl

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	json "github.com/goccy/go-json"
)

// ErrWrongPHIFolder means OUTPUT was last written with another codebook: mixing the two would give
// the same patient two different research ids.
var ErrWrongPHIFolder = errors.New("the output folder was written with a different PHI folder")

// jobConfig is OUTPUT/JobConfig/<time>/job_config.json.
type jobConfig struct {
	DirInput        string `json:"dir_input"`
	DirOutput       string `json:"dir_output"`
	DirPHI          string `json:"dir_phi"`
	Path            string `json:"path"`
	InputFormat     string `json:"input_format"`
	OutputFormat    string `json:"output_format"`
	Comment         string `json:"comment"`
	BatchSize       int    `json:"batch_size"`
	Tasks           string `json:"tasks"`
	ExportGroupName string `json:"export_group_name"`
	ExportTimestamp string `json:"export_timestamp"`
	ExportURL       string `json:"export_url"`
	CodebookID      string `json:"codebook_id"`
}

const jobConfigDir = "JobConfig"

// checkCodebookID refuses an output folder whose latest job used another codebook.
func checkCodebookID(outputDir, codebookID string) error {
	entries, err := os.ReadDir(filepath.Join(outputDir, jobConfigDir))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	} else if err != nil {
		return err
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(names)))
	for _, name := range names {
		data, err := os.ReadFile(filepath.Join(outputDir, jobConfigDir, name, "job_config.json"))
		if err != nil {
			continue // an interrupted job may have left no config
		}
		var prev jobConfig
		if err := json.Unmarshal(data, &prev); err != nil || prev.CodebookID == "" {
			continue
		}
		if prev.CodebookID != codebookID {
			return fmt.Errorf("%w: its last job (%s) used codebook %s but the PHI folder holds codebook %s; "+
				"use the PHI folder that output was made with, or a new output folder",
				ErrWrongPHIFolder, name, prev.CodebookID, codebookID)
		}
		return nil
	}
	return nil
}

// createJobDir makes OUTPUT/JobConfig/<YYYY-MM-DD__HH.MM.SS>, adding a suffix if a job started in
// the same second.
func createJobDir(outputDir, stamp string) (string, error) {
	base := filepath.Join(outputDir, jobConfigDir, stamp)
	if err := os.MkdirAll(filepath.Dir(base), 0o755); err != nil {
		return "", err
	}
	dir := base
	for i := 1; ; i++ {
		err := os.Mkdir(dir, 0o755)
		if err == nil {
			return dir, nil
		}
		if !errors.Is(err, os.ErrExist) || i > 100 {
			return "", fmt.Errorf("creating job folder: %w", err)
		}
		dir = fmt.Sprintf("%s.%d", base, i)
	}
}

func taskNames(tasks []Task) string {
	names := make([]string, len(tasks))
	for i, t := range tasks {
		names[i] = t.Name
	}
	return strings.Join(names, ",")
}
