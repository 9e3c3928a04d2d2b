import ScanCore
import ScanProtocol

extension ScanClient {
    /// `WATCH_START`: starts a standing scan; the reply carries its first set.
    public func startWatch(_ request: WatchStartBody, timeout: Duration? = nil) async throws -> WatchDocument {
        try await call(.watchStart, request, timeout: timeout).decodeOK(WatchReply.self).watch
    }

    /// `WATCH_START` of a domain request.
    public func startWatch(_ request: WatchRequest, timeout: Duration? = nil) async throws -> WatchDocument {
        try await startWatch(WatchStartBody(request), timeout: timeout)
    }

    /// `WATCH_STOP`: the watch's last state, with status `stopped`.
    public func stopWatch(_ id: String, timeout: Duration? = nil) async throws -> WatchDocument {
        try await call(.watchStop, WatchIdBody(watchId: id), timeout: timeout).decodeOK(WatchReply.self).watch
    }

    /// `LIST_WATCHES`, oldest first (without their sets).
    public func listWatches(timeout: Duration? = nil) async throws -> [WatchDocument] {
        try await call(.listWatches, ListWatchesBody(), timeout: timeout).decodeOK(WatchListReply.self).watches
    }

    /// `GET_WATCH`: the watch and its set; with `eventsAfter`, also its logged events after that `seq`.
    public func watch(
        _ id: String,
        eventsAfter: Int? = nil,
        limit: Int? = nil,
        timeout: Duration? = nil
    ) async throws -> WatchReply {
        try await call(.getWatch, GetWatchBody(watchId: id, eventsAfter: eventsAfter, limit: limit), timeout: timeout)
            .decodeOK(WatchReply.self)
    }
}
