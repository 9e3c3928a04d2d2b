import ArgumentParser

/// The options of the commands that follow events (`scan watch`, `scan live follow`).
struct EventOptions: ParsableArguments {
    @Option(name: .long, help: "The service's events endpoint (default: the --endpoint port + 1).")
    var events: String?

    @Option(name: .long, help: "Stop after this many events (scripts; mostly with piped output).")
    var count: Int?

    func validate() throws {
        if let events, !events.hasPrefix("tcp://") {
            throw ValidationError("--events '\(events)': expected tcp://HOST:PORT")
        }
        if let count, count < 1 { throw ValidationError("--count must be at least 1") }
    }
}
