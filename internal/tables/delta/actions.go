// Package delta reads and writes Delta Lake tables to the Delta transaction protocol (reader
// version 1, writer version 2: no table features). The table's state is a pure function of its
// log's actions: actions.go holds the actions, snapshot.go replays them, checkpoint.go reads and
// writes V1 checkpoints, log.go reads a log from storage and commit.go adds a version to it,
// created only if absent.
package delta

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
)

// Protocol is the protocol action: the versions (and, from reader 3 / writer 7, the features) a
// client must support to read or write the table.
type Protocol struct {
	MinReaderVersion int      `json:"minReaderVersion"`
	MinWriterVersion int      `json:"minWriterVersion"`
	ReaderFeatures   []string `json:"readerFeatures,omitempty"`
	WriterFeatures   []string `json:"writerFeatures,omitempty"`
}

// Format says how data files are stored; always parquet.
type Format struct {
	Provider string            `json:"provider"`
	Options  map[string]string `json:"options"`
}

// Metadata is the metaData action: the table's id, schema and configuration.
type Metadata struct {
	ID               string            `json:"id"`
	Name             *string           `json:"name,omitempty"`
	Description      *string           `json:"description,omitempty"`
	Format           Format            `json:"format"`
	SchemaString     string            `json:"schemaString"`
	PartitionColumns []string          `json:"partitionColumns"`
	Configuration    map[string]string `json:"configuration"`
	CreatedTime      *int64            `json:"createdTime,omitempty"`
}

// Add is the add action: a data file that is part of the table from this version on.
type Add struct {
	Path             string             `json:"path"` // URI-encoded, relative to the table
	PartitionValues  map[string]*string `json:"partitionValues"`
	Size             int64              `json:"size"`
	ModificationTime int64              `json:"modificationTime"`
	DataChange       bool               `json:"dataChange"`
	Stats            string             `json:"stats,omitempty"`
	Tags             map[string]string  `json:"tags,omitempty"`
	DeletionVector   json.RawMessage    `json:"deletionVector,omitempty"`
	BaseRowID        *int64             `json:"baseRowId,omitempty"`
	DefaultRowCommit *int64             `json:"defaultRowCommitVersion,omitempty"`
	ClusteringProv   *string            `json:"clusteringProvider,omitempty"`
}

// Remove is the remove action: a data file that is no longer part of the table. It stays on
// storage (a tombstone) until vacuumed, so older versions can still be read.
type Remove struct {
	Path                 string             `json:"path"`
	DeletionTimestamp    *int64             `json:"deletionTimestamp,omitempty"`
	DataChange           bool               `json:"dataChange"`
	ExtendedFileMetadata *bool              `json:"extendedFileMetadata,omitempty"`
	PartitionValues      map[string]*string `json:"partitionValues,omitempty"`
	Size                 *int64             `json:"size,omitempty"`
	DeletionVector       json.RawMessage    `json:"deletionVector,omitempty"`
}

// Txn is the txn action: the latest version of an application's idempotent transactions.
type Txn struct {
	AppID       string `json:"appId"`
	Version     int64  `json:"version"`
	LastUpdated *int64 `json:"lastUpdated,omitempty"`
}

// Action is one line of a commit file: exactly one of its fields is set. Other is set for an
// action this package does not write (cdc, domainMetadata, sidecar, ...), by its name.
type Action struct {
	Protocol   *Protocol
	Metadata   *Metadata
	Add        *Add
	Remove     *Remove
	Txn        *Txn
	CommitInfo json.RawMessage
	Other      string
}

// ParseAction decodes one line of a commit file.
func ParseAction(line []byte) (Action, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(line, &raw); err != nil {
		return Action{}, err
	}
	if len(raw) != 1 {
		return Action{}, fmt.Errorf("an action must have exactly one field, got %d", len(raw))
	}
	var a Action
	var err error
	for name, body := range raw {
		switch name {
		case "protocol":
			a.Protocol = new(Protocol)
			err = json.Unmarshal(body, a.Protocol)
		case "metaData":
			a.Metadata = new(Metadata)
			err = json.Unmarshal(body, a.Metadata)
		case "add":
			a.Add = new(Add)
			err = json.Unmarshal(body, a.Add)
		case "remove":
			a.Remove = new(Remove)
			err = json.Unmarshal(body, a.Remove)
		case "txn":
			a.Txn = new(Txn)
			err = json.Unmarshal(body, a.Txn)
		case "commitInfo":
			a.CommitInfo = body
		default:
			a.Other = name
		}
		if err != nil {
			return Action{}, fmt.Errorf("%s action: %w", name, err)
		}
	}
	return a, nil
}

// MarshalJSON encodes the action as a commit line's object.
func (a Action) MarshalJSON() ([]byte, error) {
	var name string
	var body any
	switch {
	case a.Protocol != nil:
		name, body = "protocol", a.Protocol
	case a.Metadata != nil:
		name, body = "metaData", a.Metadata
	case a.Add != nil:
		name, body = "add", a.Add
	case a.Remove != nil:
		name, body = "remove", a.Remove
	case a.Txn != nil:
		name, body = "txn", a.Txn
	case a.CommitInfo != nil:
		name, body = "commitInfo", a.CommitInfo
	default:
		return nil, fmt.Errorf("delta: cannot write a %q action", a.Other)
	}
	b, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	return append(append([]byte(`{"`+name+`":`), b...), '}'), nil
}

// encodeCommit writes actions one per line, as a commit file holds them.
func encodeCommit(actions []Action) ([]byte, error) {
	var b bytes.Buffer
	for _, a := range actions {
		line, err := json.Marshal(a)
		if err != nil {
			return nil, err
		}
		b.Write(line)
		b.WriteByte('\n')
	}
	return b.Bytes(), nil
}

// fileKey identifies a data file in replay: its decoded path, and its deletion vector if any
// (the same file with another deletion vector is another logical file).
func fileKey(path string, dv json.RawMessage) (string, error) {
	p, err := url.PathUnescape(path)
	if err != nil {
		return "", fmt.Errorf("data file path %q: %w", path, err)
	}
	if len(dv) == 0 || string(dv) == "null" {
		return p, nil
	}
	var d struct {
		StorageType    string `json:"storageType"`
		PathOrInlineDv string `json:"pathOrInlineDv"`
		Offset         *int64 `json:"offset"`
	}
	if err := json.Unmarshal(dv, &d); err != nil {
		return "", fmt.Errorf("deletion vector of %q: %w", path, err)
	}
	off := ""
	if d.Offset != nil {
		off = fmt.Sprint(*d.Offset)
	}
	return p + "\x00" + d.StorageType + d.PathOrInlineDv + "@" + off, nil
}
