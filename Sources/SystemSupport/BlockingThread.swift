#if canImport(Glibc)
import Glibc
#endif

/// A thread of its own for a blocking loop (libgps's reads, a V4L2 device's poll, a TUN device, a
/// control socket): Foundation's `Thread` without Foundation, which the onboard programs do not
/// load (docs/performance.md, "Onboard footprint").
public enum BlockingThread {
    /// Starts `body` on a new detached thread named `name` (cut to the 15 bytes Linux keeps).
    /// Returns 0, or the errno of `pthread_create` (EAGAIN: the process or user is out of threads).
    @discardableResult
    public static func start(name: String, _ body: @escaping @Sendable () -> Void) -> Int32 {
        let context = Unmanaged.passRetained(Context(name: name, body: body))
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        var thread = pthread_t()
        let rc = pthread_create(&thread, &attributes, entry, context.toOpaque())
        pthread_attr_destroy(&attributes)
        if rc != 0 { context.release() }
        return rc
    }

    private static let entry: @convention(c) (UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? = { raw in
        guard let raw else { return nil }
        let context = Unmanaged<Context>.fromOpaque(raw).takeRetainedValue()
        nameThisThread(context.name)
        context.body()
        return nil
    }

    /// Names the calling thread as `top -H` and `ps -L` show it, through /proc (Glibc's Swift
    /// module has neither pthread_setname_np nor prctl). A failure only leaves the default name.
    private static func nameThisThread(_ name: String) {
        let fd = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        let bytes = Array(name.utf8.prefix(15))
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
    }

    private final class Context: Sendable {
        let name: String
        let body: @Sendable () -> Void
        init(name: String, body: @escaping @Sendable () -> Void) { self.name = name; self.body = body }
    }
}
