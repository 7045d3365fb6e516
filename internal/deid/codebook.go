// Package deid is the de-identification core of cumulus-etl: a codebook that turns real FHIR ids
// into stable fake ids (compatible with Cumulus ETL's codebook.json), and an allow-list scrubber
// that removes everything from a resource except the fields named in the embedded rules file.
//
// The scrubber the program runs is Scrubber.ScrubJSON, which works on the bytes of one ndjson line
// in a single pass. The tests hold it to Scrub, a simpler scrubber over decoded JSON maps kept in
// the test files as the reference implementation. The package does no file or network I/O.
package deid

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"maps"
	"slices"
	"sync"

	"github.com/google/uuid"
)

// saltBytes is the size of a new salt: 256 bits, the size of the SHA-256 output.
const saltBytes = 32

// legacyTypes are the resource types whose fake ids may come from a stored legacy mapping.
var legacyTypes = [...]string{"Patient", "Encounter"}

// Codebook maps real resource ids to fake ids with HMAC-SHA256 under a secret salt, exactly like
// Cumulus ETL, so fake ids stay stable across runs that share the PHI folder's codebook.json.
//
// Unlike Cumulus, a Codebook keeps no record of the ids it has hashed (memory stays bounded on
// exports of any size) and so never produces Cumulus's codebook-cached-mappings.json; only the
// legacy Patient/Encounter mappings loaded from an old codebook are held in memory.
//
// A Codebook does not change after construction, so all its methods are safe for concurrent use.
type Codebook struct {
	salt     []byte
	id       string
	legacy   map[string]map[string]string // resource type → real id → fake id
	extra    map[string]json.RawMessage   // unknown top-level keys, kept for round-tripping
	modified bool
	macs     sync.Pool // of *hasher
}

// hasher is a reusable HMAC state plus scratch buffers, so FakeID allocates only its result.
type hasher struct {
	mac hash.Hash
	in  []byte
	sum [sha256.Size]byte
}

// NewCodebook returns a fresh codebook with a random 32-byte salt and a new uuid4 codebook id,
// both read from random. The result reports Modified, since it has never been saved.
func NewCodebook(random io.Reader) (*Codebook, error) {
	c := &Codebook{modified: true}
	if err := c.newSalt(random); err != nil {
		return nil, err
	}
	if err := c.newID(random); err != nil {
		return nil, err
	}
	c.init()
	return c, nil
}

// ParseCodebook reads a Cumulus codebook.json (version 1, or the older version 0 with its
// per-MRN mappings). Anything that has to be created (a salt for version 0, a codebook_id for
// files written before Cumulus had one) is drawn from random, and the result reports Modified
// so the caller saves it. An unknown version is an error.
func ParseCodebook(data []byte, random io.Reader) (*Codebook, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, fmt.Errorf("codebook: not a JSON object: %w", err)
	}
	version := 0
	if raw, ok := top["version"]; ok {
		if err := json.Unmarshal(raw, &version); err != nil {
			return nil, fmt.Errorf("codebook: version is not an integer: %w", err)
		}
	}
	c := &Codebook{legacy: map[string]map[string]string{}}
	var err error
	switch version {
	case 0:
		err = c.loadV0(top)
	case 1:
		err = c.loadV1(top)
	default:
		return nil, fmt.Errorf("codebook: unknown version %d (this program reads versions 0 and 1)", version)
	}
	if err != nil {
		return nil, err
	}
	if c.salt == nil {
		if err := c.newSalt(random); err != nil {
			return nil, err
		}
		c.modified = true
	}
	if c.id == "" {
		if err := c.newID(random); err != nil {
			return nil, err
		}
		c.modified = true
	}
	c.init()
	return c, nil
}

// loadV0 converts the original {"mrn": {pid: {"deid": fake, "encounter": {eid: {"deid": fake}}}}}
// layout into legacy Patient and Encounter maps. Version 0 had no salt.
func (c *Codebook) loadV0(top map[string]json.RawMessage) error {
	type encounter struct {
		Deid string `json:"deid"`
	}
	type patient struct {
		Deid      string               `json:"deid"`
		Encounter map[string]encounter `json:"encounter"`
	}
	var mrn map[string]patient
	if raw, ok := top["mrn"]; ok {
		if err := json.Unmarshal(raw, &mrn); err != nil {
			return fmt.Errorf("codebook: version 0 \"mrn\" mapping: %w", err)
		}
	}
	patients, encounters := map[string]string{}, map[string]string{}
	for pid, p := range mrn {
		patients[pid] = p.Deid
		for eid, e := range p.Encounter {
			encounters[eid] = e.Deid
		}
	}
	c.legacy["Patient"], c.legacy["Encounter"] = patients, encounters
	c.modified = true // always rewritten as version 1
	return nil
}

// loadV1 reads the salt, codebook id and optional legacy maps, keeping any other keys as they are.
func (c *Codebook) loadV1(top map[string]json.RawMessage) error {
	for key, raw := range top {
		var err error
		switch key {
		case "version":
		case "id_salt":
			err = c.parseSalt(raw)
		case "codebook_id":
			err = json.Unmarshal(raw, &c.id)
		case legacyTypes[0], legacyTypes[1]:
			var m map[string]string
			err = json.Unmarshal(raw, &m)
			c.legacy[key] = m
		default:
			if c.extra == nil {
				c.extra = map[string]json.RawMessage{}
			}
			c.extra[key] = raw
		}
		if err != nil {
			return fmt.Errorf("codebook: field %q: %w", key, err)
		}
	}
	return nil
}

func (c *Codebook) parseSalt(raw json.RawMessage) error {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return err
	}
	salt, err := hex.DecodeString(s)
	if err != nil {
		return fmt.Errorf("salt is not hexadecimal: %w", err)
	}
	if len(salt) == 0 {
		return errors.New("salt is empty")
	}
	c.salt = salt
	return nil
}

func (c *Codebook) newSalt(random io.Reader) error {
	c.salt = make([]byte, saltBytes)
	if _, err := io.ReadFull(random, c.salt); err != nil {
		return fmt.Errorf("codebook: creating a salt: %w", err)
	}
	return nil
}

func (c *Codebook) newID(random io.Reader) error {
	u, err := uuid.NewRandomFromReader(random)
	if err != nil {
		return fmt.Errorf("codebook: creating a codebook_id: %w", err)
	}
	c.id = u.String()
	return nil
}

func (c *Codebook) init() {
	c.macs.New = func() any { return &hasher{mac: hmac.New(sha256.New, c.salt)} }
}

// ID returns the codebook_id, the uuid that ties output folders to this PHI folder.
func (c *Codebook) ID() string { return c.id }

// Modified reports whether the codebook differs from what was parsed (or was never saved), so
// the caller must write Marshal's output back to codebook.json.
func (c *Codebook) Modified() bool { return c.modified }

// FakeID returns the fake id for a real id. For Patient and Encounter a legacy mapping wins;
// otherwise it is HMAC-SHA256(salt, realID) as 64 lowercase hex digits, so the same real id gets
// the same fake id whatever the resource type. Use resourceType "" for contained-resource ids.
func (c *Codebook) FakeID(resourceType, realID string) string {
	return c.fakeRef("", resourceType, realID)
}

// fakeRef returns prefix + FakeID(resourceType, realID) with a single allocation.
func (c *Codebook) fakeRef(prefix, resourceType, realID string) string {
	var buf [128]byte
	return string(appendFakeRef(c, append(buf[:0], prefix...), resourceType, realID))
}

// appendFakeRef appends FakeID(resourceType, realID) to dst; it works on strings and on bytes
// of a JSON line alike, so the byte-level scrubber allocates nothing for it.
func appendFakeRef[R, T text](c *Codebook, dst []byte, resourceType R, realID T) []byte {
	if m := c.legacy[string(resourceType)]; m != nil {
		if fake, ok := m[string(realID)]; ok && fake != "" {
			return append(dst, fake...)
		}
	}
	h := c.macs.Get().(*hasher)
	h.mac.Reset()
	h.in = append(h.in[:0], realID...)
	h.mac.Write(h.in)
	dst = hex.AppendEncode(dst, h.mac.Sum(h.sum[:0]))
	c.macs.Put(h)
	return dst
}

// Marshal encodes the codebook as Cumulus writes codebook.json (version 1, Python json.dump's
// default layout): version, id_salt, codebook_id, then legacy Patient/Encounter maps and any
// other keys read from the original file. Map keys are sorted so output is deterministic.
func (c *Codebook) Marshal() ([]byte, error) {
	w := pyJSON{}
	w.raw(`{"version": 1, "id_salt": `)
	w.str(hex.EncodeToString(c.salt))
	w.raw(`, "codebook_id": `)
	w.str(c.id)
	for _, t := range legacyTypes {
		if m, ok := c.legacy[t]; ok {
			w.raw(", ")
			w.str(t)
			w.raw(": ")
			w.strMap(m)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(c.extra)) {
		dec := json.NewDecoder(bytes.NewReader(c.extra[k]))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("codebook: field %q: %w", k, err)
		}
		w.raw(", ")
		w.str(k)
		w.raw(": ")
		if err := w.value(v); err != nil {
			return nil, fmt.Errorf("codebook: field %q: %w", k, err)
		}
	}
	w.raw("}")
	return w.buf, nil
}
