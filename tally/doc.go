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
//
// Where CONTRACT §5 leaves room:
//
//   - A ballot over several units (a sheet) is counted in each unit it
//     rates; the unit's and round's "ballots" add these up, so a round
//     document's ballots count one all-sheet slip once per unit. A recusal
//     ballot, stored in parts, counts once: its ballots are the most records
//     of any one part. A recusal member part's hash covers unit ‖ 0x00 ‖
//     category ‖ 0x00 ‖ member id ‖ 0x00 ‖ answers; every other record's is
//     as in v1, so v1 digests are unchanged.
//   - A reference form (scored: false) has no component to weigh its
//     categories by: a v1 definition weighs them as its one component does,
//     a v2 one weighs every category that voted alike. Its score is
//     reported, enters nothing, and raises no missing-rule flag.
//   - rules.missing: zero counts a missing category (weight > 0, may vote,
//     no valid vote) as mean 0 on an item on which any category, even one
//     without weight in the component, has a valid vote; missing_zero is
//     raised only where a zero entered a score. reweighted and unrated are
//     raised where a category is missing whether or not the item has a
//     score.
//   - A component's flags in the unit document are its missing-rule flags
//     and the share flags of its forms for the team.
//   - A subject's score is Σ values ÷ Σ points × 100 over its components
//     that have a score; its component is Σ values. A unit without a team
//     form has no score, as in v1, and members are then ranked and graded
//     alone (member_grading).
//   - Categories in documents of a definition with components carry
//     weights: [{component, weight}] (those above 0) instead of weight.
//   - §5.4: a vetoed unit takes veto_grade, or the last grade when none is
//     named. A tie-breaker without a value (no votes) sorts after every
//     value. rank_of is the size of the group ranked (its type, or the
//     round under within: round). Without grading, ranks are by unit type.
//   - Results (§5.3): a unit's total adds the parts as entered (exact), its
//     components' values as sealed (2 decimals, so that a reader adding the
//     printed figures gets the total), its bonus (positive adjustments
//     summed, capped at max_bonus) and minus its penalty (negative ones,
//     capped at max_penalty). A unit without a survey value has no total,
//     rank or grade. Finalize needs an entry for every unit. The results
//     document ranks and grades by the grading's by (total, or the score),
//     vetoed units apart, and carries the SHA-256 of the sealed round
//     document (tally_sha256).
//   - The 公示 list comes from the results document when the round has a
//     total (and is finalized), else from the sealed round document; its
//     ranks and scores appear only under publish_scores.
package tally
