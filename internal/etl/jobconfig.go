package etl

import (
	"context"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"

	json "github.com/goccy/go-json"

	"cumulus-etl/internal/store"
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

const (
	jobConfigDir  = "JobConfig"
	jobConfigFile = "job_config.json"
)

// checkCodebookID refuses an output folder whose latest job used another codebook.
func checkCodebookID(ctx context.Context, out store.Store, codebookID string) error {
	jobs := map[string]bool{}
	err := out.List(ctx, jobConfigDir, func(info store.Info) error {
		if job, file := path.Split(strings.TrimPrefix(info.Name, jobConfigDir+"/")); file == jobConfigFile && !strings.Contains(strings.TrimSuffix(job, "/"), "/") {
			jobs[strings.TrimSuffix(job, "/")] = true
		}
		return nil
	})
	if err != nil {
		return err
	}
	var names []string
	for name := range jobs {
		names = append(names, name)
	}
	sort.Sort(sort.Reverse(sort.StringSlice(names)))
	for _, name := range names {
		data, err := store.ReadFile(ctx, out, path.Join(jobConfigDir, name, jobConfigFile), 1<<20)
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

// createJobConfig writes OUTPUT/JobConfig/<YYYY-MM-DD__HH.MM.SS>/job_config.json, adding a suffix
// to the folder if a job started in the same second, and returns the folder's name.
func createJobConfig(ctx context.Context, out store.Store, stamp string, cfg jobConfig) (string, error) {
	dir := path.Join(jobConfigDir, stamp)
	for i := 1; ; i++ {
		cfg.Path = out.Location(path.Join(dir, jobConfigFile))
		err := writeJSONFile(ctx, out, path.Join(dir, jobConfigFile), cfg, store.CreateOptions{IfAbsent: true})
		if err == nil {
			return dir, nil
		}
		if !errors.Is(err, store.ErrExist) || i > 100 {
			return "", fmt.Errorf("creating job folder: %w", err)
		}
		dir = fmt.Sprintf("%s.%d", path.Join(jobConfigDir, stamp), i)
	}
}

func taskNames(tasks []Task) string {
	names := make([]string, len(tasks))
	for i, t := range tasks {
		names[i] = t.Name
	}
	return strings.Join(names, ",")
}
