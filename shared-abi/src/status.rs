//! Status codes returned in `rax`.
//!
//! Success is zero or a positive value (a count, a version); errors are the
//! negative values below. Codes are never reused or renumbered.

/// A hypercall error.
#[repr(i64)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// The call succeeded.
    Ok = 0,
    /// `rax` holds no known hypercall number.
    UnknownHypercall = -1,
    /// A pointer argument names memory the caller may not access (unmapped,
    /// not user-accessible, read-only where the call writes, or outside the
    /// domain's memory).
    BadAddress = -2,
    /// An argument is out of range (a length too large, a range that wraps).
    InvalidArgument = -3,
    /// A buffer supplied by the caller is too small for the result.
    BufferTooSmall = -4,
    /// A port (or domain) does not exist, or is in the wrong state for the call.
    BadPort = -5,
    /// A per-domain limit (ports, bindings) is reached.
    LimitReached = -6,
    /// The thing is already set up (a VIRQ bound twice, a port bound twice).
    AlreadyBound = -7,
    /// A required setup step is missing (no shared-information page yet).
    NotReady = -8,
    /// The caller is not allowed to do this: the grant does not name it,
    /// grants less access than asked, or the resource is not assigned to it.
    Denied = -9,
    /// The thing is in use and cannot change now (a grant still mapped).
    Busy = -10,
}

impl Status {
    /// Every status, for decoding.
    pub const ALL: [Status; 11] = [
        Status::Ok,
        Status::UnknownHypercall,
        Status::BadAddress,
        Status::InvalidArgument,
        Status::BufferTooSmall,
        Status::BadPort,
        Status::LimitReached,
        Status::AlreadyBound,
        Status::NotReady,
        Status::Denied,
        Status::Busy,
    ];

    /// Decodes a raw `rax` value: `Ok(value)` for success, `Err(status)` for an
    /// error. A negative value this ABI version does not define decodes as
    /// [`Status::InvalidArgument`].
    #[inline]
    pub fn result(raw: i64) -> Result<u64, Status> {
        if raw >= 0 {
            Ok(raw as u64)
        } else {
            Err(Self::from_raw(raw).unwrap_or(Status::InvalidArgument))
        }
    }

    /// The status with this raw value, if it is one.
    #[inline]
    pub fn from_raw(raw: i64) -> Option<Status> {
        Self::ALL.into_iter().find(|status| *status as i64 == raw)
    }

    /// The value placed in `rax`.
    pub fn to_raw(self) -> u64 {
        self as i64 as u64
    }

    /// A short name, as used in the documentation.
    pub fn name(self) -> &'static str {
        match self {
            Status::Ok => "OK",
            Status::UnknownHypercall => "UNKNOWN_HYPERCALL",
            Status::BadAddress => "BAD_ADDRESS",
            Status::InvalidArgument => "INVALID_ARGUMENT",
            Status::BufferTooSmall => "BUFFER_TOO_SMALL",
            Status::BadPort => "BAD_PORT",
            Status::LimitReached => "LIMIT_REACHED",
            Status::AlreadyBound => "ALREADY_BOUND",
            Status::NotReady => "NOT_READY",
            Status::Denied => "DENIED",
            Status::Busy => "BUSY",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_values_round_trip() {
        for status in Status::ALL {
            assert_eq!(Status::from_raw(status.to_raw() as i64), Some(status));
        }
        assert_eq!(Status::result(7), Ok(7));
        assert_eq!(Status::result(-2), Err(Status::BadAddress));
        assert_eq!(Status::result(-999), Err(Status::InvalidArgument));
    }
}
