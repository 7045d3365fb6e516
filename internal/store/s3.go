package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/logging"
)

// S3 is a Store under a prefix of an S3 bucket (or of an S3-compatible server), through the AWS
// SDK for Go v2.
//
// Credentials come from the standard AWS chain (environment, shared profile and SSO, container and
// instance roles); the region from Options.S3Region, else that chain, else us-east-1. An endpoint
// in AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL (an S3-compatible server) is used with path-style
// addressing. Throttling, 5xx answers and broken connections are retried with exponential backoff
// by the SDK (8 attempts unless AWS_MAX_ATTEMPTS says otherwise), and a read that breaks
// mid-stream resumes where it stopped, from the same version of the object. Objects are written
// with SSE-KMS under Options.S3KMSKey when given. Nothing secret is logged: the SDK logs nothing,
// and its errors name the operation, status and request id only.
type S3 struct {
	client         *s3.Client
	bucket, prefix string // prefix has no leading or trailing slash
	kmsKey         string
	partSize       int
	partBuffers    chan []byte // free part-sized buffers (see getPartBuffer)
}

var _ Store = (*S3)(nil)

const (
	// s3PartSize is the size of a multipart upload's parts: a writer holds at most
	// s3PartsInFlight+1 of them in memory. 8 MiB parts allow objects of 80 GB (10,000 parts).
	s3PartSize      = 8 << 20
	s3PartsInFlight = 2
	s3MaxAttempts   = 8
	s3ReadResumes   = 5 // how many times one read may resume after a broken stream
)

// openS3 returns the store for "s3://bucket/prefix".
func openS3(ctx context.Context, location string, opts Options) (*S3, error) {
	rest := strings.TrimPrefix(location, "s3://")
	bucket, prefix, _ := strings.Cut(rest, "/")
	if bucket == "" {
		return nil, fmt.Errorf("%s: no bucket name (use s3://BUCKET/PREFIX)", location)
	}
	var loadOpts []func(*config.LoadOptions) error
	if opts.S3Region != "" {
		loadOpts = append(loadOpts, config.WithRegion(opts.S3Region))
	}
	// The SDK's own log lines (a fallback between credential sources, say) would only confuse; its
	// errors say what failed.
	loadOpts = append(loadOpts, config.WithLogger(logging.Nop{}))
	cfg, err := config.LoadDefaultConfig(ctx, loadOpts...)
	if err != nil {
		return nil, fmt.Errorf("setting up S3 access for %s: %w", location, err)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		if o.BaseEndpoint != nil {
			o.UsePathStyle = true // an S3-compatible server: bucket names need no DNS of their own
		}
		if os.Getenv("AWS_MAX_ATTEMPTS") == "" {
			o.RetryMaxAttempts = s3MaxAttempts
		}
	})
	return &S3{client: client, bucket: bucket, prefix: strings.Trim(prefix, "/"), kmsKey: opts.S3KMSKey,
		partSize: s3PartSize, partBuffers: make(chan []byte, s3PartsInFlight+2)}, nil
}

// key is the object key of a store name ("" for the root prefix).
func (s *S3) key(name string) string {
	switch {
	case s.prefix == "":
		return name
	case name == "":
		return s.prefix
	}
	return s.prefix + "/" + name
}

// dirKey is the key prefix of the objects under dir ("" for the whole store).
func (s *S3) dirKey(dir string) string {
	if k := s.key(dir); k != "" {
		return k + "/"
	}
	return ""
}

// Location implements Store.
func (s *S3) Location(name string) string {
	if k := s.key(name); k != "" {
		return "s3://" + s.bucket + "/" + k
	}
	return "s3://" + s.bucket
}

// wrap turns an SDK error into one naming the object, wrapping ErrNotExist or ErrExist where the
// answer means that.
func (s *S3) wrap(op, name string, err error) error {
	var noKey *types.NoSuchKey
	var notFound *types.NotFound
	var noBucket *types.NoSuchBucket
	var apiErr smithy.APIError
	code := ""
	if errors.As(err, &apiErr) {
		code = apiErr.ErrorCode()
	}
	switch {
	case code == "AccessDenied" || code == "InvalidAccessKeyId" || code == "SignatureDoesNotMatch" || code == "ExpiredToken" ||
		code == "KMS.AccessDeniedException" || isHTTPStatus(err, http.StatusForbidden) || strings.Contains(err.Error(), "get credentials"):
		return fmt.Errorf("%s %s: %w: %w", op, s.Location(name), ErrAccess, err)
	case errors.As(err, &noBucket) || code == "NoSuchBucket":
		return fmt.Errorf("%s %s: the bucket %s does not exist: %w", op, s.Location(name), s.bucket, err)
	case errors.As(err, &noKey) || errors.As(err, &notFound) || code == "NoSuchKey" || code == "NotFound" ||
		isHTTPStatus(err, http.StatusNotFound):
		return fmt.Errorf("%s %s: %w", op, s.Location(name), ErrNotExist)
	case code == "PreconditionFailed" || code == "ConditionalRequestConflict" || isHTTPStatus(err, http.StatusPreconditionFailed):
		return fmt.Errorf("%s %s: %w", op, s.Location(name), ErrExist)
	}
	var netErr net.Error
	if errors.As(err, &netErr) {
		return fmt.Errorf("%s %s: %w: %w", op, s.Location(name), ErrUnreachable, err)
	}
	return fmt.Errorf("%s %s: %w", op, s.Location(name), err)
}

// Stat implements Store.
func (s *S3) Stat(ctx context.Context, name string) (Info, error) {
	if err := checkName(name); err != nil {
		return Info{}, err
	}
	out, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &s.bucket, Key: aws.String(s.key(name))})
	if err != nil {
		return Info{}, s.wrap("reading", name, err)
	}
	return Info{Name: name, Size: aws.ToInt64(out.ContentLength), ModTime: aws.ToTime(out.LastModified)}, nil
}

// Open implements Store.
func (s *S3) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	return s.OpenRange(ctx, name, 0, -1)
}

// OpenRange implements Store.
func (s *S3) OpenRange(ctx context.Context, name string, offset, length int64) (io.ReadCloser, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	r := &s3Reader{ctx: ctx, s: s, name: name, off: offset, end: -1}
	if length >= 0 {
		r.end = offset + length
	}
	if err := r.open(); err != nil {
		return nil, err
	}
	return r, nil
}

// s3Reader streams an object's range, reopening it where a broken stream stopped.
type s3Reader struct {
	ctx     context.Context
	s       *S3
	name    string
	etag    *string // the version first read: a resume reads the same one
	off     int64   // next byte to read
	end     int64   // end of the range, exclusive; -1 for the object's end
	body    io.ReadCloser
	resumes int
}

func (r *s3Reader) open() error {
	if r.end >= 0 && r.off >= r.end {
		r.body = io.NopCloser(strings.NewReader(""))
		return nil
	}
	in := &s3.GetObjectInput{Bucket: &r.s.bucket, Key: aws.String(r.s.key(r.name)), IfMatch: r.etag}
	if r.off > 0 || r.end >= 0 {
		rng := fmt.Sprintf("bytes=%d-", r.off)
		if r.end >= 0 {
			rng += fmt.Sprint(r.end - 1)
		}
		in.Range = &rng
	}
	out, err := r.s.client.GetObject(r.ctx, in)
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorCode() == "InvalidRange" {
		r.body = io.NopCloser(strings.NewReader("")) // a range past the end holds nothing
		return nil
	}
	if err != nil {
		if r.etag != nil && errors.As(err, &apiErr) && apiErr.ErrorCode() == "PreconditionFailed" {
			return fmt.Errorf("reading %s: the object was replaced while it was read", r.s.Location(r.name))
		}
		return r.s.wrap("reading", r.name, err)
	}
	if r.etag == nil {
		r.etag = out.ETag
	}
	r.body = out.Body
	return nil
}

func (r *s3Reader) Read(p []byte) (int, error) {
	for {
		if r.body == nil {
			if err := r.open(); err != nil {
				return 0, err
			}
		}
		n, err := r.body.Read(p)
		r.off += int64(n)
		if err == nil || err == io.EOF || r.ctx.Err() != nil || r.resumes >= s3ReadResumes {
			if err != nil && err != io.EOF {
				err = fmt.Errorf("reading %s: %w", r.s.Location(r.name), err)
			}
			return n, err
		}
		r.body.Close() // broken mid-stream: read on from r.off
		r.body = nil
		r.resumes++
		if n > 0 {
			return n, nil
		}
	}
}

func (r *s3Reader) Close() error {
	if r.body == nil {
		return nil
	}
	return r.body.Close()
}

// List implements Store.
func (s *S3) List(ctx context.Context, dir string, fn func(Info) error) error {
	if dir != "" {
		if err := checkName(dir); err != nil {
			return err
		}
	}
	return s.list(ctx, dir, false, fn)
}

// list lists the objects under dir: all of them, or (flat) only those directly in it.
func (s *S3) list(ctx context.Context, dir string, flat bool, fn func(Info) error) error {
	root := s.dirKey("")
	in := &s3.ListObjectsV2Input{Bucket: &s.bucket, Prefix: aws.String(s.dirKey(dir))}
	if flat {
		in.Delimiter = aws.String("/")
	}
	pages := s3.NewListObjectsV2Paginator(s.client, in)
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return s.wrap("listing", dir, err)
		}
		for _, o := range page.Contents {
			name := strings.TrimPrefix(aws.ToString(o.Key), root)
			if name == "" || strings.HasSuffix(name, "/") {
				continue // a "folder" marker some tools create
			}
			if err := fn(Info{Name: name, Size: aws.ToInt64(o.Size), ModTime: aws.ToTime(o.LastModified)}); err != nil {
				return err
			}
		}
	}
	return nil
}

// Delete implements Store.
func (s *S3) Delete(ctx context.Context, name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	if _, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &s.bucket, Key: aws.String(s.key(name))}); err != nil {
		if err := s.wrap("deleting", name, err); !errors.Is(err, ErrNotExist) {
			return err
		}
	}
	return nil
}

// sse returns the server-side encryption settings of new objects.
func (s *S3) sse() (types.ServerSideEncryption, *string) {
	if s.kmsKey == "" {
		return "", nil
	}
	return types.ServerSideEncryptionAwsKms, aws.String(s.kmsKey)
}

// checkExists fails when the store's root holds no object (a mistyped bucket or prefix).
func (s *S3) checkExists(ctx context.Context) error {
	out, err := s.client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &s.bucket, Prefix: aws.String(s.dirKey("")), MaxKeys: aws.Int32(1)})
	if err != nil {
		return s.wrap("listing", "", err)
	}
	if len(out.Contents) == 0 {
		return fmt.Errorf("%s holds no files (check the bucket and prefix)", s.Location(""))
	}
	return nil
}

// isHTTPStatus reports whether err is an HTTP answer with that status.
func isHTTPStatus(err error, status int) bool {
	var re interface{ HTTPStatusCode() int }
	return errors.As(err, &re) && re.HTTPStatusCode() == status
}
