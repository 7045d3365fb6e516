// Package input describes what a bulk FHIR export folder holds: the ndjson
// files per resource type, the deleted/ and error/ files, and the export log
// written by bulk-data-client, SMART Fetch or Cumulus ETL.
package input

import (
	"context"
	"fmt"
	"path"
	"slices"
	"strings"

	"cumulus-etl/internal/ndjson"
	"cumulus-etl/internal/store"
)

// File is one ndjson data file in an export folder.
type File struct {
	Name         string // the store's name for it, relative to the export folder
	Path         string // where it is, for messages: a path or a URL (the store's Location)
	ResourceType string // from the file name, else from the first line
	Size         int64  // stored size, so compressed for .gz files
	store        store.Store
}

// Open starts reading the file's lines, decompressing a gzip file.
func (f File) Open(ctx context.Context) (*ndjson.Reader, error) {
	rc, err := f.store.Open(ctx, f.Name)
	if err != nil {
		return nil, err
	}
	return ndjson.NewReadCloser(rc, f.Path)
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

// Scan lists the export folder s (local or in an object store) recursively and classifies its
// ndjson files.
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
// In a local folder symbolic links are followed, to files and to folders, root
// included. A folder or file reached twice (linked from elsewhere in the tree,
// or a link back to a folder above it) is read once, so a link loop ends (see
// store.Local's List).
//
// Scan fails on unreadable folders and data files whose type cannot be
// determined; problems with the export log only set LogErr.
func Scan(ctx context.Context, s store.Store) (*Export, error) {
	if err := store.CheckFolder(ctx, s); err != nil {
		return nil, fmt.Errorf("scanning input folder: %w", err)
	}
	exp := &Export{Resources: make(map[string][]File)}
	var top []string // names at the top, where the export log is
	err := s.List(ctx, "", func(info store.Info) error {
		if hiddenPart(info.Name) {
			return nil
		}
		if !strings.Contains(info.Name, "/") && info.Err == nil {
			top = append(top, info.Name)
		}
		return exp.file(ctx, s, info)
	})
	if err != nil {
		return nil, fmt.Errorf("scanning input folder: %w", err)
	}
	byPath := func(a, b File) int { return strings.Compare(a.Path, b.Path) }
	for _, files := range exp.Resources {
		slices.SortFunc(files, byPath)
	}
	slices.SortFunc(exp.Deleted, byPath)
	slices.SortFunc(exp.Errors, byPath)
	slices.Sort(exp.NotRead)
	exp.Log, exp.LogErr = readLog(ctx, s, top)
	return exp, nil
}

// hiddenPart reports whether a part of the slash-separated name starts with a dot.
func hiddenPart(name string) bool {
	for part := range strings.SplitSeq(name, "/") {
		if strings.HasPrefix(part, ".") {
			return true
		}
	}
	return false
}

// file classifies one listed file.
func (exp *Export) file(ctx context.Context, s store.Store, info store.Info) error {
	name, loc := path.Base(info.Name), s.Location(info.Name)
	if info.Err != nil {
		if isDataName(name) {
			return fmt.Errorf("%s: %w", loc, info.Err)
		}
		exp.NotRead = append(exp.NotRead, fmt.Sprintf("%s: %v", loc, info.Err))
		return nil
	}
	if isJSONName(name) {
		if typ := typeFromName(name); typ != "" {
			exp.Unknown = append(exp.Unknown, fmt.Errorf("%s: a JSON file, not ndjson, so not read; if it holds "+
				"one %s per line, rename it to .ndjson", loc, typ))
		} else {
			exp.NotRead = append(exp.NotRead, loc+": a JSON file, not ndjson")
		}
		return nil
	}
	if !isDataName(name) || isLogName(name) {
		return nil
	}
	return exp.add(ctx, File{Name: info.Name, Path: loc, Size: info.Size, store: s})
}

// add classifies a data file. Files below deleted/ and error/ are listed whatever their first line
// says: their readers check every line (a file there that cannot be read must stop the run, not be
// left out).
func (exp *Export) add(ctx context.Context, f File) error {
	switch special(f.Name) {
	case "deleted":
		f.ResourceType = "Bundle"
		exp.Deleted = append(exp.Deleted, f)
		return nil
	case "error":
		f.ResourceType = "OperationOutcome"
		exp.Errors = append(exp.Errors, f)
		return nil
	}
	var err error
	if f.ResourceType, err = resourceType(ctx, f); err != nil {
		// One stray file must not stop the run; the caller reports it and fails at the end.
		exp.Unknown = append(exp.Unknown, err)
		return nil
	}
	if f.ResourceType != "" {
		exp.Resources[f.ResourceType] = append(exp.Resources[f.ResourceType], f)
	}
	return nil
}

// special returns "deleted" or "error" when the named file lies below a
// folder of that name (the innermost one wins), else "".
func special(name string) string {
	dirs := strings.Split(path.Dir(name), "/")
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
func resourceType(ctx context.Context, f File) (string, error) {
	if typ := typeFromName(path.Base(f.Name)); typ != "" {
		return typ, nil
	}
	return typeFromFirstLine(ctx, f)
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
func typeFromFirstLine(ctx context.Context, f File) (string, error) {
	r, err := f.Open(ctx)
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
