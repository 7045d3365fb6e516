package bulk

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// KeepRewritten records in dir's export journal that file (relative to dir) is being rewritten
// on purpose, with its new size and sha256 (notes inlined into it by the hydrate package), so a
// rerun of the export keeps the file instead of downloading it again over the inlined notes.
// Call it before the new content is renamed into place: until then the old entry still matches
// the file, afterwards the new one does, so a crash at any moment leaves a journal that matches.
// It does nothing when dir holds no export of ours or the journal does not name the file.
func KeepRewritten(dir, file string, size int64, sha256 string) error {
	file = filepath.ToSlash(file)
	if _, err := os.Stat(filepath.Join(stateDir(dir), "journal.jsonl")); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	j, err := openJournal(dir)
	if err != nil {
		return err
	}
	defer j.close()
	old, ok := j.done[file]
	if !ok {
		return nil
	}
	if err := j.record(journalEntry{File: file, Size: size, SHA256: sha256, Resources: old.Resources}); err != nil {
		return fmt.Errorf("recording the rewritten %s in the export journal: %w", file, err)
	}
	return nil
}
