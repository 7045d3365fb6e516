package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/url"
	"path"
	"slices"
	"strings"
	"time"

	json "github.com/goccy/go-json"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// S3 has no rename, so a folder is replaced in steps that a reader can see through:
//
//  1. Stage writes the new version's files under ControlDir/tmp/<dir>.stage-<random>/ (hidden).
//  2. Publish writes ControlDir/publish/<dir>.json naming them: from then on the new version is
//     complete and is the one ReadDir lists.
//  3. It copies each file into dir (server-side), deletes the files of dir that the new version
//     lacks, then deletes the publish record and the staged files.
//
// A crash before step 2 leaves the old version in place (and hidden staged files, removed by the
// next Stage). A crash after it leaves the record, so ReadDir keeps listing the complete new
// version, and the next Stage finishes the steps. Only a reader that lists dir itself, ignoring the
// record, can see a mix of two versions, for the seconds of step 3 (or until the next run after a
// crash in it); Delta tables avoid even that (their commits are put-if-absent).

const s3AbortTimeout = 30 * time.Second

// publishRecord is ControlDir/publish/<dir>.json.
type publishRecord struct {
	Stage string   `json:"stage"` // the staged folder's name in the store
	Files []string `json:"files"` // names inside it (and inside dir)
}

func publishName(dir string) string { return Join(ControlDir, "publish", url.PathEscape(dir)+".json") }

func (s *S3) readRecord(ctx context.Context, dir string) (*publishRecord, error) {
	data, err := ReadFile(ctx, s, publishName(dir), 64<<20)
	if errors.Is(err, ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	var rec publishRecord
	if err := json.Unmarshal(data, &rec); err != nil {
		return nil, fmt.Errorf("reading %s: %w", s.Location(publishName(dir)), err)
	}
	return &rec, nil
}

// Stage implements Store.
func (s *S3) Stage(ctx context.Context, dir string) (Stage, error) {
	if err := checkName(dir); err != nil {
		return nil, err
	}
	if err := s.recover(ctx, dir); err != nil {
		return nil, err
	}
	name := Join(ControlDir, "tmp", fmt.Sprintf("%s%s%016x", url.PathEscape(dir), stageInfix, rand.Uint64()))
	return &s3Stage{ctx: ctx, s: s, dir: dir, stage: name}, nil
}

// recover finishes a publication a crash interrupted and removes crashed runs' staged files.
func (s *S3) recover(ctx context.Context, dir string) error {
	rec, err := s.readRecord(ctx, dir)
	if err != nil {
		return err
	}
	if rec != nil {
		if err := s.finishPublish(ctx, dir, rec); err != nil {
			return fmt.Errorf("finishing an interrupted replacement of %s: %w", s.Location(dir), err)
		}
	}
	stagePrefix := url.PathEscape(dir) + stageInfix
	return s.deleteAll(ctx, Join(ControlDir, "tmp"), func(name string) bool {
		rel := strings.TrimPrefix(name, ControlDir+"/tmp/")
		return strings.HasPrefix(rel, stagePrefix)
	})
}

// deleteAll deletes the objects under dir that keep accepts.
func (s *S3) deleteAll(ctx context.Context, dir string, keep func(name string) bool) error {
	var names []string
	if err := s.List(ctx, dir, func(i Info) error {
		if keep(i.Name) {
			names = append(names, i.Name)
		}
		return nil
	}); err != nil {
		return err
	}
	for _, n := range names {
		if err := s.Delete(ctx, n); err != nil {
			return err
		}
	}
	return nil
}

// finishPublish does step 3 for rec; it may be repeated.
func (s *S3) finishPublish(ctx context.Context, dir string, rec *publishRecord) error {
	enc, key := s.sse()
	for _, f := range rec.Files {
		src := s.bucket + "/" + pathEscapeKey(s.key(Join(rec.Stage, f)))
		_, err := s.client.CopyObject(ctx, &s3.CopyObjectInput{Bucket: &s.bucket, Key: aws.String(s.key(Join(dir, f))),
			CopySource: aws.String(src), ServerSideEncryption: enc, SSEKMSKeyId: key})
		if err != nil {
			if _, statErr := s.Stat(ctx, Join(rec.Stage, f)); errors.Is(statErr, ErrNotExist) {
				continue // copied and cleaned up by an earlier attempt
			}
			return s.wrap("publishing", Join(dir, f), err)
		}
	}
	if err := s.deleteAll(ctx, dir, func(name string) bool {
		return !slices.Contains(rec.Files, strings.TrimPrefix(name, dir+"/"))
	}); err != nil {
		return err
	}
	if err := s.Delete(ctx, publishName(dir)); err != nil {
		return err
	}
	return s.deleteAll(ctx, rec.Stage, func(string) bool { return true })
}

// pathEscapeKey escapes a key for CopySource, keeping its slashes.
func pathEscapeKey(key string) string {
	parts := strings.Split(key, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return strings.Join(parts, "/")
}

// ReadDir implements Store: while a publish record exists, the new version it names.
func (s *S3) ReadDir(ctx context.Context, dir string) ([]Info, error) {
	if err := checkName(dir); err != nil {
		return nil, err
	}
	rec, err := s.readRecord(ctx, dir)
	if err != nil {
		return nil, err
	}
	from := dir
	if rec != nil {
		from = rec.Stage
	}
	var out []Info
	err = s.list(ctx, from, true, func(i Info) error {
		if !strings.HasPrefix(path.Base(i.Name), ".") {
			out = append(out, i)
		}
		return nil
	})
	slices.SortFunc(out, func(a, b Info) int { return strings.Compare(a.Name, b.Name) })
	return out, err
}

type s3Stage struct {
	ctx        context.Context
	s          *S3
	dir, stage string
	done       bool
}

func (st *s3Stage) Create(name string) (Writer, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	return st.s.Create(st.ctx, Join(st.stage, name), CreateOptions{})
}

func (st *s3Stage) Open(name string) (io.ReadCloser, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	return st.s.Open(st.ctx, Join(st.stage, name))
}

func (st *s3Stage) Delete(name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	return st.s.Delete(st.ctx, Join(st.stage, name))
}

func (st *s3Stage) Publish() error {
	if st.done {
		return fmt.Errorf("publishing %s: already published or discarded", st.s.Location(st.dir))
	}
	rec := &publishRecord{Stage: st.stage, Files: []string{}}
	if err := st.s.List(st.ctx, st.stage, func(i Info) error {
		rec.Files = append(rec.Files, strings.TrimPrefix(i.Name, st.stage+"/"))
		return nil
	}); err != nil {
		return err
	}
	data, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	if err := WriteFile(st.ctx, st.s, publishName(st.dir), data, CreateOptions{}); err != nil {
		return err
	}
	st.done = true // from here on the new version is the table, even if finishing fails
	return st.s.finishPublish(st.ctx, st.dir, rec)
}

func (st *s3Stage) Discard() error {
	if st.done {
		return nil
	}
	st.done = true
	ctx, cancel := context.WithTimeout(context.WithoutCancel(st.ctx), s3AbortTimeout)
	defer cancel()
	return st.s.deleteAll(ctx, st.stage, func(string) bool { return true })
}
