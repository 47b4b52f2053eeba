// Package survey is minping's vocabulary: what a round is and everything
// it is made of, with no storage and no HTTP.
//
// A Definition (parsed from YAML or JSON, validated against CONTRACT §2 with
// every problem listed) holds the scales, voter categories, forms, units and
// rules of a 测评活动; a Round is a definition with its lifecycle Status. Slips
// are issued in Batches of codes (NewCode, NormalizeCode); a Slip opens a
// unit's ballot for one voter category, whose answers are laid out in Slots
// and encoded one byte per answer. Accounts have Roles. Rosters (Excel or CSV)
// parse into units and members. Decimal and Ratio are exact numbers. The
// errors here (ErrNotFound, ErrCodeUsed, …, and *ValidationError listing
// Problems with their paths) are the ones every store returns and the server
// maps to statuses.
//
// Stores live beside it: survey/sqlite is the embedded default.
package survey
