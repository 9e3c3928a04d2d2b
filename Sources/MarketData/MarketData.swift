// MarketData: filled in by its issue.
