// Package input describes what a bulk FHIR export folder holds: the ndjson
// files per resource type, the deleted/ and error/ files, and the export log
// written by bulk-data-client, SMART Fetch or Cumulus ETL.
package input

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"cumulus-etl/internal/ndjson"
)

// File is one ndjson data file in an export folder.
type File struct {
	Path         string // as found under the root given to Scan
	ResourceType string // from the file name, else from the first line
	Size         int64  // on disk, so compressed for .gz files
}

// Export lists the files of a bulk export folder.
type Export struct {
	Resources map[string][]File // by resourceType, each list sorted by path
	Deleted   []File            // files under any deleted/ folder (transaction Bundles of DELETE entries)
	Errors    []File            // files under any error/ folder (OperationOutcomes)
	Log       *LogInfo          // nil when the folder has no usable export log
	LogErr    error             // why Log is nil: wraps ErrNoLog, ErrMultipleLogs or ErrIncompleteLog, or an I/O error
	Unknown   []error           // data files whose resource type could not be told (named with path); left out
}

// Scan walks root recursively and classifies its ndjson files.
//
// Data files end in .ndjson or .jsonl, optionally followed by .gz (any case).
// Hidden files and folders (names starting with "." such as the ".tmp-*"
// files of package store) and export logs (log.ndjson, log.*.ndjson) are not
// data. A file's resource type is the one dot-separated part of its name that
// is a FHIR R4 resource type ("1.Patient.x.ndjson.gz"); otherwise it is the
// resourceType of its first non-blank line, and an empty file is skipped.
// Files below a folder named deleted or error go to Deleted or Errors.
// Symbolic links to files are followed, links to folders are not.
//
// Scan fails on unreadable folders and data files whose type cannot be
// determined; problems with the export log only set LogErr.
func Scan(root string) (*Export, error) {
	if fi, err := os.Stat(root); err != nil {
		return nil, fmt.Errorf("scanning input folder: %w", err)
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("scanning input folder: %s is not a folder", root)
	}
	exp := &Export{Resources: make(map[string][]File)}
	seen := map[string]bool{} // real paths: a file linked from elsewhere in the folder is read once
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("scanning input folder: %w", err)
		}
		if path == root {
			return nil
		}
		if strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() || !isDataName(d.Name()) || isLogName(d.Name()) {
			return nil
		}
		// SMART Fetch keeps each export in a subfolder and links the current files from the top.
		real, err := filepath.EvalSymlinks(path)
		if err != nil {
			return fmt.Errorf("scanning input folder: %w", err)
		}
		if seen[real] {
			return nil
		}
		seen[real] = true
		return exp.add(root, path)
	})
	if err != nil {
		return nil, err
	}
	byPath := func(a, b File) int { return strings.Compare(a.Path, b.Path) }
	for _, files := range exp.Resources {
		slices.SortFunc(files, byPath)
	}
	slices.SortFunc(exp.Deleted, byPath)
	slices.SortFunc(exp.Errors, byPath)
	exp.Log, exp.LogErr = readLog(root)
	return exp, nil
}

// add classifies the data file at path.
func (exp *Export) add(root, path string) error {
	fi, err := os.Stat(path) // follows symbolic links
	if err != nil {
		return fmt.Errorf("scanning input folder: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("scanning input folder: %s is not a regular file", path)
	}
	typ, err := resourceType(path)
	if err != nil {
		// One stray file must not stop the run; the caller reports it and fails at the end.
		exp.Unknown = append(exp.Unknown, err)
		return nil
	}
	if typ == "" {
		return nil
	}
	f := File{Path: path, ResourceType: typ, Size: fi.Size()}
	switch special(root, path) {
	case "deleted":
		exp.Deleted = append(exp.Deleted, f)
	case "error":
		exp.Errors = append(exp.Errors, f)
	default:
		exp.Resources[typ] = append(exp.Resources[typ], f)
	}
	return nil
}

// special returns "deleted" or "error" when path lies below a folder of that
// name (the innermost one wins), else "".
func special(root, path string) string {
	rel, err := filepath.Rel(root, filepath.Dir(path))
	if err != nil {
		return ""
	}
	dirs := strings.Split(filepath.ToSlash(rel), "/")
	for i := len(dirs) - 1; i >= 0; i-- {
		if dirs[i] == "deleted" || dirs[i] == "error" {
			return dirs[i]
		}
	}
	return ""
}

// isDataName reports whether a file name has an ndjson or JSON Lines extension.
func isDataName(name string) bool {
	lower := strings.TrimSuffix(strings.ToLower(name), ".gz")
	return strings.HasSuffix(lower, ".ndjson") || strings.HasSuffix(lower, ".jsonl")
}

// isLogName reports whether a file name is that of an export log:
// log.ndjson or log.<anything>.ndjson.
func isLogName(name string) bool {
	return name == "log.ndjson" ||
		len(name) > len("log..ndjson") && strings.HasPrefix(name, "log.") && strings.HasSuffix(name, ".ndjson")
}

// resourceType returns the resource type of a data file, from its name or
// else its first line; "" means the file holds no lines.
func resourceType(path string) (string, error) {
	if typ := typeFromName(filepath.Base(path)); typ != "" {
		return typ, nil
	}
	return typeFromFirstLine(path)
}

// typeFromName returns the single dot-separated part of the file name
// (extensions removed) that is a resource type name, or "" if none or several.
func typeFromName(name string) string {
	stem := name
	for _, ext := range []string{".gz", ".ndjson", ".jsonl"} {
		if strings.HasSuffix(strings.ToLower(stem), ext) {
			stem = stem[:len(stem)-len(ext)]
		}
	}
	found := ""
	for part := range strings.SplitSeq(stem, ".") {
		if isResourceType(part) && part != found {
			if found != "" {
				return ""
			}
			found = part
		}
	}
	return found
}

// typeFromFirstLine reads the resourceType of the first non-blank line.
func typeFromFirstLine(path string) (string, error) {
	r, err := ndjson.Open(path)
	if err != nil {
		return "", fmt.Errorf("reading resource type: %w", err)
	}
	defer r.Close()
	if !r.Next() {
		return "", r.Err()
	}
	var first struct {
		ResourceType string `json:"resourceType"`
	}
	if err := decodeObject(r.Line(), &first); err != nil {
		return "", r.Errorf("reading resource type: %w", err)
	}
	if first.ResourceType == "" {
		return "", r.Errorf("no resourceType in the first line, and none in the file name")
	}
	return first.ResourceType, nil
}
