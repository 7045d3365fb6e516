package synth

import (
	"fmt"
	"path/filepath"

	"cumulus-etl/internal/synth/internal/fileout"
)

// fileStat describes one written export file, for the log and the Manifest.
type fileStat struct {
	rel          string // path relative to the export folder, with forward slashes
	itemType     string // "output", "deleted" or "error", as in the bulk export manifest
	resourceType string
	lines        int
	bytes        int64 // uncompressed
}

// outputs holds one open file per resource type.
type outputs struct {
	types []string
	files map[string]*fileout.File
	lines map[string]int
	ext   string
}

// openOutputs starts <Type>.000<ext> in dir for every type.
func openOutputs(dir, ext string, types []string) (*outputs, error) {
	o := &outputs{types: types, files: map[string]*fileout.File{}, lines: map[string]int{}, ext: ext}
	for _, t := range types {
		f, err := fileout.Create(filepath.Join(dir, t+".000"+ext))
		if err != nil {
			o.abort()
			return nil, err
		}
		o.files[t] = f
	}
	return o, nil
}

// write appends one ndjson line to typ's file.
func (o *outputs) write(typ string, line []byte) error {
	f, ok := o.files[typ]
	if !ok {
		return fmt.Errorf("synth: no output file for resource type %q", typ)
	}
	o.lines[typ]++
	_, err := f.Write(line)
	return err
}

// commit finishes every file, in type order, and reports what was written.
func (o *outputs) commit() ([]fileStat, error) {
	var stats []fileStat
	for _, t := range o.types {
		f := o.files[t]
		if err := f.Commit(); err != nil {
			o.abort()
			return nil, err
		}
		stats = append(stats, fileStat{rel: t + ".000" + o.ext, itemType: "output", resourceType: t,
			lines: o.lines[t], bytes: f.Written()})
	}
	return stats, nil
}

// abort discards every file not yet committed.
func (o *outputs) abort() {
	for _, f := range o.files {
		f.Abort()
	}
}

// writeLines atomically writes a small ndjson file of the given resources and describes it.
func writeLines(dir, rel, itemType, resourceType string, resources ...obj) (fileStat, error) {
	f, err := fileout.Create(filepath.Join(dir, filepath.FromSlash(rel)))
	if err != nil {
		return fileStat{}, err
	}
	var buf []byte
	for _, r := range resources {
		buf = append(appendJSON(buf[:0], r), '\n')
		if _, err := f.Write(buf); err != nil {
			f.Abort()
			return fileStat{}, err
		}
	}
	if err := f.Commit(); err != nil {
		return fileStat{}, err
	}
	return fileStat{rel: rel, itemType: itemType, resourceType: resourceType, lines: len(resources), bytes: f.Written()}, nil
}
