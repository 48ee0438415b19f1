package svdir

import "encoding/json"

// encodeState is state.json as sv-scan writes it: indented, for whoever
// reads it by hand, and ending in a newline.
func encodeState(st *State) ([]byte, error) {
	data, err := json.MarshalIndent(st, "", "  ")
	return append(data, '\n'), err
}

// decodeState reads state.json with encoding/json alone, so that a field
// added to State is read as soon as it is declared, and a field a reader
// does not know (written by a newer sv-scan) is skipped.
func decodeState(data []byte) (*State, error) {
	var st State
	if err := json.Unmarshal(data, &st); err != nil {
		return nil, err
	}
	return &st, nil
}
