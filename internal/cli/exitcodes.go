package cli

// Exit codes. Where Cumulus ETL has a number for the same failure we use it, so scripts written
// for Cumulus keep working; see README.md for the table.
const (
	ExitOK                       = 0
	ExitGeneric                  = 1   // unexpected failure (I/O, network) with no more specific code
	ExitUsage                    = 2   // bad command line (unknown flag, wrong argument count)
	ExitSMARTCredentialsMissing  = 15  // --smart-client-id without a key, or the reverse
	ExitBulkExportFailed         = 16  // the export's error files report fatal errors (also a folder INPUT's), or the export could not finish
	ExitTaskUnknown              = 17  // --task names a task that does not exist
	ExitTaskFailed               = 19  // rows rejected, a file left out, a deleted/ line unusable, or a table not written
	ExitTaskSetEmpty             = 21  // no task left to run
	ExitArgsConflict             = 22  // options that cannot be used together, or folders nested where they must not be
	ExitArgsInvalid              = 23  // an option value (or INPUT: not a folder) is invalid, or a credential file cannot be read
	ExitFHIRURLMissing           = 24  // a relative URL needs --fhir-url
	ExitBasicCredentialsMissing  = 25  // --basic-user without --basic-passwd, or the reverse
	ExitExportFolderNotEmpty     = 26  // --export-to names a folder that already holds other files
	ExitExportFolderNotLocal     = 27  // --export-to is not a local path
	ExitFHIRAuthFailed           = 32  // the token endpoint refused us
	ExitCompletionArgsMissing    = 34  // no export group/time from log.ndjson nor --export-group/--export-timestamp
	ExitMissingRequestedResource = 36  // --task asked for a resource the input does not have
	ExitWrongPHIFolder           = 41  // OUTPUT was written with a different codebook (PHI folder)
	ExitLocked                   = 60  // another live run holds a lock on OUTPUT (a table, the job list) or PHI
	ExitLockLost                 = 61  // a lock could not be renewed in time or was taken over: the run stopped
	ExitForeignFiles             = 62  // a table folder holds files cumulus-etl did not write; nothing was written
	ExitStorageFailed            = 63  // an s3:// folder could not be used: access denied (credentials, permissions, KMS) or unreachable
	ExitTableUnsupported         = 65  // an existing Delta table in OUTPUT uses features we do not write (or other column types): nothing written
	ExitHydrateFailed            = 70  // inline/hydrate: some downloads failed (each is listed); a rerun tries them again
	ExitNoteTooLarge             = 71  // inline/hydrate: some notes were over --max-note-size and stay links
	ExitCrawlPatientsFailed      = 85  // a crawl ended but some patients (or identifiers) failed; each is listed; a rerun searches the patients again
	ExitCohortEmpty              = 86  // a crawl's cohort has no patients (an empty id file, a Group without members)
	ExitInterrupted              = 130 // stopped by Ctrl-C (SIGINT), the shell's 128+2; rerun to resume an export
	ExitTerminated               = 143 // stopped by SIGTERM, the shell's 128+15; rerun to resume an export
)
