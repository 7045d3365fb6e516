package store

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
)

// oldInfix separates a directory's name from the random suffix of the copy
// that ReplaceDir moves aside: "<dst>.old-<random>".
const oldInfix = ".old-"

// MkdirStaging creates an empty staging directory next to dst (so that
// ReplaceDir can rename it into place) with a temporary name input discovery
// ignores, and returns its path.
func MkdirStaging(dst string) (string, error) {
	dir, err := os.MkdirTemp(filepath.Dir(dst), TempPrefix+filepath.Base(dst)+"-*")
	if err != nil {
		return "", fmt.Errorf("creating staging directory for %s: %w", dst, err)
	}
	return dir, nil
}

// ReplaceDir swaps the fully written directory staging into the place of dst,
// which need not exist. staging must be on the same file system as dst, and
// the files in it must already be durable (written with AtomicFile, say).
//
// It renames dst to "<dst>.old-<random>", renames staging to dst, fsyncs the
// parent directory and removes the old copy. If the second rename fails, the
// old directory is put back. A crash between the two renames leaves dst
// missing and the old copy beside it: call RecoverDir(dst) before using dst
// to put it back.
func ReplaceDir(staging, dst string) error {
	return replaceDir(staging, dst, os.Rename)
}

// replaceDir is ReplaceDir with the rename function injected, so tests can
// simulate a crash between the two renames.
func replaceDir(staging, dst string, rename func(from, to string) error) error {
	if err := syncDir(staging); err != nil {
		return err
	}
	old := fmt.Sprintf("%s%s%016x", dst, oldInfix, rand.Uint64())
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
	if hadOld {
		if err := os.RemoveAll(old); err != nil {
			return fmt.Errorf("removing old copy of %s: %w", dst, err)
		}
	}
	return nil
}

// RecoverDir finishes or undoes a ReplaceDir interrupted by a crash. If dst
// exists, leftover old copies ("<dst>.old-*") are removed. If dst is missing
// and exactly one old copy exists, it is renamed back to dst. If dst is
// missing and several old copies exist, it returns an error listing them and
// changes nothing. With neither present it does nothing.
func RecoverDir(dst string) error {
	olds, err := filepath.Glob(globEscape(dst) + oldInfix + "*")
	if err != nil {
		return fmt.Errorf("recovering %s: %w", dst, err)
	}
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
