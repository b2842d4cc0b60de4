import SIP

/// How a scripted run of the phone ended; the `softphone` command turns it into its exit status.
public enum ScriptOutcome: Sendable, Equatable {
    /// The script did what it was asked.
    case completed
    /// The call ended; a hang-up by either side is a success, anything else says why it failed.
    case callEnded(CallEndReason)
    /// Nobody answered before the answer timeout.
    case noAnswer
    /// The registrar refused us or never answered.
    case registrationFailed
    /// A standalone request (MESSAGE, OPTIONS) got no 2xx.
    case requestFailed
}
