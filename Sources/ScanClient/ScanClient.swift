// ScanClient: filled in by its issue.
