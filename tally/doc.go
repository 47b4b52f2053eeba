// Package tally counts the ballots of a round and writes the sealed result.
//
// It is pure computation over survey's types: a Counter takes the stored
// ballots one at a time, Documents turns the counts into the unit and round
// documents (scores, components, shares, flags, turnout, ranks and quota
// grades) as canonical bytes, Sign and Verify seal them, and Workbook and
// SummaryCSV export them. Nothing here reads a clock, a file or a network.
//
// ballots_sha256 lets anyone holding the ballots check the seal: each
// ballot's hash is SHA-256(unit id ‖ 0x00 ‖ category id ‖ 0x00 ‖ stored
// answer bytes); a set of ballots (a unit's, or the round's) digests to the
// SHA-256 of its ballots' hashes concatenated in ascending byte order,
// duplicates kept, so storage order does not matter.
//
// Arithmetic is exact (math/big.Rat); numbers are rounded half up only when
// written: scores and components to 2 decimals, shares and turnouts to 4.
// Where CONTRACT §3 leaves room, this package decides:
//
//   - A category whose weight for the unit is 0 still has its votes counted
//     and shown, but adds nothing to a score; an item whose only valid votes
//     come from such categories has no score.
//   - reweighted: a category with weight > 0 that may fill a form rating the
//     subject has no valid vote on one of the form's items (the overall row
//     is not an item), whether the item has a score or not.
//   - A form without valid votes has shares null and raises no share flag.
//     "The two best options" are the scale's first two.
//   - A subject's and a unit's flags are listed once each, in the order
//     lowest_over, top_two_under, quorum_not_met, reweighted, small_group;
//     each form also carries the share flags it raised.
//   - Subjects are the team (when a form rates it), then the members in
//     definition order; a unit without a team form has no score, rank or
//     grade.
//   - Ranks: units sharing a printed score keep definition order. rank_of
//     counts every unit of the type, scored or not.
//   - Grading: once a group of tied units moves down past a grade, that
//     grade takes no later unit, since a later unit ranks lower.
//   - A category of a unit is small when 1 ≤ voted < min_group, voted being
//     its used codes (the turnout), whatever its weight; one nobody voted in
//     is not small. Smallness is read from the turnout, not the ballots, so
//     that a recount after the seal deleted an excluded group's ballots
//     finds the same groups small and gives the same bytes.
//   - small_groups: exclude (the default) takes a small group's ballots out
//     of every score, count, share and ballots_sha256 (and out of the
//     unit's and round's ballots); Documents lists the groups so excluded
//     for the seal to delete. A definition frozen before small_groups
//     existed keeps v1's count (survey.ParseFrozen). count does not yet
//     print the notice CONTRACT §3 asks of it beyond the small_group flag.
//   - Per-category figures are each category's mean per item with its valid
//     votes, its item-weighted form scores and form-weighted subject score;
//     they are left out for categories without ballots and, for every
//     category, when the unit's breakdown is withheld.
//   - Turnout must agree with the ballots: codes used must equal ballots
//     counted for every unit and category (an excluded group may have none
//     left), or Documents refuses to seal.
package tally
