package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// replaceDir swaps the fully written directory staging into the place of dst, which need not
// exist. staging, dst and old must be on one file system, and the files in staging must already be
// durable (written with AtomicFile, say).
//
// It renames dst to old, renames staging to dst, fsyncs both parents and removes old. If the second
// rename fails, dst is put back. A crash between the two renames leaves dst missing and old in
// place: recoverDir puts it back. rename is injected so tests can simulate that crash.
func replaceDir(staging, dst, old string, rename func(from, to string) error) error {
	if err := syncDir(staging); err != nil {
		return err
	}
	hadOld := true
	if err := rename(dst, old); errors.Is(err, os.ErrNotExist) {
		hadOld = false
	} else if err != nil {
		return fmt.Errorf("moving %s aside: %w", dst, err)
	}
	if err := rename(staging, dst); err != nil {
		if hadOld {
			if undo := rename(old, dst); undo != nil {
				return fmt.Errorf("replacing %s with %s: %w (and restoring it from %s failed: %w)", dst, staging, err, old, undo)
			}
		}
		return fmt.Errorf("replacing %s with %s: %w", dst, staging, err)
	}
	if err := syncDir(filepath.Dir(dst)); err != nil {
		return err
	}
	if !hadOld {
		return nil
	}
	if err := syncDir(filepath.Dir(old)); err != nil {
		return err
	}
	if err := os.RemoveAll(old); err != nil {
		return fmt.Errorf("removing old copy of %s: %w", dst, err)
	}
	return nil
}

// recoverDir finishes or undoes a replaceDir interrupted by a crash, given the old copies of dst
// that exist. If dst exists, the old copies are removed. If dst is missing and there is exactly one
// old copy, it is renamed back to dst. If dst is missing and there are several, it returns an error
// listing them and changes nothing.
func recoverDir(dst string, olds []string) error {
	_, statErr := os.Lstat(dst)
	switch {
	case statErr == nil:
		for _, old := range olds {
			if err := os.RemoveAll(old); err != nil {
				return fmt.Errorf("removing old copy of %s: %w", dst, err)
			}
		}
		return nil
	case !errors.Is(statErr, os.ErrNotExist):
		return fmt.Errorf("recovering %s: %w", dst, statErr)
	case len(olds) == 0:
		return nil
	case len(olds) > 1:
		return fmt.Errorf("recovering %s: it is missing and there are %d old copies (%s); move the one to keep to %s",
			dst, len(olds), strings.Join(olds, ", "), dst)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("recovering %s: %w", dst, err)
	}
	if err := os.Rename(olds[0], dst); err != nil {
		return fmt.Errorf("recovering %s from %s: %w", dst, olds[0], err)
	}
	return syncDir(filepath.Dir(dst))
}

// globEscape quotes the glob metacharacters in a literal path.
func globEscape(path string) string {
	var b strings.Builder
	for _, r := range path {
		if strings.ContainsRune(`*?[\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
