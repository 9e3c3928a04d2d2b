import UnixSignals

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Ctrl-C for a command that ends a scan gracefully (cancel, then print the partial result): while
/// trapped, SIGINT does not kill the process; each press calls the handler with how many presses
/// there were so far. Built on swift-service-lifecycle's `UnixSignalsSequence`, the mechanism the
/// service and the nodes use for their signals.
public final class Interrupts: Sendable {
    private let task: Task<Void, Never>

    private init(task: Task<Void, Never>) { self.task = task }

    /// Traps SIGINT until ``stop()``; `handler` runs on each press (1, 2, …), on no particular thread.
    public static func trap(_ handler: @escaping @Sendable (_ presses: Int) -> Void) async -> Interrupts {
        // The default action would end the process before the dispatch source sees the signal.
        signal(SIGINT, SIG_IGN)
        let signals = await UnixSignalsSequence(trapping: .sigint)
        return Interrupts(
            task: Task {
                var presses = 0
                for await _ in signals {
                    presses += 1
                    handler(presses)
                }
            }
        )
    }

    /// The scan commands' Ctrl-C: the first press calls `cancel` (the scan ends `cancelled` and its
    /// partial result is printed), a second one ends the process at once (``exitNow()``).
    public static func cancelling(_ cancel: @escaping @Sendable () -> Void) async -> Interrupts {
        await trap { presses in
            if presses > 1 { exitNow() }
            cancel()
        }
    }

    /// Stops calling the handler.
    public func stop() { task.cancel() }

    /// Ends the process as an uncaught SIGINT would (for a second Ctrl-C: "stop now").
    public static func exitNow() -> Never {
        signal(SIGINT, SIG_DFL)
        raise(SIGINT)
        exit(130)
    }
}
