// Command cumulus-etl extracts bulk FHIR data and turns it into de-identified research tables.
package main

import "cumulus-etl/internal/cli"

func main() { cli.Run() }
