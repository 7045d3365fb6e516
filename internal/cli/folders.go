package cli

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// maxLinks is how many symbolic links realPath follows before calling it a loop (Linux's own
// limit is 40 per lookup; a longer chain is a loop or a mistake).
const maxLinks = 255

// realPath returns the absolute path p names once every symbolic link in it is followed, so two
// names of one folder compare equal. It works for a path that does not exist yet too: its
// existing part is resolved and the rest appended, and a link that points at nothing yet is
// followed to where it points (where a folder created through it would appear).
func realPath(p string) (string, error) {
	if !filepath.IsAbs(p) {
		wd, err := os.Getwd()
		if err != nil {
			return "", err
		}
		p = wd + string(filepath.Separator) + p // not Join: "link/.." must be resolved after link
	}
	rest := strings.Split(p, string(filepath.Separator))
	cur, links := string(filepath.Separator), 0
	for len(rest) > 0 {
		part := rest[0]
		rest = rest[1:]
		switch part {
		case "", ".":
			continue
		case "..":
			cur = filepath.Dir(cur) // cur has no links left in it, so its parent is the real one
			continue
		}
		next := filepath.Join(cur, part)
		fi, err := os.Lstat(next)
		if errors.Is(err, fs.ErrNotExist) {
			cur = next // nothing below it exists either, so no link can redirect the rest
			continue
		} else if err != nil {
			return "", err
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			cur = next
			continue
		}
		if links++; links > maxLinks {
			return "", fmt.Errorf("%s: too many levels of symbolic links", p)
		}
		target, err := os.Readlink(next)
		if err != nil {
			return "", err
		}
		if filepath.IsAbs(target) {
			cur = string(filepath.Separator)
		}
		rest = append(strings.Split(target, string(filepath.Separator)), rest...)
	}
	return cur, nil
}

// realPaths is realPath for several paths; an error names the path that cannot be resolved.
func realPaths(paths ...string) ([]string, error) {
	out := make([]string, len(paths))
	for i, p := range paths {
		real, err := realPath(p)
		if err != nil {
			return nil, fmt.Errorf("resolving %s: %w", p, err)
		}
		out[i] = real
	}
	return out, nil
}

// isWithin reports whether path is dir or inside it, comparing real paths (symbolic links
// followed), so a link cannot hide one folder inside another.
func isWithin(path, dir string) (bool, error) {
	real, err := realPaths(path, dir)
	if err != nil {
		return false, err
	}
	rel, err := filepath.Rel(real[1], real[0])
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)), nil
}

// within is isWithin for argument checks: a path that cannot be resolved (a link loop, a file
// where a folder should be) is an invalid argument, since its place cannot be checked.
func within(path, dir string) (bool, error) {
	in, err := isWithin(path, dir)
	if err != nil {
		return false, &ExitError{Code: ExitArgsInvalid, Err: err}
	}
	return in, nil
}

// checkInputFolder refuses a local INPUT that is missing or is not a folder, before anything
// reads it as an export folder.
func checkInputFolder(input string) error {
	fi, err := os.Stat(input)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return exitf(ExitArgsInvalid, "INPUT %s does not exist: INPUT must be a folder holding a bulk export, or a FHIR server URL", input)
	case err != nil:
		return exitf(ExitArgsInvalid, "INPUT %s: %v", input, err)
	case !fi.IsDir():
		return exitf(ExitArgsInvalid, "INPUT %s is a file: INPUT must be a folder holding a bulk export (such as the folder this file is in), or a FHIR server URL", input)
	}
	return nil
}

// checkNesting refuses folders inside one another that would mix what must stay apart: OUTPUT
// inside the local input (the next run would read the tables as input), the local input inside
// OUTPUT (the raw export would leave the hospital with OUTPUT), and any PHI-holding folder inside
// OUTPUT. input is "" for a URL INPUT exported to a temporary folder.
func checkNesting(input, inputName, output string, phiFolders map[string]string) error {
	if err := checkS3Nesting(input, inputName, output, phiFolders); err != nil {
		return err
	}
	if input != "" && !strings.Contains(input, "://") {
		if in, err := within(output, input); err != nil || in {
			return orExit(err, exitf(ExitArgsConflict, "OUTPUT (%s) must not be inside %s (%s): the next run would read the tables as input", output, inputName, input))
		}
		if in, err := within(input, output); err != nil || in {
			return orExit(err, exitf(ExitArgsConflict, "%s (%s) holds PHI and must not be inside OUTPUT (%s), which may leave the hospital", inputName, input, output))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(phiFolders)) {
		dir := phiFolders[name]
		if dir == "" || strings.Contains(dir, "://") {
			continue // a URL is refused elsewhere, with its own exit code
		}
		if in, err := within(dir, output); err != nil || in {
			return orExit(err, exitf(ExitArgsConflict, "%s (%s) holds PHI and must not be inside OUTPUT (%s), which may leave the hospital", name, dir, output))
		}
	}
	return nil
}

// checkS3Nesting is checkNesting for s3:// folders: prefixes of one bucket nest like folders.
func checkS3Nesting(input, inputName, output string, phiFolders map[string]string) error {
	if !strings.HasPrefix(output, "s3://") {
		return nil
	}
	if s3Within(output, input) {
		return exitf(ExitArgsConflict, "OUTPUT (%s) must not be inside %s (%s): the next run would read the tables as input", output, inputName, input)
	}
	if s3Within(input, output) {
		return exitf(ExitArgsConflict, "%s (%s) holds PHI and must not be inside OUTPUT (%s), which may leave the hospital", inputName, input, output)
	}
	for _, name := range slices.Sorted(maps.Keys(phiFolders)) {
		if dir := phiFolders[name]; s3Within(dir, output) {
			return exitf(ExitArgsConflict, "%s (%s) holds PHI and must not be inside OUTPUT (%s), which may leave the hospital", name, dir, output)
		}
	}
	return nil
}

// s3Within reports whether the s3:// location path is dir or under it.
func s3Within(path, dir string) bool {
	if !strings.HasPrefix(path, "s3://") || !strings.HasPrefix(dir, "s3://") {
		return false
	}
	path, dir = strings.TrimRight(path, "/"), strings.TrimRight(dir, "/")
	return path == dir || strings.HasPrefix(path, dir+"/")
}

// orExit returns err when it is set, else refusal.
func orExit(err, refusal error) error {
	if err != nil {
		return err
	}
	return refusal
}

// warnOpenPHIFolder warns when an existing PHI folder, or the codebook in it, can be read by
// other users: the codebook's salt turns research ids back into patients. It changes nothing (a
// site may share the folder with a service group on purpose).
func warnOpenPHIFolder(w io.Writer, phiDir string) {
	for _, c := range []struct {
		path string
		max  fs.FileMode
		fix  string
	}{{phiDir, 0o700, "chmod 700"}, {filepath.Join(phiDir, "codebook.json"), 0o600, "chmod 600"}} {
		fi, err := os.Stat(c.path)
		if err != nil {
			continue
		}
		if perm := fi.Mode().Perm(); perm&^c.max != 0 {
			fmt.Fprintf(w, "warning: %s has mode %04o, open to other users; the PHI folder's codebook "+
				"turns research ids back into patients: run `%s %s`\n", c.path, perm, c.fix, c.path)
		}
	}
}
