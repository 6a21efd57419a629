//! Event channels: named sources of virtual interrupts.
//!
//! A domain has up to [`MAX_PORTS`](crate::shared_info::MAX_PORTS) ports.
//! Port 0 is never used. A port is bound to a virtual IRQ ([`Virq`]), or
//! connects to a port of another domain. `send` on an interdomain port marks
//! the peer's port pending; the hypervisor marks VIRQ ports pending itself,
//! and a driver domain's IRQ port (`irq_bind`) when its device interrupts.
//! Pending and mask bits live in the shared-information page.

/// Virtual IRQs a port can be bound to.
#[repr(u64)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Virq {
    /// The one-shot timer set with `set_timer` expired.
    Timer = 0,
    /// In the console server only: records in its feed, keys at COM1, or
    /// a frontend's new connection (see
    /// [`console_feed`](crate::console_feed)).
    Console = 1,
    // 2 was `Block` (completions of the hypervisor's block backend),
    // retired in ABI 2.0; binding it answers `INVALID_ARGUMENT`.
    /// A backend appeared or went away, or (in the block backend) a
    /// frontend asks to connect (see [`crate::backend`]).
    Backend = 3,
}

/// Number of virtual IRQs.
pub const VIRQS: u64 = 4;

impl Virq {
    /// Decodes a VIRQ number.
    pub fn from_number(number: u64) -> Option<Virq> {
        [Virq::Timer, Virq::Console, Virq::Backend]
            .into_iter()
            .find(|v| *v as u64 == number)
    }
}

/// State of a port, as `evtchn_status` reports it (bits 0..8).
#[repr(u64)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PortState {
    /// Not allocated.
    Free = 0,
    /// Allocated for a peer domain, not yet bound by it.
    Unbound = 1,
    /// Connected to a port of another domain.
    Interdomain = 2,
    /// Bound to a virtual IRQ.
    Virq = 3,
    /// Bound to a physical interrupt line of the driver domain's device
    /// (`irq_bind`).
    Irq = 4,
}

/// Decoded result of `evtchn_status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PortStatus {
    /// The state.
    pub state: PortState,
    /// For `Unbound` and `Interdomain`: the peer domain; for `Virq`: the
    /// VIRQ; for `Irq`: the interrupt line.
    pub remote_domain_or_virq: u16,
    /// For `Interdomain`: the peer's port.
    pub remote_port: u32,
}

impl PortStatus {
    /// Packs the status into a hypercall result:
    /// bits 0..8 state, 16..32 peer domain or VIRQ, 32..64 peer port.
    pub fn encode(self) -> u64 {
        self.state as u64
            | (self.remote_domain_or_virq as u64) << 16
            | (self.remote_port as u64) << 32
    }

    /// Unpacks a result of `evtchn_status`.
    pub fn decode(raw: u64) -> Option<Self> {
        let state = [
            PortState::Free,
            PortState::Unbound,
            PortState::Interdomain,
            PortState::Virq,
            PortState::Irq,
        ]
        .into_iter()
        .find(|s| *s as u64 == raw & 0xff)?;
        Some(Self {
            state,
            remote_domain_or_virq: (raw >> 16) as u16,
            remote_port: (raw >> 32) as u32,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_round_trips() {
        let status = PortStatus {
            state: PortState::Interdomain,
            remote_domain_or_virq: 3,
            remote_port: 7,
        };
        assert_eq!(PortStatus::decode(status.encode()), Some(status));
        assert_eq!(PortStatus::decode(9), None);
        let irq = PortStatus {
            state: PortState::Irq,
            remote_domain_or_virq: 11,
            remote_port: 0,
        };
        assert_eq!(PortStatus::decode(irq.encode()), Some(irq));
        assert_eq!(PortStatus::decode(5), None);
        assert_eq!(Virq::from_number(0), Some(Virq::Timer));
        assert_eq!(Virq::from_number(VIRQS), None);
    }
}
