package options

// DropSources lets go of each setting's text and source (the Set), which
// only messages and sv-gen show read: a supervisor that keeps the decoded
// Config of every service for as long as it runs keeps only that. Setting
// and Settings then report no text and the default's place.
func (s *Service) DropSources() {
	s.Set = nil
	if s.Config != nil {
		s.Config.set = nil
	}
}
