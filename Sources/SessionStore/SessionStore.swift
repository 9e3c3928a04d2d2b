// SessionStore: filled in by issue 6.
