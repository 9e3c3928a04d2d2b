import ScanCore
import ScanProtocol

/// One session's state as its events arrive: each event's status and progress fold into the last
/// known ``SessionDocument``, and a `seq` that does not follow the previous one says events were
/// missed (the subscriber joined late, the publisher dropped some, or the service restarted) — then
/// re-read the session with `GET_SESSION` and ``replace(with:)``.
public struct SessionTracker: Sendable, Hashable {
    /// The session as last known.
    public private(set) var session: SessionDocument
    /// The `seq` of the last event applied (0 before the first).
    public private(set) var lastSeq: Int

    /// Starts from `session`, whose events up to `lastSeq` are already in it (0: none, so a fresh
    /// session's first event, `seq` 1, follows without a gap).
    public init(_ session: SessionDocument, lastSeq: Int = 0) {
        self.session = session
        self.lastSeq = lastSeq
    }

    /// Starts from an event of a session not known before (its request is not in events: the
    /// formula shows empty until the session is read).
    public init(event: EventDocument) {
        self.init(
            SessionDocument(
                sessionId: event.sessionId,
                status: event.status,
                progress: ProgressDocument(
                    completed: event.completed,
                    total: event.total,
                    matchesSoFar: event.matchesSoFar
                ),
                request: ScanRequestDocument(formula: FormulaDocument(name: nil, source: "")),
                createdAt: event.time
            ),
            lastSeq: event.seq
        )
    }

    /// Applies `event` (of this session) and returns `false` when events were missed before it.
    @discardableResult
    public mutating func apply(_ event: EventDocument) -> Bool {
        let followed = event.seq == lastSeq + 1
        lastSeq = event.seq
        session.status = event.status
        session.progress = ProgressDocument(
            completed: event.completed,
            total: event.total,
            matchesSoFar: event.matchesSoFar
        )
        session.error = event.error
        return followed
    }

    /// Takes a freshly read session (after a gap, a quiet spell or a reply).
    public mutating func replace(with session: SessionDocument) {
        self.session = session
    }

    /// Whether the session has ended (`completed`, `failed` or `cancelled`).
    public var isFinal: Bool { session.scanStatus?.isFinal == true }
}
