package crawl

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"
)

// ErrBadIDs means an --id-file or --id-list cannot be used: unreadable, a CSV without an ID or
// MRN column, or a value that is not a FHIR id.
var ErrBadIDs = errors.New("unusable patient ids")

// fhirID is the FHIR id datatype: what a Patient id must look like.
var fhirID = regexp.MustCompile(`^[A-Za-z0-9\-.]{1,64}$`)

// readIDList adds the values of --id-list (comma-separated, repeatable).
func readIDList(values []string, identifiers bool, add func(string) error) error {
	for i, v := range values {
		for _, id := range strings.Split(v, ",") {
			if id = strings.TrimSpace(id); id == "" {
				continue
			}
			if err := checkID(id, identifiers); err != nil {
				return fmt.Errorf("%w: --id-list value %d: %w", ErrBadIDs, i+1, err)
			}
			if err := add(id); err != nil {
				return err
			}
		}
	}
	return nil
}

// readIDFile adds the ids of path: one a line, or, for a file named *.csv or whose first line is
// a header with a comma, the ID column of a CSV (the MRN column when there is no ID column, or
// with identifiers, the MRN column first), the header found case-insensitively.
func readIDFile(path string, identifiers bool, add func(string) error) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("%w: --id-file: %w", ErrBadIDs, err)
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 64<<10)
	first, _ := br.Peek(4096)
	first, _, _ = bytes.Cut(bytes.TrimPrefix(first, []byte("\ufeff")), []byte("\n"))
	header := strings.ToLower(strings.TrimSpace(string(first)))
	if strings.HasSuffix(strings.ToLower(path), ".csv") || strings.Contains(header, ",") || header == "id" || header == "mrn" {
		return readIDCSV(path, br, identifiers, add)
	}
	for n := 1; ; n++ {
		line, err := br.ReadString('\n')
		if id := strings.TrimSpace(strings.TrimPrefix(line, "\ufeff")); id != "" {
			if cerr := checkID(id, identifiers); cerr != nil {
				return fmt.Errorf("%w: %s line %d: %w", ErrBadIDs, path, n, cerr)
			}
			if aerr := add(id); aerr != nil {
				return aerr
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%w: reading %s: %w", ErrBadIDs, path, err)
		}
	}
}

// readIDCSV adds the chosen column of a CSV id file.
func readIDCSV(path string, r io.Reader, identifiers bool, add func(string) error) error {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	head, err := cr.Read()
	if err != nil {
		return fmt.Errorf("%w: %s: reading the CSV header: %w", ErrBadIDs, path, err)
	}
	names := make([]string, len(head))
	for i, h := range head {
		names[i] = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
	}
	want := []string{"id", "mrn"}
	if identifiers {
		want = []string{"mrn", "id"}
	}
	col := slices.Index(names, want[0])
	if col < 0 {
		col = slices.Index(names, want[1])
	}
	if col < 0 {
		return fmt.Errorf("%w: %s has no ID or MRN column (its columns: %s)", ErrBadIDs, path, strings.Join(head, ", "))
	}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%w: %s: %w", ErrBadIDs, path, err)
		}
		line, _ := cr.FieldPos(0)
		if col >= len(rec) || strings.TrimSpace(rec[col]) == "" {
			continue
		}
		id := strings.TrimSpace(rec[col])
		if err := checkID(id, identifiers); err != nil {
			return fmt.Errorf("%w: %s line %d: %w", ErrBadIDs, path, line, err)
		}
		if err := add(id); err != nil {
			return err
		}
	}
}

// checkID refuses a Patient id that is not a FHIR id, and an identifier value with a tab or line
// break (it could not be searched for). The value itself is not quoted: it identifies a patient.
func checkID(id string, identifier bool) error {
	if identifier {
		if strings.ContainsAny(id, "\t\r\n") {
			return errors.New("an identifier value holds a tab or line break")
		}
		return nil
	}
	if !fhirID.MatchString(id) {
		return errors.New("not a FHIR id (up to 64 letters, digits, '-' and '.'); give --id-system to use identifiers such as MRNs")
	}
	return nil
}
