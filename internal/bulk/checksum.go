package bulk

import (
	"hash"
	"hash/crc32"
)

// newFileChecksum returns the checksum the journal records for a downloaded file: CRC-32C
// (Castagnoli), beside the file's size. The journal detects a file that is not the one written
// (cut short, damaged, or left by another run), which is what CRC-32C is made for (ext4 and
// Btrfs checksum their metadata with it). It needs no cryptographic hash: whoever can rewrite a
// file in DIR can rewrite the journal beside it. CRC-32C runs in hardware at over 20 GB/s on
// amd64 and arm64 where SHA-256 ran under 2 GB/s, a fifth of the export's CPU (issue 12).
func newFileChecksum() hash.Hash32 { return crc32.New(castagnoli) }

var castagnoli = crc32.MakeTable(crc32.Castagnoli)
