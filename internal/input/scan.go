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
	Deleted   []File            // files under any deleted/ folder (transaction Bundles of DELETE entries); ResourceType "Bundle"
	Errors    []File            // files under any error/ folder (OperationOutcomes); ResourceType "OperationOutcome"
	Log       *LogInfo          // nil when the folder has no usable export log
	LogErr    error             // why Log is nil: wraps ErrNoLog, ErrMultipleLogs or ErrIncompleteLog, or an I/O error
	Unknown   []error           // data files whose resource type could not be told (named with path); left out
	NotRead   []string          // other files not read, each "path: why" (JSON files, links to nothing)
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
// JSON files (*.json) are not read: they are listed in NotRead, or in Unknown
// when their name holds a resource type (they very likely hold data).
//
// Symbolic links are followed, to files and to folders, root included. A
// folder or file reached twice (linked from elsewhere in the tree, or a link
// back to a folder above it) is read once, so a link loop ends.
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
	w := &walker{root: root, exp: exp, seen: map[string]bool{}}
	if err := w.walk(root); err != nil {
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

// walker walks an export folder, following symbolic links.
type walker struct {
	root string
	exp  *Export
	seen map[string]bool // real paths of the folders and data files visited
}

// firstVisit reports whether the real path behind path has not been visited yet, and marks it.
func (w *walker) firstVisit(path string) (bool, error) {
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return false, fmt.Errorf("scanning input folder: %w", err)
	}
	if w.seen[real] {
		return false, nil
	}
	w.seen[real] = true
	return true, nil
}

// walk reads the folder dir (a path below root, as found) in name order.
func (w *walker) walk(dir string) error {
	if first, err := w.firstVisit(dir); err != nil || !first {
		return err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("scanning input folder: %w", err)
	}
	for _, e := range entries {
		name, path := e.Name(), filepath.Join(dir, e.Name())
		if strings.HasPrefix(name, ".") {
			continue
		}
		isDir := e.IsDir()
		if e.Type()&fs.ModeSymlink != 0 {
			fi, err := os.Stat(path)
			if err != nil {
				if isDataName(name) {
					return fmt.Errorf("scanning input folder: %w", err)
				}
				w.exp.NotRead = append(w.exp.NotRead, fmt.Sprintf("%s: a link to nothing (%v)", path, err))
				continue
			}
			isDir = fi.IsDir()
		}
		if isDir {
			if err := w.walk(path); err != nil {
				return err
			}
			continue
		}
		if err := w.file(path, name); err != nil {
			return err
		}
	}
	return nil
}

// file classifies the file at path, named name.
func (w *walker) file(path, name string) error {
	if isJSONName(name) {
		if typ := typeFromName(name); typ != "" {
			w.exp.Unknown = append(w.exp.Unknown, fmt.Errorf("%s: a JSON file, not ndjson, so not read; if it holds "+
				"one %s per line, rename it to .ndjson", path, typ))
		} else {
			w.exp.NotRead = append(w.exp.NotRead, path+": a JSON file, not ndjson")
		}
		return nil
	}
	if !isDataName(name) || isLogName(name) {
		return nil
	}
	// SMART Fetch keeps each export in a subfolder and links the current files from the top.
	if first, err := w.firstVisit(path); err != nil || !first {
		return err
	}
	return w.exp.add(w.root, path)
}

// add classifies the data file at path. Files below deleted/ and error/ are listed whatever
// their first line says: their readers check every line (a file there that cannot be read must
// stop the run, not be left out).
func (exp *Export) add(root, path string) error {
	fi, err := os.Stat(path) // follows symbolic links
	if err != nil {
		return fmt.Errorf("scanning input folder: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("scanning input folder: %s is not a regular file", path)
	}
	f := File{Path: path, Size: fi.Size()}
	switch special(root, path) {
	case "deleted":
		f.ResourceType = "Bundle"
		exp.Deleted = append(exp.Deleted, f)
		return nil
	case "error":
		f.ResourceType = "OperationOutcome"
		exp.Errors = append(exp.Errors, f)
		return nil
	}
	if f.ResourceType, err = resourceType(path); err != nil {
		// One stray file must not stop the run; the caller reports it and fails at the end.
		exp.Unknown = append(exp.Unknown, err)
		return nil
	}
	if f.ResourceType != "" {
		exp.Resources[f.ResourceType] = append(exp.Resources[f.ResourceType], f)
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

// isJSONName reports whether a file name ends in .json, optionally followed by .gz (any case).
func isJSONName(name string) bool {
	return strings.HasSuffix(strings.TrimSuffix(strings.ToLower(name), ".gz"), ".json")
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
