package delta

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/parquet-go/parquet-go"
)

// A V1 checkpoint is one Parquet file, N.checkpoint.parquet, with one action per row in the
// columns txn, add, remove, metaData and protocol (Delta PROTOCOL.md, "Checkpoints"). Readers
// find it through _delta_log/_last_checkpoint ({"version":N,"size":rows}) or by listing.

type cpRow struct {
	Txn      *cpTxn      `parquet:"txn,optional"`
	Add      *cpAdd      `parquet:"add,optional"`
	Remove   *cpRemove   `parquet:"remove,optional"`
	MetaData *cpMetadata `parquet:"metaData,optional"`
	Protocol *cpProtocol `parquet:"protocol,optional"`
}

type cpTxn struct {
	AppID       string `parquet:"appId"`
	Version     int64  `parquet:"version"`
	LastUpdated *int64 `parquet:"lastUpdated,optional"`
}

type cpAdd struct {
	Path             string            `parquet:"path"`
	PartitionValues  map[string]string `parquet:"partitionValues"`
	Size             int64             `parquet:"size"`
	ModificationTime int64             `parquet:"modificationTime"`
	DataChange       bool              `parquet:"dataChange"`
	Stats            *string           `parquet:"stats,optional"`
	Tags             map[string]string `parquet:"tags,optional"`
	DeletionVector   *cpDV             `parquet:"deletionVector,optional"`
}

type cpDV struct {
	StorageType    string `parquet:"storageType"`
	PathOrInlineDv string `parquet:"pathOrInlineDv"`
	Offset         *int32 `parquet:"offset,optional"`
	SizeInBytes    int32  `parquet:"sizeInBytes"`
	Cardinality    int64  `parquet:"cardinality"`
}

type cpRemove struct {
	Path                 string            `parquet:"path"`
	DeletionTimestamp    *int64            `parquet:"deletionTimestamp,optional"`
	DataChange           bool              `parquet:"dataChange"`
	ExtendedFileMetadata *bool             `parquet:"extendedFileMetadata,optional"`
	PartitionValues      map[string]string `parquet:"partitionValues,optional"`
	Size                 *int64            `parquet:"size,optional"`
	DeletionVector       *cpDV             `parquet:"deletionVector,optional"`
}

type cpFormat struct {
	Provider string            `parquet:"provider"`
	Options  map[string]string `parquet:"options,optional"`
}

type cpMetadata struct {
	ID               string            `parquet:"id"`
	Name             *string           `parquet:"name,optional"`
	Description      *string           `parquet:"description,optional"`
	Format           cpFormat          `parquet:"format"`
	SchemaString     string            `parquet:"schemaString"`
	PartitionColumns []string          `parquet:"partitionColumns,list"`
	Configuration    map[string]string `parquet:"configuration,optional"`
	CreatedTime      *int64            `parquet:"createdTime,optional"`
}

type cpProtocol struct {
	MinReaderVersion int32    `parquet:"minReaderVersion"`
	MinWriterVersion int32    `parquet:"minWriterVersion"`
	ReaderFeatures   []string `parquet:"readerFeatures,optional,list"`
	WriterFeatures   []string `parquet:"writerFeatures,optional,list"`
}

// readCheckpoint decodes a V1 checkpoint file into actions.
func readCheckpoint(data []byte) ([]Action, error) {
	f, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, err
	}
	r := parquet.NewGenericReader[cpRow](f)
	defer r.Close()
	var out []Action
	buf := make([]cpRow, 256)
	for {
		n, err := r.Read(buf)
		for _, row := range buf[:n] {
			a, err := row.action()
			if err != nil {
				return nil, err
			}
			if a != nil {
				out = append(out, *a)
			}
		}
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

func (r cpRow) action() (*Action, error) {
	switch {
	case r.Add != nil:
		a := &Add{Path: r.Add.Path, PartitionValues: ptrMap(r.Add.PartitionValues), Size: r.Add.Size,
			ModificationTime: r.Add.ModificationTime, DataChange: r.Add.DataChange, Tags: r.Add.Tags}
		if r.Add.Stats != nil {
			a.Stats = *r.Add.Stats
		}
		a.DeletionVector = r.Add.DeletionVector.json()
		return &Action{Add: a}, nil
	case r.Remove != nil:
		rm := &Remove{Path: r.Remove.Path, DeletionTimestamp: r.Remove.DeletionTimestamp, DataChange: r.Remove.DataChange,
			ExtendedFileMetadata: r.Remove.ExtendedFileMetadata, PartitionValues: ptrMap(r.Remove.PartitionValues),
			Size: r.Remove.Size, DeletionVector: r.Remove.DeletionVector.json()}
		return &Action{Remove: rm}, nil
	case r.MetaData != nil:
		m := r.MetaData
		return &Action{Metadata: &Metadata{ID: m.ID, Name: m.Name, Description: m.Description,
			Format: Format{Provider: m.Format.Provider, Options: m.Format.Options}, SchemaString: m.SchemaString,
			PartitionColumns: m.PartitionColumns, Configuration: m.Configuration, CreatedTime: m.CreatedTime}}, nil
	case r.Protocol != nil:
		return &Action{Protocol: &Protocol{MinReaderVersion: int(r.Protocol.MinReaderVersion),
			MinWriterVersion: int(r.Protocol.MinWriterVersion), ReaderFeatures: r.Protocol.ReaderFeatures,
			WriterFeatures: r.Protocol.WriterFeatures}}, nil
	case r.Txn != nil:
		return &Action{Txn: &Txn{AppID: r.Txn.AppID, Version: r.Txn.Version, LastUpdated: r.Txn.LastUpdated}}, nil
	}
	return nil, nil
}

func (d *cpDV) json() []byte {
	if d == nil || d.StorageType == "" { // absent (a missing column reads as an empty struct)
		return nil
	}
	off := "null"
	if d.Offset != nil {
		off = fmt.Sprint(*d.Offset)
	}
	return fmt.Appendf(nil, `{"storageType":%q,"pathOrInlineDv":%q,"offset":%s,"sizeInBytes":%d,"cardinality":%d}`,
		d.StorageType, d.PathOrInlineDv, off, d.SizeInBytes, d.Cardinality)
}

func ptrMap(m map[string]string) map[string]*string {
	out := make(map[string]*string, len(m))
	for k, v := range m {
		out[k] = &v
	}
	return out
}
