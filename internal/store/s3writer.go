package store

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// Create implements Store. An object up to one part (8 MiB) is one PUT at Commit; a larger one is
// a multipart upload whose parts go up while later ones are written (at most s3PartsInFlight at
// once), completed at Commit, so it appears whole or not at all. IfAbsent sends If-None-Match: *.
func (s *S3) Create(ctx context.Context, name string, opts CreateOptions) (Writer, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	return &s3Writer{ctx: ctx, s: s, name: name, ifAbsent: opts.IfAbsent, buf: make([]byte, 0, 64<<10),
		slots: make(chan struct{}, s3PartsInFlight)}, nil
}

// getPartBuffer returns an empty part-sized buffer, reusing one a finished part gave back: a fresh
// 8 MiB buffer per part would have the garbage collector let the heap grow by a hundred megabytes
// between collections.
func (s *S3) getPartBuffer() []byte {
	select {
	case b := <-s.partBuffers:
		return b[:0]
	default:
		return make([]byte, 0, s.partSize)
	}
}

// putPartBuffer keeps b for reuse, up to the free list's size.
func (s *S3) putPartBuffer(b []byte) {
	if cap(b) != s.partSize {
		return
	}
	select {
	case s.partBuffers <- b:
	default:
	}
}

type s3Writer struct {
	ctx      context.Context
	s        *S3
	name     string
	ifAbsent bool
	buf      []byte // the part being filled
	done     bool

	uploadID *string
	slots    chan struct{} // one per part being uploaded
	wg       sync.WaitGroup
	mu       sync.Mutex
	parts    []types.CompletedPart
	err      error // the first failed part
}

func (w *s3Writer) Write(p []byte) (int, error) {
	if w.done {
		return 0, fmt.Errorf("writing %s: %w", w.s.Location(w.name), os.ErrClosed)
	}
	written := 0
	for len(p) > 0 {
		if len(w.buf)+len(p) > cap(w.buf) && cap(w.buf) < w.s.partSize {
			full := w.s.getPartBuffer() // past the small first buffer: a whole part's
			w.buf = append(full, w.buf...)
		}
		room := w.s.partSize - len(w.buf)
		n := min(room, len(p))
		w.buf = append(w.buf, p[:n]...)
		p, written = p[n:], written+n
		if len(w.buf) == w.s.partSize {
			if err := w.sendPart(); err != nil {
				return written, err
			}
		}
	}
	return written, nil
}

// sendPart starts uploading the full buffer as the next part, waiting for a free slot.
func (w *s3Writer) sendPart() error {
	if err := w.partErr(); err != nil {
		return err
	}
	if w.uploadID == nil {
		enc, key := w.s.sse()
		out, err := w.s.client.CreateMultipartUpload(w.ctx, &s3.CreateMultipartUploadInput{
			Bucket: &w.s.bucket, Key: aws.String(w.s.key(w.name)), ServerSideEncryption: enc, SSEKMSKeyId: key})
		if err != nil {
			return w.s.wrap("writing", w.name, err)
		}
		w.uploadID = out.UploadId
	}
	data := w.buf
	w.buf = w.s.getPartBuffer()
	w.mu.Lock()
	number := int32(len(w.parts) + 1)
	w.parts = append(w.parts, types.CompletedPart{PartNumber: aws.Int32(number)})
	w.mu.Unlock()
	select {
	case w.slots <- struct{}{}:
	case <-w.ctx.Done():
		return w.ctx.Err()
	}
	w.wg.Add(1)
	go func() {
		defer func() { w.s.putPartBuffer(data); <-w.slots; w.wg.Done() }()
		out, err := w.s.client.UploadPart(w.ctx, &s3.UploadPartInput{Bucket: &w.s.bucket, Key: aws.String(w.s.key(w.name)),
			UploadId: w.uploadID, PartNumber: aws.Int32(number), Body: bytes.NewReader(data)})
		w.mu.Lock()
		defer w.mu.Unlock()
		if err != nil {
			if w.err == nil {
				w.err = w.s.wrap("writing", w.name, err)
			}
			return
		}
		w.parts[number-1].ETag = out.ETag
	}()
	return nil
}

func (w *s3Writer) partErr() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

func (w *s3Writer) Commit() error {
	if w.done {
		return fmt.Errorf("committing %s: %w", w.s.Location(w.name), os.ErrClosed)
	}
	var ifNoneMatch *string
	if w.ifAbsent {
		ifNoneMatch = aws.String("*")
	}
	if w.uploadID == nil {
		enc, key := w.s.sse()
		_, err := w.s.client.PutObject(w.ctx, &s3.PutObjectInput{Bucket: &w.s.bucket, Key: aws.String(w.s.key(w.name)),
			Body: bytes.NewReader(w.buf), IfNoneMatch: ifNoneMatch, ServerSideEncryption: enc, SSEKMSKeyId: key})
		if err != nil {
			return w.s.wrap("writing", w.name, err)
		}
		w.done = true
		w.s.putPartBuffer(w.buf)
		w.buf = nil
		return nil
	}
	if len(w.buf) > 0 {
		if err := w.sendPart(); err != nil {
			return err
		}
	}
	w.wg.Wait()
	if err := w.partErr(); err != nil {
		return err
	}
	w.s.putPartBuffer(w.buf)
	w.buf = nil
	_, err := w.s.client.CompleteMultipartUpload(w.ctx, &s3.CompleteMultipartUploadInput{Bucket: &w.s.bucket,
		Key: aws.String(w.s.key(w.name)), UploadId: w.uploadID, IfNoneMatch: ifNoneMatch,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: w.parts}})
	if err != nil {
		return w.s.wrap("writing", w.name, err)
	}
	w.done = true
	return nil
}

func (w *s3Writer) Abort() error {
	if w.done {
		return nil
	}
	w.done = true
	w.s.putPartBuffer(w.buf)
	w.buf = nil
	if w.uploadID == nil {
		return nil
	}
	w.wg.Wait()
	// The upload's parts cost storage until aborted; use a context of its own, as the run's may
	// be the one that was cancelled.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(w.ctx), s3AbortTimeout)
	defer cancel()
	if _, err := w.s.client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: &w.s.bucket,
		Key: aws.String(w.s.key(w.name)), UploadId: w.uploadID}); err != nil {
		return w.s.wrap("discarding the upload of", w.name, err)
	}
	return nil
}
