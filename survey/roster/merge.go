package roster

import "minping/survey"

// Merge puts a roster's units into a definition source and parses the
// whole. With no roster the source is parsed as it is. Problems are the
// roster's (by row) or the definition's (by path, units by row).
func Merge(src, rosterFile []byte) (*survey.Definition, []byte, *Result, []survey.Problem) {
	if rosterFile == nil {
		def, err := survey.ParseDefinition(src)
		if err != nil {
			return nil, nil, nil, survey.ProblemsOf(err)
		}
		return def, src, nil, nil
	}
	cats, ps := survey.SourceCategories(src)
	if len(ps) > 0 {
		return nil, nil, nil, ps
	}
	parsed, ps := Parse(rosterFile, cats)
	if len(ps) > 0 {
		return nil, nil, nil, ps
	}
	merged, err := survey.SourceWithUnits(src, parsed.Units)
	if err != nil {
		return nil, nil, nil, survey.ProblemsOf(err)
	}
	def, err := survey.ParseDefinition(merged)
	if err != nil {
		ps := survey.ProblemsOf(err)
		for i := range ps {
			ps[i].Path = parsed.Locate(ps[i].Path)
		}
		return nil, nil, nil, ps
	}
	return def, merged, parsed, nil
}
