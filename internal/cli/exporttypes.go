package cli

import (
	"context"
	"net/url"
	"slices"
	"strings"

	"cumulus-etl/internal/bulk"
	"cumulus-etl/internal/etl"
	"cumulus-etl/internal/fhir"
	"cumulus-etl/internal/progress"
)

// connectRetry is the FHIR client's retry policy for exports (the zero value: its defaults);
// tests shorten it.
var connectRetry fhir.RetryPolicy

// typeRequest is what a command asks to export, before the server says which types it has.
type typeRequest struct {
	types        []string // for the kick-off's _type; empty when the URL's own _type says
	explicit     bool     // types were named (--type, --task): one the server lacks is an error...
	allowMissing bool     // ...unless allowed (etl --allow-missing-resources): then it is left out too
	extraScopes  []string // read access needed beyond the exported types (Binary for --inline)
	silent       bool     // say nothing of left-out types (export --cancel)
}

// connectForExport connects to the FHIR server behind rawURL, keeps the requested types the
// server has and authorizes for them (issue 13 item 3). The server's types are those of its
// CapabilityStatement: default types it lacks are left out and named once; a type named
// explicitly (in --type, --task or the URL's _type) that it lacks stops the command with
// ExitMissingRequestedResource. A server whose CapabilityStatement lists no types is asked for
// everything. It returns the types for the kick-off.
func connectForExport(ctx context.Context, display progress.Reporter, rawURL, fhirURL string, req typeRequest, auth fhir.AuthConfig) (*fhir.Client, []string, error) {
	base, err := fhirBase(rawURL, fhirURL)
	if err != nil {
		return nil, nil, err
	}
	client, err := fhir.Connect(ctx, fhir.Options{BaseURL: base, Auth: auth, Version: Version, Retry: connectRetry,
		MaxConnsPerHost: bulk.DefaultMaxConcurrency, Logger: warningLogger(display)})
	if err != nil {
		return nil, nil, &ExitError{Code: authExitCode(err), Err: err}
	}
	known := len(client.Capabilities().ResourceTypes) > 0
	types, err := keepServerTypes(display, rawURL, req, client.Capabilities().ResourceTypes)
	if err != nil {
		return nil, nil, err
	}
	if err := client.Authorize(ctx, scopeTypes(rawURL, append(types, req.extraScopes...))); err != nil {
		return nil, nil, &ExitError{Code: authExitCode(err), Err: err}
	}
	if !known { // a guarded CapabilityStatement may be readable with the token
		if types, err = keepServerTypes(display, rawURL, req, client.Capabilities().ResourceTypes); err != nil {
			return nil, nil, err
		}
	}
	return client, types, nil
}

// keepServerTypes returns req.types without the ones the server lacks, or the error for an
// explicitly requested one.
func keepServerTypes(display progress.Reporter, rawURL string, req typeRequest, server []string) ([]string, error) {
	if len(server) == 0 {
		return req.types, nil
	}
	has, lacks := splitByServer(req.types, server)
	if _, urlLacks := splitByServer(urlTypes(rawURL), server); len(urlLacks) > 0 {
		return nil, missingTypesError(urlLacks, server, "the URL's _type")
	}
	switch {
	case len(lacks) == 0:
		return has, nil
	case req.explicit && !req.allowMissing:
		return nil, missingTypesError(lacks, server, "--type/--task")
	case len(has) == 0 && len(req.types) > 0:
		return nil, exitf(ExitMissingRequestedResource, "the FHIR server has none of the resource types to export (%s); its CapabilityStatement lists %s",
			strings.Join(lacks, ", "), strings.Join(server, ", "))
	}
	if !req.silent {
		display.Info("The server does not have these resource types, so they are not exported: " + strings.Join(lacks, ", "))
	}
	return has, nil
}

func missingTypesError(lacks, server []string, where string) error {
	return exitf(ExitMissingRequestedResource, "the FHIR server has no %s (its CapabilityStatement lists %s); leave %s out of %s",
		strings.Join(lacks, ", "), strings.Join(server, ", "), pronoun(lacks), where)
}

func pronoun(items []string) string {
	if len(items) == 1 {
		return "it"
	}
	return "them"
}

// splitByServer splits wanted into the types in server and the others, keeping their order.
func splitByServer(wanted, server []string) (has, lacks []string) {
	for _, t := range wanted {
		if slices.Contains(server, t) {
			has = append(has, t)
		} else {
			lacks = append(lacks, t)
		}
	}
	return has, lacks
}

// urlTypes returns the _type values already in an export URL.
func urlTypes(rawURL string) []string {
	var out []string
	if u, err := url.Parse(rawURL); err == nil {
		for _, v := range u.Query()["_type"] {
			out = append(out, strings.Split(v, ",")...)
		}
	}
	return out
}

// scopeTypes lists the resource types the token needs: the requested ones plus the URL's _type;
// with none at all, every default task's resource.
func scopeTypes(rawURL string, types []string) []string {
	out := append(slices.Clone(types), urlTypes(rawURL)...)
	if len(out) == 0 {
		out = etl.Resources(etl.AllTasks())
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// exportTypes resolves --type and --task: --type alone replaces the default set, --task adds the
// tasks' resources, and with neither the URL's own _type (if any) or every default task is used.
// explicit says whether any were named.
func exportTypes(c exportConfig, rawURL string) (types []string, explicit bool, err error) {
	if len(c.tasks) > 0 {
		tasks, err := etl.SelectTasks(c.tasks)
		if err != nil {
			return nil, false, &ExitError{Code: ExitTaskUnknown, Err: err}
		}
		types = etl.Resources(tasks)
	}
	types = append(types, c.types...)
	slices.Sort(types)
	types = slices.Compact(types)
	if len(types) == 0 && len(urlTypes(rawURL)) == 0 {
		return etl.Resources(etl.AllTasks()), false, nil // Cumulus asks for the default tasks' resources
	}
	return types, true, nil
}
