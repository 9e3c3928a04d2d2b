// ScanProtocol: filled in by its issue.
