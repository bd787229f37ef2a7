import CallFeedCore

/// CallKeeper's SIP-like result codes of a call's two legs.
///
/// For callback calls leg 1 rings the manager and leg 2 the client; for calltracking calls leg 1 is
/// the call to the substitute number and leg 2 the forward to the real one. CallKeeper's own
/// `status` (`success`/`fail`) lumps every non-answer together, so the outcome is read from both
/// codes (table from CallKeeper's `documentation/telephony/callstatus.md`, quoted in
/// `callkeeper.md` §6).
struct CallKeeperStatus: Sendable, Equatable {
    /// Leg 1 code (`statusFirst`, webhook `status_code`); 0 when absent.
    var first: Int64
    /// Leg 2 code (`statusSecond`, webhook `status2_code`); 0 when absent.
    var second: Int64

    init(first: Int64?, second: Int64?) {
        self.first = first ?? 0
        self.second = second ?? 0
    }

    /// Whether neither leg has a code.
    var isEmpty: Bool { first == 0 && second == 0 }

    /// The canonical outcome.
    ///
    /// `200/200` answered; `1/0` in progress and `2/0` scheduled (both `in_progress`); `200/487`
    /// client did not answer, `487/0` manager did not answer, `480/0` manager unavailable (all
    /// `missed`); `200/486`, `486/0` busy; a 7xx or 8xx code on either leg is one of CallKeeper's
    /// internal cancellations (test call, balance exhausted, duplicate): `failed`. Anything else,
    /// including `101/x` voice notifications, is `unknown`.
    var status: CallContent.Status {
        switch (first, second) {
        case (200, 200): .answered
        case (1, 0), (2, 0): .inProgress
        case (200, 487), (487, 0), (480, 0): .missed
        case (200, 486), (486, 0): .busy
        case (700...899, _), (_, 700...899): .failed
        default: .unknown
        }
    }
}
