// Package server is minping's HTTP side: the voter pages and API, the JSON
// API for organisers, administrators and appraisal groups, and the console
// (package server/console, reached through console.Host).
//
// Serve runs it over a data directory (lock, store, keys, first-start
// bootstrap, graceful shutdown); New and Handler make it over a store that
// is already open. Every route is in routes.go, with its middleware top to
// bottom; one function (fail) maps the domain's errors to HTTP statuses.
// Handlers log once, at this boundary, and never log a ballot code.
package server
