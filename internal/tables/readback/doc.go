// Package readback holds the tests that read every output format back with DuckDB (through its Go
// binding, with extension auto-install and auto-load off) and compare it with the ndjson output
// of the same run. It has no code of its own: it is a package of its own so that only its test
// binary pays DuckDB's cgo link.
package readback
