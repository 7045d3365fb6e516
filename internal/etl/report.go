package etl

import (
	"fmt"

	"cumulus-etl/internal/input"
)

// filesWithoutTask lists, per resource type that no task reads, how many files and bytes were
// left out. (Counting their rows would mean decompressing them: as much work as a large task.)
func filesWithoutTask(exp *input.Export) map[string]string {
	known := map[string]bool{}
	for _, t := range allTasks {
		known[t.Resource] = true
	}
	out := map[string]string{}
	for rt, files := range exp.Resources {
		if !known[rt] {
			out[rt] = describeFiles(files)
		}
	}
	return out
}

func plural(n int64) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// describeFiles says how much input a task has, e.g. "2 files (1.3 GB)".
func describeFiles(files []input.File) string {
	var size int64
	for _, f := range files {
		size += f.Size
	}
	unit := "file"
	if len(files) != 1 {
		unit = "files"
	}
	return fmt.Sprintf("%d %s (%s)", len(files), unit, humanBytes(size))
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %cB", float64(n)/float64(div), "KMGTPE"[exp])
}
