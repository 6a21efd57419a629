//! The entries of a [`Hypercall::Multicall`] batch: several calls served
//! in one entry to the hypervisor.
//!
//! A guest fills an array of [`MulticallEntry`] (number and arguments, made
//! from a typed [`request`](crate::hypercall::request) with
//! [`MulticallEntry::new`]), passes its address and length, and reads each entry's `result` back.
//! The hypervisor runs the entries in order and stops at the first entry it
//! cannot run; the call returns how many ran. Only the calls
//! [`batchable`] accepts may be batched. See `docs/abi/hypercalls.md`.

use crate::Hypercall;
use crate::hypercall::Request;

/// Most entries one batch may hold (a batch is at most 4 KiB).
pub const MULTICALL_MAX: u64 = 64;

/// One call of a batch. 64 bytes, 64-byte aligned, so that an entry never
/// crosses a page (the hypervisor refuses an array that is not aligned).
#[repr(C, align(64))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MulticallEntry {
    /// IN: the hypercall number.
    pub number: u64,
    /// IN: its arguments (`rdi`, `rsi`, `rdx`, `r10`, `r8` of a single call).
    pub args: [u64; 5],
    /// OUT: what `rax` would have held (a value, or a negative
    /// [`Status`](crate::Status)); written for every entry that ran and for
    /// the entry that stopped the batch because its call may not be batched.
    pub result: i64,
    /// Reserved: ignored by this ABI version; keep it zero.
    pub reserved: u64,
}

impl MulticallEntry {
    /// An entry for `request`, its result still 0.
    pub fn new<R: Request>(request: R) -> Self {
        Self {
            number: R::CALL as u64,
            args: request.to_args(),
            result: 0,
            reserved: 0,
        }
    }
}

const _: () = {
    assert!(core::mem::size_of::<MulticallEntry>() == 64);
    assert!(core::mem::align_of::<MulticallEntry>() == 64);
    assert!(core::mem::offset_of!(MulticallEntry, number) == 0);
    assert!(core::mem::offset_of!(MulticallEntry, args) == 8);
    assert!(core::mem::offset_of!(MulticallEntry, result) == 48);
    assert!(core::mem::offset_of!(MulticallEntry, reserved) == 56);
};

/// Whether `call` may be an entry of a batch: every call that never
/// changes who runs, except multicall itself and `console_write`. `yield`,
/// `shutdown`, `iret`, `set_timer`, `block`, `watchdog` and `multicall`
/// may not; nor may `console_write`, whose output (a prefix for every line
/// of up to 4096 bytes) takes the serial line up to a fifth of a second,
/// so that a batch of them would hold every domain up for seconds.
pub const fn batchable(call: Hypercall) -> bool {
    !matches!(
        call,
        Hypercall::ConsoleWrite
            | Hypercall::Yield
            | Hypercall::Shutdown
            | Hypercall::Iret
            | Hypercall::SetTimer
            | Hypercall::Block
            | Hypercall::Watchdog
            | Hypercall::Multicall
    )
}

/// Whether `call` takes no pointer to guest memory (no virtual address the
/// hypervisor reads or writes, no guest-physical page it keeps): such calls
/// are batched by the safe wrapper `guest::multicall`.
pub const fn pointer_free(call: Hypercall) -> bool {
    !matches!(
        call,
        Hypercall::ConsoleWrite
            | Hypercall::StartInfo
            | Hypercall::SetTrapHandler
            | Hypercall::RegisterSharedInfo
            | Hypercall::SetCallback
            | Hypercall::DomainLookup
            | Hypercall::ConsoleAttach
            | Hypercall::BlockQueueSetup
            | Hypercall::Multicall
            | Hypercall::GrantAccess
            | Hypercall::GrantCopyFrom
            | Hypercall::GrantCopyTo
            | Hypercall::BackendAccept
            | Hypercall::ConsoleRead
            | Hypercall::ConsoleInput
            | Hypercall::DomainName
    )
}

/// [`pointer_free`] of every call, one bit per number.
const POINTER_FREE: u64 = {
    let mut mask = 0;
    let mut number = 0;
    while number < Hypercall::ALL.len() {
        if pointer_free(Hypercall::ALL[number]) {
            mask |= 1 << number;
        }
        number += 1;
    }
    mask
};
const _: () = assert!(Hypercall::ALL.len() <= 64);

/// [`pointer_free`] of the call numbered `number`; `false` for a number no
/// call has.
pub const fn pointer_free_number(number: u64) -> bool {
    number < 64 && POINTER_FREE >> number & 1 != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_calls_that_keep_the_caller_running_are_batchable() {
        let refused: [Hypercall; 8] = [
            Hypercall::ConsoleWrite,
            Hypercall::Yield,
            Hypercall::Shutdown,
            Hypercall::Iret,
            Hypercall::SetTimer,
            Hypercall::Block,
            Hypercall::Watchdog,
            Hypercall::Multicall,
        ];
        for call in Hypercall::ALL {
            assert_eq!(batchable(call), !refused.contains(&call), "{}", call.name());
        }
        assert!(!pointer_free(Hypercall::Multicall));
        for number in 0..100 {
            let expected = Hypercall::from_number(number).is_some_and(pointer_free);
            assert_eq!(pointer_free_number(number), expected, "{number}");
        }
        assert!(!pointer_free_number(u64::MAX));
        assert!(pointer_free(Hypercall::AbiVersion));
    }

    #[test]
    fn new_entries_carry_the_number() {
        let request = crate::hypercall::request::MmuInvalidatePage { address: 0x1000 };
        let entry = MulticallEntry::new(request);
        assert_eq!(entry.number, 7);
        assert_eq!(entry.args, [0x1000, 0, 0, 0, 0]);
        assert_eq!(entry.result, 0);
    }
}
