import Dispatch
#if canImport(Glibc)
import Glibc
#endif
import Phone

/// SIGINT (Ctrl-C) and SIGTERM ask the running script to stop (its calls hung up with a BYE, its
/// recordings closed) instead of killing the process; a second one ends the process at once.
/// Keep the returned sources alive for as long as the script runs.
func stopOnSignals(_ stop: ScriptStop) -> [any DispatchSourceSignal] {
    [SIGINT, SIGTERM].map { number in
        signal(number, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
        source.setEventHandler {
            if stop.isRequested { exit(128 + number) }
            stop.request()
        }
        source.resume()
        return source
    }
}
