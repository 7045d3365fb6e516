// Package spillfile keeps records on local disk while a stage needs more than memory should
// hold (de-duplication keys, a table's rows before its columns are known, the ids of an upsert).
// A record is a fixed number of unsigned integers and one byte string; records are read back in
// the order they were appended. Memory: one 64 KiB buffer and the longest record read so far.
package spillfile

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

const bufferSize = 64 << 10

// File is one spill file. It is not safe for concurrent use.
type File struct {
	f    *os.File
	w    *bufio.Writer
	nums int
	hdr  []byte
	vals []uint64
	buf  []byte
}

// Create makes a new spill file in dir ("" for the system default) whose records hold nums
// integers each. Close removes it.
func Create(dir, pattern string, nums int) (*File, error) {
	f, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return nil, fmt.Errorf("creating a spill file: %w", err)
	}
	return &File{f: f, w: bufio.NewWriterSize(f, bufferSize), nums: nums,
		hdr: make([]byte, (nums+1)*binary.MaxVarintLen64), vals: make([]uint64, nums)}, nil
}

// Append adds a record: its integers (exactly the file's count) and its bytes.
func (s *File) Append(data []byte, nums ...uint64) error {
	if len(nums) != s.nums {
		return fmt.Errorf("spillfile: %d numbers for a file of %d", len(nums), s.nums)
	}
	n := 0
	for _, v := range nums {
		n += binary.PutUvarint(s.hdr[n:], v)
	}
	n += binary.PutUvarint(s.hdr[n:], uint64(len(data)))
	if _, err := s.w.Write(s.hdr[:n]); err != nil {
		return fmt.Errorf("writing a spill file: %w", err)
	}
	if _, err := s.w.Write(data); err != nil {
		return fmt.Errorf("writing a spill file: %w", err)
	}
	return nil
}

// Each calls fn with every record from the first, in order. nums and data are valid until fn
// returns. Appending after Each continues the file.
func (s *File) Each(fn func(nums []uint64, data []byte) error) error {
	if err := s.w.Flush(); err != nil {
		return fmt.Errorf("writing a spill file: %w", err)
	}
	end, err := s.f.Seek(0, io.SeekCurrent)
	if err != nil {
		return err
	}
	defer s.f.Seek(end, io.SeekStart)
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	r := bufio.NewReaderSize(io.LimitReader(s.f, end), bufferSize)
	for {
		for i := range s.vals {
			v, err := binary.ReadUvarint(r)
			if i == 0 && errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return fmt.Errorf("reading a spill file: %w", err)
			}
			s.vals[i] = v
		}
		n, err := binary.ReadUvarint(r)
		if s.nums == 0 && errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading a spill file: %w", err)
		}
		if uint64(cap(s.buf)) < n {
			s.buf = make([]byte, n)
		}
		s.buf = s.buf[:n]
		if _, err := io.ReadFull(r, s.buf); err != nil {
			return fmt.Errorf("reading a spill file: %w", err)
		}
		if err := fn(s.vals, s.buf); err != nil {
			return err
		}
	}
}

// Close closes and removes the file.
func (s *File) Close() {
	s.f.Close()
	os.Remove(s.f.Name())
}
